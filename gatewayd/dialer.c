#include "gatewayd/dialer.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common/log.h"
#include "gatewayd/allowlist.h"

#define DIALER_FD 3		/* the dialer's end of the pair, all it keeps open */

static int dialer_fd = -1;	/* gatewayd's end */
static pid_t dialer_pid;

/* The answer to one request: the connect's errno (0: the socket goes along). */
static void
dialer_answer(int fd, int err)
{
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &err, sizeof(err) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (err == 0) {
		memset(control, 0, sizeof(control));
		m.msg_control = control;
		m.msg_controllen = sizeof(control);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if (sendmsg(DIALER_FD, &m, MSG_NOSIGNAL) < 0)
		_exit(0);	/* gatewayd is gone */
}

static void __attribute__((noreturn))
dialer_run(const struct sockaddr_un *sun, const struct sandbox_user *user, pid_t parent)
{
	struct sandbox_policy policy = { .user = user, .no_dumps = 1,
	    .rules = allowlist_dialer_rules, .nrules = allowlist_dialer_nrules, .tcp_lock = 1 };
	int fd, connected, err, sandboxed = 0;
	char c;

	/* Warnings only: its "sandbox entered" is not gatewayd's. */
	log_init("gatewayd-dialer", LOG_LEVEL_WARN);
	/* Nothing of gatewayd's: the loop's descriptors, the notify socket. */
	if (close_range(DIALER_FD + 1, ~0U, 0) < 0)
		fatal("close_range");
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0)
		fatal("prctl(PR_SET_PDEATHSIG)");
	/* gatewayd died before the death signal was set. Compared with gatewayd's
	 * pid, not with 1: in a container gatewayd itself is often pid 1. */
	if (getppid() != parent)
		_exit(0);
	while (read(DIALER_FD, &c, 1) == 1) {
		if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
			dialer_answer(-1, errno);
			continue;
		}
		connected = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
		err = errno;
		/* The first link is made with the rights gatewayd started with, as
		 * gatewayd's own start is; reconnects as gatewayd's account. The
		 * sandbox comes before the answer, so that gatewayd never serves
		 * while its dialer still holds those rights. */
		if (connected && !sandboxed) {
			sandbox_enter(&policy);
			sandboxed = 1;
		}
		dialer_answer(connected ? fd : -1, connected ? 0 : err);
		close(fd);
	}
	_exit(0);
}

void
dialer_start(const char *path, const struct sandbox_user *user)
{
	struct sockaddr_un sun;
	int pair[2];
	pid_t parent = getpid();

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		fatalx("socket path %s is too long for a Unix socket: shorten --socket-dir", path);
	memcpy(sun.sun_path, path, strlen(path));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
		fatal("socketpair for the broker dialer");
	if ((dialer_pid = fork()) < 0)
		fatal("cannot start the broker dialer");
	if (dialer_pid == 0) {
		if (dup2(pair[1], DIALER_FD) < 0)
			fatal("dup2");
		dialer_run(&sun, user, parent);
	}
	close(pair[1]);
	dialer_fd = pair[0];
}

int
dialer_connect(void)
{
	char control[CMSG_SPACE(sizeof(int))];
	int err, fd = -1;
	struct iovec iov = { &err, sizeof(err) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
	    .msg_controllen = sizeof(control) };
	struct cmsghdr *c;
	ssize_t n;

	if (write(dialer_fd, "d", 1) != 1 ||
	    (n = recvmsg(dialer_fd, &m, MSG_CMSG_CLOEXEC)) != (ssize_t)sizeof(err))
		fatalx("the broker dialer (pid %ld) is gone: restart gatewayd (its log may say "
		    "why)", (long)dialer_pid);
	for (c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(c), sizeof(int));
	if (err != 0 || fd < 0) {
		if (fd >= 0)
			close(fd);
		errno = err != 0 ? err : EPROTO;
		return -1;
	}
	return fd;
}
