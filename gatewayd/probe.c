#include "gatewayd/probe.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <event2/event.h>

#include "common/clock.h"
#include "common/log.h"
#include "gatewayd/gatewayd.h"
#include "gatewayd/report.h"
#include "gatewayd/upstream.h"

static struct {
	int fd;			/* -1: no probe under way */
	struct event *wait;	/* for fd's connect, bounded by PROBE_TIMEOUT_MS */
	struct event *tick;	/* every period */
	int64_t period_ms;
} probe = { -1, NULL, NULL, PROBE_PERIOD_MS };

/* The attempt in flight, if any: its timeout and its socket. */
static void
probe_close(void)
{
	if (probe.wait != NULL)
		event_free(probe.wait);
	probe.wait = NULL;
	if (probe.fd >= 0)
		close(probe.fd);
	probe.fd = -1;
}

/* The probe is over: its socket goes, its outcome to brokerd (why: what
 * failed, NULL for err's text). A failure is logged when it differs from the
 * last probe's, not every period. */
static void
probe_done(int err, const char *why)
{
	static char last[PROTO_TEXT_MAX + 1];
	char error[PROTO_TEXT_MAX + 1];

	probe_close();
	if (err == 0) {
		last[0] = '\0';
		report_upstream_probed(1, "");
		return;
	}
	snprintf(error, sizeof(error), "probe connect: %s", why != NULL ? why : strerror(err));
	if (strcmp(error, last) != 0)
		log_warnx("relay: the upstream gateway at %s port %u fails gatewayd's probe "
		    "(%s): start the OpenClaw gateway there, or correct clawgate.relay",
		    gatewayd.settings.relay.addr, gatewayd.settings.relay.port, error);
	snprintf(last, sizeof(last), "%s", error);
	report_upstream_probed(0, error);
}

static void
probe_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	int err = 0;
	socklen_t len = sizeof(err);
	char why[48];

	if (what & EV_TIMEOUT) {
		snprintf(why, sizeof(why), "no answer within %d s", PROBE_TIMEOUT_MS / 1000);
		probe_done(ETIMEDOUT, why);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	probe_done(err, NULL);
}

static void
probe_start(void)
{
	const struct timeval tv = { PROBE_TIMEOUT_MS / 1000, (PROBE_TIMEOUT_MS % 1000) * 1000 };
	struct sockaddr_storage ss;
	int sslen;

	if (probe.fd >= 0)
		return;
	if ((sslen = upstream_sockaddr(gatewayd.settings.relay.addr,
	    gatewayd.settings.relay.port, &ss)) < 0) {
		probe_done(EINVAL, "not a numeric address");
		return;
	}
	/* The one kind of socket the relay opens (the sandbox admits this one). */
	if ((probe.fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0) {
		probe_done(errno, NULL);
		return;
	}
	if (connect(probe.fd, (struct sockaddr *)&ss, (socklen_t)sslen) == 0) {
		probe_done(0, NULL);
		return;
	}
	if (errno != EINPROGRESS) {
		probe_done(errno, NULL);
		return;
	}
	if ((probe.wait = event_new(gatewayd.base, probe.fd, EV_WRITE, probe_wait_cb,
	    NULL)) == NULL || event_add(probe.wait, &tv) < 0)
		fatalx("cannot watch the upstream probe's connect");
}

/* A period's end: probe unless a relayed session told within it. */
static void
probe_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	int64_t told = report_upstream_session_ms();

	if (told >= 0 && clock_mono_ms() - told < probe.period_ms)
		return;
	probe_start();
}

void
probe_set_period(int64_t ms)
{
	probe.period_ms = ms;
}

void
probe_link_up(void)
{
	const struct timeval tv = { probe.period_ms / 1000, (probe.period_ms % 1000) * 1000 };

	if (!relay_mode() || gatewayd.worker != 0)
		return;
	if (probe.tick == NULL) {
		if ((probe.tick = event_new(gatewayd.base, -1, EV_PERSIST, probe_tick_cb,
		    NULL)) == NULL || event_add(probe.tick, &tv) < 0)
			fatalx("cannot arm the upstream probe's timer");
	}
	probe_start();
}

void
probe_free(void)
{
	probe_close();
	if (probe.tick != NULL)
		event_free(probe.tick);
	probe.tick = NULL;
}
