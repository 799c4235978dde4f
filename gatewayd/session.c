/*
 * The connection under every phase of a session: the socket and its
 * callbacks, the WebSocket reads, the deadline and linger timers, the close,
 * and the free, which always happens from a fresh pass of the event loop.
 */
#include "gatewayd/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "common/clock.h"
#include "common/ipaddr.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "gatewayd/challenges.h"
#include "gatewayd/conntab.h"
#include "gatewayd/fdbudget.h"
#include "gatewayd/gatewayd.h"
#include "gatewayd/preauth.h"
#include "gatewayd/report.h"
#include "gatewayd/session_priv.h"
#include "gatewayd/tls.h"
#include "gatewayd/upstream.h"
#include "gatewayd/ws.h"

#define SESSION_UNAVAILABLE_RETRY_MS 1000	/* retryAfterMs while brokerd is away */
/* The request head: complete within SESSION_HEAD_MS of the accept (a browser may
 * open a socket before it has a request for it), and within
 * SESSION_HEAD_REST_MS of its first byte, which is the minimum rate: a real
 * client sends its head at once, a slowloris trickling bytes is cut off. */
#define SESSION_HEAD_MS 10000
#define SESSION_HEAD_REST_MS 3000

TAILQ_HEAD(session_list, session);
static struct session_list session_all = TAILQ_HEAD_INITIALIZER(session_all);
static struct defer session_reaper;
static void (*session_shutdown_done)(void);

const struct brokerlink_handler session_broker_handlers[] = {
	{ PROTO_BR_CHALLENGE, BROKERLINK_UP, admit_on_challenge },
	{ PROTO_BR_ACCEPT, BROKERLINK_UP, admit_on_accept },
	{ PROTO_BR_REJECT, BROKERLINK_UP, admit_on_reject },
	{ PROTO_BR_RPC_RESULT, BROKERLINK_UP, authed_on_rpc_result },
	{ PROTO_BR_EVENT, BROKERLINK_UP, authed_on_event },
	{ PROTO_BR_CLOSE, BROKERLINK_UP, authed_on_close },
};
const size_t session_broker_nhandlers = sizeof(session_broker_handlers) /
    sizeof(session_broker_handlers[0]);

void
session_timer_set(struct session *s, void (*cb)(evutil_socket_t, short, void *), uint32_t ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	if (s->timer == NULL) {
		s->timer = evtimer_new(gatewayd.base, cb, s);
	} else if (event_get_callback(s->timer) != cb) {
		/* event_assign must not touch a pending event. */
		evtimer_del(s->timer);
		event_assign(s->timer, gatewayd.base, -1, 0, cb, s);
	}
	/* A pending timer with the same callback is only moved. */
	if (s->timer == NULL || evtimer_add(s->timer, &tv) < 0)
		fatalx("cannot arm a session timer");
}

static void
session_queue_free(struct session_frame *f)
{
	while (f != NULL) {
		struct session_frame *next = f->next;

		/* It may be a connect, with the client's token or password. */
		OPENSSL_cleanse(f->data, f->len);
		free(f);
		f = next;
	}
}

void
session_pre_free(struct session *s)
{
	if (s->pre == NULL)
		return;
	session_queue_free(s->pre->queue);
	free(s->pre->verdict);
	free(s->pre->upstream_connect);
	free(s->pre);
	s->pre = NULL;
}

/* The broker forgets the connection once gatewayd reports it closed, and so do
 * broker answers: from here on they find no session, which is the race they
 * may lose. */
static void
session_forget(struct session *s)
{
	struct proto_conn_ref ref;
	struct proto_session_ref sref;

	if (s->state == SESSION_AUTHED)
		authed_end(s);
	relay_end(s, 0, NULL);
	if (s->conn == 0)
		return;
	conntab_del(s->conn);
	if (s->state == SESSION_AUTHED) {
		sref.conn = s->conn;
		memcpy(sref.ticket, s->authed.ticket, sizeof(sref.ticket));
		brokerlink_send(PROTO_GW_SESSION_CLOSED, &sref);
	} else {
		ref.conn = s->conn;
		brokerlink_send(PROTO_GW_CLOSED, &ref);
	}
	s->conn = 0;
}

/* The socket no longer counts against its address's pre-auth limit. */
void
session_preauth_release(struct session *s)
{
	if (s->preauth)
		preauth_release(PREAUTH_UPGRADE, s->peer);
	s->preauth = 0;
}

static int
session_dead(const struct session *s)
{
	return defer_dead(&s->dead);
}

static void
session_free(void *arg)
{
	struct session *s = arg;

	ws_free(s->ws);
	bufferevent_free(s->bev);
	fdbudget_closed();
	free(s);
}

void
session_destroy(struct session *s)
{
	if (session_dead(s))
		return;
	if (s->state != SESSION_CLOSING)
		session_forget(s);
	/* Whoever still holds it sees a session that sends and reads no more. */
	s->state = SESSION_CLOSING;
	TAILQ_REMOVE(&session_all, s, entry);
	fdbudget_leave(s);
	session_preauth_release(s);
	session_pre_free(s);
	if (s->timer != NULL)
		event_free(s->timer);
	s->timer = NULL;
	flush_cancel(&s->flush);
	staticfiles_body_close(&s->body);
	bufferevent_disable(s->bev, EV_READ | EV_WRITE);
	bufferevent_setcb(s->bev, NULL, NULL, NULL, NULL);
	defer_free(&session_reaper, &s->dead, s);
	if (session_shutdown_done != NULL && TAILQ_EMPTY(&session_all))
		session_shutdown_done();
}

/* Once everything (the close frame last) is written, half-close and wait for
 * the peer's FIN: closing at once with unread input would send a RST, which
 * can destroy the close frame before the peer reads it. */
void
session_check_drained(struct session *s)
{
	uint16_t code;
	int by_peer;

	if (s->state != SESSION_CLOSING || s->shut || session_dead(s))
		return;
	if (s->ws != NULL && !ws_closed(s->ws, &code, &by_peer))
		return;
	if (s->body.fd >= 0 || evbuffer_get_length(bufferevent_get_output(s->bev)) > 0)
		return;
	shutdown(bufferevent_getfd(s->bev), SHUT_WR);
	s->shut = 1;
}

static void
session_linger_cb(evutil_socket_t fd, short what, void *arg)
{
	session_destroy(arg);
}

void
session_linger(struct session *s, uint32_t ms)
{
	session_timer_set(s, session_linger_cb, ms);
}

void
session_closing(struct session *s)
{
	if (s->state == SESSION_CLOSING)
		return;
	session_forget(s);
	session_preauth_release(s);
	session_pre_free(s);
	flush_release(&s->flush);
	s->state = SESSION_CLOSING;
	session_linger(s, SESSION_LINGER_MS);
	session_check_drained(s);
}

/* RFC 6455 §7.4: codes an endpoint may send. */
static uint16_t
session_code_ok(uint16_t code)
{
	if ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
	    (code >= 3000 && code <= 4999))
		return code;
	return PROTO_CLOSE_INTERNAL;
}

void
session_close(struct session *s, uint16_t code, const char *reason)
{
	if (s->state == SESSION_CLOSING)
		return;
	if (s->ws != NULL)
		ws_close(s->ws, session_code_ok(code), reason);
	relay_end(s, session_code_ok(code), reason);
	session_closing(s);
}

void
session_reject(struct session *s, uint16_t code, const char *reason, const char *why)
{
	accesslog_reject(s, code, reason, why, NULL, NULL);
	session_close(s, code, reason);
}

/* Sends one frame, and closes a session whose peer does not read: the backlog
 * limit is what hello-ok promised (policy.maxBufferedBytes). */
void
session_send(struct session *s, const uint8_t *data, size_t len)
{
	size_t backlog;

	if (s->state == SESSION_CLOSING)
		return;
	ws_send_text(s->ws, data, len);
	backlog = evbuffer_get_length(bufferevent_get_output(s->bev));
	if (backlog > gatewayd.settings.max_buffered) {
		log_info("closing %s: slow consumer (%zu bytes unsent)", s->peer, backlog);
		session_close(s, PROTO_CLOSE_POLICY, "slow consumer");
	}
}

void
session_send_rendered(struct session *s, const struct render_out *out)
{
	session_send(s, out->data, out->len);
}

/* The answer to any request while brokerd is away: retryable, in the shape of
 * §5's "Starting" row. */
void
session_send_unavailable(struct session *s, const char *id)
{
	session_send_retryable(s, id, "gateway unavailable: its broker is restarting; "
	    "retry shortly");
}

void
session_send_retryable(struct session *s, const char *id, const char *message)
{
	struct proto_error e = { .retryable = 2, .retry_after_ms = SESSION_UNAVAILABLE_RETRY_MS };
	struct render_out out;

	proto_error_set(&e, "UNAVAILABLE", "%s", message);
	render_res_error(id, &e, &out);
	session_send_rendered(s, &out);
}

/* A complete text message from the client. */
static void
session_message_cb(void *arg, uint8_t *msg, size_t len)
{
	struct session *s = arg;

	switch (s->state) {
	case SESSION_CHALLENGE:
	case SESSION_CHALLENGED:
	case SESSION_CONNECTING:
		admit_message(s, msg, len);
		break;
	case SESSION_AUTHED:
		if (s->relay != NULL)
			relay_message(s, msg, len);
		else
			authed_message(s, msg, len);
		break;
	case SESSION_ECHO:
		ws_send_text(s->ws, msg, len);
		break;
	case SESSION_HTTP:
	case SESSION_CLOSING:
		break;
	}
}

/* Why wslay (or ws.c) closed a WebSocket by itself. */
static const char *
session_ws_close_why(uint16_t code)
{
	switch (code) {
	case PROTO_CLOSE_PROTOCOL_ERROR:
		return "WebSocket protocol error";
	case PROTO_CLOSE_UNSUPPORTED_DATA:
		return "binary message";
	case PROTO_CLOSE_INVALID_DATA:
		return "text message not UTF-8";
	case PROTO_CLOSE_TOO_BIG:
		return "message too big";
	case PROTO_CLOSE_POLICY:
		return "large message arriving too slowly while others wait for the budget";
	case PROTO_CLOSE_TRY_AGAIN:
		return "large-message budget full";
	}
	return "WebSocket failure";
}

/* After wslay ran: notice a close it sent by itself (1002, 1007, 1009, 1003 or
 * the echo of the peer's close) and finish once everything is out. */
static void
session_after_ws(struct session *s)
{
	uint16_t code;
	int by_peer;

	if (s->state != SESSION_CLOSING && ws_closed(s->ws, &code, &by_peer)) {
		if (by_peer)
			log_debug("%s closed the WebSocket (%u)", s->peer, code);
		else if (s->pre == NULL)
			log_info("closing %s: %s (close %u)", s->peer,
			    session_ws_close_why(code), code);
		else
			accesslog_reject(s, code, "", session_ws_close_why(code), NULL, NULL);
		session_closing(s);
	}
	session_check_drained(s);
}

void
session_ws_start(struct session *s, uint64_t max_message)
{
	s->ws = ws_new(s->bev, max_message, session_message_cb, s);
}

void
session_read_ws(struct session *s)
{
	if (ws_read(s->ws) < 0)
		session_destroy(s);
	if (!session_dead(s))
		session_after_ws(s);
}

/* The one deadline of a session that is not authenticated yet: for its
 * request head, then from the upgrade for its handshake (doc/protocol.md §1). A
 * head that is not done in time is dropped without an answer. */
static void
session_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	if (s->state == SESSION_HTTP) {
		log_debug("%s sent no complete request head in time (%d s from the accept, "
		    "%d s from its first byte)", s->peer, SESSION_HEAD_MS / 1000,
		    SESSION_HEAD_REST_MS / 1000);
		session_destroy(s);
		return;
	}
	/* doc/protocol.md §5: close 1000, empty reason, no res. */
	report_session(s, PROTO_GWREF_HANDSHAKE_TIMEOUT, PROTO_CLOSE_NORMAL,
	    "no connect within the handshake timeout");
	session_reject(s, PROTO_CLOSE_NORMAL, "", "handshake timeout");
}

void
session_deadline(struct session *s)
{
	session_timer_set(s, session_deadline_cb, gatewayd.settings.handshake_timeout_ms);
}

void
session_head_begun(struct session *s)
{
	int64_t left = SESSION_HEAD_MS - (clock_mono_ms() - s->accepted_ms);

	if (s->head_begun)
		return;
	s->head_begun = 1;
	if (left > SESSION_HEAD_REST_MS)
		session_timer_set(s, session_deadline_cb, SESSION_HEAD_REST_MS);
}

static void
session_read_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	switch (s->state) {
	case SESSION_HTTP:
		front_read(s);
		break;
	case SESSION_CLOSING:
		/* Whatever still comes is not read: only the FIN is awaited. */
		evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(
		    bufferevent_get_input(bev)));
		break;
	default:
		session_read_ws(s);
		break;
	}
}

static void
session_write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	flush_drained(&s->flush);
	relay_client_drained(s);
	front_drained(s);
	session_check_drained(s);
}

static void
session_event_cb(struct bufferevent *bev, short events, void *arg)
{
	struct session *s = arg;

	/* A TLS handshake completed: nothing to do, the request head follows. */
	if (events == BEV_EVENT_CONNECTED)
		return;
	if (s->state != SESSION_CLOSING && s->state != SESSION_HTTP)
		log_debug("%s went away (%s)", s->peer,
		    events & BEV_EVENT_EOF ? "end of stream" : "socket error");
	session_destroy(s);
}

/* Textual peer address; an IPv4-mapped IPv6 address shows as IPv4. */
static void
session_peer(const struct sockaddr *sa, char *out, size_t outsz)
{
	uint8_t a[16];

	if (ipaddr_from_sockaddr(sa, a) == 0)
		ipaddr_format(a, out, outsz);
	else
		snprintf(out, outsz, "unknown");
}

void
session_accept(int fd, const struct sockaddr *sa, socklen_t salen)
{
	struct session *s;

	/* TCP_NODELAY came with the listening socket (listener.c). */
	s = xcalloc(1, sizeof(*s));
	s->body.fd = -1;
	session_peer(sa, s->peer, sizeof(s->peer));
	snprintf(s->via, sizeof(s->via), "direct");
	s->accepted_ms = clock_mono_ms();
	if (fdbudget_admit(s, fd, sa) < 0) {
		free(s);
		return;
	}
	if ((s->bev = tls_bufferevent(fd)) == NULL) {
		log_warnx("cannot set up a connection from %s: out of memory", s->peer);
		fdbudget_leave(s);
		fdbudget_closed();
		close(fd);
		free(s);
		return;
	}
	s->state = SESSION_HTTP;
	TAILQ_INSERT_TAIL(&session_all, s, entry);
	flush_init(&s->flush, s->bev);
	bufferevent_setcb(s->bev, session_read_cb, session_write_cb, session_event_cb, s);
	if (bufferevent_enable(s->bev, EV_READ) < 0) {
		log_warnx("cannot watch a connection from %s", s->peer);
		session_destroy(s);
		return;
	}
	session_timer_set(s, session_deadline_cb, SESSION_HEAD_MS);
}

struct session *
session_find(uint64_t conn)
{
	struct session *s = conntab_find(conn);

	if (s == NULL)
		log_debug("broker message for connection %llu, which is gone",
		    (unsigned long long)conn);
	return s;
}

int
session_out_of_state(const struct session *s, const char *what)
{
	log_warnx("brokerd sent %s for connection %llu in state %d", what,
	    (unsigned long long)s->conn, (int)s->state);
	return -1;
}

void
session_init(void)
{
	defer_init(&session_reaper, gatewayd.base, session_free);
	fdbudget_init();
	authed_init();
}

void
session_broker_lost(void)
{
	struct session *s, *next;

	/* Everything in hand belonged to the old link. */
	challenges_reset();
	for (s = TAILQ_FIRST(&session_all); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		/* The broker forgot every connection with its link. */
		if (s->conn != 0)
			conntab_del(s->conn);
		s->conn = 0;
		admit_broker_lost(s);
	}
}

void
session_broker_back(void)
{
	authed_broker_back();
}

void
session_shutdown(void (*done)(void))
{
	struct session *s, *next;

	session_shutdown_done = done;
	for (s = TAILQ_FIRST(&session_all); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->state == SESSION_HTTP)
			session_destroy(s);
		else
			session_close(s, PROTO_CLOSE_RESTART, "service restart");
	}
	if (TAILQ_EMPTY(&session_all))
		done();
}

void
session_free_all(void)
{
	struct session *s;

	session_shutdown_done = NULL;
	while ((s = TAILQ_FIRST(&session_all)) != NULL)
		session_destroy(s);
	defer_close(&session_reaper);
	upstream_free_all();
	authed_free();
	front_free();
	conntab_free();
	preauth_free();
}
