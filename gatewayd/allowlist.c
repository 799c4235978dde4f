/*
 * What gatewayd does once sandboxed, beyond the event loop of every daemon:
 * serve the TCP connections it accepts on listeners opened before (socket
 * options, shutting down the sending side after a close frame), and reconnect
 * to brokerd when the broker link drops (a Unix stream socket, nothing else). It
 * opens files only beneath the Control UI directory opened before. Derived with strace over the whole integration suite
 * (scripts/sandbox-syscalls). In relay mode it also connects to the upstream
 * (allowlist_relay_rules).
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

/* Relay mode only: a non-blocking TCP socket to the upstream (protocol 0, the
 * type's flags free), connected by the connect above and checked for the
 * outcome of a non-blocking connect (SO_ERROR). Which port it may reach is
 * Landlock's to say (common/landlock.h), as seccomp cannot read the address. */
#define ALLOWLIST_SOCK_FLAGS (SOCK_NONBLOCK | SOCK_CLOEXEC)
const struct sandbox_rule allowlist_relay_rules[] = {
	SANDBOX_IF3(socket, SANDBOX_EQ(0, AF_INET),
	    SANDBOX_EQ_BUT(1, SOCK_STREAM, ALLOWLIST_SOCK_FLAGS), SANDBOX_EQ(2, 0)),
	SANDBOX_IF3(socket, SANDBOX_EQ(0, AF_INET6),
	    SANDBOX_EQ_BUT(1, SOCK_STREAM, ALLOWLIST_SOCK_FLAGS), SANDBOX_EQ(2, 0)),
	SANDBOX_IF2(getsockopt, SANDBOX_EQ(1, SOL_SOCKET), SANDBOX_EQ(2, SO_ERROR)),
};

const size_t allowlist_relay_nrules =
    sizeof(allowlist_relay_rules) / sizeof(allowlist_relay_rules[0]);
