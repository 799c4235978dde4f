/*
 * Unauthenticated WebSocket sockets per client address (doc/protocol.md §1: at most
 * 32 by default, OPENCLAW_MAX_PREAUTH_CONNECTIONS_PER_IP, read by brokerd and
 * sent in BR_HELLO). A socket counts from its upgrade until hello-ok or its end;
 * an upgrade beyond the limit is answered HTTP 503.
 */
#ifndef GATEWAYD_PREAUTH_H
#define GATEWAYD_PREAUTH_H

#include <stdint.h>

/* Counts one more socket for addr unless limit are counted already: 0, or -1
 * (nothing counted). */
int preauth_acquire(const char *addr, uint32_t limit);
/* Uncounts one socket that preauth_acquire counted. */
void preauth_release(const char *addr);
void preauth_free(void);

#endif
