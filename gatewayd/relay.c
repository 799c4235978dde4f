/*
 * A session in relay mode (doc/relay.md): once brokerd accepted the connect,
 * the session is carried to the upstream OpenClaw gateway. The upstream's own
 * challenge is answered with the client's connect, stripped of `device` and
 * `auth`; its hello-ok reaches the client with clawgate's `auth`. Then frames
 * pass both ways untouched, but for clawgate's own pairing and device-token
 * methods, which stay brokerd's (authed.c), and the upstream's pairing
 * events, which are dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "common/ipaddr.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "gatewayd/gatewayd.h"
#include "gatewayd/jsonedit.h"
#include "gatewayd/report.h"
#include "gatewayd/session_priv.h"
#include "gatewayd/tls.h"
#include "gatewayd/upstream.h"
#include "gatewayd/ws.h"

/* Unsent bytes towards one side beyond which the other side is not read. */
#define RELAY_WATERMARK (256 * 1024)
#define RELAY_UNAVAILABLE "the upstream OpenClaw gateway is unreachable; retry shortly " \
	"(gateway admins: gatewayd's log names the address and the error)"

enum relay_phase {
	RELAY_UPGRADING,	/* connecting, upgrade sent */
	RELAY_CHALLENGE,	/* upgraded, the upstream's challenge awaited */
	RELAY_HELLO,		/* the connect sent, its answer awaited */
	RELAY_REFUSED,		/* the upstream's refusal passed on, its close awaited */
	RELAY_OPEN,		/* hello-ok passed on: relaying */
};

struct relay {
	struct upstream *up;		/* NULL once it ended */
	uint8_t *auth;			/* until hello-ok: clawgate's auth object */
	size_t auth_len;
	enum relay_phase phase;
	uint8_t upstream_paused;	/* the client's backlog is over the watermark */
	uint8_t client_paused;		/* the upstream's backlog is */
};

int
relay_open(const struct session *s)
{
	return s->relay != NULL && s->relay->phase == RELAY_OPEN;
}

int
relay_keep_connect(struct session *s, const uint8_t *msg, size_t len)
{
	static const struct jsonedit_edit strip[] = {
		{ "device", NULL, 0 }, { "auth", NULL, 0 },
	};
	struct pbuf out;

	pbuf_init(&out);
	if (jsonedit_apply(msg, len, "params", strip, 2, &out) < 0) {
		pbuf_free(&out);
		return -1;
	}
	s->pre->upstream_connect = xmalloc(out.len);
	memcpy(s->pre->upstream_connect, out.data, out.len);
	s->pre->upstream_connect_len = out.len;
	pbuf_free(&out);
	return 0;
}

/* The upstream could not be reached, refused the upgrade, or never said hello. */
static void
relay_unavailable(struct session *s, const char *why)
{
	log_warnx("relay: the upstream gateway at %s port %u failed %s's session: %s",
	    gatewayd.settings.relay.addr, gatewayd.settings.relay.port, s->peer, why);
	report_upstream(0, why);
	if (s->pre != NULL)
		session_send_retryable(s, s->pre->connect_id, RELAY_UNAVAILABLE);
	session_close(s, PROTO_CLOSE_TRY_AGAIN, "upstream gateway unavailable");
}

static void
relay_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	relay_unavailable(arg, "no hello within the handshake timeout");
}

/* The hello-ok, with clawgate's auth; then the frames that waited. */
static void
relay_hello(struct session *s, const uint8_t *msg, size_t len)
{
	struct relay *r = s->relay;
	struct jsonedit_edit auth = { "auth", r->auth, r->auth_len };
	struct session_frame *queue, *f;
	struct pbuf out;

	pbuf_init(&out);
	if (jsonedit_apply(msg, len, "payload", &auth, 1, &out) < 0) {
		pbuf_free(&out);
		relay_unavailable(s, "its hello-ok is not a JSON object");
		return;
	}
	session_send(s, out.data, out.len);
	OPENSSL_cleanse(out.data, out.len);
	pbuf_free(&out);
	if (s->state != SESSION_AUTHED)
		return;
	r->phase = RELAY_OPEN;
	/* From here on the client's frames are only routed, never parsed. */
	ws_pass(s->ws, tls_plain_fd(s->bev));
	OPENSSL_cleanse(r->auth, r->auth_len);
	free(r->auth);
	r->auth = NULL;
	event_free(s->timer);
	s->timer = NULL;
	queue = s->pre->queue;
	s->pre->queue = NULL;
	session_pre_free(s);
	while ((f = queue) != NULL) {
		queue = f->next;
		if (s->state == SESSION_AUTHED)
			relay_message(s, f->data, f->len);
		free(f);
	}
}

/* Before hello-ok: the challenge, then the answer to the connect. */
static void
relay_handshake(struct session *s, const uint8_t *msg, size_t len)
{
	struct relay *r = s->relay;
	struct session_pre *pre = s->pre;
	struct jsonedit_peek p;

	if (jsonedit_peek(msg, len, &p) < 0) {
		relay_unavailable(s, "a frame that is not a JSON object before hello");
		return;
	}
	if (r->phase == RELAY_CHALLENGE) {
		/* Its nonce serves no one: the upstream admits clawgate, not a device. */
		if (strcmp(p.type, "event") != 0 || strcmp(p.name, "connect.challenge") != 0) {
			relay_unavailable(s, "its first frame is not connect.challenge");
			return;
		}
		upstream_send(r->up, pre->upstream_connect, pre->upstream_connect_len);
		free(pre->upstream_connect);
		pre->upstream_connect = NULL;
		r->phase = RELAY_HELLO;
		return;
	}
	if (r->phase != RELAY_HELLO || strcmp(p.type, "res") != 0 ||
	    strcmp(p.id, pre->connect_id) != 0)
		return;
	if (p.ok) {
		relay_hello(s, msg, len);
		return;
	}
	/* Its refusal is the client's; so is the close that follows. */
	log_info("relay: the upstream gateway refused %s's connect", s->peer);
	r->phase = RELAY_REFUSED;
	session_send(s, msg, len);
}

static void
relay_up_open(void *arg)
{
	struct session *s = arg;

	s->relay->phase = RELAY_CHALLENGE;
	report_upstream(1, "");
}

static int
relay_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void
relay_up_message(void *arg, const uint8_t *msg, size_t len)
{
	struct session *s = arg;
	struct relay *r = s->relay;
	struct jsonedit_peek p;

	if (r->phase != RELAY_OPEN) {
		relay_handshake(s, msg, len);
		return;
	}
	/* The upstream's pairing is not clawgate's: its events would describe an
	 * empty table of its own. */
	if (jsonedit_peek(msg, len, &p) == 0 && strcmp(p.type, "event") == 0 &&
	    relay_has_prefix(p.name, "device.pair."))
		return;
	session_send(s, msg, len);
	if (s->state == SESSION_AUTHED &&
	    evbuffer_get_length(bufferevent_get_output(s->bev)) > RELAY_WATERMARK) {
		upstream_pause(r->up, 1);
		r->upstream_paused = 1;
	}
}

static void
relay_up_drained(void *arg)
{
	struct session *s = arg;
	struct relay *r = s->relay;

	if (r->client_paused && s->state == SESSION_AUTHED) {
		r->client_paused = 0;
		bufferevent_enable(s->bev, EV_READ);
	}
}

static void
relay_up_closed(void *arg, int opened, uint16_t code, const char *reason, const char *why)
{
	struct session *s = arg;
	struct relay *r = s->relay;

	r->up = NULL;
	if (r->phase != RELAY_OPEN && r->phase != RELAY_REFUSED) {
		relay_unavailable(s, why);
		return;
	}
	/* No code, or none the client could be sent: a normal close. */
	if (code == 1005 || code == 1006 || code == 1015)
		code = PROTO_CLOSE_NORMAL;
	log_info("relay: the upstream gateway closed %s's session (%u \"%s\"): %s", s->peer,
	    code, reason, why);
	session_close(s, code, reason);
}

static const struct upstream_cbs relay_cbs = {
	relay_up_open, relay_up_message, relay_up_drained, relay_up_closed,
};

/* X-Forwarded-For: the client, unless it is loopback, which the upstream
 * would take for a direct local call: then the placeholder. */
static const char *
relay_forwarded_for(const struct session *s)
{
	uint8_t a[16];

	if (ipaddr_parse(s->peer, a) == 0 && ipaddr_classify(a) != IPADDR_LOOPBACK)
		return s->peer;
	return gatewayd.settings.relay.client_ip_placeholder;
}

static void
relay_scopes(const struct proto_accept *m, char *out, size_t size)
{
	size_t n = 0;

	out[0] = '\0';
	for (uint32_t i = 0; i < m->scopes.n && n < size; i++)
		n += (size_t)snprintf(out + n, size - n, "%s%s", i > 0 ? "," : "",
		    m->scopes.v[i]);
}

/* Connects to the upstream with the upgrade headers of this session. */
static const char *
relay_connect(struct session *s, const struct proto_accept *m)
{
	const struct proto_br_hello *set = &gatewayd.settings;
	struct upgrade_header h[PROTO_MAX_RELAY_HEADERS + 6];
	char scopes[PROTO_MAX_SCOPES * (PROTO_NAME_MAX + 1) + 1];
	struct upstream_target t;
	const char *why = NULL;
	size_t n = 0;

	relay_scopes(m, scopes, sizeof(scopes));
	h[n++] = (struct upgrade_header){ set->relay.user_header, set->relay.user };
	for (uint32_t i = 0; i < set->relay.nrequired_headers; i++)
		h[n++] = (struct upgrade_header){ set->relay.required_headers[i], "1" };
	h[n++] = (struct upgrade_header){ "X-Forwarded-For", relay_forwarded_for(s) };
	h[n++] = (struct upgrade_header){ "x-openclaw-scopes", scopes };
	if (s->pre->host[0] != '\0')
		h[n++] = (struct upgrade_header){ "X-Forwarded-Host", s->pre->host };
	h[n++] = (struct upgrade_header){ "X-Forwarded-Proto", set->tls_enabled ? "https" :
	    "http" };
	if (s->pre->origin[0] != '\0')
		h[n++] = (struct upgrade_header){ "Origin", s->pre->origin };
	t = (struct upstream_target){ set->relay.addr, set->relay.port, set->relay.host, h, n,
	    set->max_payload };
	s->relay->up = upstream_open(&t, &relay_cbs, s, &why);
	return s->relay->up == NULL ? why : NULL;
}

void
relay_accept(struct session *s, const struct proto_accept *m)
{
	struct render_out auth;
	const char *why;

	s->relay = xcalloc(1, sizeof(*s->relay));
	render_auth(m, &auth);
	s->relay->auth = xmalloc(auth.len);
	memcpy(s->relay->auth, auth.data, auth.len);
	s->relay->auth_len = auth.len;
	render_wipe(&auth);
	authed_begin(s, m);
	/* The handshake deadline now bounds the upstream's hello too. */
	session_timer_set(s, relay_timeout_cb, gatewayd.settings.handshake_timeout_ms);
	if ((why = relay_connect(s, m)) != NULL)
		relay_unavailable(s, why);
}

void
relay_message(struct session *s, const uint8_t *msg, size_t len)
{
	struct relay *r = s->relay;
	struct jsonedit_peek p;

	if (r->phase != RELAY_OPEN) {
		/* Requests sent right behind the connect wait for hello-ok. */
		if (r->phase != RELAY_REFUSED)
			admit_queue(s, msg, len, ADMIT_PENDING_MAX);
		return;
	}
	if (jsonedit_peek(msg, len, &p) < 0) {
		log_info("closing %s: a frame after hello that is not a JSON object", s->peer);
		session_close(s, PROTO_CLOSE_POLICY, "invalid request frame");
		return;
	}
	/* clawgate's pairing and device tokens are brokerd's, never the upstream's. */
	if (strcmp(p.type, "req") == 0 && (relay_has_prefix(p.name, "device.pair.") ||
	    relay_has_prefix(p.name, "device.token."))) {
		authed_message(s, msg, len);
		return;
	}
	if (r->up == NULL)
		return;
	upstream_send(r->up, msg, len);
	if (upstream_backlog(r->up) > RELAY_WATERMARK) {
		bufferevent_disable(s->bev, EV_READ);
		r->client_paused = 1;
	}
}

void
relay_client_drained(struct session *s)
{
	struct relay *r = s->relay;

	if (r != NULL && r->upstream_paused && r->up != NULL) {
		r->upstream_paused = 0;
		upstream_pause(r->up, 0);
	}
}

void
relay_end(struct session *s, uint16_t code, const char *reason)
{
	struct relay *r = s->relay;
	uint16_t peer_code;
	const char *peer_reason;
	int by_peer;

	if (r == NULL)
		return;
	/* Without clawgate's own close: the client's goes upstream as it was. */
	if (reason == NULL) {
		code = PROTO_CLOSE_NORMAL;
		reason = "";
		if (s->ws != NULL && ws_closed(s->ws, &code, &by_peer) && by_peer &&
		    (peer_reason = ws_peer_close(s->ws, &peer_code)) != NULL) {
			code = peer_code;
			reason = peer_reason;
		}
	}
	if (code < 1000 || code == 1005 || code == 1006 || code == 1015)
		code = PROTO_CLOSE_NORMAL;
	if (r->up != NULL)
		upstream_close(r->up, code, reason);
	if (r->auth != NULL)
		OPENSSL_cleanse(r->auth, r->auth_len);
	free(r->auth);
	free(r);
	s->relay = NULL;
}
