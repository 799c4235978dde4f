#include "gatewayd/upstream.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sodium.h>

#include "common/log.h"
#include "common/random.h"
#include "common/xmalloc.h"
#include "gatewayd/flush.h"
#include "gatewayd/gatewayd.h"
#include "gatewayd/http.h"
#include "gatewayd/ws.h"

#define UPSTREAM_LINGER_MS 2000	/* how long a closing connection may take to finish */

enum upstream_state {
	UPSTREAM_CONNECTING,
	UPSTREAM_UPGRADING,	/* request sent, reading the answer */
	UPSTREAM_OPEN,
	UPSTREAM_DONE,		/* ended or closed by the caller: lingering */
};

struct upstream {
	TAILQ_ENTRY(upstream) entry;	/* every connection, lingering ones too */
	struct bufferevent *bev;
	struct ws *ws;
	const struct upstream_cbs *cbs;
	void *arg;
	char *accept;		/* until the 101: what Sec-WebSocket-Accept must say */
	struct event *linger;
	struct flush flush;	/* once open: frames written at the end of a pass */
	enum upstream_state state;
	uint8_t shut;
	uint64_t max_message;
};

static TAILQ_HEAD(, upstream) upstream_all = TAILQ_HEAD_INITIALIZER(upstream_all);

static void
upstream_free_cb(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *u = arg;

	TAILQ_REMOVE(&upstream_all, u, entry);
	ws_free(u->ws);
	flush_cancel(&u->flush);
	bufferevent_free(u->bev);
	if (u->linger != NULL)
		event_free(u->linger);
	free(u->accept);
	free(u);
}

/* Once everything (a close frame last) is written, half-close; the socket
 * goes at the peer's FIN or when the linger runs out. */
static void
upstream_check_drained(struct upstream *u)
{
	if (u->state != UPSTREAM_DONE || u->shut ||
	    evbuffer_get_length(bufferevent_get_output(u->bev)) > 0)
		return;
	shutdown(bufferevent_getfd(u->bev), SHUT_WR);
	u->shut = 1;
}

/* From here on no callback runs; the memory goes from the event loop, never
 * under a caller's feet. */
static void
upstream_done(struct upstream *u, uint32_t linger_ms)
{
	struct timeval tv = { linger_ms / 1000, (linger_ms % 1000) * 1000 };

	if (u->state == UPSTREAM_DONE)
		return;
	u->state = UPSTREAM_DONE;
	bufferevent_enable(u->bev, EV_READ);
	if ((u->linger = evtimer_new(gatewayd.base, upstream_free_cb, u)) == NULL ||
	    evtimer_add(u->linger, &tv) < 0)
		fatalx("cannot arm an upstream linger timer");
	upstream_check_drained(u);
}

/* Tells the caller the connection ended, then lets it go. */
static void
upstream_end(struct upstream *u, uint16_t code, const char *reason, const char *why)
{
	int opened = u->state == UPSTREAM_OPEN;

	upstream_done(u, opened ? UPSTREAM_LINGER_MS : 0);
	u->cbs->closed(u->arg, opened, opened ? code : 0, reason, why);
}

static void
upstream_msg_cb(void *arg, uint8_t *msg, size_t len)
{
	struct upstream *u = arg;

	if (u->state == UPSTREAM_OPEN)
		u->cbs->message(u->arg, msg, len);
}

static void
upstream_read_ws(struct upstream *u)
{
	uint16_t code;
	int by_peer;
	const char *reason;

	if (ws_read(u->ws) < 0) {
		upstream_end(u, 1006, "", "out of memory reading frames");
		return;
	}
	if (u->state != UPSTREAM_OPEN || !ws_closed(u->ws, &code, &by_peer))
		return;
	if (by_peer && (reason = ws_peer_close(u->ws, &code)) != NULL)
		upstream_end(u, code, reason, "closed by the upstream");
	else
		upstream_end(u, code, "", "WebSocket protocol error or message too big");
}

static void
upstream_read_answer(struct upstream *u)
{
	struct evbuffer *in = bufferevent_get_input(u->bev);
	size_t n = evbuffer_get_length(in);
	struct upgrade_response r;
	char why[128];

	if (n > UPGRADE_HEAD_MAX)
		n = UPGRADE_HEAD_MAX;
	switch (upgrade_parse(evbuffer_pullup(in, (ssize_t)n), n, u->accept, &r)) {
	case UPGRADE_MORE:
		return;
	case UPGRADE_ERROR:
		if (r.status != 0 && r.status != 101)
			snprintf(why, sizeof(why), "upgrade refused with HTTP %d", r.status);
		else
			snprintf(why, sizeof(why), "invalid upgrade answer: %s", r.problem);
		upstream_end(u, 0, "", why);
		return;
	case UPGRADE_OK:
		break;
	}
	evbuffer_drain(in, r.head_len);
	free(u->accept);
	u->accept = NULL;
	u->ws = ws_new_client(u->bev, u->max_message, upstream_msg_cb, u);
	flush_init(&u->flush, u->bev);
	/* Its frames reach the client as they came, which checks their text. */
	ws_pass(u->ws, bufferevent_getfd(u->bev));
	u->state = UPSTREAM_OPEN;
	u->cbs->open(u->arg);
	if (u->state == UPSTREAM_OPEN && evbuffer_get_length(in) > 0)
		upstream_read_ws(u);
}

static void
upstream_read_cb(struct bufferevent *bev, void *arg)
{
	struct upstream *u = arg;

	switch (u->state) {
	case UPSTREAM_UPGRADING:
		upstream_read_answer(u);
		break;
	case UPSTREAM_OPEN:
		upstream_read_ws(u);
		break;
	case UPSTREAM_CONNECTING:
	case UPSTREAM_DONE:
		evbuffer_drain(bufferevent_get_input(bev),
		    evbuffer_get_length(bufferevent_get_input(bev)));
		break;
	}
}

static void
upstream_write_cb(struct bufferevent *bev, void *arg)
{
	struct upstream *u = arg;

	flush_drained(&u->flush);
	if (u->state == UPSTREAM_OPEN)
		u->cbs->drained(u->arg);
	else
		upstream_check_drained(u);
}

/* What a socket error was. A refused connect (loopback refuses at once) is
 * reported after errno went stale: no error while connecting means refused. */
static const char *
upstream_error(const struct upstream *u, struct bufferevent *bev)
{
	int e = evutil_socket_geterror(bufferevent_getfd(bev));

	if (u->state == UPSTREAM_CONNECTING && (e == 0 || e == EAGAIN || e == EINPROGRESS))
		e = ECONNREFUSED;
	return evutil_socket_error_to_string(e);
}

static void
upstream_event_cb(struct bufferevent *bev, short events, void *arg)
{
	struct upstream *u = arg;
	int one = 1;
	char why[160];

	if (events & BEV_EVENT_CONNECTED) {
		/* Frames are small and interactive (a listener's sockets get this too). */
		setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		u->state = UPSTREAM_UPGRADING;
		bufferevent_enable(bev, EV_READ | EV_WRITE);
		return;
	}
	if (u->state == UPSTREAM_DONE) {
		event_active(u->linger, EV_TIMEOUT, 1);
		return;
	}
	if (events & BEV_EVENT_EOF)
		snprintf(why, sizeof(why), "connection closed %s", u->state == UPSTREAM_OPEN ?
		    "without a close frame" : "before the upgrade answer");
	else
		snprintf(why, sizeof(why), "%s", upstream_error(u, bev));
	upstream_end(u, 1006, "", why);
}

/* The upgrade request, with a fresh key; the accept it asks for goes to u. */
static int
upstream_request(struct upstream *u, const struct upstream_target *t)
{
	uint8_t raw[16];
	char key[HTTP_WS_KEY_LEN + 1], accept[HTTP_WS_ACCEPT_LEN + 1];
	struct pbuf req;
	int r;

	random_bytes(raw, sizeof(raw));
	sodium_bin2base64(key, sizeof(key), raw, sizeof(raw), sodium_base64_VARIANT_ORIGINAL);
	http_ws_accept(key, accept, sizeof(accept));
	pbuf_init(&req);
	if ((r = upgrade_request(&req, t->host, key, t->headers, t->nheaders)) == 0 &&
	    bufferevent_write(u->bev, req.data, req.len) < 0)
		r = -1;
	pbuf_free(&req);
	u->accept = xstrdup(accept);
	return r;
}

int
upstream_sockaddr(const char *addr, uint16_t port, struct sockaddr_storage *ss)
{
	int sslen = sizeof(*ss);
	char spec[PROTO_ADDR_MAX + 16];

	snprintf(spec, sizeof(spec), strchr(addr, ':') ? "[%s]:%u" : "%s:%u", addr,
	    (unsigned)port);
	if (evutil_parse_sockaddr_port(spec, (struct sockaddr *)ss, &sslen) < 0)
		return -1;
	return sslen;
}

struct upstream *
upstream_open(const struct upstream_target *t, const struct upstream_cbs *cbs, void *arg,
    const char **why)
{
	struct sockaddr_storage ss;
	int sslen, fd;
	struct upstream *u;

	if ((sslen = upstream_sockaddr(t->addr, t->port, &ss)) < 0) {
		*why = "not a numeric address";
		return NULL;
	}
	/* The one kind of socket the relay opens (the sandbox admits this one). */
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		*why = strerror(errno);
		return NULL;
	}
	u = xcalloc(1, sizeof(*u));
	u->cbs = cbs;
	u->arg = arg;
	u->max_message = t->max_message;
	if ((u->bev = bufferevent_socket_new(gatewayd.base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatalx("out of memory allocating an upstream connection");
	bufferevent_setcb(u->bev, upstream_read_cb, upstream_write_cb, upstream_event_cb, u);
	/* Queued now, written once connected. */
	if (upstream_request(u, t) < 0) {
		*why = "a header value the upgrade cannot carry";
	} else if (bufferevent_socket_connect(u->bev, (struct sockaddr *)&ss, sslen) < 0) {
		*why = strerror(errno);
	} else {
		u->state = UPSTREAM_CONNECTING;
		TAILQ_INSERT_TAIL(&upstream_all, u, entry);
		return u;
	}
	bufferevent_free(u->bev);
	free(u->accept);
	free(u);
	return NULL;
}

void
upstream_send(struct upstream *u, const uint8_t *msg, size_t len)
{
	if (u->state == UPSTREAM_OPEN)
		ws_send_text(u->ws, msg, len);
}

size_t
upstream_backlog(const struct upstream *u)
{
	return evbuffer_get_length(bufferevent_get_output(u->bev));
}

void
upstream_pause(struct upstream *u, int paused)
{
	if (u->state != UPSTREAM_OPEN)
		return;
	if (paused)
		bufferevent_disable(u->bev, EV_READ);
	else
		bufferevent_enable(u->bev, EV_READ);
}

void
upstream_close(struct upstream *u, uint16_t code, const char *reason)
{
	int opened = u->state == UPSTREAM_OPEN;

	if (u->state == UPSTREAM_DONE)
		return;
	if (opened)
		ws_close(u->ws, code, reason);
	upstream_done(u, opened ? UPSTREAM_LINGER_MS : 0);
}

void
upstream_free_all(void)
{
	struct upstream *u;

	while ((u = TAILQ_FIRST(&upstream_all)) != NULL)
		upstream_free_cb(-1, 0, u);
}
