/*
 * The front door of the gateway port: one HTTP request head, answered with a
 * WebSocket upgrade (then the handshake, admit.c), a Control UI file, the
 * health check, or a refusal; forwarding headers are trusted only from the
 * configured proxies, and an address gets only so many unauthenticated sockets.
 */
#include <stdio.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/log.h"
#include "gatewayd/brokerlink.h"
#include "gatewayd/fdbudget.h"
#include "gatewayd/gatewayd.h"
#include "gatewayd/http.h"
#include "gatewayd/preauth.h"
#include "gatewayd/proxy.h"
#include "gatewayd/report.h"
#include "gatewayd/session_priv.h"
#include "gatewayd/staticfiles.h"
#include "gatewayd/tls.h"
#include "gatewayd/ui.h"
#include "gatewayd/ws.h"

/* A file's body goes out as the socket drains: a chunk is added each time the
 * output is down to STATICFILES_CHUNK, and a client that takes nothing for
 * FRONT_FILE_STALL_MS is dropped (a minimum rate of a chunk per that time). */
#define FRONT_FILE_STALL_MS 10000

static struct pbuf front_out;	/* the answer being written */
static struct staticfiles_body front_body;	/* the file front_file found */

/* A Control UI file: below /clawgate/ always clawgate's own page; elsewhere from
 * gateway.controlUi.root if configured, else the same embedded page. */
static int
front_file(const struct http_request *req, struct pbuf *out)
{
	const char *own = ui_own_path(req->path);

	if (own != NULL)
		return ui_respond(own, out);
	if (staticfiles_enabled())
		return staticfiles_respond(req, out, &front_body);
	return ui_respond(req->path, out);
}

/* The next chunk of the file; the session ends at once if it cannot follow. */
static void
front_pump(struct session *s)
{
	int r = staticfiles_pump(&s->body, bufferevent_get_output(s->bev));

	if (r < 0) {
		session_destroy(s);
		return;
	}
	session_linger(s, r == 0 ? FRONT_FILE_STALL_MS : SESSION_LINGER_MS);
	/* The last chunk is in: the write callback waits for all of it again. */
	if (r > 0)
		bufferevent_setwatermark(s->bev, EV_WRITE, 0, 0);
}

void
front_drained(struct session *s)
{
	if (s->body.fd >= 0)
		front_pump(s);
}

/* Writes front_out, the whole answer or a file's head, whose body follows as
 * the socket drains: the connection ends once it is all out. */
static void
front_answer(struct session *s)
{
	bufferevent_write(s->bev, front_out.data, front_out.len);
	s->body = front_body;
	front_body.fd = -1;
	session_closing(s);
	if (s->body.fd < 0)
		return;
	bufferevent_setwatermark(s->bev, EV_WRITE, STATICFILES_CHUNK, 0);
	front_pump(s);
}

/* --test-echo: the frame path of every session, with no handshake around it,
 * for RFC 6455 conformance tests; messages up to policy.maxPayload. */
static void
front_echo(struct session *s)
{
	session_ws_start(s, gatewayd.settings.max_payload);
	if (gatewayd.test_echo == GATEWAYD_ECHO_PASS)
		ws_pass(s->ws, tls_plain_fd(s->bev));
	s->state = SESSION_ECHO;
	/* Nothing to authenticate: neither the handshake deadline nor the
	 * pre-auth limit applies. */
	evtimer_del(s->timer);
	session_preauth_release(s);
	if (evbuffer_get_length(bufferevent_get_input(s->bev)) > 0)
		session_read_ws(s);
}

/* The TCP peer when a trusted proxy named the client, else NULL. */
static const char *
front_proxy(const struct session *s)
{
	return strncmp(s->via, "proxy:", 6) == 0 ? s->via + 6 : NULL;
}

/* The status http_respond refuses an upgrade request with. */
static uint16_t
front_status(const struct http_request *req)
{
	if (req->status != 0)
		return (uint16_t)req->status;
	if (!req->is_get)
		return 405;
	return req->version_other ? 426 : 400;
}

void
front_read(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t avail = evbuffer_get_length(in);
	size_t n = avail < HTTP_HEAD_MAX ? avail : HTTP_HEAD_MAX;
	struct http_request req;

	session_head_begun(s);
	if (http_parse(evbuffer_pullup(in, (ssize_t)n), n, &req) == HTTP_PARSE_MORE)
		return;
	pbuf_reset(&front_out);
	front_body.fd = -1;
	/* §4.2: forwarding headers name the client only when a trusted proxy sent
	 * them; from anyone else they are refused rather than ignored. */
	if (http_wants_upgrade(&req) && req.proxy_headers) {
		char client[PROTO_ADDR_MAX + 1];
		int r = proxy_attribute(&gatewayd.settings, s->peer, &req, client);

		if (r < 0) {
			log_info("refused an upgrade from %s: %s", s->peer, r == PROXY_UNTRUSTED ?
			    "forwarding headers from a peer that is not in gateway.trustedProxies" :
			    "forwarding headers of a trusted proxy naming no usable client address");
			report_refused(r == PROXY_UNTRUSTED ? PROTO_GWREF_PROXY_UNTRUSTED :
			    PROTO_GWREF_PROXY_NO_CLIENT, s->peer, NULL, 403,
			    "proxy client attribution is required");
			http_refuse_proxy(&front_out);
			front_answer(s);
			return;
		}
		snprintf(s->via, sizeof(s->via), "proxy:%s", s->peer);
		snprintf(s->peer, sizeof(s->peer), "%s", client);
	}
	/* doc/protocol.md §1: an upgrade beyond the address's unauthenticated sockets
	 * is refused before it costs a challenge. */
	if (http_wants_upgrade(&req) &&
	    preauth_acquire(PREAUTH_UPGRADE, s->peer, gatewayd.settings.max_preauth_per_ip) < 0) {
		log_info("refused an upgrade from %s: %u unauthenticated sockets already (raise "
		    "OPENCLAW_MAX_PREAUTH_CONNECTIONS_PER_IP for brokerd if that is legitimate)",
		    s->peer, gatewayd.settings.max_preauth_per_ip);
		report_refused(PROTO_GWREF_PREAUTH_LIMIT, s->peer, front_proxy(s), 503,
		    "too many unauthenticated sockets");
		http_refuse(503, "Too many unauthenticated sockets", &front_out);
		front_answer(s);
		return;
	}
	/* Health checks come often: answered from here, logged at debug only. */
	if (http_wants_health(&req)) {
		log_debug("%s: health check answered (brokerd %s)", s->peer,
		    brokerlink_available() ? "linked" : "unreachable");
		http_health(&req, brokerlink_available(), &front_out);
		front_answer(s);
		return;
	}
	if (http_respond(&req, front_file, &front_out) == HTTP_ACTION_CLOSE) {
		log_debug("%s: HTTP request answered and closed", s->peer);
		if (req.upgrade)
			report_refused(PROTO_GWREF_BAD_UPGRADE, s->peer, NULL, front_status(&req),
			    "not an RFC 6455 upgrade request");
		front_answer(s);
		return;
	}
	s->preauth = 1;
	/* Upgraded: from here on the upgrade's budget counts this socket. */
	fdbudget_leave(s);
	bufferevent_write(s->bev, front_out.data, front_out.len);
	evbuffer_drain(in, req.head_len);
	if (gatewayd.test_echo)
		front_echo(s);
	else
		admit_start(s, &req);
}

void
front_free(void)
{
	pbuf_free(&front_out);
}
