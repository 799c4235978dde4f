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
#include "brokerd/htab.h"
#include "brokerd/rpc.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/random.h"
#include "common/xmalloc.h"
#include "proto/link.h"
#include "proto/pval.h"

/* gatewayd runs a few workers, each with one link. */
#define GWLINK_MAX_LINKS 64
/* Unauthorized calls a session may make; one more closes it (PROTOCOL.md §5). */
#define GWLINK_MAX_FORBIDDEN 10
/* Per link (CONTRACT.md): at most this many outstanding challenges... */
#define GWLINK_MAX_CHALLENGES 65536
/* ...and accepted sessions; gatewayd's 20,000 descriptors stay well below. */
#define GWLINK_MAX_SESSIONS 65536
/* A nonce outlives gatewayd's handshake timeout by this much. */
#define GWLINK_NONCE_GRACE_MS 5000
/* A link whose gatewayd stops reading is dropped rather than buffered forever. */
#define GWLINK_MAX_OUTPUT (64u << 20)
/* The fixed settings of PROTOCOL.md §1 and §2.4 that gatewayd enforces. */
#define GWLINK_TICK_INTERVAL_MS 30000
#define GWLINK_MAX_PAYLOAD 26214400
#define GWLINK_MAX_BUFFERED 52428800

enum gwconn_state { GWCONN_CHALLENGED, GWCONN_SESSION };

struct gwdev;
struct gwlink;

/* One WebSocket connection of a link: an outstanding challenge until its connect,
 * then, if accepted, a session until GW_CLOSED. */
struct gwconn {
	struct htab_node node;		/* in link->conns, keyed by conn */
	TAILQ_ENTRY(gwconn) entry;	/* link->challenges or link->sessions */
	TAILQ_ENTRY(gwconn) dev_entry;	/* dev->conns while dev is set */
	struct gwlink *link;
	struct gwdev *dev;		/* the bound device, until closed */
	uint64_t conn;
	enum gwconn_state state;
	uint8_t shared_auth;		/* accepted on the shared token or password */
	unsigned forbidden;		/* RPCs refused for a missing scope */
	int64_t expires_mono_ms;	/* challenged: when the nonce expires */
	char nonce[UUID_STR_LEN + 1];	/* challenged */
	struct session s;		/* session */
};
TAILQ_HEAD(gwconn_q, gwconn);

/* The live sessions of one device across links: list answers say "connected"
 * and removing a device closes them. */
struct gwdev {
	struct htab_node node;
	char device_id[DEVPROOF_ID_LEN + 1];
	struct gwconn_q conns;
};

struct gwlink {
	TAILQ_ENTRY(gwlink) entry;
	struct bufferevent *bev;
	int ready;			/* hello exchanged */
	int dead;			/* dropped; freed by the reaper */
	uint32_t pid;
	struct htab conns;
	struct gwconn_q challenges;	/* oldest first, which is expiry order */
	struct gwconn_q sessions;
	size_t nchallenges;
	size_t nsessions;
};

static struct {
	struct broker *br;
	struct evconnlistener *listener;
	struct event *reaper;
	TAILQ_HEAD(, gwlink) links;
	size_t nlinks;
	struct htab devs;
} gw;

union gwlink_msg {
	struct proto_gw_hello hello;
	struct proto_conn_ref ref;
	struct proto_connect connect;
	struct proto_rpc rpc;
};

/* ---- lookups ---- */

static int
gwconn_match(const struct htab_node *n, const void *key)
{
	return ((const struct gwconn *)n)->conn == *(const uint64_t *)key;
}

static struct gwconn *
gwconn_find(struct gwlink *l, uint64_t conn)
{
	return (struct gwconn *)htab_lookup(&l->conns, htab_hash_u64(conn), gwconn_match, &conn);
}

static int
gwdev_match(const struct htab_node *n, const void *key)
{
	return strcmp(((const struct gwdev *)n)->device_id, key) == 0;
}

static struct gwdev *
gwdev_find(const char *device_id)
{
	return (struct gwdev *)htab_lookup(&gw.devs, htab_hash_str(device_id), gwdev_match,
	    device_id);
}

static void
gwdev_attach(struct gwconn *gc)
{
	struct gwdev *dev = gwdev_find(gc->s.device_id);

	if (dev == NULL) {
		dev = xcalloc(1, sizeof(*dev));
		memcpy(dev->device_id, gc->s.device_id, sizeof(dev->device_id));
		TAILQ_INIT(&dev->conns);
		htab_insert(&gw.devs, &dev->node, htab_hash_str(dev->device_id));
	}
	TAILQ_INSERT_TAIL(&dev->conns, gc, dev_entry);
	gc->dev = dev;
}

static void
gwdev_detach(struct gwconn *gc)
{
	struct gwdev *dev = gc->dev;

	TAILQ_REMOVE(&dev->conns, gc, dev_entry);
	gc->dev = NULL;
	if (TAILQ_EMPTY(&dev->conns)) {
		htab_remove(&gw.devs, &dev->node);
		free(dev);
	}
}

static void
gwconn_free(struct gwlink *l, struct gwconn *gc)
{
	if (gc->state == GWCONN_CHALLENGED) {
		TAILQ_REMOVE(&l->challenges, gc, entry);
		l->nchallenges--;
	} else {
		TAILQ_REMOVE(&l->sessions, gc, entry);
		l->nsessions--;
	}
	if (gc->dev != NULL)
		gwdev_detach(gc);
	htab_remove(&l->conns, &gc->node);
	free(gc);
}

/* ---- link lifetime ---- */

static void
gwlink_free(struct gwlink *l)
{
	struct gwconn *gc;

	while ((gc = TAILQ_FIRST(&l->challenges)) != NULL)
		gwconn_free(l, gc);
	while ((gc = TAILQ_FIRST(&l->sessions)) != NULL)
		gwconn_free(l, gc);
	htab_free(&l->conns);
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
	l->ready = 1;
	gwlink_send(l, PROTO_BR_HELLO, hdr->id, &h);
	log_info("gateway link: gatewayd pid %u worker %u connected", m->hello.pid,
	    m->hello.worker);
}

/* Frees expired challenges, oldest first; used only when the table is full, so a
 * late connect normally still finds its (expired) nonce and gets a clean close. */
static void
gwlink_prune(struct gwlink *l, int64_t now_mono)
{
	struct gwconn *gc;

	while ((gc = TAILQ_FIRST(&l->challenges)) != NULL && gc->expires_mono_ms < now_mono)
		gwconn_free(l, gc);
}

static void
gwlink_on_challenge(struct gwlink *l, const struct proto_hdr *hdr, union gwlink_msg *m)
{
	uint64_t conn = m->ref.conn;
	int64_t now = clock_mono_ms();
	struct proto_challenge ch;
	struct gwconn *gc;

	if (conn == 0 || gwconn_find(l, conn) != NULL) {
		gwlink_drop(l, 1, "GW_CHALLENGE for conn %llu, which is %s",
		    (unsigned long long)conn, conn == 0 ? "reserved" : "already in use");
		return;
	}
	if (l->nchallenges >= GWLINK_MAX_CHALLENGES)
		gwlink_prune(l, now);
	if (l->nchallenges >= GWLINK_MAX_CHALLENGES) {
		gwlink_send_close_only(l, hdr->id, conn, 1013, "gateway busy");
		return;
	}
	gc = xcalloc(1, sizeof(*gc));
	gc->link = l;
	gc->conn = conn;
	gc->state = GWCONN_CHALLENGED;
	gc->expires_mono_ms = now + gw.br->cfg->handshake_timeout_ms + GWLINK_NONCE_GRACE_MS;
	random_uuid4(gc->nonce);
	htab_insert(&l->conns, &gc->node, htab_hash_u64(conn));
	TAILQ_INSERT_TAIL(&l->challenges, gc, entry);
	l->nchallenges++;
	memset(&ch, 0, sizeof(ch));
	ch.conn = conn;
	memcpy(ch.nonce, gc->nonce, sizeof(gc->nonce));
	ch.ts = clock_wall_ms();
	gwlink_send(l, PROTO_BR_CHALLENGE, hdr->id, &ch);
}

/* Records the session admission accepted for conn. */
static void
gwlink_open_session(struct gwlink *l, uint64_t conn, const struct proto_accept *ac)
{
	struct gwconn *gc = xcalloc(1, sizeof(*gc));
	enum role role = (enum role)role_parse(ac->role);

	gc->link = l;
	gc->conn = conn;
	gc->state = GWCONN_SESSION;
	gc->s.role = role;
	/* The broker authorises only operator methods: other roles hold none. */
	gc->s.scope_mask = role == ROLE_OPERATOR ? scopes_mask(&ac->scopes) : 0;
	memcpy(gc->s.device_id, ac->device_id, sizeof(gc->s.device_id));
	gc->shared_auth = strcmp(ac->method, "token") == 0 || strcmp(ac->method, "password") == 0;
	htab_insert(&l->conns, &gc->node, htab_hash_u64(conn));
	TAILQ_INSERT_TAIL(&l->sessions, gc, entry);
	l->nsessions++;
	if (gc->s.device_id[0] != '\0')
		gwdev_attach(gc);
}

static void
gwlink_on_connect(struct gwlink *l, const struct proto_hdr *hdr, union gwlink_msg *m)
{
	struct proto_connect *c = &m->connect;
	struct gwconn *gc = gwconn_find(l, c->conn);
	struct admission a;
	char nonce[UUID_STR_LEN + 1];
	int expired;

	if (gc == NULL || gc->state != GWCONN_CHALLENGED) {
		gwlink_drop(l, 1, "GW_CONNECT for conn %llu, which has no outstanding challenge",
		    (unsigned long long)c->conn);
		return;
	}
	/* The nonce is single-use whatever the outcome: the challenge goes now. */
	memcpy(nonce, gc->nonce, sizeof(nonce));
	expired = gc->expires_mono_ms < clock_mono_ms();
	gwconn_free(l, gc);
	if (expired) {
		/* Past the handshake timeout the client gets what a timeout gives it. */
		gwlink_send_close_only(l, hdr->id, c->conn, 1000, "");
	} else if (l->nsessions >= GWLINK_MAX_SESSIONS) {
		gwlink_send_close_only(l, hdr->id, c->conn, 1013, "gateway busy");
	} else {
		admission_decide(gw.br, c, nonce, clock_wall_ms(), &a);
		if (a.accepted) {
			gwlink_open_session(l, c->conn, &a.accept);
			gwlink_send(l, PROTO_BR_ACCEPT, hdr->id, &a.accept);
		} else {
			gwlink_send(l, PROTO_BR_REJECT, hdr->id, &a.reject);
		}
		admission_free(&a);
	}
	OPENSSL_cleanse(c, sizeof(*c));
}

static void gwconn_close(struct gwconn *gc, uint16_t code, const char *reason);

static void
gwlink_on_rpc(struct gwlink *l, const struct proto_hdr *hdr, union gwlink_msg *m)
{
	struct gwconn *gc = gwconn_find(l, m->rpc.conn);
	struct rpc_reply r;

	if (gc == NULL || gc->state != GWCONN_SESSION) {
		gwlink_drop(l, 1, "GW_RPC for conn %llu, which the broker never accepted",
		    (unsigned long long)m->rpc.conn);
		return;
	}
	rpc_handle(gw.br, &gc->s, &m->rpc, &r);
	gwlink_send(l, PROTO_BR_RPC_RESULT, hdr->id, &r.res);
	/* PROTOCOL.md §5: a session that keeps calling what it may not is closed. */
	if (!r.res.ok && strcmp(r.res.error.code, "FORBIDDEN") == 0 && !gc->s.closing &&
	    ++gc->forbidden > GWLINK_MAX_FORBIDDEN)
		gwconn_close(gc, 1008, "repeated unauthorized calls");
	rpc_reply_free(&r);
}

static void
gwlink_on_closed(struct gwlink *l, const struct proto_hdr *hdr, union gwlink_msg *m)
{
	struct gwconn *gc = gwconn_find(l, m->ref.conn);

	/* Unknown is normal: rejected conns are forgotten at once, and a full table
	 * may have pruned an expired challenge. */
	if (gc != NULL)
		gwconn_free(l, gc);
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
	htab_init(&l->conns);
	TAILQ_INIT(&l->challenges);
	TAILQ_INIT(&l->sessions);
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
	htab_init(&gw.devs);
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
	htab_free(&gw.devs);
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

int
gwlink_device_connected(const char *device_id)
{
	return gwdev_find(device_id) != NULL;
}

/* Asks gatewayd to close a session; the broker keeps it, marked closing, until
 * GW_CLOSED, so an RPC already on its way still finds it. */
static void
gwconn_close(struct gwconn *gc, uint16_t code, const char *reason)
{
	struct proto_close m;

	memset(&m, 0, sizeof(m));
	m.conn = gc->conn;
	m.code = code;
	snprintf(m.reason, sizeof(m.reason), "%s", reason);
	gwlink_send(gc->link, PROTO_BR_CLOSE, 0, &m);
	gc->s.closing = 1;
	if (gc->dev != NULL)
		gwdev_detach(gc);
}

void
gwlink_close_device(const char *device_id, unsigned roles, const struct session *except,
    uint16_t code, const char *reason)
{
	struct gwdev *dev = gwdev_find(device_id);
	struct gwconn *gc, *next;

	/* Each close detaches one session and the entry goes with the last one, so
	 * the next session is fetched before, and the entry is not touched after. */
	for (gc = dev != NULL ? TAILQ_FIRST(&dev->conns) : NULL; gc != NULL; gc = next) {
		next = TAILQ_NEXT(gc, dev_entry);
		if ((roles & ROLE_BIT(gc->s.role)) && &gc->s != except)
			gwconn_close(gc, code, reason);
	}
}

void
gwlink_close_shared_secret_sessions(uint16_t code, const char *reason)
{
	struct gwlink *l;
	struct gwconn *gc;

	TAILQ_FOREACH(l, &gw.links, entry)
		TAILQ_FOREACH(gc, &l->sessions, entry)
			if (gc->shared_auth && !gc->s.closing)
				gwconn_close(gc, code, reason);
}

void
gwlink_stats(size_t *links, size_t *sessions)
{
	struct gwlink *l;

	*links = *sessions = 0;
	TAILQ_FOREACH(l, &gw.links, entry) {
		if (l->ready && !l->dead) {
			(*links)++;
			*sessions += l->nsessions;
		}
	}
}
