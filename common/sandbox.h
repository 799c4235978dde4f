/*
 * The sandbox both daemons enter once everything they need is open (DESIGN.md
 * §4): drop to an unprivileged account when started as root, rlimits,
 * no_new_privs, then a libseccomp allowlist last. One piece of code for both
 * daemons; each passes its own policy.
 */
#ifndef CLAWGATE_SANDBOX_H
#define CLAWGATE_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

/* Whom the daemon runs as once sandboxed. */
struct sandbox_user {
	const char *name;	/* the account dropped to when started as root */
	uid_t uid;		/* the uid the daemon ends up with (its own if not root) */
	gid_t gid;
	int drop;		/* started as root: the ids above come from the account */
};

struct sandbox_policy {
	const struct sandbox_user *user;
	int no_dumps;			/* RLIMIT_CORE 0 and PR_SET_DUMPABLE 0 */
	const int *syscalls;		/* the daemon's own allowlist (SCMP_SYS numbers), */
	size_t nsyscalls;		/* on top of what every clawgate daemon needs */
};

/*
 * Resolves the account a daemon started as root drops to; as anyone else it
 * stays who it is. Call it first, so files made before the drop can be given
 * to the right owner. Exits naming the command that creates a missing account.
 */
void sandbox_user_lookup(struct sandbox_user *u, const char *name);

/* Enters the sandbox; never returns on failure. */
void sandbox_enter(const struct sandbox_policy *p);

/* The seccomp mode this build enforces: "kill", "trap" or "off". */
const char *sandbox_mode_name(void);

/*
 * For the negative test only: makes the forbidden system call `what` names
 * (exec, fork, socket-inet, ptrace, setuid) after sandbox_enter. A working
 * sandbox kills the process during the call; if it returns, this says so and
 * exits 1. It never does anything else, so the option cannot serve as a way in.
 */
void __attribute__((noreturn)) sandbox_selftest(const char *what);

#endif
