/*
 * Sockets per client address that have not authenticated, in two budgets:
 *  - PREAUTH_FRONT: every socket from accept until its upgrade or its close
 *    (request head, an HTTP answer lingering), at most FDBUDGET_PER_ADDRESS
 *    (fdbudget.c decides; loopback is not counted there);
 *  - PREAUTH_UPGRADE: a WebSocket from its upgrade until hello-ok or its end,
 *    at most 32 by default (OPENCLAW_MAX_PREAUTH_CONNECTIONS_PER_IP, read by
 *    brokerd and sent in BR_HELLO); an upgrade beyond it is answered HTTP 503.
 * Both count under an address's budget key: an IPv4 address, the /64 of an
 * IPv6 address, and one key for all of loopback.
 */
#ifndef GATEWAYD_PREAUTH_H
#define GATEWAYD_PREAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "common/ipaddr.h"
#include "proto/proto.h"

enum preauth_budget {
	PREAUTH_FRONT,
	PREAUTH_UPGRADE,
	PREAUTH_NBUDGETS,
};

#define PREAUTH_KEY_MAX (PROTO_ADDR_MAX + 1)
_Static_assert(PREAUTH_KEY_MAX >= IPADDR_BUDGET_KEY_MAX, "a budget key fits");

/* The key addr counts under (text: what proxy attribution or the accept
 * produced); text that is no address is its own key. */
void preauth_key(const char *addr, char key[PREAUTH_KEY_MAX]);
/* Counts one more socket for addr's key in budget b unless limit are counted
 * already: 0, or -1 (nothing counted). */
int preauth_acquire(enum preauth_budget b, const char *addr, uint32_t limit);
/* Uncounts one socket that preauth_acquire counted for addr in b. */
void preauth_release(enum preauth_budget b, const char *addr);
void preauth_free(void);

#endif
