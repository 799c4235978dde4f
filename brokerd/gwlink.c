#include "brokerd/gwlink.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/crypto.h>

#include "brokerd/admission.h"
#include "brokerd/broker.h"
#include "brokerd/nonces.h"
#include "brokerd/rpc.h"
#include "brokerd/sessions.h"
#include "brokerd/ticket.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/random.h"
#include "common/xmalloc.h"
#include "proto/link.h"
#include "proto/pval.h"

/* gatewayd runs a few workers, each with one link. */
#define GWLINK_MAX_LINKS 64
/* Per link: at most this many outstanding challenges... */
#define GWLINK_MAX_CHALLENGES 65536
/* ...and live sessions (counted, not kept); gatewayd's 20,000 descriptors stay
 * well below. */
#define GWLINK_MAX_SESSIONS 65536
/* A nonce outlives gatewayd's handshake timeout by this much. */
#define GWLINK_NONCE_GRACE_MS 5000
/* A link whose gatewayd stops reading is dropped rather than buffered forever. */
#define GWLINK_MAX_OUTPUT (64u << 20)
/* The fixed settings of doc/protocol.md §1 and §2.4 that gatewayd enforces. */
#define GWLINK_TICK_INTERVAL_MS 30000
#define GWLINK_MAX_PAYLOAD 26214400
#define GWLINK_MAX_BUFFERED 52428800

struct gwlink {
	TAILQ_ENTRY(gwlink) entry;
	struct bufferevent *bev;
	int ready;			/* hello exchanged */
	int dead;			/* dropped; freed by the reaper */
	uint32_t pid;
	struct nonces *nonces;		/* the challenges outstanding */
	struct sessions_link *book;	/* its page of the session book */
};

static struct {
	struct broker *br;
	struct evconnlistener *listener;
	struct event *reaper;
	TAILQ_HEAD(, gwlink) links;
	size_t nlinks;
} gw;

union gwlink_msg {
	struct proto_gw_hello hello;
	struct proto_conn_ref ref;
	struct proto_session_ref sref;
	struct proto_connect connect;
	struct proto_rpc rpc;
};

/* ---- link lifetime ---- */

static void
gwlink_free(struct gwlink *l)
{
	nonces_free(l->nonces);
	sessions_link_free(l->book);
	bufferevent_free(l->bev);
	TAILQ_REMOVE(&gw.links, l, entry);
	gw.nlinks--;
	free(l);
}

/* Links are freed from a fresh event-loop turn, never inside a handler that may
 * still hold pointers into them (a broadcast can drop a link mid-RPC). */
static void
gwlink_reap(evutil_socket_t fd, short what, void *arg)
{
	struct gwlink *l, *next;

	for (l = TAILQ_FIRST(&gw.links); l != NULL; l = next) {
		next = TAILQ_NEXT(l, entry);
		if (l->dead)
			gwlink_free(l);
	}
}

/* Drops a link: logged now, freed by the reaper. */
static void __attribute__((format(printf, 3, 4)))
gwlink_drop(struct gwlink *l, int violation, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	if (l->dead)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (violation)
		log_warnx("gateway link (gatewayd pid %u): %s: dropping the link", l->pid, why);
	else
		log_info("gateway link (gatewayd pid %u): %s", l->pid, why);
	l->dead = 1;
	bufferevent_disable(l->bev, EV_READ | EV_WRITE);
	event_active(gw.reaper, EV_TIMEOUT, 0);
}

static void
gwlink_send(struct gwlink *l, uint16_t type, uint32_t id, const void *msg)
{
	size_t queued;

	if (l->dead)
		return;
	if (proto_link_send(l->bev, type, id, msg) < 0)
		fatalx("gateway link: cannot queue %s (a message the broker built does not fit "
		    "its layout)", proto_type_name(type));
	queued = evbuffer_get_length(bufferevent_get_output(l->bev));
	if (queued > GWLINK_MAX_OUTPUT)
		gwlink_drop(l, 1, "gatewayd is not reading (%zu bytes queued)", queued);
}

/* A BR_REJECT with only a close frame: no res, no error object. */
static void
gwlink_send_close_only(struct gwlink *l, uint32_t id, uint64_t conn, uint16_t code,
    const char *reason)
{
	struct proto_reject r;

	memset(&r, 0, sizeof(r));
	r.conn = conn;
	r.close_code = code;
	snprintf(r.close_reason, sizeof(r.close_reason), "%s", reason);
	r.error.retry_after_ms = -1;
	gwlink_send(l, PROTO_BR_REJECT, id, &r);
}

/* ---- handlers: a violation drops the link ---- */

static void
gwlink_on_hello(struct gwlink *l, const struct proto_hdr *hdr, union gwlink_msg *m)
{
	const struct config *cfg = gw.br->cfg;
	struct proto_br_hello h;

	l->pid = m->hello.pid;
	memset(&h, 0, sizeof(h));
	snprintf(h.version, sizeof(h.version), "%s", CLAWGATE_VERSION);
	h.port = cfg->port;
	h.nbind = cfg->nbind;
	memcpy(h.bind, cfg->bind, sizeof(h.bind));
	h.tick_interval_ms = GWLINK_TICK_INTERVAL_MS;
	h.handshake_timeout_ms = cfg->handshake_timeout_ms;
	h.max_preauth_per_ip = cfg->max_preauth_per_ip;
	h.ntrusted_proxies = cfg->ntrusted_proxies;
	memcpy(h.trusted_proxies, cfg->trusted_proxies, sizeof(h.trusted_proxies));
	h.allow_real_ip_fallback = (uint8_t)cfg->allow_real_ip_fallback;
	h.tls_enabled = (uint8_t)cfg->tls_enabled;
	snprintf(h.tls_cert_path, sizeof(h.tls_cert_path), "%s", cfg->tls_cert_path);
	snprintf(h.tls_key_path, sizeof(h.tls_key_path), "%s", cfg->tls_key_path);
	h.max_payload = GWLINK_MAX_PAYLOAD;
	h.max_buffered = GWLINK_MAX_BUFFERED;
	memcpy(h.ui_root, cfg->ui_root, sizeof(h.ui_root));
	memcpy(h.gatewayctl, cfg->gatewayctl, sizeof(h.gatewayctl));
	l->ready = 1;
	gwlink_send(l, PROTO_BR_HELLO, hdr->id, &h);
	log_info("gateway link: gatewayd pid %u worker %u connected", m->hello.pid,
	    m->hello.worker);
}

static void
gwlink_on_challenge(struct gwlink *l, const struct proto_hdr *hdr, union gwlink_msg *m)
{
	uint64_t conn = m->ref.conn;
	int64_t now = clock_mono_ms();
	struct proto_challenge msg;

	if (conn == 0 || nonces_has(l->nonces, conn)) {
		gwlink_drop(l, 1, "GW_CHALLENGE for conn %llu, which is %s",
		    (unsigned long long)conn, conn == 0 ? "reserved" : "already challenged");
		return;
	}
	memset(&msg, 0, sizeof(msg));
	if (nonces_issue(l->nonces, conn, now, now + gw.br->cfg->handshake_timeout_ms +
	    GWLINK_NONCE_GRACE_MS, msg.nonce) < 0) {
		gwlink_send_close_only(l, hdr->id, conn, 1013, "gateway busy");
		return;
	}
	msg.conn = conn;
	msg.ts = clock_wall_ms();
	gwlink_send(l, PROTO_BR_CHALLENGE, hdr->id, &msg);
}

static void
gwlink_on_connect(struct gwlink *l, const struct proto_hdr *hdr, union gwlink_msg *m)
{
	struct proto_connect *c = &m->connect;
	struct admission a;
	char nonce[UUID_STR_LEN + 1];
	int expired;

	/* The nonce is single-use whatever the outcome: the challenge goes now. */
	if (nonces_take(l->nonces, c->conn, clock_mono_ms(), nonce, &expired) < 0) {
		gwlink_drop(l, 1, "GW_CONNECT for conn %llu, which has no outstanding challenge",
		    (unsigned long long)c->conn);
		return;
	}
	if (expired) {
		/* Past the handshake timeout the client gets what a timeout gives it. */
		gwlink_send_close_only(l, hdr->id, c->conn, 1000, "");
	} else if (sessions_link_count(l->book) >= GWLINK_MAX_SESSIONS) {
		gwlink_send_close_only(l, hdr->id, c->conn, 1013, "gateway busy");
	} else {
		admission_decide(gw.br, c, nonce, clock_wall_ms(), &a);
		if (a.accepted) {
			sessions_accept(l->book, &a.accept);
			gwlink_send(l, PROTO_BR_ACCEPT, hdr->id, &a.accept);
		} else {
			gwlink_send(l, PROTO_BR_REJECT, hdr->id, &a.reject);
		}
		admission_free(&a);
	}
	OPENSSL_cleanse(c, sizeof(*c));
}

/* The session a message names by conn and ticket. A ticket that does not open
 * for this link and conn (forged, altered, or another's) drops the link (-1). A
 * ticket of a session the broker has closed opens with closing set, and its RPCs
 * are refused. */
static int
gwlink_session(struct gwlink *l, const char *what, uint64_t conn,
    const uint8_t ticket[PROTO_TICKET_LEN], struct session *s)
{
	if (sessions_open(l->book, conn, ticket, s) < 0) {
		gwlink_drop(l, 1, "%s for conn %llu with a session ticket the broker did not "
		    "issue for that conn on this link", what, (unsigned long long)conn);
		return -1;
	}
	return 0;
}

static void
gwlink_on_rpc(struct gwlink *l, const struct proto_hdr *hdr, union gwlink_msg *m)
{
	struct session s;
	struct rpc_reply r;

	if (gwlink_session(l, "GW_RPC", m->rpc.conn, m->rpc.ticket, &s) < 0)
		return;
	/* doc/protocol.md §5's close after repeated unauthorized calls is gatewayd's
	 * (it counts the FORBIDDEN answers): the broker keeps no count per session
	 * and refuses every such call anyway. */
	rpc_handle(gw.br, &s, &m->rpc, &r);
	gwlink_send(l, PROTO_BR_RPC_RESULT, hdr->id, &r.res);
	rpc_reply_free(&r);
}

static void
gwlink_on_closed(struct gwlink *l, const struct proto_hdr *hdr, union gwlink_msg *m)
{
	/* Unknown is normal: a conn whose connect was decided has no challenge left,
	 * and a full table may have pruned an expired one. */
	nonces_forget(l->nonces, m->ref.conn);
}

static void
gwlink_on_session_closed(struct gwlink *l, const struct proto_hdr *hdr, union gwlink_msg *m)
{
	struct session s;

	if (gwlink_session(l, "GW_SESSION_CLOSED", m->sref.conn, m->sref.ticket, &s) < 0)
		return;
	sessions_end(l->book, &s);
}

/* The permit table: which message is allowed before and after the hello. The
 * per-conn state (challenged, accepted) is checked by the handlers. */
static const struct {
	uint16_t type;
	int after_hello;
	void (*fn)(struct gwlink *, const struct proto_hdr *, union gwlink_msg *);
} gwlink_permits[] = {
	{ PROTO_GW_HELLO, 0, gwlink_on_hello },
	{ PROTO_GW_CHALLENGE, 1, gwlink_on_challenge },
	{ PROTO_GW_CONNECT, 1, gwlink_on_connect },
	{ PROTO_GW_RPC, 1, gwlink_on_rpc },
	{ PROTO_GW_CLOSED, 1, gwlink_on_closed },
	{ PROTO_GW_SESSION_CLOSED, 1, gwlink_on_session_closed },
};

/* A proto_link_frame_cb: non-zero stops reading because the link was dropped. */
static int
gwlink_frame(void *arg, const struct proto_hdr *hdr, const uint8_t *payload)
{
	struct gwlink *l = arg;
	union gwlink_msg m;
	size_t i, n = sizeof(gwlink_permits) / sizeof(gwlink_permits[0]);

	for (i = 0; i < n && gwlink_permits[i].type != hdr->type; i++)
		;
	if (i == n)
		gwlink_drop(l, 1, "unexpected message type 0x%04x (%s)", hdr->type,
		    proto_type_name(hdr->type));
	else if (gwlink_permits[i].after_hello != l->ready)
		gwlink_drop(l, 1, "%s %s the hello", proto_type_name(hdr->type),
		    l->ready ? "after" : "before");
	else if (proto_decode(hdr->type, payload, hdr->len, &m) < 0)
		gwlink_drop(l, 1, "malformed %s (%u bytes)", proto_type_name(hdr->type), hdr->len);
	else
		gwlink_permits[i].fn(l, hdr, &m);
	return l->dead;
}

static void
gwlink_read(struct bufferevent *bev, void *arg)
{
	struct gwlink *l = arg;

	if (!l->dead && proto_link_read(bufferevent_get_input(bev), PROTO_MAX_REQUEST,
	    gwlink_frame, l) < 0)
		gwlink_drop(l, 1, "bad frame header");
}

static void
gwlink_event(struct bufferevent *bev, short what, void *arg)
{
	struct gwlink *l = arg;

	if (what & BEV_EVENT_EOF)
		gwlink_drop(l, 0, "gatewayd closed the link");
	else if (what & BEV_EVENT_ERROR)
		gwlink_drop(l, 1, "link error");
}

static void
gwlink_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct gwlink *l;

	if (gw.nlinks >= GWLINK_MAX_LINKS) {
		log_warnx("gateway link: %d gatewayd links are open, the limit: refusing another",
		    GWLINK_MAX_LINKS);
		close(fd);
		return;
	}
	l = xcalloc(1, sizeof(*l));
	l->bev = bufferevent_socket_new(evconnlistener_get_base(lis), fd, BEV_OPT_CLOSE_ON_FREE);
	if (l->bev == NULL)
		fatalx("gateway link: cannot allocate a bufferevent");
	l->nonces = nonces_new(GWLINK_MAX_CHALLENGES);
	l->book = sessions_link_new();
	TAILQ_INSERT_TAIL(&gw.links, l, entry);
	gw.nlinks++;
	bufferevent_setcb(l->bev, gwlink_read, NULL, gwlink_event, l);
	bufferevent_enable(l->bev, EV_READ);
}

/* ---- the module's interface ---- */

void
gwlink_init(struct event_base *base, int listen_fd, struct broker *br)
{
	gw.br = br;
	TAILQ_INIT(&gw.links);
	gw.reaper = event_new(base, -1, 0, gwlink_reap, NULL);
	gw.listener = evconnlistener_new(base, gwlink_accept, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, listen_fd);
	if (gw.reaper == NULL || gw.listener == NULL)
		fatalx("gateway link: cannot set up the listener");
}

void
gwlink_shutdown(void)
{
	struct gwlink *l;

	while ((l = TAILQ_FIRST(&gw.links)) != NULL)
		gwlink_free(l);
	evconnlistener_free(gw.listener);
	event_free(gw.reaper);
}

void
gwlink_publish(enum proto_audience audience, const char *event, const struct pbuf *payload)
{
	struct proto_event ev;
	struct gwlink *l;

	memset(&ev, 0, sizeof(ev));
	ev.audience = (uint8_t)audience;
	snprintf(ev.event, sizeof(ev.event), "%s", event);
	ev.payload = pval_blob(payload);
	TAILQ_FOREACH(l, &gw.links, entry)
		if (l->ready)
			gwlink_send(l, PROTO_BR_EVENT, 0, &ev);
}

/* Pushes a BR_CLOSE to every ready link; except (may be NULL) is spared on its own. */
static void
gwlink_push_close(struct proto_close *m, const struct session *except)
{
	struct gwlink *l;

	TAILQ_FOREACH(l, &gw.links, entry) {
		if (!l->ready)
			continue;
		m->except_conn = except != NULL && except->link == sessions_link_serial(l->book) ?
		    except->conn : 0;
		gwlink_send(l, PROTO_BR_CLOSE, 0, m);
	}
}

void
gwlink_close_device(const char *device_id, unsigned roles, const struct session *except,
    uint16_t code, const char *reason)
{
	struct proto_close m;

	sessions_close_device(device_id, roles, except);
	memset(&m, 0, sizeof(m));
	m.target = PROTO_CLOSE_DEVICE;
	if (OPENSSL_hexstr2buf_ex(m.device, sizeof(m.device), NULL, device_id, '\0') != 1)
		fatalx("closing the sessions of device id \"%s\", which is not 64 hex digits",
		    device_id);
	m.roles = (uint8_t)(roles & ((1u << ROLE_COUNT) - 1));
	m.code = code;
	snprintf(m.reason, sizeof(m.reason), "%s", reason);
	gwlink_push_close(&m, except);
}

void
gwlink_close_shared_secret_sessions(uint16_t code, const char *reason)
{
	struct proto_close m;

	sessions_close_shared();
	memset(&m, 0, sizeof(m));
	m.target = PROTO_CLOSE_SHARED;
	m.code = code;
	snprintf(m.reason, sizeof(m.reason), "%s", reason);
	gwlink_push_close(&m, NULL);
}

void
gwlink_stats(size_t *links, size_t *sessions)
{
	struct gwlink *l;

	*links = *sessions = 0;
	TAILQ_FOREACH(l, &gw.links, entry) {
		if (l->ready && !l->dead) {
			(*links)++;
			*sessions += sessions_link_count(l->book);
		}
	}
}
