/* clawgate-loadgen: the event loop of one process. It starts this worker's
 * connections in the arrival mode asked for (closed loop, open loop at a rate, or
 * all of them held idle) and runs them to their outcome, bounded in time. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "lg.h"

static void
lg_start(struct lg *g, int64_t t_sched)
{
	long k = g->r.started++, gidx = g->first_index + k * g->stride;
	struct lg_conn *c = &g->conns[g->freelist[--g->nfree]];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)g->o->port) };
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN };
	int one = 1;

	memset(c, 0, sizeof(*c));
	c->t_sched = t_sched;
	c->deadline = now_ns() + LG_CONN_TIMEOUT_NS;
	c->state = CS_CONNECTING;
	g->inflight++;
	switch (g->job) {
	case JOB_DEVICE:
	case JOB_PAIR_REQUEST:
	case JOB_PAIR_TOKEN:
		c->key = &g->keys[gidx % (long)g->nkeys];
		break;
	case JOB_UNKNOWN:
		devkey_generate(&c->own);
		c->key = &c->own;
		break;
	case JOB_OPERATOR:
	case JOB_PAIR_ADMIN:
		break;
	}
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		c->fd = -1;
		lg_count_err(&g->r, "socket", 1);
		g->inflight--;
		g->freelist[g->nfree++] = (int)(c - g->conns);
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (g->o->sources > 0) {
		struct sockaddr_in src = { .sin_family = AF_INET };

		src.sin_addr.s_addr = htonl(g->o->first_source + (uint32_t)(gidx % g->o->sources));
		/* Leave the port to connect(), so the 4-tuple, not the source port alone,
		 * must be unique. */
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
			lg_finish(g, c, "bind");
			return;
		}
	}
	inet_pton(AF_INET, g->o->host, &sa.sin_addr);
	ev.data.ptr = c;
	if (epoll_ctl(g->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
		fatal("epoll_ctl");
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS) {
		char name[32];

		snprintf(name, sizeof(name), "connect:%s", strerrorname_np(errno) ?
		    strerrorname_np(errno) : "?");
		lg_finish(g, c, name);
	}
}

static void
lg_expire(struct lg *g, int64_t now, int all)
{
	for (int i = 0; i < g->nconns; i++) {
		struct lg_conn *c = &g->conns[i];

		if (c->state != CS_FREE && c->state != CS_OPEN && (all || now > c->deadline))
			lg_finish(g, c, "timeout");
	}
}

static void
lg_arm_timer(struct lg *g, int64_t when)
{
	struct itimerspec its = { .it_value = { when / 1000000000, when % 1000000000 } };

	if (when <= 0)
		its.it_value.tv_nsec = 1;	/* zero would disarm it */
	timerfd_settime(g->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* The event loop of one process: starts this worker's connections as the arrival
 * mode says and runs them to their outcome. Returns once all are decided (with
 * --idle: once all are up; lg_hold keeps them). */
void
lg_run(struct lg *g)
{
	const struct lg_opts *o = g->o;
	int slots = o->idle && g->job != JOB_PAIR_ADMIN ? (int)g->count : o->concurrency;
	double interval = g->rate > 0 ? 1e9 / g->rate : 0;
	int64_t stop_start, stop_all, last_scan = 0;
	struct epoll_event evs[256];

	g->ep = epoll_create1(EPOLL_CLOEXEC);
	g->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (g->ep < 0 || g->tfd < 0)
		fatal("epoll/timerfd");
	struct epoll_event tev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(g->ep, EPOLL_CTL_ADD, g->tfd, &tev);
	g->nconns = slots;
	g->conns = xcalloc((size_t)slots, sizeof(*g->conns));
	g->freelist = xcalloc((size_t)slots, sizeof(*g->freelist));
	for (int i = 0; i < slots; i++)
		g->freelist[g->nfree++] = slots - 1 - i;
	g->t0 = g->t_last = now_ns();
	stop_start = g->t0 + (int64_t)(o->duration * 1e9);
	stop_all = stop_start + LG_DRAIN_NS;
	for (;;) {
		int64_t now = now_ns(), next_due = 0;
		int n, timeout = 20;

		while (g->r.started < g->count && now < stop_start && g->nfree > 0 &&
		    (o->idle ? g->inflight < o->concurrency : 1)) {
			if (interval > 0) {
				int64_t due = g->t0 + (int64_t)(interval * (double)g->r.started);

				if (due > now) {
					next_due = due;
					break;
				}
				lg_start(g, due);
			} else if (!o->idle && g->inflight >= o->concurrency)
				break;
			else
				lg_start(g, now);
		}
		/* The admin session stays open (not in flight) while it approves. */
		if (g->inflight == 0 && (g->r.started == g->count || now >= stop_start) &&
		    (g->job != JOB_PAIR_ADMIN || g->r.open == 0))
			break;
		if (now >= stop_all) {
			lg_expire(g, now, 1);
			break;
		}
		if (next_due > 0)
			lg_arm_timer(g, next_due);
		n = epoll_wait(g->ep, evs, 256, timeout);
		if (n < 0 && errno != EINTR)
			fatal("epoll_wait");
		for (int i = 0; i < n; i++) {
			struct lg_conn *c = evs[i].data.ptr;
			uint64_t ticks;

			if (c == NULL) {
				if (read(g->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
					fatal("timerfd read");
				continue;
			}
			if (c->state == CS_FREE)
				continue;	/* finished earlier in this batch */
			if (c->state == CS_CONNECTING)
				lg_on_connected(g, c);
			else
				lg_on_readable(g, c);
		}
		now = now_ns();
		if (now - last_scan > 100000000) {
			lg_expire(g, now, 0);
			last_scan = now;
		}
	}
	g->r.elapsed = (double)(g->t_last - g->t0) / 1e9;
}

/* --idle: keeps the open sessions (answering pings, reading ticks) until stdin
 * reaches EOF or --hold seconds pass. */
void
lg_hold(struct lg *g)
{
	int64_t end = now_ns() + (int64_t)(g->o->hold * 1e9);
	struct epoll_event evs[256], sev = { .events = EPOLLIN, .data.ptr = g };
	long before = g->r.open;
	int use_stdin = epoll_ctl(g->ep, EPOLL_CTL_ADD, STDIN_FILENO, &sev) == 0;

	while (now_ns() < end) {
		int n = epoll_wait(g->ep, evs, 256, 200);

		for (int i = 0; i < n; i++) {
			struct lg_conn *c = evs[i].data.ptr;
			char buf[256];
			uint64_t ticks;

			if (c == NULL) {
				if (read(g->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
					fatal("timerfd read");
			} else if ((void *)c == (void *)g) {
				if (read(STDIN_FILENO, buf, sizeof(buf)) <= 0)
					end = 0;
			} else if (c->state == CS_OPEN)
				lg_on_readable(g, c);
		}
	}
	if (!use_stdin)
		log_info("held %ld sessions for %.0f s", before, g->o->hold);
	if (g->r.open != before)
		log_warnx("%ld of %ld idle sessions were closed by the server while held",
		    before - g->r.open, before);
}

void
lg_init(struct lg *g, const struct lg_opts *o, enum lg_job job, long count)
{
	memset(g, 0, sizeof(*g));
	g->o = o;
	g->job = job;
	g->count = count;
	g->stride = 1;
	g->rate = o->rate;
}

void
lg_free(struct lg *g)
{
	for (int i = 0; i < g->nconns; i++)
		if (g->conns[i].state != CS_FREE)
			lg_finish(g, &g->conns[i], NULL);
	close(g->ep);
	close(g->tfd);
	free(g->conns);
	free(g->freelist);
	free(g->lat);
}
