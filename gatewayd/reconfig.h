/*
 * The settings brokerd changes while gatewayd runs: a reload's BR_CONFIG, or
 * the BR_HELLO of a brokerd that restarted. What gatewayd set itself up with
 * at start (listeners, its sandbox's TCP port, TLS on or off) stays until
 * gatewayd restarts; the rest applies to the connections and relayed sessions
 * that begin from then on.
 */
#ifndef GATEWAYD_RECONFIG_H
#define GATEWAYD_RECONFIG_H

#include "proto/proto.h"

/* NULL if c is a configuration brokerd could have sent, else what is wrong
 * with it (the link is then dropped as a protocol violation). */
const char *reconfig_check(const struct proto_br_config *c);
/* Applies a checked BR_CONFIG. */
void reconfig_config(const struct proto_br_config *c);
/* gatewayd.settings holds a later BR_HELLO, before the settings it replaced:
 * keeps what only a restart of gatewayd changes and applies TLS and relay as
 * a reload would. */
void reconfig_hello(const struct proto_br_hello *before);

#endif
