#include "brokerd/rpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>

#include "brokerd/audit.h"
#include "brokerd/broker.h"
#include "brokerd/pairing.h"
#include "brokerd/reply.h"
#include "brokerd/result.h"
#include "brokerd/rpclimit.h"
#include "brokerd/scopes.h"
#include "brokerd/status.h"
#include "brokerd/ticket.h"
#include "common/clock.h"
#include "proto/pval.h"

/* §7.1's shape for a method the session's scopes do not allow. */
static void
rpc_missing_scope(struct reply *r, const char *scope)
{
	pval_obj_begin(&r->details);
	pval_kv_str(&r->details, "code", "MISSING_SCOPE");
	pval_kv_str(&r->details, "missingScope", scope);
	pval_key(&r->details, "requiredScopes");
	pval_arr_begin(&r->details);
	pval_str(&r->details, scope);
	pval_arr_end(&r->details);
	pval_obj_end(&r->details);
	reply_fail(r, "FORBIDDEN", "missing scope: %s", scope);
}

/* A required string param; answers the error itself when it is missing. */
static const char *
rpc_param(struct reply *r, const struct proto_rpc *req, uint32_t bit, const char *value,
    const char *name)
{
	if ((req->params & bit) && value[0] != '\0')
		return value;
	reply_fail(r, "INVALID_REQUEST", "invalid %s params: must have required property '%s'",
	    req->method, name);
	return NULL;
}

struct rpc_call {
	struct broker *br;
	const struct proto_rpc *req;
	struct pairing_actor actor;
	int64_t now;
};

static void
rpc_health(struct rpc_call *call, struct reply *r)
{
	pval_obj_begin(&r->payload);
	pval_kv_bool(&r->payload, "ok", 1);
	pval_kv_int(&r->payload, "ts", call->now);
	/* Answered from memory: nothing to wait for. */
	pval_kv_int(&r->payload, "durationMs", 0);
	pval_obj_end(&r->payload);
}

static void
rpc_status(struct rpc_call *call, struct reply *r)
{
	status_pval(&r->payload, call->br, 0);
}

static void
rpc_pair_list(struct rpc_call *call, struct reply *r)
{
	pairing_list_pval(&r->payload, call->br->reg, &call->actor, call->now);
}

static void
rpc_pair_approve(struct rpc_call *call, struct reply *r)
{
	const char *id = rpc_param(r, call->req, PROTO_RPC_REQUEST_ID, call->req->request_id,
	    "requestId");
	struct reg_device *d;
	const char *missing;

	if (id == NULL)
		return;
	switch (pairing_approve(call->br->reg, id, &call->actor, REG_VIA_OWNER, call->now, &d,
	    &missing)) {
	case PAIRING_OK:
		result_approved(&r->payload, id, d);
		return;
	case PAIRING_DENIED:
		reply_fail(r, "INVALID_REQUEST", "device pairing approval denied");
		return;
	case PAIRING_MISSING_SCOPE:
		reply_fail(r, "INVALID_REQUEST", "missing scope: %s", missing);
		return;
	case PAIRING_TOO_MANY_SCOPES:
		reply_fail(r, "INVALID_REQUEST", "device pairing approval denied: the device "
		    "would hold more than %d scopes", PROTO_MAX_SCOPES);
		return;
	default:
		reply_fail(r, "INVALID_REQUEST", "unknown requestId");
		return;
	}
}

static void
rpc_pair_reject(struct rpc_call *call, struct reply *r)
{
	const char *id = rpc_param(r, call->req, PROTO_RPC_REQUEST_ID, call->req->request_id,
	    "requestId");
	char device_id[DEVPROOF_ID_LEN + 1];

	if (id == NULL)
		return;
	switch (pairing_reject(call->br->reg, id, &call->actor, call->now, device_id)) {
	case PAIRING_OK:
		result_rejected(&r->payload, id, device_id);
		return;
	case PAIRING_DENIED:
		reply_fail(r, "INVALID_REQUEST", "device pairing rejection denied");
		return;
	default:
		reply_fail(r, "INVALID_REQUEST", "unknown requestId");
		return;
	}
}

static void
rpc_pair_remove(struct rpc_call *call, struct reply *r)
{
	const char *id = rpc_param(r, call->req, PROTO_RPC_DEVICE_ID, call->req->device_id,
	    "deviceId");

	if (id == NULL)
		return;
	switch (pairing_remove(call->br->reg, id, &call->actor, call->now)) {
	case PAIRING_OK:
		result_removed(&r->payload, id);
		return;
	case PAIRING_DENIED:
		reply_fail(r, "INVALID_REQUEST", "device pairing removal denied");
		return;
	default:
		reply_fail(r, "INVALID_REQUEST", "unknown deviceId");
		return;
	}
}

static void
rpc_pair_rename(struct rpc_call *call, struct reply *r)
{
	const char *id = rpc_param(r, call->req, PROTO_RPC_DEVICE_ID, call->req->device_id,
	    "deviceId");
	char label[PROTO_TEXT_MAX + 1];

	if (id == NULL)
		return;
	switch (pairing_rename(call->br->reg, id, call->req->label, &call->actor, call->now,
	    label)) {
	case PAIRING_OK:
		result_renamed(&r->payload, id, label);
		return;
	case PAIRING_LABEL_REQUIRED:
		reply_fail(r, "INVALID_REQUEST", "label required");
		return;
	case PAIRING_DENIED:
		reply_fail(r, "INVALID_REQUEST", "device pairing rename denied");
		return;
	default:
		reply_fail(r, "INVALID_REQUEST", "unknown deviceId");
		return;
	}
}

/* Rotate and revoke answer every refusal but an unknown device with one text
 * (§7.1), as OpenClaw does: a caller learns nothing about tokens it may not touch. */
static void
rpc_token_refused(struct reply *r, enum pairing_status st, const char *denied)
{
	if (st == PAIRING_UNKNOWN)
		reply_fail(r, "INVALID_REQUEST", "unknown deviceId");
	else
		reply_fail(r, "INVALID_REQUEST", "%s", denied);
}

static void
rpc_token_rotate(struct rpc_call *call, struct reply *r)
{
	const struct proto_rpc *req = call->req;
	const char *id = rpc_param(r, req, PROTO_RPC_DEVICE_ID, req->device_id, "deviceId");
	const char *role = id ? rpc_param(r, req, PROTO_RPC_ROLE, req->role, "role") : NULL;
	struct pairing_rotation rot;
	enum pairing_status st;
	const char *missing;

	if (role == NULL)
		return;
	st = pairing_token_rotate(call->br->reg, id, role,
	    (req->params & PROTO_RPC_SCOPES) ? &req->scopes : NULL, &call->actor, call->now,
	    &rot, &missing);
	if (st != PAIRING_OK) {
		rpc_token_refused(r, st, "device token rotation denied");
		return;
	}
	/* §7.1: the token only to the device itself; rpc_reply_free wipes it. */
	result_rotated(&r->payload, id, role, &rot);
	OPENSSL_cleanse(rot.token, sizeof(rot.token));
}

static void
rpc_token_revoke(struct rpc_call *call, struct reply *r)
{
	const struct proto_rpc *req = call->req;
	const char *id = rpc_param(r, req, PROTO_RPC_DEVICE_ID, req->device_id, "deviceId");
	const char *role = id ? rpc_param(r, req, PROTO_RPC_ROLE, req->role, "role") : NULL;
	enum pairing_status st;
	const char *missing;

	if (role == NULL)
		return;
	st = pairing_token_revoke(call->br->reg, id, role, &call->actor, call->now, &missing);
	if (st != PAIRING_OK) {
		rpc_token_refused(r, st, "device token revocation denied");
		return;
	}
	result_revoked(&r->payload, id, role, call->now);
}

/* A changing call over its budget (rpclimit.h): the shape of §4.6's refusal,
 * retryable after retryAfterMs, naming the limit it hit. */
static int
rpc_over_budget(const struct ticket_session *s, struct broker *br, struct reply *r)
{
	enum rpclimit_which which;
	int64_t retry;

	which = rpclimit_take(br->rpclimit, s->device_id, s->link, clock_mono_ms(), &retry);
	if (which == RPCLIMIT_OK)
		return 0;
	pval_obj_begin(&r->details);
	pval_kv_str(&r->details, "code", "RATE_LIMITED");
	pval_kv_str(&r->details, "reason", "rate_limited");
	pval_kv_str(&r->details, "recommendedNextStep", "wait_then_retry");
	pval_kv_str(&r->details, "limit", which == RPCLIMIT_DEVICE ? "device" : "gateway-link");
	pval_obj_end(&r->details);
	if (which == RPCLIMIT_DEVICE)
		reply_fail(r, "UNAVAILABLE", "rate limited: too many device changes from this "
		    "device (at most %d at once, then one every %d ms); retry in %lld ms",
		    RPCLIMIT_DEVICE_BURST, RPCLIMIT_DEVICE_EVERY_MS, (long long)retry);
	else
		reply_fail(r, "UNAVAILABLE", "rate limited: too many device changes through this "
		    "gateway worker (at most %d at once, then one every %d ms); retry in %lld ms",
		    RPCLIMIT_LINK_BURST, RPCLIMIT_LINK_EVERY_MS, (long long)retry);
	r->error.retryable = 2;
	r->error.retry_after_ms = retry;
	return 1;
}

static const struct {
	const char *method;
	const char *scope;
	int changes;		/* writes the registry and the audit log: budgeted */
	void (*fn)(struct rpc_call *, struct reply *);
	/* A decision (clawgate.pairing.decisions): the gatewayctl command that
	 * makes it instead, NULL for what is no decision. */
	const char *ctl;
} rpc_methods[] = {
	{ "health", SCOPE_READ, 0, rpc_health, NULL },
	{ "status", SCOPE_READ, 0, rpc_status, NULL },
	{ "device.pair.list", SCOPE_PAIRING, 0, rpc_pair_list, NULL },
	{ "device.pair.approve", SCOPE_PAIRING, 1, rpc_pair_approve,
	    "devices approve <requestId>" },
	{ "device.pair.reject", SCOPE_PAIRING, 1, rpc_pair_reject, "devices reject <requestId>" },
	{ "device.pair.remove", SCOPE_PAIRING, 1, rpc_pair_remove, "devices remove <deviceId>" },
	{ "device.pair.rename", SCOPE_PAIRING, 1, rpc_pair_rename, NULL },
	{ "device.token.rotate", SCOPE_PAIRING, 1, rpc_token_rotate, "devices rotate <deviceId>" },
	{ "device.token.revoke", SCOPE_PAIRING, 1, rpc_token_revoke, "devices revoke <deviceId>" },
};

void
rpc_handle(struct broker *br, const struct ticket_session *s, const struct proto_rpc *req,
    struct rpc_reply *out)
{
	struct rpc_call call = { br, req, { s->device_id, s->scope_mask, NULL, s },
		clock_wall_ms() };
	char who[AUDIT_WHO_MAX];
	size_t i;

	if (s->device_id[0] != '\0')
		snprintf(who, sizeof(who), "device %s", s->device_id);
	else
		snprintf(who, sizeof(who), "device-less operator");
	call.actor.who = who;

	memset(&out->res, 0, sizeof(out->res));
	reply_init(&out->reply);
	out->res.conn = req->conn;
	memcpy(out->res.id, req->id, sizeof(out->res.id));
	for (i = 0; i < sizeof(rpc_methods) / sizeof(rpc_methods[0]); i++)
		if (strcmp(req->method, rpc_methods[i].method) == 0)
			break;
	if (s->closing)
		reply_fail(&out->reply, "UNAVAILABLE", "this session is being closed (its device "
		    "was removed or the gateway auth changed): reconnect");
	else if (i == sizeof(rpc_methods) / sizeof(rpc_methods[0]))
		reply_fail(&out->reply, "INVALID_REQUEST", "unknown method: %s", req->method);
	else if (!scopes_mask_allows(s->scope_mask, rpc_methods[i].scope))
		rpc_missing_scope(&out->reply, rpc_methods[i].scope);
	else if (rpc_methods[i].ctl != NULL && br->cfg->decisions_control_socket)
		reply_fail(&out->reply, "INVALID_REQUEST", "%s is refused over the gateway: on "
		    "this gateway devices are approved, rejected and removed and their tokens "
		    "rotated or revoked on its host only (clawgate.pairing.decisions is "
		    "\"control-socket\"); there, run: %s %s", req->method, br->cfg->gatewayctl,
		    rpc_methods[i].ctl);
	else if (rpc_methods[i].changes && rpc_over_budget(s, br, &out->reply))
		;
	else
		rpc_methods[i].fn(&call, &out->reply);
	reply_seal(&out->reply, &out->res.ok, &out->res.payload, &out->res.error);
}

void
rpc_reply_free(struct rpc_reply *r)
{
	reply_free(&r->reply);
}
