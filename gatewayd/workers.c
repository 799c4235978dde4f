#include "gatewayd/workers.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "gatewayd/gatewayd.h"

static pid_t workers_pid[WORKERS_MAX];

static void
workers_signal_all(unsigned n, int sig)
{
	for (unsigned i = 0; i < n; i++)
		if (workers_pid[i] > 0)
			kill(workers_pid[i], sig);
}

/* Reaps exited workers; returns how many are still running. A worker that
 * exits while nobody asked it to is a failure of the whole gateway. */
static unsigned
workers_reap(unsigned n, int stopping, int *failed)
{
	unsigned alive = 0;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			if (workers_pid[i] != pid)
				continue;
			workers_pid[i] = 0;
			if (!stopping || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				log_warnx("worker %u (pid %d) %s %d", i, (int)pid,
				    WIFEXITED(status) ? "exited with status" : "was killed by signal",
				    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
				*failed = 1;
			}
		}
	}
	for (unsigned i = 0; i < n; i++)
		alive += workers_pid[i] > 0;
	return alive;
}

/* failed: a worker could not even be started. */
static void __attribute__((noreturn))
workers_supervise(unsigned n, const sigset_t *watched, int failed)
{
	int stopping = 0, sig;

	for (;;) {
		if (workers_reap(n, stopping, &failed) == 0)
			exit(failed ? 1 : 0);
		if (failed && !stopping) {
			log_warnx("stopping the other workers: restart gatewayd (its log above "
			    "says why the worker ended)");
			stopping = 1;
			workers_signal_all(n, SIGTERM);
		}
		if ((sig = sigwaitinfo(watched, NULL)) < 0) {
			if (errno == EINTR)
				continue;
			fatal("sigwaitinfo");
		}
		if (sig == SIGTERM || sig == SIGINT) {
			stopping = 1;
			workers_signal_all(n, sig);
		}
		/* Not passed on: a reload does not exist, and a SIGHUP meant for
		 * every worker reaches each of them by itself (systemctl kill). */
		if (sig == SIGHUP)
			log_info("%s", GATEWAYD_SIGHUP_IGNORED);
	}
}

unsigned
workers_spawn(unsigned n)
{
	sigset_t watched, old;

	if (n <= 1)
		return 0;
	if (n > WORKERS_MAX)
		fatalx("--workers %u: at most %d", n, WORKERS_MAX);
	/* Blocked before the first fork so that no signal is lost in between;
	 * workers restore the mask and take signals through their event loop. */
	sigemptyset(&watched);
	sigaddset(&watched, SIGTERM);
	sigaddset(&watched, SIGINT);
	sigaddset(&watched, SIGCHLD);
	sigaddset(&watched, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &watched, &old) < 0)
		fatal("sigprocmask");
	/* main() ignores SIGHUP, and an ignored signal may be discarded even while
	 * blocked: the supervisor takes it with sigwaitinfo, so it must stay
	 * pending. Workers get SIG_IGN back before they unblock it. */
	if (signal(SIGHUP, SIG_DFL) == SIG_ERR)
		fatal("signal(SIGHUP)");
	for (unsigned i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			log_warn("cannot start worker %u", i);
			workers_supervise(i, &watched, 1);
		}
		if (pid == 0) {
			if (signal(SIGHUP, SIG_IGN) == SIG_ERR ||
			    sigprocmask(SIG_SETMASK, &old, NULL) < 0)
				fatal("cannot restore the worker's signal handling");
			return i;
		}
		workers_pid[i] = pid;
	}
	log_info("started %u workers", n);
	workers_supervise(n, &watched, 0);
}
