/*
 * The sandbox both daemons enter once everything they need is open (doc/design.md
 * §4): drop to an unprivileged account when started as root, rlimits,
 * no_new_privs, then a libseccomp allowlist last. One piece of code for both
 * daemons; each passes its own policy.
 */
#ifndef CLAWGATE_SANDBOX_H
#define CLAWGATE_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>
#include <seccomp.h>

/* Whom the daemon runs as once sandboxed. */
struct sandbox_user {
	const char *name;	/* the account dropped to when started as root */
	uid_t uid;		/* the uid the daemon ends up with (its own if not root) */
	gid_t gid;
	int drop;		/* started as root: the ids above come from the account */
};

/* One allowlist entry: a system call, with any arguments or only with those
 * that pass up to two comparisons. Entries for the same call add up (or). */
struct sandbox_rule {
	int nr;				/* SCMP_SYS(name) */
	unsigned nargs;			/* 0: any arguments */
	struct scmp_arg_cmp args[2];
};

#define SANDBOX_ANY(name) { SCMP_SYS(name), 0, { { 0 } } }
#define SANDBOX_IF(name, c) { SCMP_SYS(name), 1, { c } }
#define SANDBOX_IF2(name, c, d) { SCMP_SYS(name), 2, { c, d } }
/* Argument i equals v / has none of the bits in m. */
#define SANDBOX_EQ(i, v) { .arg = (i), .op = SCMP_CMP_EQ, .datum_a = (v) }
#define SANDBOX_NOBITS(i, m) { .arg = (i), .op = SCMP_CMP_MASKED_EQ, .datum_a = (m), .datum_b = 0 }

struct sandbox_policy {
	const struct sandbox_user *user;
	/* Started as root: chroot here before dropping privileges (NULL: do not).
	 * Everything the daemon touches afterwards must be open by then. */
	const char *root;
	int no_dumps;			/* RLIMIT_CORE 0 and PR_SET_DUMPABLE 0 */
	const struct sandbox_rule *rules; /* the daemon's own allowlist, on top of */
	size_t nrules;			/* what every clawgate daemon needs */
};

/*
 * Resolves the account a daemon started as root drops to; as anyone else it
 * stays who it is. Call it first, so files made before the drop can be given
 * to the right owner. Exits naming the command that creates a missing account.
 */
void sandbox_user_lookup(struct sandbox_user *u, const char *name);

/*
 * RLIMIT_CORE 0 and PR_SET_DUMPABLE 0: no core file, no ptrace by the same
 * user. brokerd calls it first thing, before any secret is in its memory;
 * sandbox_enter repeats it after the drop (fs.suid_dumpable may make a process
 * dumpable again when its ids change).
 */
void sandbox_no_dumps(void);

/* Enters the sandbox; never returns on failure. */
void sandbox_enter(const struct sandbox_policy *p);

/*
 * For the negative test only: makes the forbidden system call `what` names
 * (exec, fork, socket-inet, ptrace, setuid; mmap-exec and ioctl-tty for calls
 * allowed only with other arguments) after sandbox_enter. A working
 * sandbox kills the process during the call; if it returns, this says so and
 * exits 1. It never does anything else, so the option cannot serve as a way in.
 */
void __attribute__((noreturn)) sandbox_selftest(const char *what);

#endif
