/*
 * An authenticated session (doc/protocol.md §1-§2, §5, §7): its request frames
 * go to brokerd with the session's ticket, or are answered here; brokerd's
 * results come back to it; events are rendered once and fanned out to every
 * session in their audience; one tick timer and one ping timer serve all
 * sessions; brokerd's closes find their sessions by ticket.
 */
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>
#include <event2/event.h>

#include "common/clock.h"
#include "common/log.h"
#include "gatewayd/gatewayd.h"
#include "gatewayd/rpcreq.h"
#include "gatewayd/session_priv.h"
#include "gatewayd/ws.h"
#include "proto/pval.h"

#define AUTHED_PING_MS 25000	/* doc/protocol.md §1: ping every authenticated socket */
#define AUTHED_MAX_FORBIDDEN 10	/* doc/protocol.md §5: FORBIDDEN answers; one more closes */

static TAILQ_HEAD(, session) authed_list = TAILQ_HEAD_INITIALIZER(authed_list);
static struct event *authed_tick;
static struct event *authed_ping;
static struct pbuf authed_frame;	/* one event frame for one socket */
static struct pbuf authed_event;	/* an event rendered once for many sockets */
static struct pbuf authed_tick_payload;

void
authed_begin(struct session *s, const struct proto_accept *m)
{
	s->authed.pairing_events = (m->flags & PROTO_ACCEPT_PAIRING_EVENTS) != 0;
	s->authed.pairing_all = (m->flags & PROTO_ACCEPT_PAIRING_ALL) != 0;
	memcpy(s->authed.ticket, m->ticket, sizeof(s->authed.ticket));
	ws_set_max_message(s->ws, gatewayd.settings.max_payload);
	s->state = SESSION_AUTHED;
	TAILQ_INSERT_TAIL(&authed_list, s, authed.entry);
}

void
authed_end(struct session *s)
{
	TAILQ_REMOVE(&authed_list, s, authed.entry);
}

void
authed_message(struct session *s, const uint8_t *msg, size_t len)
{
	static struct rpc_result r;
	struct render_out out;

	rpc_parse(msg, len, &r);
	switch (r.outcome) {
	case RPC_FORWARD:
		if (s->conn == 0) {
			session_send_unavailable(s, r.rpc.id);
			return;
		}
		r.rpc.conn = s->conn;
		memcpy(r.rpc.ticket, s->authed.ticket, sizeof(r.rpc.ticket));
		if (brokerlink_send(PROTO_GW_RPC, &r.rpc) == 0)
			return;
		/* rpc_parse checked the layout; answer rather than leave it hanging. */
		render_res_invalid(r.rpc.id, "internal error: request not forwarded", &out);
		session_send_rendered(s, &out);
		return;
	case RPC_UNKNOWN_METHOD:
	case RPC_BAD_PARAMS:
		render_res_invalid(r.rpc.id, r.error, &out);
		session_send_rendered(s, &out);
		return;
	case RPC_BAD_FRAME:
		log_info("closing %s: invalid request frame after hello", s->peer);
		session_close(s, PROTO_CLOSE_POLICY, "invalid request frame");
		return;
	}
}

int
authed_on_rpc_result(const union brokerlink_msg *msg)
{
	const struct proto_rpc_result *m = &msg->rpc_result;
	struct session *s = session_find(m->conn);
	struct render_out out;

	if (s == NULL)
		return 0;
	if (s->state != SESSION_AUTHED)
		return session_out_of_state(s, "BR_RPC_RESULT");
	if (m->ok)
		render_res_ok(m->id, &m->payload, &out);
	else
		render_res_error(m->id, &m->error, &out);
	session_send_rendered(s, &out);
	/* doc/protocol.md §5: a session that keeps calling what it may not is closed.
	 * brokerd refuses each such call but keeps no count per session. */
	if (!m->ok && strcmp(m->error.code, "FORBIDDEN") == 0 &&
	    ++s->authed.forbidden > AUTHED_MAX_FORBIDDEN) {
		log_info("closing %s: repeated unauthorized calls", s->peer);
		session_close(s, PROTO_CLOSE_POLICY, "repeated unauthorized calls");
	}
	return 0;
}

/* An event after hello: the shared rendering plus this socket's own seq. A
 * relayed socket's seq is the upstream's to number: clawgate's events go
 * without one (clients look for gaps only where there is a seq). */
static void
authed_send_event(struct session *s, const struct pbuf *open)
{
	char tail[32];
	int n = s->relay != NULL ? snprintf(tail, sizeof(tail), "}") :
	    snprintf(tail, sizeof(tail), ",\"seq\":%llu}", (unsigned long long)++s->authed.seq);

	pbuf_reset(&authed_frame);
	pbuf_add(&authed_frame, open->data, open->len);
	pbuf_add(&authed_frame, tail, (size_t)n);
	session_send(s, authed_frame.data, authed_frame.len);
}

/* Whether the session hears a pairing event about device: every device's if
 * brokerd said so at its accept, else only that of the device its ticket binds. */
static int
authed_hears_pairing(const struct session *s, const uint8_t *device)
{
	const uint8_t *t = s->authed.ticket;

	if (!s->authed.pairing_events)
		return 0;
	return s->authed.pairing_all || ((t[PROTO_TICKET_FLAGS] & PROTO_TICKET_BOUND) != 0 &&
	    memcmp(t + PROTO_TICKET_DEVICE, device, PROTO_TICKET_DEVICE_LEN) == 0);
}

/* Renders the event once and sends it to each session in the audience: all of
 * them for a tick (device NULL), else those that hear about the device. */
static void
authed_broadcast(const char *event, const struct proto_blob *payload, const uint8_t *device)
{
	struct render_out out;
	struct session *s, *next;
	int pairing_only = device != NULL;

	render_event_open(event, payload, &out);
	pbuf_reset(&authed_event);
	pbuf_add(&authed_event, out.data, out.len);
	/* Sending may close a slow session, which leaves the list: step first. */
	for (s = TAILQ_FIRST(&authed_list); s != NULL; s = next) {
		next = TAILQ_NEXT(s, authed.entry);
		/* A relayed session gets its ticks from the upstream, and nothing
		 * before the upstream's hello-ok. */
		if (s->relay != NULL && (!pairing_only || !relay_open(s)))
			continue;
		if (!pairing_only || authed_hears_pairing(s, device))
			authed_send_event(s, &authed_event);
	}
}

int
authed_on_event(const union brokerlink_msg *msg)
{
	const struct proto_event *m = &msg->event;

	if (m->audience != PROTO_AUDIENCE_PAIRING) {
		log_warnx("brokerd sent BR_EVENT for audience %u, which does not exist",
		    m->audience);
		return -1;
	}
	authed_broadcast(m->event, &m->payload, m->device);
	return 0;
}

/* Whether BR_CLOSE names the session, by what its ticket says. */
static int
authed_close_matches(const struct session *s, const struct proto_close *m)
{
	const uint8_t *t = s->authed.ticket;

	if (m->target == PROTO_CLOSE_TARGET_SHARED)
		return (t[PROTO_TICKET_FLAGS] & PROTO_TICKET_SHARED) != 0;
	return (t[PROTO_TICKET_FLAGS] & PROTO_TICKET_BOUND) != 0 &&
	    memcmp(t + PROTO_TICKET_DEVICE, m->device, sizeof(m->device)) == 0 &&
	    t[PROTO_TICKET_ROLE] < 8 && (m->roles & (1u << t[PROTO_TICKET_ROLE])) != 0 &&
	    (m->except_conn == 0 || s->conn != m->except_conn);
}

int
authed_on_close(const union brokerlink_msg *msg)
{
	const struct proto_close *m = &msg->close;
	struct session *s, *next;

	if (m->target != PROTO_CLOSE_TARGET_DEVICE && m->target != PROTO_CLOSE_TARGET_SHARED) {
		log_warnx("brokerd sent BR_CLOSE for target %u, which does not exist", m->target);
		return -1;
	}
	/* Closing takes a session off the list: step first. */
	for (s = TAILQ_FIRST(&authed_list); s != NULL; s = next) {
		next = TAILQ_NEXT(s, authed.entry);
		if (!authed_close_matches(s, m))
			continue;
		log_info("closing %s at brokerd's request: close %u \"%s\"", s->peer, m->code,
		    m->reason);
		session_close(s, m->code, m->reason);
	}
	return 0;
}

void
authed_broker_back(void)
{
	struct session *s, *next;

	/* Sessions the old broker admitted are unknown to this one: their clients
	 * reconnect and are admitted afresh. */
	for (s = TAILQ_FIRST(&authed_list); s != NULL; s = next) {
		next = TAILQ_NEXT(s, authed.entry);
		if (s->conn == 0)
			session_close(s, PROTO_CLOSE_RESTART, "service restart");
	}
}

/* One timer for every authenticated session (doc/protocol.md §2.5). */
static void
authed_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proto_blob blob;

	pbuf_reset(&authed_tick_payload);
	pval_obj_begin(&authed_tick_payload);
	pval_kv_int(&authed_tick_payload, "ts", clock_wall_ms());
	pval_obj_end(&authed_tick_payload);
	blob = proto_blob_of(&authed_tick_payload);
	authed_broadcast("tick", &blob, NULL);
}

/*
 * Keepalive, one timer for all: each round pings every authenticated socket
 * and drops those that answered no ping since the previous round, i.e. within
 * 25 s (doc/protocol.md §1). A session authenticated since then is spared once:
 * its first ping goes out now.
 */
static void
authed_ping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s, *next;

	for (s = TAILQ_FIRST(&authed_list); s != NULL; s = next) {
		next = TAILQ_NEXT(s, authed.entry);
		if (!ws_ping(s->ws) && s->authed.pinged) {
			log_info("dropping %s: no pong within %d s", s->peer, AUTHED_PING_MS / 1000);
			session_destroy(s);
			continue;
		}
		s->authed.pinged = 1;
	}
}

static struct event *
authed_timer_every(void (*cb)(evutil_socket_t, short, void *), uint32_t ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event *ev = event_new(gatewayd.base, -1, EV_PERSIST, cb, NULL);

	if (ev == NULL || evtimer_add(ev, &tv) < 0)
		fatalx("cannot arm a shared session timer");
	return ev;
}

void
authed_init(void)
{
	authed_tick = authed_timer_every(authed_tick_cb, gatewayd.settings.tick_interval_ms);
	authed_ping = authed_timer_every(authed_ping_cb, AUTHED_PING_MS);
}

void
authed_free(void)
{
	if (authed_tick != NULL)
		event_free(authed_tick);
	authed_tick = NULL;
	if (authed_ping != NULL)
		event_free(authed_ping);
	authed_ping = NULL;
	pbuf_free(&authed_frame);
	pbuf_free(&authed_event);
	pbuf_free(&authed_tick_payload);
}
