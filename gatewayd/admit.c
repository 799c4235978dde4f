/*
 * The handshake of a session (doc/protocol.md §2-§4): from the upgrade, a
 * challenge (brokerd's, from the pool or asked for; gatewayd's own while
 * brokerd is away), the connect frame parsed and sent to brokerd, and its
 * verdict: hello-ok, after which authed.c takes over, or the refusal, possibly
 * held back as brokerd asks. Frames that come early wait in a short queue.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/random.h"
#include "common/xmalloc.h"
#include "gatewayd/challenges.h"
#include "gatewayd/conntab.h"
#include "gatewayd/gatewayd.h"
#include "gatewayd/handshake.h"
#include "gatewayd/http.h"
#include "gatewayd/report.h"
#include "gatewayd/session_priv.h"

#define ADMIT_PREAUTH_MAX_MESSAGE 65536	/* doc/protocol.md §1; more: 1009 */

void
admit_queue(struct session *s, const uint8_t *msg, size_t len, unsigned limit)
{
	struct session_frame *f;

	if (s->pre->nqueued >= limit) {
		session_reject(s, PROTO_CLOSE_POLICY, "too many pending handshake frames", "flood");
		return;
	}
	f = xmalloc(sizeof(*f) + len);
	f->next = NULL;
	f->len = len;
	memcpy(f->data, msg, len);
	*s->pre->queue_tail = f;
	s->pre->queue_tail = &f->next;
	s->pre->nqueued++;
}

static struct session_frame *
admit_queue_take(struct session *s)
{
	struct session_frame *f = s->pre->queue;

	if (f != NULL) {
		s->pre->queue = f->next;
		if (s->pre->queue == NULL)
			s->pre->queue_tail = &s->pre->queue;
		s->pre->nqueued--;
	}
	return f;
}

/* Without brokerd nobody can decide a connect: refused, the client retries. */
static void
admit_unavailable(struct session *s)
{
	session_send_unavailable(s, s->pre->connect_id);
	session_reject(s, PROTO_CLOSE_TRY_AGAIN, "gateway unavailable", "brokerd unavailable");
}

/* Acts on the parsed first frame: forward it, or refuse it here. */
static void
admit_connect_result(struct session *s, struct handshake_result *hs)
{
	struct render_out out;
	struct proto_connect *c = &hs->connect;
	struct session_pre *pre = s->pre;

	snprintf(pre->client_id, sizeof(pre->client_id), "%s", c->client_id);
	snprintf(pre->client_mode, sizeof(pre->client_mode), "%s", c->client_mode);
	snprintf(pre->device_id, sizeof(pre->device_id), "%s", c->device_id);
	snprintf(pre->connect_id, sizeof(pre->connect_id), "%s", hs->id);
	switch (hs->outcome) {
	case HANDSHAKE_CONNECT:
		break;
	case HANDSHAKE_NOT_JSON:
		report_session(s, PROTO_GWREF_BAD_CONNECT, PROTO_CLOSE_NORMAL,
		    "first frame is not JSON");
		session_reject(s, PROTO_CLOSE_NORMAL, "", "first frame is not JSON");
		return;
	case HANDSHAKE_NOT_REQUEST:
		report_session(s, PROTO_GWREF_BAD_CONNECT, PROTO_CLOSE_POLICY,
		    "first frame is not a request frame");
		session_reject(s, PROTO_CLOSE_POLICY, "invalid request frame",
		    "not a request frame");
		return;
	case HANDSHAKE_NOT_CONNECT:
	case HANDSHAKE_BAD_PARAMS:
		report_session(s, PROTO_GWREF_BAD_CONNECT, PROTO_CLOSE_POLICY, hs->error);
		render_res_invalid(hs->id, hs->error, &out);
		session_send_rendered(s, &out);
		session_reject(s, PROTO_CLOSE_POLICY, hs->error,
		    hs->outcome == HANDSHAKE_NOT_CONNECT ? "first request is not connect" :
		    "invalid connect params");
		return;
	}
	c->conn = s->conn;
	snprintf(c->peer_ip, sizeof(c->peer_ip), "%s", s->peer);
	c->proxy_headers = pre->proxy_headers;
	snprintf(c->origin, sizeof(c->origin), "%s", pre->origin);
	snprintf(c->host, sizeof(c->host), "%s", pre->host);
	/* conn 0: challenged while brokerd was away, with a nonce it never issued. */
	if (s->conn == 0 || !brokerlink_available()) {
		admit_unavailable(s);
		return;
	}
	/* handshake_parse checked every field against its layout: a refusal here
	 * is a bug, and the client must not wait for a verdict that never comes. */
	if (brokerlink_send(PROTO_GW_CONNECT, c) < 0) {
		session_reject(s, PROTO_CLOSE_INTERNAL, "internal error",
		    "GW_CONNECT not encodable");
		return;
	}
	s->state = SESSION_CONNECTING;
}

static void
admit_connect_frame(struct session *s, uint8_t *msg, size_t len)
{
	/* Static: a connect is a few KiB and the loop is single-threaded. */
	static struct handshake_result hs;

	handshake_parse(msg, len, &hs);
	if (hs.outcome == HANDSHAKE_CONNECT && relay_mode() &&
	    relay_keep_connect(s, msg, len) < 0)
		session_reject(s, PROTO_CLOSE_INTERNAL, "internal error",
		    "connect frame not copyable for the upstream");
	else
		admit_connect_result(s, &hs);
	/* They held the client's token or password: gatewayd keeps no secret. */
	OPENSSL_cleanse(&hs, sizeof(hs));
	OPENSSL_cleanse(msg, len);
}

/* The challenge went out (brokerd's, or gatewayd's own while brokerd is away). */
static void
admit_challenged(struct session *s, const struct proto_challenge *m)
{
	struct session_frame *f;
	struct render_out out;

	render_challenge(m, &out);
	session_send_rendered(s, &out);
	flush_release(&s->flush);
	s->state = SESSION_CHALLENGED;
	/* A connect that arrived early is handled now; what followed it stays. */
	if ((f = admit_queue_take(s)) != NULL) {
		admit_connect_frame(s, f->data, f->len);
		free(f);	/* wiped by admit_connect_frame */
	}
	session_check_drained(s);
}

/* A challenge of gatewayd's own while brokerd is away: clients wait for one
 * before they send the connect that gets them the retryable refusal. */
static void
admit_local_challenge(struct session *s)
{
	struct proto_challenge m = { .conn = 0, .ts = clock_wall_ms() };

	random_uuid4(m.nonce);
	admit_challenged(s, &m);
}

void
admit_start(struct session *s, const struct http_request *req)
{
	struct proto_challenge ch;
	struct proto_conn_ref ref;

	s->pre = xcalloc(1, sizeof(*s->pre));
	s->pre->queue_tail = &s->pre->queue;
	snprintf(s->pre->origin, sizeof(s->pre->origin), "%s", req->origin);
	snprintf(s->pre->host, sizeof(s->pre->host), "%s", req->host);
	s->pre->proxy_headers = req->proxy_headers;
	session_ws_start(s, ADMIT_PREAUTH_MAX_MESSAGE);
	s->state = SESSION_CHALLENGE;
	/* The handshake deadline runs from the upgrade (doc/protocol.md §1). */
	session_deadline(s);
	if (!brokerlink_available()) {
		admit_local_challenge(s);
	} else if (challenges_take(&ch) == 0) {
		s->conn = ch.conn;
		conntab_add(s->conn, s);
		admit_challenged(s, &ch);
	} else {
		/* The 101 waits for brokerd's challenge: one write, one segment. */
		flush_hold(&s->flush);
		s->conn = conntab_new_id();
		conntab_add(s->conn, s);
		ref.conn = s->conn;
		brokerlink_send(PROTO_GW_CHALLENGE, &ref);
	}
	/* Frames may have come right behind the request head. */
	if (evbuffer_get_length(bufferevent_get_input(s->bev)) > 0)
		session_read_ws(s);
}

void
admit_message(struct session *s, uint8_t *msg, size_t len)
{
	switch (s->state) {
	case SESSION_CHALLENGE:
		/* The connect may arrive before the broker's nonce does: it waits,
		 * and so may the usual 15 behind it. */
		admit_queue(s, msg, len, ADMIT_PENDING_MAX + 1);
		break;
	case SESSION_CHALLENGED:
		admit_connect_frame(s, msg, len);
		break;
	case SESSION_CONNECTING:
		admit_queue(s, msg, len, ADMIT_PENDING_MAX);
		break;
	default:
		break;
	}
}

void
admit_broker_lost(struct session *s)
{
	if (s->state == SESSION_CHALLENGE)
		admit_local_challenge(s);
	else if (s->state == SESSION_CONNECTING)
		admit_unavailable(s);
}

int
admit_on_challenge(const union brokerlink_msg *m)
{
	struct session *s;

	if (challenges_on_challenge(&m->challenge))
		return 0;
	if ((s = session_find(m->challenge.conn)) == NULL)
		return 0;
	if (s->state != SESSION_CHALLENGE)
		return session_out_of_state(s, "BR_CHALLENGE");
	admit_challenged(s, &m->challenge);
	return 0;
}

/* A session brokerd accepted ended before it began here (its GW_CLOSED crossed
 * the BR_ACCEPT, or sending hello-ok closed it): brokerd counted it in, so it is
 * reported with its ticket. */
static void
admit_accepted_gone(const struct proto_accept *m)
{
	struct proto_session_ref gone;

	gone.conn = m->conn;
	memcpy(gone.ticket, m->ticket, sizeof(gone.ticket));
	brokerlink_send(PROTO_GW_SESSION_CLOSED, &gone);
}

int
admit_on_accept(const union brokerlink_msg *msg)
{
	const struct proto_accept *m = &msg->accept;
	struct session *s = session_find(m->conn);
	struct session_frame *queue, *f;
	char conn_id[UUID_STR_LEN + 1];
	struct render_out out;

	if (s == NULL) {
		admit_accepted_gone(m);
		return 0;
	}
	if (s->state != SESSION_CONNECTING)
		return session_out_of_state(s, "BR_ACCEPT");
	if (relay_mode()) {
		accesslog_admit(s, m);
		session_preauth_release(s);
		relay_accept(s, m);
		return 0;
	}
	random_uuid4(conn_id);
	render_hello_ok(s->pre->connect_id, m, conn_id, clock_mono_ms() - gatewayd.started_ms,
	    &out);
	session_send_rendered(s, &out);
	render_wipe(&out);
	if (s->state == SESSION_CLOSING) {
		admit_accepted_gone(m);
		return 0;
	}
	accesslog_admit(s, m);
	session_preauth_release(s);
	event_free(s->timer);
	s->timer = NULL;
	/* Frames that came while the connect was processed are requests now. */
	queue = s->pre->queue;
	s->pre->queue = NULL;
	session_pre_free(s);
	authed_begin(s, m);
	while ((f = queue) != NULL) {
		queue = f->next;
		if (s->state == SESSION_AUTHED)
			authed_message(s, f->data, f->len);
		free(f);
	}
	session_check_drained(s);
	return 0;
}

static void
admit_verdict_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct session_verdict *v = s->pre->verdict;
	char reason[PROTO_REASON_MAX + 1];
	uint16_t code = v->code;

	/* Sending may close the session (and free v): keep what the close needs. */
	snprintf(reason, sizeof(reason), "%s", v->reason);
	if (v->len > 0)
		session_send(s, v->res, v->len);
	session_close(s, code, reason);
}

int
admit_on_reject(const union brokerlink_msg *msg)
{
	const struct proto_reject *m = &msg->reject;
	struct session *s;
	struct render_out out = { NULL, 0 };
	struct session_verdict *v;

	if (challenges_on_reject(m->conn))
		return 0;
	if ((s = session_find(m->conn)) == NULL)
		return 0;
	/* CHALLENGE: no nonce to be had ("gateway busy"); CONNECTING: the verdict. */
	if (s->state != SESSION_CHALLENGE && s->state != SESSION_CONNECTING)
		return session_out_of_state(s, "BR_REJECT");
	if (m->has_error && s->state == SESSION_CONNECTING)
		render_res_error(s->pre->connect_id, &m->error, &out);
	accesslog_reject(s, m->close_code, m->close_reason, "refused by brokerd", m->locality,
	    m->pairing_request_id);
	if (m->delay_ms > 0 && s->state == SESSION_CONNECTING && s->pre->verdict == NULL) {
		v = xmalloc(sizeof(*v) + out.len);
		v->code = m->close_code;
		snprintf(v->reason, sizeof(v->reason), "%s", m->close_reason);
		v->len = out.len;
		if (out.len > 0)
			memcpy(v->res, out.data, out.len);
		s->pre->verdict = v;
		session_timer_set(s, admit_verdict_cb, m->delay_ms);
		return 0;
	}
	if (out.len > 0)
		session_send_rendered(s, &out);
	session_close(s, m->close_code, m->close_reason);
	return 0;
}
