/*
 * What gatewayd does once sandboxed, beyond the event loop of every daemon:
 * serve the TCP connections it accepts on listeners opened before (socket
 * options, shutting down the sending side after a close frame), and take a new
 * broker link from its dialer when the link drops (dialer.h). It
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
	/* The broker link's reconnect: a socket from the dialer (dialer.h). */
	SANDBOX_IF(recvmsg, SANDBOX_EQ(2, MSG_CMSG_CLOEXEC)),
	/* The Control UI from gateway.controlUi.root (staticfiles.c). */
	SANDBOX_ANY(openat2), SANDBOX_ANY(newfstatat),
};

const size_t allowlist_nrules = sizeof(allowlist_rules) / sizeof(allowlist_rules[0]);

/* Relay mode only: a non-blocking TCP socket to the upstream (protocol 0, the
 * type's flags free), connected and checked for the outcome of a non-blocking
 * connect (SO_ERROR). Which port it may reach is Landlock's to say
 * (common/landlock.h), as seccomp cannot read the address; the only sockets
 * gatewayd can create are TCP ones. */
#define ALLOWLIST_SOCK_FLAGS (SOCK_NONBLOCK | SOCK_CLOEXEC)
const struct sandbox_rule allowlist_relay_rules[] = {
	SANDBOX_IF3(socket, SANDBOX_EQ(0, AF_INET),
	    SANDBOX_EQ_BUT(1, SOCK_STREAM, ALLOWLIST_SOCK_FLAGS), SANDBOX_EQ(2, 0)),
	SANDBOX_IF3(socket, SANDBOX_EQ(0, AF_INET6),
	    SANDBOX_EQ_BUT(1, SOCK_STREAM, ALLOWLIST_SOCK_FLAGS), SANDBOX_EQ(2, 0)),
	SANDBOX_IF2(getsockopt, SANDBOX_EQ(1, SOL_SOCKET), SANDBOX_EQ(2, SO_ERROR)),
	SANDBOX_ANY(connect),
};

const size_t allowlist_relay_nrules =
    sizeof(allowlist_relay_rules) / sizeof(allowlist_relay_rules[0]);

/* The dialer (dialer.h): a non-blocking AF_UNIX stream, connected (seccomp
 * cannot see to what; it only ever has brokerd's path) and sent to gatewayd. */
const struct sandbox_rule allowlist_dialer_rules[] = {
	SANDBOX_IF2(socket, SANDBOX_EQ(0, AF_UNIX),
	    SANDBOX_EQ(1, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC)),
	SANDBOX_ANY(connect),
	SANDBOX_IF(sendmsg, SANDBOX_EQ(2, MSG_NOSIGNAL)),
};

const size_t allowlist_dialer_nrules =
    sizeof(allowlist_dialer_rules) / sizeof(allowlist_dialer_rules[0]);
