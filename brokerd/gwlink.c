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

struct gwlink;

/* An outstanding challenge: the nonce issued for a conn, until its connect. */
struct gwchal {
	struct htab_node node;		/* in link->chals, keyed by conn */
	TAILQ_ENTRY(gwchal) entry;	/* link->challenges, oldest first */
	uint64_t conn;
	int64_t expires_mono_ms;
	char nonce[UUID_STR_LEN + 1];
};
TAILQ_HEAD(gwchal_q, gwchal);

/*
 * The live, current sessions of one device on one link, counted per role and
 * per whether they came with the shared secret: device lists say "connected"
 * while any count is nonzero. A count goes up on accept, down on a
 * GW_SESSION_CLOSED with a current ticket, and to what remains current when the
 * broker closes sessions (a stale ticket's close then counts nothing). Costs
 * O(devices x links), nothing per session.
 */
struct gwdev {
	struct htab_node node;		/* in link->devs, keyed by device id */
	TAILQ_ENTRY(gwdev) entry;	/* link->devlist */
	char device_id[DEVPROOF_ID_LEN + 1];
	uint32_t live[ROLE_COUNT][2];	/* [role][shared_auth] */
};
TAILQ_HEAD(gwdev_q, gwdev);

struct gwlink {
	TAILQ_ENTRY(gwlink) entry;
	struct bufferevent *bev;
	int ready;			/* hello exchanged */
	int dead;			/* dropped; freed by the reaper */
	uint32_t pid;
	uint64_t serial;		/* in this link's tickets; never reused */
	struct htab chals;
	struct gwchal_q challenges;	/* oldest first, which is expiry order */
	size_t nchallenges;
	size_t nsessions;		/* accepted and not reported closed */
	struct htab devs;
	struct gwdev_q devlist;
};

static struct {
	struct broker *br;
	struct evconnlistener *listener;
	struct event *reaper;
	TAILQ_HEAD(, gwlink) links;
	size_t nlinks;
	uint64_t link_serials;		/* the last link serial handed out */
	uint64_t epochs;		/* the last epoch handed out (reg_sessions) */
	uint64_t shared_epoch;		/* what shared-secret tickets must carry */
} gw;

union gwlink_msg {
	struct proto_gw_hello hello;
	struct proto_conn_ref ref;
	struct proto_session_ref sref;
	struct proto_connect connect;
	struct proto_rpc rpc;
};

/* ---- lookups ---- */

static int
gwchal_match(const struct htab_node *n, const void *key)
{
	return ((const struct gwchal *)n)->conn == *(const uint64_t *)key;
}

static struct gwchal *
gwchal_find(struct gwlink *l, uint64_t conn)
{
	return (struct gwchal *)htab_lookup(&l->chals, htab_hash_u64(conn), gwchal_match, &conn);
}

static void
gwchal_free(struct gwlink *l, struct gwchal *ch)
{
	TAILQ_REMOVE(&l->challenges, ch, entry);
	l->nchallenges--;
	htab_remove(&l->chals, &ch->node);
	free(ch);
}

static int
gwdev_match(const struct htab_node *n, const void *key)
{
	return strcmp(((const struct gwdev *)n)->device_id, key) == 0;
}

static struct gwdev *
gwdev_find(struct gwlink *l, const char *device_id)
{
	return (struct gwdev *)htab_lookup(&l->devs, htab_hash_str(device_id), gwdev_match,
	    device_id);
}

static void
gwdev_free(struct gwlink *l, struct gwdev *dev)
{
	htab_remove(&l->devs, &dev->node);
	TAILQ_REMOVE(&l->devlist, dev, entry);
	free(dev);
}

/* Frees the entry once it counts nothing. */
static void
gwdev_tidy(struct gwlink *l, struct gwdev *dev)
{
	for (int r = 0; r < ROLE_COUNT; r++)
		if (dev->live[r][0] != 0 || dev->live[r][1] != 0)
			return;
	gwdev_free(l, dev);
}

/* Counts an accepted bound session in. */
static void
gwdev_add(struct gwlink *l, const struct session *s)
{
	struct gwdev *dev = gwdev_find(l, s->device_id);

	if (dev == NULL) {
		dev = xcalloc(1, sizeof(*dev));
		memcpy(dev->device_id, s->device_id, sizeof(dev->device_id));
		htab_insert(&l->devs, &dev->node, htab_hash_str(dev->device_id));
		TAILQ_INSERT_TAIL(&l->devlist, dev, entry);
	}
	dev->live[s->role][s->shared_auth]++;
}

/* Counts a current bound session out; a hostile gateway's second close of
 * the same session finds the count at zero at worst. */
static void
gwdev_sub(struct gwlink *l, const struct session *s)
{
	struct gwdev *dev = gwdev_find(l, s->device_id);

	if (dev == NULL)
		return;
	if (dev->live[s->role][s->shared_auth] > 0)
		dev->live[s->role][s->shared_auth]--;
	gwdev_tidy(l, dev);
}

/* ---- link lifetime ---- */

static void
gwlink_free(struct gwlink *l)
{
	struct gwchal *ch;
	struct gwdev *dev;

	while ((ch = TAILQ_FIRST(&l->challenges)) != NULL)
		gwchal_free(l, ch);
	while ((dev = TAILQ_FIRST(&l->devlist)) != NULL)
		gwdev_free(l, dev);
	htab_free(&l->chals);
	htab_free(&l->devs);
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

/* Frees expired challenges, oldest first; used only when the table is full, so a
 * late connect normally still finds its (expired) nonce and gets a clean close. */
static void
gwlink_prune(struct gwlink *l, int64_t now_mono)
{
	struct gwchal *ch;

	while ((ch = TAILQ_FIRST(&l->challenges)) != NULL && ch->expires_mono_ms < now_mono)
		gwchal_free(l, ch);
}

static void
gwlink_on_challenge(struct gwlink *l, const struct proto_hdr *hdr, union gwlink_msg *m)
{
	uint64_t conn = m->ref.conn;
	int64_t now = clock_mono_ms();
	struct proto_challenge msg;
	struct gwchal *ch;

	if (conn == 0 || gwchal_find(l, conn) != NULL) {
		gwlink_drop(l, 1, "GW_CHALLENGE for conn %llu, which is %s",
		    (unsigned long long)conn, conn == 0 ? "reserved" : "already challenged");
		return;
	}
	if (l->nchallenges >= GWLINK_MAX_CHALLENGES)
		gwlink_prune(l, now);
	if (l->nchallenges >= GWLINK_MAX_CHALLENGES) {
		gwlink_send_close_only(l, hdr->id, conn, 1013, "gateway busy");
		return;
	}
	ch = xcalloc(1, sizeof(*ch));
	ch->conn = conn;
	ch->expires_mono_ms = now + gw.br->cfg->handshake_timeout_ms + GWLINK_NONCE_GRACE_MS;
	random_uuid4(ch->nonce);
	htab_insert(&l->chals, &ch->node, htab_hash_u64(conn));
	TAILQ_INSERT_TAIL(&l->challenges, ch, entry);
	l->nchallenges++;
	memset(&msg, 0, sizeof(msg));
	msg.conn = conn;
	memcpy(msg.nonce, ch->nonce, sizeof(ch->nonce));
	msg.ts = clock_wall_ms();
	gwlink_send(l, PROTO_BR_CHALLENGE, hdr->id, &msg);
}

/* The epoch of a device's role that tickets issued now carry. */
static uint64_t
gwlink_device_epoch(const char *device_id, enum role role)
{
	struct reg_device *d = registry_device_find(gw.br->reg, device_id);

	/* Admission accepts a device only with its record in hand. */
	if (d == NULL)
		fatalx("accepted a session of device %s, which has no record", device_id);
	if (d->sessions[role].epoch == 0)
		d->sessions[role].epoch = ++gw.epochs;
	return d->sessions[role].epoch;
}

/* Seals the ticket of the session admission accepted for conn and counts it. */
static void
gwlink_open_session(struct gwlink *l, struct proto_accept *ac)
{
	struct session s;

	memset(&s, 0, sizeof(s));
	s.link = l->serial;
	s.conn = ac->conn;
	s.role = (enum role)role_parse(ac->role);
	/* The broker authorises only operator methods: other roles hold none. */
	s.scope_mask = s.role == ROLE_OPERATOR ? scopes_mask(&ac->scopes) : 0;
	memcpy(s.device_id, ac->device_id, sizeof(s.device_id));
	s.shared_auth = strcmp(ac->method, "token") == 0 || strcmp(ac->method, "password") == 0;
	s.shared_epoch = gw.shared_epoch;
	if (s.device_id[0] != '\0') {
		s.device_epoch = gwlink_device_epoch(s.device_id, s.role);
		gwdev_add(l, &s);
	}
	ticket_seal(&s, ac->ticket);
	l->nsessions++;
}

static void
gwlink_on_connect(struct gwlink *l, const struct proto_hdr *hdr, union gwlink_msg *m)
{
	struct proto_connect *c = &m->connect;
	struct gwchal *ch = gwchal_find(l, c->conn);
	struct admission a;
	char nonce[UUID_STR_LEN + 1];
	int expired;

	if (ch == NULL) {
		gwlink_drop(l, 1, "GW_CONNECT for conn %llu, which has no outstanding challenge",
		    (unsigned long long)c->conn);
		return;
	}
	/* The nonce is single-use whatever the outcome: the challenge goes now. */
	memcpy(nonce, ch->nonce, sizeof(nonce));
	expired = ch->expires_mono_ms < clock_mono_ms();
	gwchal_free(l, ch);
	if (expired) {
		/* Past the handshake timeout the client gets what a timeout gives it. */
		gwlink_send_close_only(l, hdr->id, c->conn, 1000, "");
	} else if (l->nsessions >= GWLINK_MAX_SESSIONS) {
		gwlink_send_close_only(l, hdr->id, c->conn, 1013, "gateway busy");
	} else {
		admission_decide(gw.br, c, nonce, clock_wall_ms(), &a);
		if (a.accepted) {
			gwlink_open_session(l, &a.accept);
			gwlink_send(l, PROTO_BR_ACCEPT, hdr->id, &a.accept);
		} else {
			gwlink_send(l, PROTO_BR_REJECT, hdr->id, &a.reject);
		}
		admission_free(&a);
	}
	OPENSSL_cleanse(c, sizeof(*c));
}

/* Whether an opened ticket is still current: its device still paired, and
 * neither its device's role (unless it is the session that close spared) nor,
 * for a shared-secret session, the shared secret closed since it was issued. */
static int
gwlink_current(const struct session *s)
{
	const struct reg_device *d;
	const struct reg_sessions *rs;

	if (s->shared_auth && s->shared_epoch != gw.shared_epoch)
		return 0;
	if (s->device_id[0] == '\0')
		return 1;
	if ((d = registry_device_find(gw.br->reg, s->device_id)) == NULL)
		return 0;
	rs = &d->sessions[s->role];
	return s->device_epoch == rs->epoch || (s->device_epoch == rs->spared_epoch &&
	    s->link == rs->spared_link && s->conn == rs->spared_conn);
}

/*
 * The session a message names by conn and ticket. A ticket that does not open
 * for this link and conn (forged, altered, or another's) drops the link (-1). A ticket of a session the broker has closed opens with
 * closing set, and its RPCs are refused. The broker remembers no session, so
 * a ticket stays good after its GW_SESSION_CLOSED; a compromised gatewayd gains
 * nothing by that, as it could always leave a session unreported instead.
 */
static int
gwlink_session(struct gwlink *l, const char *what, uint64_t conn,
    const uint8_t ticket[PROTO_TICKET_LEN], struct session *s)
{
	if (ticket_open(ticket, l->serial, conn, s) < 0) {
		gwlink_drop(l, 1, "%s for conn %llu with a session ticket the broker did not "
		    "issue for that conn on this link", what, (unsigned long long)conn);
		return -1;
	}
	s->closing = !gwlink_current(s);
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
	struct gwchal *ch = gwchal_find(l, m->ref.conn);

	/* Unknown is normal: a conn whose connect was decided has no challenge left,
	 * and a full table may have pruned an expired one. */
	if (ch != NULL)
		gwchal_free(l, ch);
}

static void
gwlink_on_session_closed(struct gwlink *l, const struct proto_hdr *hdr, union gwlink_msg *m)
{
	struct session s;

	if (gwlink_session(l, "GW_SESSION_CLOSED", m->sref.conn, m->sref.ticket, &s) < 0)
		return;
	if (l->nsessions > 0)
		l->nsessions--;
	if (!s.closing && s.device_id[0] != '\0')
		gwdev_sub(l, &s);
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
	else if (proto_decode(hdr->type, payload, hdr->len, &m, sizeof(m)) < 0)
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
	l->serial = ++gw.link_serials;
	htab_init(&l->chals);
	TAILQ_INIT(&l->challenges);
	htab_init(&l->devs);
	TAILQ_INIT(&l->devlist);
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
	gw.shared_epoch = ++gw.epochs;
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
	ev.payload = proto_blob_of(payload);
	TAILQ_FOREACH(l, &gw.links, entry)
		if (l->ready)
			gwlink_send(l, PROTO_BR_EVENT, 0, &ev);
}

int
gwlink_device_connected(const char *device_id)
{
	struct gwlink *l;

	TAILQ_FOREACH(l, &gw.links, entry)
		if (gwdev_find(l, device_id) != NULL)
			return 1;
	return 0;
}

/* Pushes a BR_CLOSE to every ready link; except (may be NULL) is spared on its own. */
static void
gwlink_push_close(struct proto_close *m, const struct session *except)
{
	struct gwlink *l;

	TAILQ_FOREACH(l, &gw.links, entry) {
		if (!l->ready)
			continue;
		m->except_conn = except != NULL && except->link == l->serial ? except->conn : 0;
		gwlink_send(l, PROTO_BR_CLOSE, 0, m);
	}
}

/* Moves a role's epoch on: every ticket of it stops being current, but for
 * spare's, which keeps its epoch as the spared one. */
static void
gwlink_bump(struct reg_sessions *rs, const struct session *spare)
{
	if (spare == NULL) {
		rs->spared_epoch = 0;
	} else if (spare->device_epoch == rs->epoch) {
		rs->spared_epoch = rs->epoch;
		rs->spared_link = spare->link;
		rs->spared_conn = spare->conn;
	}
	/* else spare is already the spared session and stays so. */
	rs->epoch = ++gw.epochs;
}

void
gwlink_close_device(const char *device_id, unsigned roles, const struct session *except,
    uint16_t code, const char *reason)
{
	struct reg_device *d = registry_device_find(gw.br->reg, device_id);
	struct proto_close m;
	struct gwlink *l;
	struct gwdev *dev;
	const struct session *spare;

	for (int r = 0; r < ROLE_COUNT; r++) {
		if (!(roles & ROLE_BIT(r)))
			continue;
		spare = except != NULL && !except->closing && except->role == (enum role)r &&
		    strcmp(except->device_id, device_id) == 0 ? except : NULL;
		/* A removed device has no record: its tickets are stale already. */
		if (d != NULL)
			gwlink_bump(&d->sessions[r], spare);
		TAILQ_FOREACH(l, &gw.links, entry) {
			if ((dev = gwdev_find(l, device_id)) == NULL)
				continue;
			dev->live[r][0] = dev->live[r][1] = 0;
			if (spare != NULL && spare->link == l->serial)
				dev->live[r][spare->shared_auth] = 1;
			gwdev_tidy(l, dev);
		}
	}
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
	struct gwlink *l;
	struct gwdev *dev, *next;

	gw.shared_epoch = ++gw.epochs;
	TAILQ_FOREACH(l, &gw.links, entry) {
		for (dev = TAILQ_FIRST(&l->devlist); dev != NULL; dev = next) {
			next = TAILQ_NEXT(dev, entry);
			for (int r = 0; r < ROLE_COUNT; r++)
				dev->live[r][1] = 0;
			gwdev_tidy(l, dev);
		}
	}
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
			*sessions += l->nsessions;
		}
	}
}
