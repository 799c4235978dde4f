#include "brokerd/gwlink.h"

#include <stdarg.h>
#include <stddef.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/crypto.h>

#include "brokerd/nonces.h"
#include "brokerd/role.h"
#include "brokerd/sessions.h"
#include "common/clock.h"
#include "common/defer.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "proto/link.h"
#include "proto/pval.h"

/* gatewayd runs at most WORKERS_MAX (64) workers, each with one link. */
#define GWLINK_MAX_LINKS 64
/* Outstanding challenges: per link, and across all links. A conn holds one
 * only between its upgrade and its connect (gatewayd's handshake timeout). */
#define GWLINK_LINK_CHALLENGES 8192
#define GWLINK_ALL_CHALLENGES 32768
/* Output queued for a gatewayd that does not read: per link, and across all
 * links. One frame may exceed the per-link cap when nothing else is queued
 * (a large device list); the global cap covers the largest frame. */
#define GWLINK_LINK_OUTPUT (1u << 20)
#define GWLINK_ALL_OUTPUT (PROTO_MAX_PAYLOAD + (8u << 20))
/* A link must say hello this soon after it is accepted. */
#define GWLINK_HELLO_TIMEOUT_MS 5000
/* gatewayd's reports (GW_REFUSED, GW_UPSTREAM) per link: a burst of this many,
 * then this many per second; gatewayd coalesces repeats and sends far fewer. */
#define GWLINK_REPORT_BURST 32
#define GWLINK_REPORTS_PER_S 8
/* Accounts a link may come from, besides root. */
#define GWLINK_MAX_UIDS 4

_Static_assert(offsetof(struct proto_connect, conn) == 0 &&
    offsetof(struct proto_rpc, conn) == 0 && offsetof(struct proto_session_ref, conn) == 0 &&
    offsetof(struct proto_rpc, ticket) == offsetof(struct proto_session_ref, ticket),
    "the messages naming a conn start with it, and a ticket follows");

struct gwlink {
	TAILQ_ENTRY(gwlink) entry;
	struct bufferevent *bev;
	enum gwlink_state state;
	struct defer_entry dead;	/* dropped: freed from a fresh loop pass */
	struct event *hello_timer;	/* armed until the hello */
	uint32_t pid;			/* gatewayd's, once its hello named it */
	struct nonces *nonces;		/* the challenges outstanding */
	struct sessions_link *book;	/* its page of the session book */
	/* The report bucket: tokens in thousandths, refilled from report_ms on;
	 * report_excess is set (and logged once) while reports are over the rate. */
	int64_t report_tokens;
	int64_t report_ms;
	int report_excess;
};

static struct {
	const struct gwlink_permit *permits;
	size_t npermits;
	struct event_base *base;
	struct evconnlistener *listener;
	struct defer dropped;		/* frees dropped links */
	TAILQ_HEAD(, gwlink) links;
	size_t nlinks;
	uid_t uids[GWLINK_MAX_UIDS];	/* who may open a link (root always may) */
	size_t nuids;
	size_t challenges;		/* outstanding on all links */
	int challenges_full;		/* the global cap was hit and logged */
} gwlink_table;

/* ---- link lifetime ---- */

/* A defer free callback. Links are freed from a fresh event-loop pass, never
 * inside a handler that may still hold pointers into them (a broadcast can drop
 * a link mid-RPC). */
static void
gwlink_free(void *arg)
{
	struct gwlink *l = arg;

	gwlink_table.challenges -= nonces_count(l->nonces);
	nonces_free(l->nonces);
	sessions_link_free(l->book);
	event_free(l->hello_timer);
	bufferevent_free(l->bev);
	TAILQ_REMOVE(&gwlink_table.links, l, entry);
	gwlink_table.nlinks--;
	free(l);
	/* A link that did not read may have left megabytes of freed output in the
	 * heap: give them back to the system rather than keep them for good. */
	malloc_trim(0);
}

static int
gwlink_dead(const struct gwlink *l)
{
	return defer_dead(&l->dead);
}

/* Drops a link: logged now, freed later (gwlink_free). */
static void __attribute__((format(printf, 3, 4)))
gwlink_drop(struct gwlink *l, int violation, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	if (gwlink_dead(l))
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (violation)
		log_warnx("gateway link (gatewayd pid %u): %s: dropping the link", l->pid, why);
	else
		log_info("gateway link (gatewayd pid %u): %s", l->pid, why);
	bufferevent_disable(l->bev, EV_READ | EV_WRITE);
	defer_free(&gwlink_table.dropped, &l->dead, l);
}

static size_t
gwlink_queued(const struct gwlink *l)
{
	return evbuffer_get_length(bufferevent_get_output(l->bev));
}

/* Over the global output cap the link with the most queued goes: the one
 * whose gatewayd reads least, not whichever link happened to send last. */
static void
gwlink_cap_all_output(void)
{
	struct gwlink *l, *worst = NULL;
	size_t total = 0, most = 0;

	TAILQ_FOREACH(l, &gwlink_table.links, entry) {
		if (gwlink_dead(l))
			continue;
		total += gwlink_queued(l);
		if (gwlink_queued(l) > most) {
			most = gwlink_queued(l);
			worst = l;
		}
	}
	if (total > GWLINK_ALL_OUTPUT && worst != NULL)
		gwlink_drop(worst, 1, "gatewayd is not reading: %zu bytes queued on all links, "
		    "over the limit of %u, %zu of them on this one (restart gatewayd if it is "
		    "stuck)", total, GWLINK_ALL_OUTPUT, most);
}

void
gwlink_send(struct gwlink *l, uint16_t type, uint32_t id, const void *msg)
{
	size_t before, queued;

	if (gwlink_dead(l))
		return;
	before = gwlink_queued(l);
	if (proto_link_send(l->bev, type, id, msg) < 0)
		fatalx("gateway link: cannot queue %s (a message the broker built does not fit "
		    "its layout)", proto_type_name(type));
	queued = gwlink_queued(l);
	if (queued > GWLINK_LINK_OUTPUT && before > 0)
		gwlink_drop(l, 1, "gatewayd is not reading: %zu bytes queued, over the limit of "
		    "%u per link (restart gatewayd if it is stuck)", queued, GWLINK_LINK_OUTPUT);
	else if (queued > GWLINK_LINK_OUTPUT / 4)
		gwlink_cap_all_output();
}

int
gwlink_challenge_issue(struct gwlink *l, uint64_t conn, int64_t now_mono_ms,
    int64_t expires_mono_ms, char out[UUID_STR_LEN + 1])
{
	struct gwlink *o;
	int rc;

	if (gwlink_table.challenges >= GWLINK_ALL_CHALLENGES)
		TAILQ_FOREACH(o, &gwlink_table.links, entry)
			gwlink_table.challenges -= nonces_prune(o->nonces, now_mono_ms);
	if (gwlink_table.challenges >= GWLINK_ALL_CHALLENGES) {
		if (!gwlink_table.challenges_full)
			log_warnx("gateway link: %u challenges are outstanding on all links, the "
			    "limit: new connections get 1013 \"gateway busy\" until some finish "
			    "their handshake or time out", GWLINK_ALL_CHALLENGES);
		gwlink_table.challenges_full = 1;
		return -1;
	}
	gwlink_table.challenges_full = 0;
	/* nonces_issue prunes the link's expired challenges when its table is full. */
	gwlink_table.challenges -= nonces_count(l->nonces);
	rc = nonces_issue(l->nonces, conn, now_mono_ms, expires_mono_ms, out);
	gwlink_table.challenges += nonces_count(l->nonces);
	return rc;
}

int
gwlink_challenge_take(struct gwlink *l, uint64_t conn, int64_t now_mono_ms,
    char out[UUID_STR_LEN + 1], int *expired)
{
	if (nonces_take(l->nonces, conn, now_mono_ms, out, expired) < 0)
		return -1;
	gwlink_table.challenges--;
	return 0;
}

void
gwlink_challenge_forget(struct gwlink *l, uint64_t conn)
{
	if (nonces_has(l->nonces, conn)) {
		nonces_forget(l->nonces, conn);
		gwlink_table.challenges--;
	}
}

int
gwlink_name(struct gwlink *l, uint32_t pid, uint32_t worker, uint32_t workers)
{
	struct gwlink *o;
	size_t ready = 0;

	l->pid = pid;
	if (workers == 0 || workers > GWLINK_MAX_LINKS || worker >= workers) {
		gwlink_drop(l, 1, "its hello names worker %u of %u (gatewayd runs 1 to %d workers)",
		    worker, workers, GWLINK_MAX_LINKS);
		return -1;
	}
	/* One link per worker: the ones with a hello already, dropped ones aside. */
	TAILQ_FOREACH(o, &gwlink_table.links, entry)
		if (o != l && o->state == GWLINK_READY && !gwlink_dead(o))
			ready++;
	if (ready >= workers) {
		gwlink_drop(l, 1, "gatewayd runs %u worker%s, which have their links already "
		    "(restart gatewayd if a worker was replaced)", workers,
		    workers == 1 ? "" : "s");
		return -1;
	}
	return 0;
}

void
gwlink_refuse(struct gwlink *l, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	gwlink_drop(l, 1, "%s", why);
}

int
gwlink_report_budget(struct gwlink *l, int64_t now_mono_ms)
{
	const int64_t full = GWLINK_REPORT_BURST * 1000;

	if (now_mono_ms > l->report_ms) {
		l->report_tokens += (now_mono_ms - l->report_ms) * GWLINK_REPORTS_PER_S;
		if (l->report_tokens > full)
			l->report_tokens = full;
		l->report_ms = now_mono_ms;
	}
	if (l->report_tokens >= 1000) {
		l->report_tokens -= 1000;
		if (l->report_excess && l->report_tokens >= full / 2)
			l->report_excess = 0;
		return 0;
	}
	if (!l->report_excess)
		log_warnx("gateway link (gatewayd pid %u): reports come faster than %d per second: "
		    "the excess is counted, not kept (gatewayctl doctor shows how many)", l->pid,
		    GWLINK_REPORTS_PER_S);
	l->report_excess = 1;
	return -1;
}

/* ---- the dispatcher ---- */

static const struct gwlink_permit *
gwlink_permit_of(uint16_t type)
{
	for (size_t i = 0; i < gwlink_table.npermits; i++)
		if (gwlink_table.permits[i].type == type)
			return &gwlink_table.permits[i];
	return NULL;
}

/* Resolves what the permit says the message needs into call; -1 (the link
 * dropped, naming the rule) if it cannot be had. */
static int
gwlink_resolve(struct gwlink *l, const struct gwlink_permit *p, struct gwlink_call *call)
{
	const char *name = proto_type_name(p->type);
	unsigned long long conn;

	switch (p->need) {
	case GWLINK_NEED_NOTHING:
		break;
	case GWLINK_NEED_FRESH_CONN:
		conn = call->msg->ref.conn;
		if (conn != 0 && !nonces_has(l->nonces, conn))
			break;
		gwlink_drop(l, 1, "%s for conn %llu, which is %s (it needs a conn not yet "
		    "challenged)", name, conn, conn == 0 ? "reserved" : "already challenged");
		return -1;
	case GWLINK_NEED_CHALLENGE:
		conn = call->msg->ref.conn;
		if (gwlink_challenge_take(l, conn, clock_mono_ms(), call->nonce,
		    &call->nonce_expired) == 0)
			break;
		gwlink_drop(l, 1, "%s for conn %llu, which has no outstanding challenge (it "
		    "needs one)", name, conn);
		return -1;
	case GWLINK_NEED_TICKET:
		conn = call->msg->ref.conn;
		if (sessions_open(l->book, conn, call->msg->sref.ticket, &call->session) == 0)
			break;
		gwlink_drop(l, 1, "%s for conn %llu with a session ticket the broker did not "
		    "issue for that conn on this link (it needs one)", name, conn);
		return -1;
	}
	return 0;
}

/* A proto_link_frame_cb: non-zero stops reading because the link was dropped. */
static int
gwlink_frame(void *arg, const struct proto_hdr *hdr, const uint8_t *payload)
{
	struct gwlink *l = arg;
	const struct gwlink_permit *p = gwlink_permit_of(hdr->type);
	union gwlink_msg m;
	struct gwlink_call call;

	if (p == NULL) {
		gwlink_drop(l, 1, "unexpected message type 0x%04x (%s)", hdr->type,
		    proto_type_name(hdr->type));
		return 1;
	}
	if (p->state != l->state) {
		gwlink_drop(l, 1, "%s %s the hello (it is permitted only %s it)",
		    proto_type_name(hdr->type), l->state == GWLINK_NEW ? "before" : "after",
		    p->state == GWLINK_NEW ? "before" : "after");
		return 1;
	}
	if (proto_decode(hdr->type, payload, hdr->len, &m, sizeof(m)) < 0) {
		gwlink_drop(l, 1, "malformed %s (%u bytes)", proto_type_name(hdr->type), hdr->len);
		return 1;
	}
	memset(&call, 0, sizeof(call));
	call.link = l;
	call.id = hdr->id;
	call.msg = &m;
	call.book = l->book;
	if (gwlink_resolve(l, p, &call) == 0) {
		p->handler(&call);
		if (!gwlink_dead(l))
			l->state = p->next;
		if (l->state == GWLINK_READY)
			evtimer_del(l->hello_timer);
	}
	/* The message may carry secrets: a connect's token and password. */
	OPENSSL_cleanse(&m, sizeof(m));
	return gwlink_dead(l);
}

static void
gwlink_read(struct bufferevent *bev, void *arg)
{
	struct gwlink *l = arg;

	if (!gwlink_dead(l) && proto_link_read(bufferevent_get_input(bev), PROTO_MAX_REQUEST,
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

/* ---- the module's interface ---- */

/* An event callback: the link said no hello in time. */
static void
gwlink_hello_late(evutil_socket_t fd, short what, void *arg)
{
	struct gwlink *l = arg;

	if (l->state == GWLINK_NEW)
		gwlink_drop(l, 1, "no hello within %d ms of connecting (the limit)",
		    GWLINK_HELLO_TIMEOUT_MS);
}

void
gwlink_open(struct bufferevent *bev)
{
	struct gwlink *l = xcalloc(1, sizeof(*l));
	const struct timeval hello = { GWLINK_HELLO_TIMEOUT_MS / 1000,
	    (GWLINK_HELLO_TIMEOUT_MS % 1000) * 1000 };

	l->bev = bev;
	l->state = GWLINK_NEW;
	l->nonces = nonces_new(GWLINK_LINK_CHALLENGES);
	l->book = sessions_link_new();
	l->report_tokens = GWLINK_REPORT_BURST * 1000;
	l->report_ms = clock_mono_ms();
	if ((l->hello_timer = evtimer_new(gwlink_table.base, gwlink_hello_late, l)) == NULL ||
	    evtimer_add(l->hello_timer, &hello) < 0)
		fatalx("gateway link: cannot set up the hello timer");
	TAILQ_INSERT_TAIL(&gwlink_table.links, l, entry);
	gwlink_table.nlinks++;
	bufferevent_setcb(l->bev, gwlink_read, NULL, gwlink_event, l);
	bufferevent_enable(l->bev, EV_READ);
}

/* Whether the peer on fd runs as root or one of the accounts gwlink_allow_uid
 * named; logs the refusal otherwise. */
static int
gwlink_peer_allowed(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn("gateway link: cannot read the peer's credentials: refusing the link");
		return 0;
	}
	if (cred.uid == 0)
		return 1;
	for (size_t i = 0; i < gwlink_table.nuids; i++)
		if (cred.uid == gwlink_table.uids[i])
			return 1;
	log_warnx("gateway link: refusing pid %ld running as uid %u: only gatewayd's account "
	    "may connect to gateway.sock (run gatewayd as the clawgate-gw user, or as the user "
	    "brokerd was started as)", (long)cred.pid, (unsigned)cred.uid);
	return 0;
}

static void
gwlink_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct bufferevent *bev;

	if (gwlink_table.nlinks >= GWLINK_MAX_LINKS) {
		log_warnx("gateway link: %d gatewayd links are open, the limit (one per gatewayd "
		    "worker, at most 64): refusing another", GWLINK_MAX_LINKS);
		close(fd);
		return;
	}
	if (!gwlink_peer_allowed(fd)) {
		close(fd);
		return;
	}
	bev = bufferevent_socket_new(gwlink_table.base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		fatalx("gateway link: cannot allocate a bufferevent");
	gwlink_open(bev);
}

void
gwlink_allow_uid(uid_t uid)
{
	for (size_t i = 0; i < gwlink_table.nuids; i++)
		if (gwlink_table.uids[i] == uid)
			return;
	if (gwlink_table.nuids == GWLINK_MAX_UIDS)
		fatalx("gateway link: more than %d accounts allowed (a bug)", GWLINK_MAX_UIDS);
	gwlink_table.uids[gwlink_table.nuids++] = uid;
}

void
gwlink_init(struct event_base *base, const struct gwlink_permit *permits, size_t npermits)
{
	gwlink_table.base = base;
	gwlink_table.permits = permits;
	gwlink_table.npermits = npermits;
	TAILQ_INIT(&gwlink_table.links);
	defer_init(&gwlink_table.dropped, base, gwlink_free);
}

void
gwlink_listen(int listen_fd)
{
	gwlink_table.listener = evconnlistener_new(gwlink_table.base, gwlink_accept, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, listen_fd);
	if (gwlink_table.listener == NULL)
		fatalx("gateway link: cannot set up the listener");
}

void
gwlink_shutdown(void)
{
	struct gwlink *l;

	/* The dropped links leave the table first, then the live ones go. */
	defer_close(&gwlink_table.dropped);
	while ((l = TAILQ_FIRST(&gwlink_table.links)) != NULL)
		gwlink_free(l);
	if (gwlink_table.listener != NULL)
		evconnlistener_free(gwlink_table.listener);
}

void
gwlink_publish(enum proto_audience audience, const char *device_id, const char *event,
    const struct pbuf *payload)
{
	struct proto_event ev;
	struct gwlink *l;

	memset(&ev, 0, sizeof(ev));
	ev.audience = (uint8_t)audience;
	if (OPENSSL_hexstr2buf_ex(ev.device, sizeof(ev.device), NULL, device_id, '\0') != 1)
		fatalx("publishing %s about device id \"%s\", which is not 64 hex digits",
		    event, device_id);
	snprintf(ev.event, sizeof(ev.event), "%s", event);
	ev.payload = proto_blob_of(payload);
	TAILQ_FOREACH(l, &gwlink_table.links, entry)
		if (l->state == GWLINK_READY)
			gwlink_send(l, PROTO_BR_EVENT, 0, &ev);
}

void
gwlink_push(uint16_t type, const void *msg)
{
	struct gwlink *l;

	TAILQ_FOREACH(l, &gwlink_table.links, entry)
		if (l->state == GWLINK_READY)
			gwlink_send(l, type, 0, msg);
}

/* Pushes a BR_CLOSE to every ready link; except (may be NULL) is spared on its own. */
static void
gwlink_push_close(struct proto_close *m, const struct ticket_session *except)
{
	struct gwlink *l;

	TAILQ_FOREACH(l, &gwlink_table.links, entry) {
		if (l->state != GWLINK_READY)
			continue;
		m->except_conn = except != NULL && except->link == sessions_link_serial(l->book) ?
		    except->conn : 0;
		gwlink_send(l, PROTO_BR_CLOSE, 0, m);
	}
}

void
gwlink_close_device(const char *device_id, unsigned roles, const struct ticket_session *except,
    uint16_t code, const char *reason)
{
	struct proto_close m;

	sessions_close_device(device_id, roles, except);
	memset(&m, 0, sizeof(m));
	m.target = PROTO_CLOSE_TARGET_DEVICE;
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
	m.target = PROTO_CLOSE_TARGET_SHARED;
	m.code = code;
	snprintf(m.reason, sizeof(m.reason), "%s", reason);
	gwlink_push_close(&m, NULL);
}

void
gwlink_stats(size_t *links, size_t *sessions)
{
	struct gwlink *l;

	*links = *sessions = 0;
	TAILQ_FOREACH(l, &gwlink_table.links, entry) {
		if (l->state == GWLINK_READY && !gwlink_dead(l)) {
			(*links)++;
			*sessions += sessions_link_count(l->book);
		}
	}
}
