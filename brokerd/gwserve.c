#include "brokerd/gwserve.h"

#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>

#include "brokerd/admission.h"
#include "brokerd/refusals.h"
#include "brokerd/broker.h"
#include "brokerd/gwlink.h"
#include "brokerd/gwreport.h"
#include "brokerd/rpc.h"
#include "brokerd/sessions.h"
#include "common/clock.h"
#include "common/log.h"

/* Per link: at most this many live sessions (counted, not kept); gatewayd's
 * 20,000 descriptors stay well below. */
#define GWSERVE_MAX_SESSIONS 65536
/* A nonce outlives gatewayd's handshake timeout by this much. */
#define GWSERVE_NONCE_GRACE_MS 5000
/* The fixed settings of doc/protocol.md §1 and §2.4 that gatewayd enforces. */
#define GWSERVE_TICK_INTERVAL_MS 30000
#define GWSERVE_MAX_PAYLOAD 26214400
#define GWSERVE_MAX_BUFFERED 52428800

static struct broker *gwserve_br;

/* A BR_REJECT with only a close frame: no res, no error object. */
static void
gwserve_close_only(struct gwlink_call *call, uint64_t conn, uint16_t code, const char *reason)
{
	struct proto_reject r;

	memset(&r, 0, sizeof(r));
	r.conn = conn;
	r.close_code = code;
	snprintf(r.close_reason, sizeof(r.close_reason), "%s", reason);
	r.error.retry_after_ms = -1;
	gwlink_send(call->link, PROTO_BR_REJECT, call->id, &r);
}

/* The broker's settings for gatewayd. */
static void
gwserve_hello(struct gwlink_call *call)
{
	const struct proto_gw_hello *m = &call->msg->hello;
	const struct config *cfg = gwserve_br->cfg;
	struct proto_br_hello h;

	if (gwlink_name(call->link, m->pid, m->worker, m->workers) < 0)
		return;
	memset(&h, 0, sizeof(h));
	snprintf(h.version, sizeof(h.version), "%s", CLAWGATE_VERSION);
	h.port = cfg->port;
	h.nbind = cfg->nbind;
	memcpy(h.bind, cfg->bind, sizeof(h.bind));
	h.tick_interval_ms = GWSERVE_TICK_INTERVAL_MS;
	h.handshake_timeout_ms = cfg->handshake_timeout_ms;
	h.max_preauth_per_ip = cfg->max_preauth_per_ip;
	h.ntrusted_proxies = cfg->ntrusted_proxies;
	memcpy(h.trusted_proxies, cfg->trusted_proxies, sizeof(h.trusted_proxies));
	h.allow_real_ip_fallback = (uint8_t)cfg->allow_real_ip_fallback;
	h.tls_enabled = (uint8_t)cfg->tls_enabled;
	snprintf(h.tls_cert_path, sizeof(h.tls_cert_path), "%s", cfg->tls_cert_path);
	snprintf(h.tls_key_path, sizeof(h.tls_key_path), "%s", cfg->tls_key_path);
	if (cfg->tls_auto) {
		snprintf(h.tls_cert_der, sizeof(h.tls_cert_der), "%s", cfg->tls_cert_der);
		snprintf(h.tls_key_der, sizeof(h.tls_key_der), "%s", cfg->tls_key_der);
	}
	h.max_payload = GWSERVE_MAX_PAYLOAD;
	h.max_buffered = GWSERVE_MAX_BUFFERED;
	memcpy(h.ui_root, cfg->ui_root, sizeof(h.ui_root));
	memcpy(h.gatewayctl, cfg->gatewayctl, sizeof(h.gatewayctl));
	h.relay = cfg->relay;
	gwlink_send(call->link, PROTO_BR_HELLO, call->id, &h);
	OPENSSL_cleanse(h.tls_key_der, sizeof(h.tls_key_der));
	log_info("gateway link: gatewayd pid %u worker %u connected", m->pid, m->worker);
}

/* A fresh nonce for the conn, unless the link holds as many as it may. */
static void
gwserve_challenge(struct gwlink_call *call)
{
	uint64_t conn = call->msg->ref.conn;
	int64_t now = clock_mono_ms();
	struct proto_challenge msg;

	memset(&msg, 0, sizeof(msg));
	if (gwlink_challenge_issue(call->link, conn, now, now + gwserve_br->cfg->handshake_timeout_ms +
	    GWSERVE_NONCE_GRACE_MS, msg.nonce) < 0) {
		gwserve_close_only(call, conn, PROTO_CLOSE_TRY_AGAIN, "gateway busy");
		return;
	}
	msg.conn = conn;
	msg.ts = clock_wall_ms();
	gwlink_send(call->link, PROTO_BR_CHALLENGE, call->id, &msg);
}

/* The admission decision on a connect whose challenge the dispatcher took. */
static void
gwserve_connect(struct gwlink_call *call)
{
	const struct proto_connect *c = &call->msg->connect;
	struct admission a;
	int64_t now = clock_wall_ms();

	if (call->nonce_expired) {
		/* Past the handshake timeout the client gets what a timeout gives it. */
		gwserve_close_only(call, c->conn, PROTO_CLOSE_NORMAL, "");
		return;
	}
	if (sessions_link_count(call->book) >= GWSERVE_MAX_SESSIONS) {
		gwserve_close_only(call, c->conn, PROTO_CLOSE_TRY_AGAIN, "gateway busy");
		return;
	}
	admission_decide(gwserve_br, c, call->nonce, now, &a);
	if (a.accepted) {
		sessions_accept(call->book, &a.accept);
		gwlink_send(call->link, PROTO_BR_ACCEPT, call->id, &a.accept);
	} else {
		refusals_record(c, &a.reject, &a.details, now);
		gwlink_send(call->link, PROTO_BR_REJECT, call->id, &a.reject);
	}
	admission_free(&a);
}

/* An RPC of the session whose ticket the dispatcher opened. */
static void
gwserve_rpc(struct gwlink_call *call)
{
	struct rpc_reply r;

	/* doc/protocol.md §5's close after repeated unauthorized calls is gatewayd's
	 * (it counts the FORBIDDEN answers): the broker keeps no count per session
	 * and refuses every such call anyway. */
	rpc_handle(gwserve_br, &call->session, &call->msg->rpc, &r);
	gwlink_send(call->link, PROTO_BR_RPC_RESULT, call->id, &r.res);
	rpc_reply_free(&r);
}

/* A conn that was never accepted ended: its challenge, if any, goes. Having none
 * is normal: a conn whose connect was decided has no challenge left, and a full
 * table may have pruned an expired one. */
static void
gwserve_closed(struct gwlink_call *call)
{
	gwlink_challenge_forget(call->link, call->msg->ref.conn);
}

/* An accepted session ended: it counts no more. */
static void
gwserve_session_closed(struct gwlink_call *call)
{
	sessions_end(call->book, &call->session);
}

/*
 * The permit table. GW_HELLO is once per link: it is permitted only on a NEW
 * link, which it leaves READY. A connect is decided once per challenge, as it
 * takes the challenge; RPCs and session closes are only for sessions the broker
 * accepted on this link for that conn. Reports need nothing but the hello:
 * they answer nothing and name no conn.
 */
static const struct gwlink_permit gwserve_permits[] = {
	/* type			  link state	after		needs resolved first */
	{ PROTO_GW_HELLO,	  GWLINK_NEW,	GWLINK_READY,	GWLINK_NEED_NOTHING,
	    gwserve_hello },
	{ PROTO_GW_CHALLENGE,	  GWLINK_READY,	GWLINK_READY,	GWLINK_NEED_FRESH_CONN,
	    gwserve_challenge },
	{ PROTO_GW_CONNECT,	  GWLINK_READY,	GWLINK_READY,	GWLINK_NEED_CHALLENGE,
	    gwserve_connect },
	{ PROTO_GW_RPC,		  GWLINK_READY,	GWLINK_READY,	GWLINK_NEED_TICKET,
	    gwserve_rpc },
	{ PROTO_GW_CLOSED,	  GWLINK_READY,	GWLINK_READY,	GWLINK_NEED_NOTHING,
	    gwserve_closed },
	{ PROTO_GW_SESSION_CLOSED, GWLINK_READY, GWLINK_READY,	GWLINK_NEED_TICKET,
	    gwserve_session_closed },
	{ PROTO_GW_REFUSED,	  GWLINK_READY,	GWLINK_READY,	GWLINK_NEED_NOTHING,
	    gwreport_refused },
	{ PROTO_GW_UPSTREAM,	  GWLINK_READY,	GWLINK_READY,	GWLINK_NEED_NOTHING,
	    gwreport_upstream },
};

void
gwserve_init(struct event_base *base, struct broker *br)
{
	gwserve_br = br;
	gwreport_init(br);
	gwlink_init(base, gwserve_permits, sizeof(gwserve_permits) / sizeof(gwserve_permits[0]));
}
