/*
 * What gatewayd does once sandboxed, beyond the event loop of every daemon:
 * serve the TCP connections it accepts on listeners opened before (socket
 * options, shutting down the sending side after a close frame). It opens no
 * file and no socket. Derived with strace over the whole integration suite
 * (scripts/sandbox-syscalls).
 */
#include "gatewayd/allowlist.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

const struct sandbox_rule gateway_rules[] = {
	SANDBOX_IF2(setsockopt, SANDBOX_EQ(1, IPPROTO_TCP), SANDBOX_EQ(2, TCP_NODELAY)),
	SANDBOX_IF(shutdown, SANDBOX_EQ(1, SHUT_WR)),
};

const size_t gateway_nrules = sizeof(gateway_rules) / sizeof(gateway_rules[0]);
