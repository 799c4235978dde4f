/*
 * The sandbox both daemons enter once everything they need is open (doc/design.md
 * §4): drop to an unprivileged account when started as root, rlimits,
 * no_new_privs, Landlock's TCP rules if the daemon asks for them, then a
 * libseccomp allowlist last. One piece of code for both
 * daemons; each passes its own policy.
 */
#ifndef CLAWGATE_SANDBOX_H
#define CLAWGATE_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
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
 * that pass up to three comparisons. Entries for the same call add up (or). */
struct sandbox_rule {
	int nr;				/* SCMP_SYS(name) */
	unsigned nargs;			/* 0: any arguments */
	struct scmp_arg_cmp args[3];
};

#define SANDBOX_ANY(name) { SCMP_SYS(name), 0, { { 0 } } }
#define SANDBOX_IF(name, c) { SCMP_SYS(name), 1, { c } }
#define SANDBOX_IF2(name, c, d) { SCMP_SYS(name), 2, { c, d } }
#define SANDBOX_IF3(name, c, d, e) { SCMP_SYS(name), 3, { c, d, e } }
/* Argument i equals v / has none of the bits in m / equals v once the bits in
 * m are ignored. */
#define SANDBOX_EQ(i, v) { .arg = (i), .op = SCMP_CMP_EQ, .datum_a = (v) }
#define SANDBOX_NOBITS(i, m) { .arg = (i), .op = SCMP_CMP_MASKED_EQ, .datum_a = (m), .datum_b = 0 }
#define SANDBOX_EQ_BUT(i, v, m) { .arg = (i), .op = SCMP_CMP_MASKED_EQ, \
	.datum_a = 0xffffffffu & ~(unsigned)(m), .datum_b = (v) }

struct sandbox_policy {
	const struct sandbox_user *user;
	/* Started as root: chroot here before dropping privileges (NULL: do not).
	 * Everything the daemon touches afterwards must be open by then. */
	const char *root;
	int no_dumps;			/* RLIMIT_CORE 0 and PR_SET_DUMPABLE 0 */
	const struct sandbox_rule *rules; /* the daemon's own allowlist, on top of */
	size_t nrules;			/* what every clawgate daemon needs */
	const struct sandbox_rule *mode_rules; /* what the daemon's mode adds (NULL: */
	size_t nmode_rules;		/* nothing) */
	/* Landlock (common/landlock.h): no TCP bind, TCP connect only to
	 * tcp_connect_port (0: none). Off: Landlock is not used. */
	int tcp_lock;
	uint16_t tcp_connect_port;
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
 * (exec, fork, socket-inet, socket-unix, socket-udp, ptrace, setuid; mmap-exec,
 * ioctl-tty and getsockopt-error for calls allowed only with other arguments) after
 * sandbox_enter(p). A working
 * sandbox kills the process during the call; if it returns, this says so and
 * exits 1. tcp-connect connects to 127.0.0.1 on p->tcp_connect_port (if set),
 * which Landlock must not refuse, then on a port it must refuse (the one after):
 * refused with EACCES it exits 0, else 1; connections made are closed at once. It never does anything
 * else, so the option cannot serve as a way in.
 */
void __attribute__((noreturn)) sandbox_selftest(const struct sandbox_policy *p,
    const char *what);

#endif
