/*
 * What gatewayd does once sandboxed, beyond the event loop of every daemon:
 * serve the TCP connections it accepts on listeners opened before (socket
 * options, shutting down the sending side after a close frame). It opens no
 * socket, and files only beneath the Control UI directory opened before. Derived with strace over the whole integration suite
 * (scripts/sandbox-syscalls).
 */
#include "gatewayd/allowlist.h"

#include <seccomp.h>

const int gateway_syscalls[] = {
	SCMP_SYS(setsockopt), SCMP_SYS(shutdown),
	/* The Control UI from gateway.controlUi.root (staticfiles.c). */
	SCMP_SYS(openat2), SCMP_SYS(newfstatat),
};

const size_t gateway_nsyscalls = sizeof(gateway_syscalls) / sizeof(gateway_syscalls[0]);
