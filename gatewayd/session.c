#include "gatewayd/session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "common/clock.h"
#include "common/ipaddr.h"
#include "common/log.h"
#include "common/random.h"
#include "common/xmalloc.h"
#include "gatewayd/brokerlink.h"
#include "gatewayd/challenges.h"
#include "gatewayd/conntab.h"
#include "gatewayd/flush.h"
#include "gatewayd/gatewayd.h"
#include "gatewayd/handshake.h"
#include "gatewayd/http.h"
#include "gatewayd/preauth.h"
#include "gatewayd/proxy.h"
#include "gatewayd/render.h"
#include "gatewayd/rpc.h"
#include "gatewayd/tls.h"
#include "gatewayd/ws.h"
#include "proto/pval.h"

#define SESSION_PREAUTH_MAX_MESSAGE 65536	/* doc/protocol.md §1; more: 1009 */
#define SESSION_PENDING_MAX 15	/* frames queued behind the connect; one more: 1008 */
#define SESSION_LINGER_MS 2000	/* how long a closing socket may take to finish */
#define SESSION_PING_MS 25000	/* doc/protocol.md §1: ping every authenticated socket */
#define SESSION_UNAVAILABLE_RETRY_MS 1000	/* retryAfterMs while brokerd is away */
#define SESSION_MAX_FORBIDDEN 10	/* doc/protocol.md §5: FORBIDDEN answers; one more closes */

enum session_state {
	SESSION_HTTP,		/* reading the request head */
	SESSION_CHALLENGE,	/* upgraded, GW_CHALLENGE sent, no nonce yet */
	SESSION_CHALLENGED,	/* connect.challenge sent, waiting for the connect */
	SESSION_CONNECTING,	/* GW_CONNECT sent, waiting for the verdict */
	SESSION_AUTHED,		/* hello-ok sent */
	SESSION_ECHO,		/* --test-echo: text messages come back */
	SESSION_CLOSING,	/* close sent (or HTTP answered): flushing, then gone */
};

/* A frame received before the verdict, kept to be handled after it. */
struct session_frame {
	struct session_frame *next;
	size_t len;
	uint8_t data[];
};

/* A refusal brokerd asked to hold back (doc/protocol.md §4.6: a wrong secret from
 * loopback is answered late, never locked out); sent when the timer fires. */
struct session_verdict {
	uint16_t code;
	char reason[PROTO_REASON_MAX + 1];
	size_t len;			/* the res frame, 0: none */
	uint8_t res[];
};

/* What a session needs only until its verdict: freed at hello-ok so that an
 * idle authenticated session costs little. */
struct session_pre {
	char origin[PROTO_TEXT_MAX + 1];
	char host[PROTO_TEXT_MAX + 1];
	uint8_t proxy_headers;
	char connect_id[PROTO_ID_MAX + 1];
	/* for the admission or rejection log line */
	char client_id[PROTO_NAME_MAX + 1];
	char client_mode[PROTO_NAME_MAX + 1];
	char device_id[PROTO_ID_MAX + 1];
	struct session_frame *queue, **queue_tail;
	unsigned nqueued;
	struct session_verdict *verdict;
};

struct session {
	TAILQ_ENTRY(session) entry;		/* session_all */
	TAILQ_ENTRY(session) authed_entry;	/* session_authed, while SESSION_AUTHED */
	struct bufferevent *bev;
	struct flush flush;			/* bev's writes */
	struct ws *ws;				/* from the upgrade on */
	struct session_pre *pre;		/* from the upgrade to the verdict */
	/* The handshake deadline, then the closing linger; an authenticated
	 * session has none (the shared tick serves them all). */
	struct event *timer;
	uint64_t conn;				/* nonzero while the broker knows it */
	uint64_t seq;				/* events sent since hello-ok */
	enum session_state state;
	uint8_t pairing_events;
	uint8_t shut;				/* shutdown(SHUT_WR) done */
	uint8_t preauth;			/* counted by preauth_acquire */
	uint8_t pinged;				/* a keepalive ping went out */
	char peer[PROTO_ADDR_MAX + 1];		/* the client (proxy.c attributes it) */
	char via[PROTO_ADDR_MAX + 8];		/* "direct" or "proxy:<TCP peer>" */
	/* From BR_ACCEPT: brokerd keeps nothing per session, so each request
	 * carries this and so does the report that the session ended. */
	uint8_t ticket[PROTO_TICKET_LEN];
	uint8_t forbidden;			/* requests brokerd refused FORBIDDEN */
};

TAILQ_HEAD(session_list, session);
static struct session_list session_all = TAILQ_HEAD_INITIALIZER(session_all);
static struct session_list session_authed = TAILQ_HEAD_INITIALIZER(session_authed);
static struct event *session_tick;
static struct event *session_ping;
static struct pbuf session_out;		/* HTTP responses, event frames */
static struct pbuf session_event;	/* an event rendered once for many sockets */
static struct pbuf session_tick_payload;
static void (*session_shutdown_done)(void);

static void session_message_cb(void *arg, const uint8_t *msg, size_t len);

static void
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

		free(f);
		f = next;
	}
}

static void
session_pre_free(struct session *s)
{
	if (s->pre == NULL)
		return;
	session_queue_free(s->pre->queue);
	free(s->pre->verdict);
	free(s->pre);
	s->pre = NULL;
}

/* The broker forgets the connection once gatewayd reports it closed, and so do broker answers:
 * from here on they find no session, which is the race they may lose. */
static void
session_forget(struct session *s)
{
	struct proto_conn_ref ref;
	struct proto_session_ref sref;

	if (s->state == SESSION_AUTHED)
		TAILQ_REMOVE(&session_authed, s, authed_entry);
	if (s->conn == 0)
		return;
	conntab_del(s->conn);
	if (s->state == SESSION_AUTHED) {
		sref.conn = s->conn;
		memcpy(sref.ticket, s->ticket, sizeof(sref.ticket));
		brokerlink_send(PROTO_GW_SESSION_CLOSED, &sref);
	} else {
		ref.conn = s->conn;
		brokerlink_send(PROTO_GW_CLOSED, &ref);
	}
	s->conn = 0;
}

/* The socket no longer counts against its address's pre-auth limit. */
static void
session_preauth_release(struct session *s)
{
	if (s->preauth)
		preauth_release(s->peer);
	s->preauth = 0;
}

static void
session_free(struct session *s)
{
	if (s->state != SESSION_CLOSING)
		session_forget(s);
	TAILQ_REMOVE(&session_all, s, entry);
	session_preauth_release(s);
	session_pre_free(s);
	if (s->timer != NULL)
		event_free(s->timer);
	ws_free(s->ws);
	flush_cancel(&s->flush);
	bufferevent_free(s->bev);
	free(s);
	if (session_shutdown_done != NULL && TAILQ_EMPTY(&session_all))
		session_shutdown_done();
}

/* Once everything (the close frame last) is written, half-close and wait for
 * the peer's FIN: closing at once with unread input would send a RST, which
 * can destroy the close frame before the peer reads it. */
static void
session_check_drained(struct session *s)
{
	uint16_t code;
	int by_peer;

	if (s->state != SESSION_CLOSING || s->shut)
		return;
	if (s->ws != NULL && !ws_closed(s->ws, &code, &by_peer))
		return;
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) > 0)
		return;
	shutdown(bufferevent_getfd(s->bev), SHUT_WR);
	s->shut = 1;
}

static void
session_linger_cb(evutil_socket_t fd, short what, void *arg)
{
	session_free(arg);
}

static void
session_closing(struct session *s)
{
	if (s->state == SESSION_CLOSING)
		return;
	session_forget(s);
	session_preauth_release(s);
	session_pre_free(s);
	flush_release(&s->flush);
	s->state = SESSION_CLOSING;
	session_timer_set(s, session_linger_cb, SESSION_LINGER_MS);
	session_check_drained(s);
}

/* RFC 6455 §7.4: codes an endpoint may send. */
static uint16_t
session_code_ok(uint16_t code)
{
	if ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
	    (code >= 3000 && code <= 4999))
		return code;
	return 1011;
}

static void
session_close(struct session *s, uint16_t code, const char *reason)
{
	if (s->state == SESSION_CLOSING)
		return;
	if (s->ws != NULL)
		ws_close(s->ws, session_code_ok(code), reason);
	session_closing(s);
}

static const char *
session_or_dash(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : "-";
}

/* Client-chosen text (ids, reasons) in a log line: quoted, with " and \\
 * escaped, so that no value can pass for another key; "-" when empty. Values
 * longer than the buffer are cut (a log line, not a record). */
#define SESSION_QUOTED_MAX (2 * PROTO_ID_MAX + 8)

static const char *
session_quote(const char *in, char out[SESSION_QUOTED_MAX])
{
	size_t o = 0;

	if (in == NULL || in[0] == '\0')
		return "-";
	out[o++] = '"';
	for (; *in != '\0' && o < SESSION_QUOTED_MAX - 3; in++) {
		if (*in == '"' || *in == '\\')
			out[o++] = '\\';
		out[o++] = *in;
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

/* How the client address was attributed: the TCP peer itself, or the
 * X-Forwarded-For of a trusted proxy. */
static const char *
session_attribution(const struct session *s)
{
	return s->via;
}

/* The one log line of each refused handshake, for an admin to grep when
 * "pairing required" persists. key=value, values from the
 * client are schema-checked names or ids, the reason is quoted; no token,
 * password or signature ever reaches it. locality and pairing come from the
 * broker's verdict, NULL when gatewayd refused by itself. */
static void
session_log_reject(struct session *s, uint16_t code, const char *reason, const char *why,
    const char *locality, const char *pairing)
{
	char cut[WS_REASON_MAX + 4], qreason[SESSION_QUOTED_MAX], qdevice[SESSION_QUOTED_MAX];
	char qconnect[SESSION_QUOTED_MAX];
	const struct session_pre *p = s->pre;

	snprintf(cut, sizeof(cut), "%s", reason);
	ws_reason_cut(cut);
	log_info("rejected close=%u reason=%s addr=%s via=%s locality=%s client=%s mode=%s "
	    "device=%s connect=%s pairing=%s why=\"%s\"", code,
	    session_quote(cut, qreason), s->peer, session_attribution(s),
	    session_or_dash(locality), session_or_dash(p ? p->client_id : NULL),
	    session_or_dash(p ? p->client_mode : NULL),
	    session_quote(p ? p->device_id : NULL, qdevice),
	    session_quote(p ? p->connect_id : NULL, qconnect), session_or_dash(pairing), why);
}

static void
session_reject(struct session *s, uint16_t code, const char *reason, const char *why)
{
	session_log_reject(s, code, reason, why, NULL, NULL);
	session_close(s, code, reason);
}

/* Sends one frame, and closes a session whose peer does not read: the backlog
 * limit is what hello-ok promised (policy.maxBufferedBytes). */
static void
session_send(struct session *s, const uint8_t *data, size_t len)
{
	size_t backlog;

	if (s->state == SESSION_CLOSING)
		return;
	ws_send_text(s->ws, data, len);
	backlog = evbuffer_get_length(bufferevent_get_output(s->bev));
	if (backlog > gatewayd.settings.max_buffered) {
		log_info("closing %s: slow consumer (%zu bytes unsent)", s->peer, backlog);
		session_close(s, 1008, "slow consumer");
	}
}

static void
session_send_rendered(struct session *s, const struct render_out *out)
{
	session_send(s, out->data, out->len);
}

/* An event after hello: the shared rendering plus this socket's own seq. */
static void
session_send_event(struct session *s, const struct pbuf *open)
{
	char tail[32];
	int n = snprintf(tail, sizeof(tail), ",\"seq\":%llu}", (unsigned long long)++s->seq);
	struct pbuf *b = &session_out;

	pbuf_reset(b);
	pbuf_add(b, open->data, open->len);
	pbuf_add(b, tail, (size_t)n);
	session_send(s, b->data, b->len);
}

static void
session_queue(struct session *s, const uint8_t *msg, size_t len, unsigned limit)
{
	struct session_frame *f;

	if (s->pre->nqueued >= limit) {
		session_reject(s, 1008, "too many pending handshake frames", "flood");
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
session_queue_take(struct session *s)
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

/* The answer to any request while brokerd is away: retryable, in the shape of
 * §5's "Starting" row. */
static void
session_render_unavailable(const char *id, struct render_out *out)
{
	struct proto_error e = { .retryable = 2, .retry_after_ms = SESSION_UNAVAILABLE_RETRY_MS };

	proto_error_set(&e, "UNAVAILABLE", "gateway unavailable: its broker is restarting; "
	    "retry shortly");
	render_res_error(id, &e, out);
}

/* Without brokerd nobody can decide a connect: refused, the client retries. */
static void
session_unavailable(struct session *s)
{
	struct render_out out;

	session_render_unavailable(s->pre->connect_id, &out);
	session_send_rendered(s, &out);
	session_reject(s, 1013, "gateway unavailable", "brokerd unavailable");
}

/* Acts on the parsed first frame: forward it, or refuse it here. */
static void
session_connect_result(struct session *s, struct handshake_result *hs)
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
		session_reject(s, 1000, "", "first frame is not JSON");
		return;
	case HANDSHAKE_NOT_REQUEST:
		session_reject(s, 1008, "invalid request frame", "not a request frame");
		return;
	case HANDSHAKE_NOT_CONNECT:
	case HANDSHAKE_BAD_PARAMS:
		render_res_invalid(hs->id, hs->error, &out);
		session_send_rendered(s, &out);
		session_reject(s, 1008, hs->error, hs->outcome == HANDSHAKE_NOT_CONNECT ?
		    "first request is not connect" : "invalid connect params");
		return;
	}
	c->conn = s->conn;
	snprintf(c->peer_ip, sizeof(c->peer_ip), "%s", s->peer);
	c->proxy_headers = pre->proxy_headers;
	snprintf(c->origin, sizeof(c->origin), "%s", pre->origin);
	snprintf(c->host, sizeof(c->host), "%s", pre->host);
	/* conn 0: challenged while brokerd was away, with a nonce it never issued. */
	if (s->conn == 0 || !brokerlink_available()) {
		session_unavailable(s);
		return;
	}
	/* handshake_parse checked every field against its layout: a refusal here
	 * is a bug, and the client must not wait for a verdict that never comes. */
	if (brokerlink_send(PROTO_GW_CONNECT, c) < 0) {
		session_reject(s, 1011, "internal error", "GW_CONNECT not encodable");
		return;
	}
	s->state = SESSION_CONNECTING;
}

static void
session_connect_frame(struct session *s, const uint8_t *msg, size_t len)
{
	/* Static: a connect is a few KiB and the loop is single-threaded. */
	static struct handshake_result hs;

	handshake_parse(msg, len, &hs);
	session_connect_result(s, &hs);
	/* It held the client's token or password: gatewayd keeps no secret. */
	OPENSSL_cleanse(&hs, sizeof(hs));
}

/* The challenge went out (brokerd's, or gatewayd's own while brokerd is away). */
static void
session_challenged(struct session *s, const struct proto_challenge *m)
{
	struct session_frame *f;
	struct render_out out;

	render_challenge(m, &out);
	session_send_rendered(s, &out);
	flush_release(&s->flush);
	s->state = SESSION_CHALLENGED;
	/* A connect that arrived early is handled now; what followed it stays. */
	if ((f = session_queue_take(s)) != NULL) {
		session_connect_frame(s, f->data, f->len);
		free(f);
	}
	session_check_drained(s);
}

/* A challenge of gatewayd's own while brokerd is away: clients wait for one
 * before they send the connect that gets them the retryable refusal. */
static void
session_local_challenge(struct session *s)
{
	struct proto_challenge m = { .conn = 0, .ts = clock_wall_ms() };

	random_uuid4(m.nonce);
	session_challenged(s, &m);
}

static void
session_rpc_frame(struct session *s, const uint8_t *msg, size_t len)
{
	static struct rpc_result r;
	struct render_out out;

	rpc_parse(msg, len, &r);
	switch (r.outcome) {
	case RPC_FORWARD:
		if (s->conn == 0) {
			session_render_unavailable(r.rpc.id, &out);
			session_send_rendered(s, &out);
			return;
		}
		r.rpc.conn = s->conn;
		memcpy(r.rpc.ticket, s->ticket, sizeof(r.rpc.ticket));
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
		session_close(s, 1008, "invalid request frame");
		return;
	}
}

/* A complete text message from the client (inside ws_read: no freeing). */
static void
session_message_cb(void *arg, const uint8_t *msg, size_t len)
{
	struct session *s = arg;

	switch (s->state) {
	case SESSION_CHALLENGE:
		/* The connect may arrive before the broker's nonce does: it waits,
		 * and so may the usual 15 behind it. */
		session_queue(s, msg, len, SESSION_PENDING_MAX + 1);
		break;
	case SESSION_CHALLENGED:
		session_connect_frame(s, msg, len);
		break;
	case SESSION_CONNECTING:
		session_queue(s, msg, len, SESSION_PENDING_MAX);
		break;
	case SESSION_AUTHED:
		session_rpc_frame(s, msg, len);
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
	case 1002:
		return "WebSocket protocol error";
	case 1003:
		return "binary message";
	case 1007:
		return "text message not UTF-8";
	case 1009:
		return "message too big";
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
			session_log_reject(s, code, "", session_ws_close_why(code), NULL,
			    NULL);
		session_closing(s);
	}
	session_check_drained(s);
}

static void
session_handshake_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	if (s->state == SESSION_HTTP) {
		log_debug("%s sent no complete request head in time", s->peer);
		session_free(s);
		return;
	}
	/* doc/protocol.md §5: close 1000, empty reason, no res. */
	session_reject(s, 1000, "", "handshake timeout");
}

/* Reads frames; the session may be gone afterwards (the caller returns). */
static void
session_read_ws(struct session *s)
{
	if (ws_read(s->ws) < 0) {
		session_free(s);
		return;
	}
	session_after_ws(s);
}

static void
session_upgrade(struct session *s, const struct http_request *req)
{
	struct proto_challenge ch;
	struct proto_conn_ref ref;

	s->pre = xcalloc(1, sizeof(*s->pre));
	s->pre->queue_tail = &s->pre->queue;
	snprintf(s->pre->origin, sizeof(s->pre->origin), "%s", req->origin);
	snprintf(s->pre->host, sizeof(s->pre->host), "%s", req->host);
	s->pre->proxy_headers = req->proxy_headers;
	s->ws = ws_new(s->bev, SESSION_PREAUTH_MAX_MESSAGE, session_message_cb, s);
	s->state = SESSION_CHALLENGE;
	/* The handshake timeout runs from the upgrade (doc/protocol.md §1). */
	session_timer_set(s, session_handshake_timeout_cb, gatewayd.settings.handshake_timeout_ms);
	if (!brokerlink_available()) {
		session_local_challenge(s);
	} else if (challenges_take(&ch) == 0) {
		s->conn = ch.conn;
		conntab_add(s->conn, s);
		session_challenged(s, &ch);
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

/* --test-echo: the frame path of every session, with no handshake around it,
 * for RFC 6455 conformance tests; messages up to policy.maxPayload. */
static void
session_echo(struct session *s)
{
	s->ws = ws_new(s->bev, gatewayd.settings.max_payload, session_message_cb, s);
	s->state = SESSION_ECHO;
	/* Nothing to authenticate: neither the handshake deadline nor the
	 * pre-auth limit applies. */
	evtimer_del(s->timer);
	session_preauth_release(s);
	if (evbuffer_get_length(bufferevent_get_input(s->bev)) > 0)
		session_read_ws(s);
}

static void
session_http(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t avail = evbuffer_get_length(in);
	size_t n = avail < HTTP_HEAD_MAX ? avail : HTTP_HEAD_MAX;
	struct http_request req;

	if (http_parse(evbuffer_pullup(in, (ssize_t)n), n, &req) == HTTP_PARSE_MORE)
		return;
	pbuf_reset(&session_out);
	/* §4.2: forwarding headers name the client only when a trusted proxy sent
	 * them; from anyone else they are refused rather than ignored. */
	if (http_wants_upgrade(&req) && req.proxy_headers) {
		char client[PROTO_ADDR_MAX + 1];

		if (proxy_attribute(&gatewayd.settings, s->peer, &req, client) < 0) {
			log_info("refused an upgrade from %s: forwarding headers from a peer that is "
			    "not in gateway.trustedProxies, or naming no usable client address",
			    s->peer);
			http_refuse_proxy(&session_out);
			bufferevent_write(s->bev, session_out.data, session_out.len);
			session_closing(s);
			return;
		}
		snprintf(s->via, sizeof(s->via), "proxy:%s", s->peer);
		snprintf(s->peer, sizeof(s->peer), "%s", client);
	}
	/* doc/protocol.md §1: an upgrade beyond the address's unauthenticated sockets
	 * is refused before it costs a challenge. */
	if (http_wants_upgrade(&req) &&
	    preauth_acquire(s->peer, gatewayd.settings.max_preauth_per_ip) < 0) {
		log_info("refused an upgrade from %s: %u unauthenticated sockets already (raise "
		    "OPENCLAW_MAX_PREAUTH_CONNECTIONS_PER_IP for brokerd if that is legitimate)",
		    s->peer, gatewayd.settings.max_preauth_per_ip);
		http_refuse(503, "Too many unauthenticated sockets", &session_out);
		bufferevent_write(s->bev, session_out.data, session_out.len);
		session_closing(s);
		return;
	}
	/* Health checks come often: answered from here, logged at debug only. */
	if (http_wants_health(&req)) {
		log_debug("%s: health check answered (brokerd %s)", s->peer,
		    brokerlink_available() ? "linked" : "unreachable");
		http_health(&req, brokerlink_available(), &session_out);
		bufferevent_write(s->bev, session_out.data, session_out.len);
		session_closing(s);
		return;
	}
	if (http_respond(&req, &session_out) == HTTP_ACTION_CLOSE) {
		log_debug("%s: HTTP request answered and closed", s->peer);
		bufferevent_write(s->bev, session_out.data, session_out.len);
		session_closing(s);
		return;
	}
	s->preauth = 1;
	bufferevent_write(s->bev, session_out.data, session_out.len);
	evbuffer_drain(in, req.head_len);
	if (gatewayd.test_echo)
		session_echo(s);
	else
		session_upgrade(s, &req);
}

static void
session_read_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	switch (s->state) {
	case SESSION_HTTP:
		session_http(s);
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
	session_free(s);
}

/* Textual peer address; an IPv4-mapped IPv6 address shows as IPv4 (CONTRACT §3). */
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
	session_peer(sa, s->peer, sizeof(s->peer));
	snprintf(s->via, sizeof(s->via), "direct");
	if ((s->bev = tls_bufferevent(fd)) == NULL) {
		log_warnx("cannot set up a connection from %s: out of memory", s->peer);
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
		session_free(s);
		return;
	}
	/* The same deadline bounds a client that never finishes its request. */
	session_timer_set(s, session_handshake_timeout_cb, gatewayd.settings.handshake_timeout_ms);
}

static struct session *
session_find(uint64_t conn)
{
	struct session *s = conntab_find(conn);

	if (s == NULL)
		log_debug("broker message for connection %llu, which is gone",
		    (unsigned long long)conn);
	return s;
}

static int
session_out_of_state(const struct session *s, const char *what)
{
	log_warnx("brokerd sent %s for connection %llu in state %d", what,
	    (unsigned long long)s->conn, (int)s->state);
	return -1;
}

int
session_broker_challenge(const struct proto_challenge *m)
{
	struct session *s = session_find(m->conn);

	if (s == NULL)
		return 0;
	if (s->state != SESSION_CHALLENGE)
		return session_out_of_state(s, "BR_CHALLENGE");
	session_challenged(s, m);
	return 0;
}

/* A session brokerd accepted ended before it began here (its GW_CLOSED crossed
 * the BR_ACCEPT, or sending hello-ok closed it): brokerd counted it in, so it is
 * reported with its ticket. */
static void
session_accepted_gone(const struct proto_accept *m)
{
	struct proto_session_ref gone;

	gone.conn = m->conn;
	memcpy(gone.ticket, m->ticket, sizeof(gone.ticket));
	brokerlink_send(PROTO_GW_SESSION_CLOSED, &gone);
}

int
session_broker_accept(const struct proto_accept *m)
{
	struct session *s = session_find(m->conn);
	struct session_frame *queue, *f;
	char conn_id[UUID_STR_LEN + 1], qconnect[SESSION_QUOTED_MAX], qdevice[SESSION_QUOTED_MAX];
	struct render_out out;

	if (s == NULL) {
		session_accepted_gone(m);
		return 0;
	}
	if (s->state != SESSION_CONNECTING)
		return session_out_of_state(s, "BR_ACCEPT");
	random_uuid4(conn_id);
	render_hello_ok(s->pre->connect_id, m, conn_id, clock_mono_ms() - gatewayd.started_ms, &out);
	session_send_rendered(s, &out);
	if (s->state == SESSION_CLOSING) {
		session_accepted_gone(m);
		return 0;
	}
	/* The admission line, alike to the rejection line (session_log_reject). */
	log_info("admitted addr=%s via=%s locality=%s client=%s mode=%s device=%s connect=%s "
	    "role=%s scopes=%u method=%s device-token=%s", s->peer, session_attribution(s),
	    session_or_dash(m->locality), s->pre->client_id, s->pre->client_mode,
	    session_quote(m->device_id, qdevice), session_quote(s->pre->connect_id, qconnect), m->role,
	    m->scopes.n, m->method, m->device_token[0] ? "issued" : "-");
	s->pairing_events = (m->flags & PROTO_ACCEPT_PAIRING_EVENTS) != 0;
	memcpy(s->ticket, m->ticket, sizeof(s->ticket));
	ws_set_max_message(s->ws, gatewayd.settings.max_payload);
	session_preauth_release(s);
	event_free(s->timer);
	s->timer = NULL;
	s->state = SESSION_AUTHED;
	TAILQ_INSERT_TAIL(&session_authed, s, authed_entry);
	/* Frames that came while the connect was processed are requests now. */
	queue = s->pre->queue;
	s->pre->queue = NULL;
	session_pre_free(s);
	while ((f = queue) != NULL) {
		queue = f->next;
		if (s->state == SESSION_AUTHED)
			session_rpc_frame(s, f->data, f->len);
		free(f);
	}
	session_check_drained(s);
	return 0;
}

static void
session_verdict_cb(evutil_socket_t fd, short what, void *arg)
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
session_broker_reject(const struct proto_reject *m)
{
	struct session *s = session_find(m->conn);
	struct render_out out = { NULL, 0 };
	struct session_verdict *v;

	if (s == NULL)
		return 0;
	/* CHALLENGE: no nonce to be had ("gateway busy"); CONNECTING: the verdict. */
	if (s->state != SESSION_CHALLENGE && s->state != SESSION_CONNECTING)
		return session_out_of_state(s, "BR_REJECT");
	if (m->has_error && s->state == SESSION_CONNECTING)
		render_res_error(s->pre->connect_id, &m->error, &out);
	session_log_reject(s, m->close_code, m->close_reason, "refused by brokerd", m->locality,
	    m->pairing_request_id);
	if (m->delay_ms > 0 && s->state == SESSION_CONNECTING && s->pre->verdict == NULL) {
		v = xmalloc(sizeof(*v) + out.len);
		v->code = m->close_code;
		snprintf(v->reason, sizeof(v->reason), "%s", m->close_reason);
		v->len = out.len;
		if (out.len > 0)
			memcpy(v->res, out.data, out.len);
		s->pre->verdict = v;
		session_timer_set(s, session_verdict_cb, m->delay_ms);
		return 0;
	}
	if (out.len > 0)
		session_send_rendered(s, &out);
	session_close(s, m->close_code, m->close_reason);
	return 0;
}

int
session_broker_rpc_result(const struct proto_rpc_result *m)
{
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
	    ++s->forbidden > SESSION_MAX_FORBIDDEN) {
		log_info("closing %s: repeated unauthorized calls", s->peer);
		session_close(s, 1008, "repeated unauthorized calls");
	}
	return 0;
}

/* Renders an event for session_send_event into session_event. */
static void
session_event_render(const char *event, const struct proto_blob *payload)
{
	struct render_out out;

	render_event_open(event, payload, &out);
	pbuf_reset(&session_event);
	pbuf_add(&session_event, out.data, out.len);
}

/* Renders the event once and sends it to each session in the audience. */
static void
session_broadcast(const char *event, const struct proto_blob *payload, int pairing_only)
{
	struct session *s, *next;

	session_event_render(event, payload);
	/* Sending may close a slow session, which leaves the list: step first. */
	for (s = TAILQ_FIRST(&session_authed); s != NULL; s = next) {
		next = TAILQ_NEXT(s, authed_entry);
		if (!pairing_only || s->pairing_events)
			session_send_event(s, &session_event);
	}
}

int
session_broker_event(const struct proto_event *m)
{
	struct session *s;

	switch (m->audience) {
	case PROTO_AUDIENCE_ALL:
	case PROTO_AUDIENCE_PAIRING:
		session_broadcast(m->event, &m->payload, m->audience == PROTO_AUDIENCE_PAIRING);
		return 0;
	case PROTO_AUDIENCE_CONN:
		if ((s = session_find(m->conn)) == NULL)
			return 0;
		if (s->state != SESSION_AUTHED)
			return session_out_of_state(s, "BR_EVENT");
		session_event_render(m->event, &m->payload);
		session_send_event(s, &session_event);
		return 0;
	}
	log_warnx("brokerd sent BR_EVENT for audience %u, which does not exist", m->audience);
	return -1;
}

/* Whether BR_CLOSE names the session, by what its ticket says. */
static int
session_close_matches(const struct session *s, const struct proto_close *m)
{
	const uint8_t *t = s->ticket;

	if (m->target == PROTO_CLOSE_SHARED)
		return (t[PROTO_TICKET_FLAGS] & PROTO_TICKET_SHARED) != 0;
	return (t[PROTO_TICKET_FLAGS] & PROTO_TICKET_BOUND) != 0 &&
	    memcmp(t + PROTO_TICKET_DEVICE, m->device, sizeof(m->device)) == 0 &&
	    t[PROTO_TICKET_ROLE] < 8 && (m->roles & (1u << t[PROTO_TICKET_ROLE])) != 0 &&
	    (m->except_conn == 0 || s->conn != m->except_conn);
}

int
session_broker_close(const struct proto_close *m)
{
	struct session *s, *next;

	if (m->target != PROTO_CLOSE_DEVICE && m->target != PROTO_CLOSE_SHARED) {
		log_warnx("brokerd sent BR_CLOSE for target %u, which does not exist", m->target);
		return -1;
	}
	/* Closing takes a session off the list: step first. */
	for (s = TAILQ_FIRST(&session_authed); s != NULL; s = next) {
		next = TAILQ_NEXT(s, authed_entry);
		if (!session_close_matches(s, m))
			continue;
		log_info("closing %s at brokerd's request: close %u \"%s\"", s->peer, m->code,
		    m->reason);
		session_close(s, m->code, m->reason);
	}
	return 0;
}

/* One timer for every authenticated session (doc/protocol.md §2.5). */
static void
session_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proto_blob blob;

	pbuf_reset(&session_tick_payload);
	pval_obj_begin(&session_tick_payload);
	pval_kv_int(&session_tick_payload, "ts", clock_wall_ms());
	pval_obj_end(&session_tick_payload);
	blob = proto_blob_of(&session_tick_payload);
	session_broadcast("tick", &blob, 0);
}

/*
 * Keepalive, one timer for all: each round pings every authenticated socket
 * and drops those that answered no ping since the previous round, i.e. within
 * 25 s (doc/protocol.md §1). A session authenticated since then is spared once:
 * its first ping goes out now.
 */
static void
session_ping_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s, *next;

	for (s = TAILQ_FIRST(&session_authed); s != NULL; s = next) {
		next = TAILQ_NEXT(s, authed_entry);
		if (!ws_ping(s->ws) && s->pinged) {
			log_info("dropping %s: no pong within %d s", s->peer, SESSION_PING_MS / 1000);
			session_free(s);
			continue;
		}
		s->pinged = 1;
	}
}

static struct event *
session_timer_every(void (*cb)(evutil_socket_t, short, void *), uint32_t ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event *ev = event_new(gatewayd.base, -1, EV_PERSIST, cb, NULL);

	if (ev == NULL || evtimer_add(ev, &tv) < 0)
		fatalx("cannot arm a shared session timer");
	return ev;
}

void
session_init(void)
{
	session_tick = session_timer_every(session_tick_cb, gatewayd.settings.tick_interval_ms);
	session_ping = session_timer_every(session_ping_cb, SESSION_PING_MS);
}

void
session_broker_lost(void)
{
	struct session *s, *next;

	for (s = TAILQ_FIRST(&session_all); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		/* The broker forgot every connection with its link. */
		if (s->conn != 0)
			conntab_del(s->conn);
		s->conn = 0;
		if (s->state == SESSION_CHALLENGE)
			session_local_challenge(s);
		else if (s->state == SESSION_CONNECTING)
			session_unavailable(s);
	}
}

void
session_broker_back(void)
{
	struct session *s, *next;

	/* Sessions the old broker admitted are unknown to this one: their clients
	 * reconnect and are admitted afresh. */
	for (s = TAILQ_FIRST(&session_authed); s != NULL; s = next) {
		next = TAILQ_NEXT(s, authed_entry);
		if (s->conn == 0)
			session_close(s, 1012, "service restart");
	}
}

void
session_shutdown(void (*done)(void))
{
	struct session *s, *next;

	session_shutdown_done = done;
	for (s = TAILQ_FIRST(&session_all); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->state == SESSION_HTTP)
			session_free(s);
		else
			session_close(s, 1012, "service restart");
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
		session_free(s);
	if (session_tick != NULL)
		event_free(session_tick);
	session_tick = NULL;
	if (session_ping != NULL)
		event_free(session_ping);
	session_ping = NULL;
	pbuf_free(&session_out);
	pbuf_free(&session_event);
	pbuf_free(&session_tick_payload);
	conntab_free();
	preauth_free();
}
