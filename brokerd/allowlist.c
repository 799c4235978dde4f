/*
 * What brokerd does once sandboxed, beyond the event loop of every daemon:
 * atomic writes in the state directory through its descriptor (openat a temp
 * file, fchmod, fsync, renameat, fsync the directory, unlinkat a stale temp
 * file), removing its sockets when it stops, and judging control clients
 * (getsockopt SO_PEERCRED / SO_PEERGROUPS, geteuid). No socket() at all, let
 * alone a network one: it only accepts on the Unix sockets it opened before.
 * Derived with strace over the whole integration suite (scripts/sandbox-syscalls).
 */
#include "brokerd/allowlist.h"

#include <seccomp.h>

const int broker_syscalls[] = {
	SCMP_SYS(openat), SCMP_SYS(fchmod), SCMP_SYS(fsync), SCMP_SYS(pread64), SCMP_SYS(renameat),
	SCMP_SYS(unlinkat), SCMP_SYS(unlink), SCMP_SYS(getsockopt), SCMP_SYS(geteuid),
};

const size_t broker_nsyscalls = sizeof(broker_syscalls) / sizeof(broker_syscalls[0]);
