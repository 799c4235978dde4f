/*
 * What brokerd does once sandboxed, beyond the event loop of every daemon:
 * atomic writes in the state directory through its descriptor (openat a temp
 * file, fchmod, fsync, renameat, fsync the directory, unlinkat a stale temp
 * file), reading the audit log (openat, lseek for its size, pread), removing
 * its sockets when it stops, and judging control clients
 * (getsockopt SO_PEERCRED / SO_PEERGROUPS, geteuid), and re-reading its
 * configuration on SIGHUP (openat through the directory's descriptor, then
 * fstat, which glibc makes newfstatat, for the file's type, size and mode). No socket() at all, let
 * alone a network one: it only accepts on the Unix sockets it opened before.
 * Derived with strace over the whole integration suite (scripts/sandbox-syscalls).
 */
#include "brokerd/allowlist.h"

#include <sys/socket.h>

const struct sandbox_rule allowlist_rules[] = {
	SANDBOX_ANY(openat), SANDBOX_ANY(fchmod), SANDBOX_ANY(fsync), SANDBOX_ANY(pread64),
	SANDBOX_ANY(lseek), SANDBOX_ANY(newfstatat),
	SANDBOX_ANY(renameat),
	SANDBOX_ANY(unlinkat), SANDBOX_ANY(unlink), SANDBOX_ANY(geteuid),
	SANDBOX_IF2(getsockopt, SANDBOX_EQ(1, SOL_SOCKET), SANDBOX_EQ(2, SO_PEERCRED)),
	SANDBOX_IF2(getsockopt, SANDBOX_EQ(1, SOL_SOCKET), SANDBOX_EQ(2, SO_PEERGROUPS)),
};

const size_t allowlist_nrules = sizeof(allowlist_rules) / sizeof(allowlist_rules[0]);
