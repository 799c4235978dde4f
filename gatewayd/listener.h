/* The TCP listeners of the gateway port, one per bind address in BR_HELLO. */
#ifndef GATEWAYD_LISTENER_H
#define GATEWAYD_LISTENER_H

#include <stdint.h>

#include "proto/proto.h"

/* Binds every address of settings->bind on port. An IPv6 address that cannot
 * be bound because the host has no IPv6 is a warning; any other failure is
 * fatal, and so is ending up with no listener. */
void listener_open_all(const struct proto_br_hello *settings, uint16_t port);

void listener_close_all(void);

#endif
