/*
 * A server's end of a WebSocket and the large-message budget
 * (gatewayd/msgbudget.h). A message announced to exceed MSGBUDGET_SMALL bytes
 * reserves its announced length before its payload is read; when the budget
 * has no room, the connection stops reading (the input's high watermark:
 * whatever else turns reading on or off, libevent reads no more) and waits in
 * line. Two deadlines keep the line moving:
 *  - a connection waits at most wsbudget_wait_ms, then is closed 1013;
 *  - a message holding budget must arrive at WSBUDGET_RATE after a grace;
 *    once it is late it is closed 1008, but only while others wait for room
 *    (a slow sender harms nobody while the budget has room).
 * A deadline only marks the ws and wakes its reader (the bufferevent's read
 * callback): the close is sent from ws_read, where the session looks for it.
 */
#include <stdio.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/clock.h"
#include "common/log.h"
#include "gatewayd/ws.h"
#include "gatewayd/ws_priv.h"

#define WSBUDGET_WAIT_MS 30000
#define WSBUDGET_GRACE_MS 10000
#define WSBUDGET_RATE (1024 * 1024)	/* bytes a second */
/* How often a late holder looks again whether anyone waits. */
#define WSBUDGET_RECHECK_MS 1000

#define WSBUDGET_CLOSE_POLICY 1008
#define WSBUDGET_CLOSE_TRY_AGAIN 1013

static int64_t wsbudget_wait_ms = WSBUDGET_WAIT_MS;
static int64_t wsbudget_grace_ms = WSBUDGET_GRACE_MS;

void
ws_budget_times(int64_t wait_ms, int64_t grace_ms)
{
	wsbudget_wait_ms = wait_ms;
	wsbudget_grace_ms = grace_ms;
}

/* "256 MiB", or "640 KiB" where MiB would not be exact. */
static const char *
wsbudget_size(char *buf, size_t size, uint64_t n)
{
	if (n % (1 << 20) == 0)
		snprintf(buf, size, "%llu MiB", (unsigned long long)(n >> 20));
	else
		snprintf(buf, size, "%llu KiB", (unsigned long long)(n >> 10));
	return buf;
}

static void wsbudget_timer_cb(evutil_socket_t fd, short what, void *arg);

static void
wsbudget_arm(struct ws *ws, int64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	if (ws->budget_timer == NULL && (ws->budget_timer = evtimer_new(
	    bufferevent_get_base(ws->bev), wsbudget_timer_cb, ws)) == NULL)
		fatalx("out of memory allocating a timer");
	if (evtimer_add(ws->budget_timer, &tv) < 0)
		fatalx("cannot arm a timer");
}

/* The holder's deadline: the grace, then the rate for what it reserved. */
static void
wsbudget_arm_holder(struct ws *ws)
{
	int64_t left = ws->budget_since + wsbudget_grace_ms +
	    (int64_t)(ws->reserved * 1000 / WSBUDGET_RATE) - clock_mono_ms();

	wsbudget_arm(ws, left > 0 ? left : 0);
}

/* Reading stops at what the input holds now, or goes on. */
static void
wsbudget_pause(struct ws *ws, int paused)
{
	size_t len = evbuffer_get_length(bufferevent_get_input(ws->bev));

	ws->paused = (uint8_t)paused;
	bufferevent_setwatermark(ws->bev, EV_READ, 0, paused ? (len > 0 ? len : 1) : 0);
}

/* The reader runs again from the event loop, never from inside a caller that
 * released budget (another ws, possibly in the middle of its own read). */
static void
wsbudget_wake(struct ws *ws)
{
	bufferevent_trigger(ws->bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
}

static void
wsbudget_granted(void *arg, uint64_t bytes)
{
	struct ws *ws = arg;
	int64_t now = clock_mono_ms();

	if (ws->reserved == 0)
		ws->budget_since = now;
	else
		ws->budget_since += now - ws->wait_since;
	ws->reserved += bytes;
	wsbudget_pause(ws, 0);
	wsbudget_arm_holder(ws);
	wsbudget_wake(ws);
}

static void
wsbudget_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct ws *ws = arg;

	if (ws->paused) {
		msgbudget_cancel(&ws->budget_wait);
		ws->budget_close = WSBUDGET_CLOSE_TRY_AGAIN;
	} else if (msgbudget_waiting() == 0) {
		wsbudget_arm(ws, WSBUDGET_RECHECK_MS);
		return;
	} else {
		ws->budget_close = WSBUDGET_CLOSE_POLICY;
	}
	wsbudget_pause(ws, 0);
	wsbudget_wake(ws);
}

void
wsbudget_init(struct ws *ws)
{
	ws->budgeted = 1;
	ws->budget_wait.granted = wsbudget_granted;
	ws->budget_wait.arg = ws;
}

int
wsbudget_frame(struct ws *ws, uint64_t total, char *reason, size_t size)
{
	char a[32], b[32];

	if (total <= MSGBUDGET_SMALL || total <= ws->reserved || !ws->budgeted)
		return 0;
	/* Beyond the limit the message is refused anyway (1009): no more than
	 * the limit is ever read of it. */
	if (total > ws->max_message && (total = ws->max_message) <= ws->reserved)
		return 0;
	if (ws->paused)
		return 1;
	switch (msgbudget_reserve(&ws->budget_wait, total - ws->reserved)) {
	case MSGBUDGET_GRANTED:
		if (ws->reserved == 0)
			ws->budget_since = clock_mono_ms();
		ws->reserved = total;
		wsbudget_arm_holder(ws);
		return 0;
	case MSGBUDGET_QUEUED:
		ws->wait_since = clock_mono_ms();
		wsbudget_pause(ws, 1);
		wsbudget_arm(ws, wsbudget_wait_ms);
		return 1;
	case MSGBUDGET_NEVER:
		break;
	}
	snprintf(reason, size, "gateway busy: a %s message exceeds the %s budget for large "
	    "messages in flight; retry later", wsbudget_size(a, sizeof(a), total),
	    wsbudget_size(b, sizeof(b), msgbudget_total()));
	return WSBUDGET_CLOSE_TRY_AGAIN;
}

void
wsbudget_done(struct ws *ws)
{
	uint64_t reserved = ws->reserved;

	if (!ws->budgeted)
		return;
	if (ws->budget_timer != NULL)
		evtimer_del(ws->budget_timer);
	if (ws->paused) {
		msgbudget_cancel(&ws->budget_wait);
		wsbudget_pause(ws, 0);
	}
	ws->reserved = 0;
	ws->announced = 0;
	if (reserved != 0)
		msgbudget_release(reserved);
}

int
wsbudget_read(struct ws *ws)
{
	char reason[WS_REASON_MAX + 1], b[32];
	uint16_t code = ws->budget_close;

	if (code == 0)
		return ws->paused;
	ws->budget_close = 0;
	wsbudget_done(ws);
	if (code == WSBUDGET_CLOSE_TRY_AGAIN)
		snprintf(reason, sizeof(reason), "gateway busy: large messages in flight exceed "
		    "the %s budget; retry later", wsbudget_size(b, sizeof(b), msgbudget_total()));
	else
		snprintf(reason, sizeof(reason), "large message arriving too slowly (under "
		    "%d KiB/s after %lld s) while others wait; send it faster", WSBUDGET_RATE / 1024,
		    (long long)(wsbudget_grace_ms / 1000));
	log_debug("ws: closing %u: %s", code, reason);
	ws_close(ws, code, reason);
	return 1;
}

void
wsbudget_free(struct ws *ws)
{
	if (!ws->budgeted)
		return;
	msgbudget_cancel(&ws->budget_wait);
	if (ws->reserved != 0)
		msgbudget_release(ws->reserved);
	if (ws->budget_timer != NULL)
		event_free(ws->budget_timer);
}
