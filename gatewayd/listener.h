/* The TCP listeners of the gateway port, one per bind address in BR_HELLO. */
#ifndef GATEWAYD_LISTENER_H
#define GATEWAYD_LISTENER_H

#include <stdint.h>
#include <sys/socket.h>

#include "proto/proto.h"

/* Takes over an accepted connection (fd is the callee's from now on). */
typedef void (*listener_accept_fn)(int fd, const struct sockaddr *sa, socklen_t salen);

/* Binds every address of settings->bind on port and hands each connection to
 * on_accept. An IPv6 address that cannot be bound because the host has no IPv6
 * is a warning; any other failure is fatal, and so is ending up with no
 * listener. */
void listener_open_all(const struct proto_br_hello *settings, uint16_t port,
    listener_accept_fn on_accept);

void listener_close_all(void);

#endif
