#include "gatewayd/flush.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/log.h"
#include "gatewayd/gatewayd.h"
#include "gatewayd/tls.h"

static TAILQ_HEAD(, flush) flush_list = TAILQ_HEAD_INITIALIZER(flush_list);
static struct event *flush_event;	/* activated: runs at the end of this pass */

static void
flush_write(struct flush *f)
{
	struct bufferevent *bev = f->bev;
	struct evbuffer *out = bufferevent_get_output(bev);
	int err = 0;

	/* A socket bufferevent keeps its output's front frozen but while it
	 * writes itself; so do we. */
	evbuffer_unfreeze(out, 1);
	while (evbuffer_get_length(out) > 0 &&
	    (evbuffer_write(out, bufferevent_getfd(bev)) >= 0 || (err = errno) == EINTR))
		;
	evbuffer_freeze(out, 1);
	if (evbuffer_get_length(out) == 0)
		bufferevent_trigger(bev, EV_WRITE, 0);
	else if (err == EAGAIN || err == EWOULDBLOCK) {
		/* The kernel is full: the bufferevent waits for room. */
		if (bufferevent_enable(bev, EV_WRITE) < 0)
			fatalx("cannot watch a socket for writing");
	} else {
		errno = err;	/* for the event callback's log line */
		bufferevent_trigger_event(bev, BEV_EVENT_ERROR | BEV_EVENT_WRITING, 0);
	}
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct flush *f;

	/* Each write may run callbacks that free their own flush (and queue
	 * others): take each off the list before writing it. */
	while ((f = TAILQ_FIRST(&flush_list)) != NULL) {
		TAILQ_REMOVE(&flush_list, f, entry);
		f->queued = 0;
		flush_write(f);
	}
}

/* Output is waiting: write it at the end of this pass, unless it is held or
 * the bufferevent is still writing a backlog (then it joins that). */
static void
flush_queue(struct flush *f)
{
	if (f->queued || f->held || (bufferevent_get_enabled(f->bev) & EV_WRITE))
		return;
	if (flush_event == NULL &&
	    (flush_event = event_new(gatewayd.base, -1, 0, flush_cb, NULL)) == NULL)
		fatalx("out of memory setting up socket writes");
	TAILQ_INSERT_TAIL(&flush_list, f, entry);
	f->queued = 1;
	event_active(flush_event, 0, 0);
}

static void
flush_added_cb(struct evbuffer *out, const struct evbuffer_cb_info *info, void *arg)
{
	if (info->n_added > 0)
		flush_queue(arg);
}

void
flush_init(struct flush *f, struct bufferevent *bev)
{
	f->bev = bev;
	f->queued = 0;
	f->held = 0;
	f->direct = tls_plain_fd(bev) >= 0;
	if (!f->direct)
		return;
	if (evbuffer_add_cb(bufferevent_get_output(bev), flush_added_cb, f) == NULL)
		fatalx("out of memory setting up socket writes");
	/* Not armed yet: no system call. */
	bufferevent_disable(bev, EV_WRITE);
}

void
flush_hold(struct flush *f)
{
	if (!f->direct)
		return;
	flush_cancel(f);
	f->held = 1;
}

void
flush_release(struct flush *f)
{
	if (!f->held)
		return;
	f->held = 0;
	if (evbuffer_get_length(bufferevent_get_output(f->bev)) > 0)
		flush_queue(f);
}

void
flush_drained(struct flush *f)
{
	if (f->direct)
		bufferevent_disable(f->bev, EV_WRITE);
}

void
flush_cancel(struct flush *f)
{
	if (f->queued)
		TAILQ_REMOVE(&flush_list, f, entry);
	f->queued = 0;
}

void
flush_free(void)
{
	if (flush_event != NULL)
		event_free(flush_event);
	flush_event = NULL;
}
