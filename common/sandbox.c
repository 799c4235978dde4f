#include "common/sandbox.h"

#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <seccomp.h>

#include "common/landlock.h"
#include "common/log.h"

/* CLAWGATE_SECCOMP_MODE comes from meson's -Dseccomp=kill|trap|off. */
#define SANDBOX_KILL 0
#define SANDBOX_TRAP 1
#define SANDBOX_OFF 2
#ifndef CLAWGATE_SECCOMP_MODE
#error "CLAWGATE_SECCOMP_MODE must be set by the build (meson option seccomp)"
#endif
/* Plain ifs on this constant, not #if: every mode's code is compiled and checked. */
static const int sandbox_mode = CLAWGATE_SECCOMP_MODE;

/* The seccomp mode this build enforces: "kill", "trap" or "off". */
static const char *
sandbox_mode_name(void)
{
	static const char *const names[] = { "kill", "trap", "off" };

	return names[sandbox_mode];
}

/*
 * What every clawgate daemon needs once sandboxed: a libevent loop over epoll
 * (signals arrive as handlers that return through rt_sigreturn and reach the
 * loop through its internal pipe; the handlers are restored on the way out),
 * log lines on stderr, OpenSSL's locks, the uid for the "sandbox entered"
 * line, systemd notifications (sendto on the socket common/notify.c connected
 * before), and exiting. Derived with strace over the whole integration suite
 * (scripts/sandbox-syscalls). Some that a production build does not make in
 * the suite are allowed on purpose: malloc growing and trimming its heap (brk,
 * mmap, munmap, mremap, madvise), OpenSSL reseeding (getrandom) and the clock
 * where the vDSO cannot serve it (clock_gettime, gettimeofday). abort() is not
 * allowed: a failed assertion dies by SIGSYS instead of SIGABRT.
 */
static const struct sandbox_rule sandbox_base_rules[] = {
	SANDBOX_ANY(read), SANDBOX_ANY(readv), SANDBOX_ANY(write), SANDBOX_ANY(writev),
	SANDBOX_ANY(close), SANDBOX_ANY(epoll_wait), SANDBOX_ANY(epoll_ctl),
	SANDBOX_ANY(accept4), SANDBOX_ANY(brk), SANDBOX_ANY(munmap), SANDBOX_ANY(mremap),
	SANDBOX_ANY(madvise), SANDBOX_ANY(futex), SANDBOX_ANY(getrandom),
	SANDBOX_ANY(clock_gettime), SANDBOX_ANY(gettimeofday), SANDBOX_ANY(rt_sigreturn),
	SANDBOX_ANY(rt_sigaction), SANDBOX_ANY(getpid), SANDBOX_ANY(getuid),
	SANDBOX_ANY(sendto), SANDBOX_ANY(exit_group),
	/* Never an executable mapping: there is no code to load once sandboxed. */
	SANDBOX_IF(mmap, SANDBOX_NOBITS(2, PROT_EXEC)),
	/* libevent sizes its reads with FIONREAD; no other ioctl is needed. */
	SANDBOX_IF(ioctl, SANDBOX_EQ(1, FIONREAD)),
};

#ifdef CLAWGATE_SANITIZED
/*
 * AddressSanitizer and UBSan builds only (./check): to write a report the
 * runtime reads /proc/self/{exe,cmdline,maps} and the binary and libraries to
 * symbolize (open, openat, readlink, newfstatat, fcntl), asks isatty (ioctl
 * TCGETS), probes for an external symbolizer with pipe2 and aborts
 * (rt_sigprocmask, tgkill); it sets up its own signal stack (sigaltstack)
 * lazily. Found by tracing a small program that made an ASan and a UBSan
 * report inside this sandbox, and by the negative tests (test_sandbox.py). Production builds (no
 * sanitizer) allow none of these and pass the whole suite.
 */
static const struct sandbox_rule sandbox_sanitizer_rules[] = {
	SANDBOX_ANY(open), SANDBOX_ANY(openat), SANDBOX_ANY(readlink),
	SANDBOX_ANY(newfstatat), SANDBOX_ANY(fcntl), SANDBOX_ANY(pipe2), SANDBOX_ANY(gettid),
	SANDBOX_ANY(tgkill), SANDBOX_ANY(sigaltstack), SANDBOX_ANY(rt_sigprocmask),
	SANDBOX_IF(ioctl, SANDBOX_EQ(1, TCGETS)),
};
#endif

#define SANDBOX_N(a) (sizeof(a) / sizeof((a)[0]))

void
sandbox_user_lookup(struct sandbox_user *u, const char *name)
{
	struct passwd *pw;

	u->name = name;
	if (geteuid() != 0) {
		u->uid = geteuid();
		u->gid = getegid();
		u->drop = 0;
		return;
	}
	if ((pw = getpwnam(name)) == NULL)
		fatalx("started as root, but the account %s to run as does not exist: create "
		    "it with: systemd-sysusers (the clawgate sysusers.d file is installed), or "
		    "useradd --system --no-create-home --shell /usr/sbin/nologin %s", name, name);
	if (pw->pw_uid == 0)
		fatalx("the account %s has uid 0: it must be an unprivileged account", name);
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	u->drop = 1;
}

/* setgroups first (it needs root), then the gid, then the uid; afterwards
 * neither the old uid nor the old gid may come back. */
static void
sandbox_drop(const struct sandbox_user *u)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;

	if (setgroups(1, &u->gid) < 0)
		fatal("cannot set the supplementary groups of %s", u->name);
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		fatal("cannot switch to the group of %s (gid %u)", u->name, (unsigned)u->gid);
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		fatal("cannot switch to %s (uid %u)", u->name, (unsigned)u->uid);
	if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0)
		fatal("cannot read back the ids after switching to %s", u->name);
	if (ruid != u->uid || euid != u->uid || suid != u->uid || rgid != u->gid ||
	    egid != u->gid || sgid != u->gid)
		fatalx("switching to %s left other ids behind", u->name);
	if (setresuid(0, 0, 0) == 0 || setresgid(0, 0, 0) == 0 || setgroups(0, NULL) == 0)
		fatalx("after switching to %s, root's ids can still be regained", u->name);
	log_debug("sandbox: running as %s (uid %u, gid %u)", u->name, (unsigned)u->uid,
	    (unsigned)u->gid);
}

static void
sandbox_limit(int resource, const char *name)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(resource, &rl) < 0)
		fatal("cannot set %s to 0", name);
}

/* Syscall names resolved before the filter is loaded: the handler must not
 * call malloc (the trapped call may be inside it). */
#define SANDBOX_TRAP_NAMES 512
static char sandbox_trap_names[SANDBOX_TRAP_NAMES][32];

static void
sandbox_trap_names_init(void)
{
	for (int nr = 0; nr < SANDBOX_TRAP_NAMES; nr++) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

		snprintf(sandbox_trap_names[nr], sizeof(sandbox_trap_names[nr]), "%s",
		    name != NULL ? name : "?");
		free(name);
	}
}

/* Writes "sandbox: forbidden system call NAME (NR)" with async-signal-safe
 * calls only, then exits 159 (128 + SIGSYS) as a kill would look. */
static void
sandbox_trap_handler(int sig, siginfo_t *si, void *ctx)
{
	static const char head[] = "sandbox: forbidden system call ";
	static const char tail[] = ": allow it in the daemon's allowlist if it is legitimate\n";
	char num[16], *p = num + sizeof(num);
	int nr = si->si_syscall;
	unsigned v = nr < 0 ? 0 : (unsigned)nr;
	const char *name = nr >= 0 && nr < SANDBOX_TRAP_NAMES ? sandbox_trap_names[nr] : "?";
	const char *prio;

	*--p = ')';
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) != 0 && p > num + 2);
	*--p = '(';
	*--p = ' ';
	prio = log_priority_prefix(LOG_LEVEL_ERROR);
	(void)!write(STDERR_FILENO, prio, strlen(prio));
	(void)!write(STDERR_FILENO, head, sizeof(head) - 1);
	(void)!write(STDERR_FILENO, name, strlen(name));
	(void)!write(STDERR_FILENO, p, (size_t)(num + sizeof(num) - p));
	(void)!write(STDERR_FILENO, tail, sizeof(tail) - 1);
	_exit(128 + SIGSYS);
}

static void
sandbox_trap_install(void)
{
	struct sigaction sa;

	sandbox_trap_names_init();
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sandbox_trap_handler;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		fatal("cannot install the SIGSYS handler");
}

static void
sandbox_allow(scmp_filter_ctx ctx, const struct sandbox_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, rules[i].nr, rules[i].nargs,
		    rules[i].args);

		if (rc < 0)
			fatalx("seccomp: cannot allow system call %d: %s", rules[i].nr,
			    strerror(-rc));
	}
}

static void
sandbox_seccomp(const struct sandbox_policy *p)
{
	scmp_filter_ctx ctx;
	int rc;

	if (sandbox_mode == SANDBOX_TRAP)
		sandbox_trap_install();
	ctx = seccomp_init(sandbox_mode == SANDBOX_TRAP ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS);
	if (ctx == NULL)
		fatalx("seccomp: cannot create a filter");
	sandbox_allow(ctx, sandbox_base_rules, SANDBOX_N(sandbox_base_rules));
	sandbox_allow(ctx, p->rules, p->nrules);
	sandbox_allow(ctx, p->mode_rules, p->nmode_rules);
#ifdef CLAWGATE_SANITIZED
	sandbox_allow(ctx, sandbox_sanitizer_rules, SANDBOX_N(sandbox_sanitizer_rules));
#endif
	if ((rc = seccomp_load(ctx)) < 0)
		fatalx("seccomp: cannot load the filter: %s", strerror(-rc));
	seccomp_release(ctx);
}

void
sandbox_no_dumps(void)
{
	sandbox_limit(RLIMIT_CORE, "RLIMIT_CORE");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fatal("cannot make the process non-dumpable");
}

/* Landlock's TCP rules if the policy asks for them; layer gets what holds for
 * the "sandbox entered" line ("landlock ABI 4 (...), " or nothing). */
static void
sandbox_landlock(const struct sandbox_policy *p, char *layer, size_t len)
{
	char why[256], port[32];
	int abi;

	layer[0] = '\0';
	if (!p->tcp_lock)
		return;
	if ((abi = landlock_tcp_restrict(p->tcp_connect_port, why, sizeof(why))) == 0) {
		log_warnx("landlock: %s; going on with the seccomp filter alone", why);
		snprintf(layer, len, "no landlock, ");
		return;
	}
	snprintf(port, sizeof(port), "port %u only", (unsigned)p->tcp_connect_port);
	snprintf(layer, len, "landlock ABI %d (tcp connect: %s, no bind), ", abi,
	    p->tcp_connect_port != 0 ? port : "none");
}

void
sandbox_enter(const struct sandbox_policy *p)
{
	char layer[96];

	if (p->user->drop && p->root != NULL) {
		if (chroot(p->root) < 0 || chdir("/") < 0)
			fatal("cannot chroot to %s", p->root);
		log_debug("sandbox: chrooted to %s", p->root);
	}
	if (p->user->drop)
		sandbox_drop(p->user);
	sandbox_limit(RLIMIT_NPROC, "RLIMIT_NPROC");
	if (p->no_dumps)
		sandbox_no_dumps();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fatal("cannot set no_new_privs");
	/* Landlock before seccomp: its calls are on no allowlist. */
	sandbox_landlock(p, layer, sizeof(layer));
	if (sandbox_mode == SANDBOX_OFF)
		log_warnx("this build has no seccomp filter (built with -Dseccomp=off): rebuild "
		    "with -Dseccomp=kill for production");
	else
		sandbox_seccomp(p);
	log_info("sandbox entered: running as uid %u, seccomp %s, %sno-new-privs",
	    (unsigned)getuid(), sandbox_mode_name(), layer);
}

/* A TCP connect to 127.0.0.1:port, closed at once; -1 with errno if it fails. */
static int
sandbox_selftest_tcp(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd, rc, err;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		fatal("sandbox self-test FAILED: cannot create a TCP socket");
	rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	err = errno;
	close(fd);
	errno = err;
	return rc;
}

/* tcp-connect: a TCP connect to 127.0.0.1 on a port other than the one allowed
 * must fail with EACCES (Landlock), one to the allowed port (if any) must not;
 * without the mode's rules, the socket call itself kills the process (seccomp). */
static void __attribute__((noreturn))
sandbox_selftest_connect(const struct sandbox_policy *p)
{
	uint16_t port = (uint16_t)(p->tcp_connect_port == 65535 ? 1 : p->tcp_connect_port + 1);
	int rc;

	if (p->tcp_connect_port != 0) {
		rc = sandbox_selftest_tcp(p->tcp_connect_port);
		if (rc < 0 && errno == EACCES)
			fatalx("sandbox self-test FAILED: connect to 127.0.0.1:%u, the allowed port, "
			    "refused with EACCES", (unsigned)p->tcp_connect_port);
		log_info("sandbox self-test: connect to 127.0.0.1:%u, the allowed port: %s",
		    (unsigned)p->tcp_connect_port, rc == 0 ? "connected" : strerror(errno));
	}
	log_info("sandbox self-test: tcp-connect goes to 127.0.0.1:%u", (unsigned)port);
	rc = sandbox_selftest_tcp(port);
	if (rc < 0 && errno == EACCES) {
		log_info("sandbox self-test passed: connect to 127.0.0.1:%u refused (EACCES)",
		    (unsigned)port);
		exit(0);
	}
	fatalx("sandbox self-test FAILED: connect to 127.0.0.1:%u %s instead of being refused "
	    "with EACCES: Landlock does not restrict TCP connect", (unsigned)port,
	    rc == 0 ? "succeeded" : strerror(errno));
}

/* The calls seccomp must answer by killing the process. */
static void __attribute__((noreturn))
sandbox_selftest_call(const char *what)
{
	char *const argv[] = { NULL };
	struct winsize ws;
	socklen_t len = sizeof(int);
	void *map;
	long rc = -1;
	int fd;
	pid_t pid;

	if (strcmp(what, "exec") == 0) {
		/* An empty path: even if allowed it only fails with ENOENT. */
		rc = execve("", argv, argv);
	} else if (strcmp(what, "fork") == 0) {
		if ((pid = fork()) == 0)
			_exit(0);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		rc = pid;
	} else if (strcmp(what, "socket-inet") == 0) {
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0)
			close(fd);
		rc = fd;
	} else if (strcmp(what, "socket-unix") == 0) {
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) >= 0)
			close(fd);
		rc = fd;
	} else if (strcmp(what, "socket-udp") == 0) {
		if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) >= 0)
			close(fd);
		rc = fd;
	} else if (strcmp(what, "getsockopt-error") == 0) {
		/* Any descriptor will do: allowed, the call fails with ENOTSOCK. */
		rc = getsockopt(STDERR_FILENO, SOL_SOCKET, SO_ERROR, &fd, &len);
	} else if (strcmp(what, "ptrace") == 0) {
		rc = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	} else if (strcmp(what, "setuid") == 0) {
		rc = setuid(getuid());
	} else if (strcmp(what, "mmap-exec") == 0) {
		if ((map = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0)) != MAP_FAILED)
			munmap(map, 4096);
		rc = map == MAP_FAILED ? -1 : 0;
	} else if (strcmp(what, "ioctl-tty") == 0) {
		rc = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws);
	} else {
		fatalx("sandbox self-test: unknown call \"%s\": use exec, fork, socket-inet, "
		    "socket-unix, socket-udp, getsockopt-error, ptrace, setuid, mmap-exec, ioctl-tty or "
		    "tcp-connect", what);
	}
	fatalx("sandbox self-test FAILED: %s returned %ld (%s) instead of the process being "
	    "killed: the seccomp filter does not forbid it", what, rc, rc < 0 ?
	    strerror(errno) : "success");
}

void
sandbox_selftest(const struct sandbox_policy *p, const char *what)
{
	if (sandbox_mode == SANDBOX_OFF)
		fatalx("sandbox self-test: this build has no seccomp filter (-Dseccomp=off): "
		    "nothing to test");
	log_info("sandbox self-test: calling %s, which the sandbox must refuse (seccomp by "
	    "killing the process, Landlock a TCP connect with EACCES)", what);
	if (strcmp(what, "tcp-connect") == 0)
		sandbox_selftest_connect(p);
	sandbox_selftest_call(what);
}
