/*
 * What gatewayd does once sandboxed, beyond the event loop of every daemon:
 * serve the TCP connections it accepts on listeners opened before (socket
 * options, shutting down the sending side after a close frame), and reconnect
 * to brokerd when the broker link drops (a Unix stream socket, nothing else). It
 * opens files only beneath the Control UI directory opened before. Derived with strace over the whole integration suite
 * (scripts/sandbox-syscalls).
 */
#include "gatewayd/allowlist.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

const struct sandbox_rule allowlist_rules[] = {
	SANDBOX_IF2(setsockopt, SANDBOX_EQ(1, IPPROTO_TCP), SANDBOX_EQ(2, TCP_NODELAY)),
	SANDBOX_IF(shutdown, SANDBOX_EQ(1, SHUT_WR)),
	/* brokerlink.c's reconnect; connect cannot be limited by address in seccomp,
	 * but the only socket gatewayd can create is an AF_UNIX stream. */
	SANDBOX_IF2(socket, SANDBOX_EQ(0, AF_UNIX),
	    SANDBOX_EQ(1, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC)),
	SANDBOX_ANY(connect),
	/* The Control UI from gateway.controlUi.root (staticfiles.c). */
	SANDBOX_ANY(openat2), SANDBOX_ANY(newfstatat),
};

const size_t allowlist_nrules = sizeof(allowlist_rules) / sizeof(allowlist_rules[0]);
