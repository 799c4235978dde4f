#include "brokerd/refusal.h"

#include <stdio.h>
#include <string.h>

#include "brokerd/role.h"
#include "proto/pval.h"

#define REFUSAL_REASON_BYTES 120
/* The lowest protocol a client may probe with, which §5's details name. */
#define REFUSAL_MIN_PROBE 3

static const struct {
	const char *text;	/* the message, before " (<hint>)" if hinted */
	int hinted;
	const char *code;
	const char *auth_reason;
	const char *next_step;
} refusal_unauthorized_rows[] = {
	[REFUSAL_AUTH_TOKEN_MISSING] = { "unauthorized: gateway token missing", 1,
	    "AUTH_TOKEN_MISSING", "token_missing", "update_auth_configuration" },
	[REFUSAL_AUTH_TOKEN_MISMATCH] = { "unauthorized: gateway token mismatch", 1,
	    "AUTH_TOKEN_MISMATCH", "token_mismatch", "update_auth_credentials" },
	[REFUSAL_AUTH_TOKEN_NOT_CONFIGURED] = {
	    "unauthorized: gateway token not configured on gateway (set gateway.auth.token)", 0,
	    "AUTH_TOKEN_NOT_CONFIGURED", "token_missing_config", "update_auth_configuration" },
	[REFUSAL_AUTH_PASSWORD_MISSING] = { "unauthorized: gateway password missing", 1,
	    "AUTH_PASSWORD_MISSING", "password_missing", "update_auth_configuration" },
	[REFUSAL_AUTH_PASSWORD_MISMATCH] = { "unauthorized: gateway password mismatch", 1,
	    "AUTH_PASSWORD_MISMATCH", "password_mismatch", "update_auth_credentials" },
	[REFUSAL_AUTH_PASSWORD_NOT_CONFIGURED] = {
	    "unauthorized: gateway password not configured on gateway (set gateway.auth.password)",
	    0, "AUTH_PASSWORD_NOT_CONFIGURED", "password_missing_config",
	    "update_auth_configuration" },
	[REFUSAL_AUTH_DEVICE_TOKEN_MISMATCH] = {
	    "unauthorized: device token mismatch (rotate/reissue device token)", 0,
	    "AUTH_DEVICE_TOKEN_MISMATCH", "device_token_mismatch", "update_auth_credentials" },
	[REFUSAL_AUTH_SCOPE_MISMATCH] = {
	    "unauthorized: device token scope mismatch (re-pair or approve scope upgrade)", 0,
	    "AUTH_SCOPE_MISMATCH", "scope_mismatch", "review_auth_configuration" },
};

/* The <hint> of §5 by client kind, secret kind (token, password) and whether the
 * secret was missing or wrong. The password hints are §5's token hints with the
 * password's key names; §5 gives only the token ones. */
static const char *const refusal_hints[4][2][2] = {
	[REFUSAL_HINT_LOCAL_CLI] = {
	    { "use this gateway's gateway.auth.token or pair the device",
	      "use this gateway's gateway.auth.token or pair the device" },
	    { "use this gateway's gateway.auth.password or pair the device",
	      "use this gateway's gateway.auth.password or pair the device" } },
	[REFUSAL_HINT_REMOTE_CLI] = {
	    { "set gateway.remote.token to match gateway.auth.token",
	      "set gateway.remote.token to match gateway.auth.token" },
	    { "set gateway.remote.password to match gateway.auth.password",
	      "set gateway.remote.password to match gateway.auth.password" } },
	[REFUSAL_HINT_UI] = {
	    { "paste in Control UI settings or openclaw doctor --generate-gateway-token; restart",
	      "open the dashboard URL and paste the token in Control UI settings" },
	    { "enter the password in Control UI settings",
	      "enter the password in Control UI settings" } },
	[REFUSAL_HINT_OTHER] = {
	    { "provide gateway auth token", "provide gateway auth token" },
	    { "provide gateway auth password", "provide gateway auth password" } },
};

static const struct {
	const char *text;	/* close reason and message */
	const char *code;
	const char *reason;
} refusal_proof_rows[] = {
	[DEVPROOF_ID_MISMATCH] = { "device identity mismatch",
	    "DEVICE_AUTH_DEVICE_ID_MISMATCH", "device-id-mismatch" },
	[DEVPROOF_EXPIRED] = { "device signature expired",
	    "DEVICE_AUTH_SIGNATURE_EXPIRED", "device-signature-stale" },
	[DEVPROOF_NONCE_REQUIRED] = { "device nonce required",
	    "DEVICE_AUTH_NONCE_REQUIRED", "device-nonce-missing" },
	[DEVPROOF_NONCE_MISMATCH] = { "device nonce mismatch",
	    "DEVICE_AUTH_NONCE_MISMATCH", "device-nonce-mismatch" },
	[DEVPROOF_SIGNATURE_INVALID] = { "device signature invalid",
	    "DEVICE_AUTH_SIGNATURE_INVALID", "device-signature" },
};

static const struct {
	const char *reason;
	const char *requirement;
	const char *hint;
} refusal_pair_rows[] = {
	[REFUSAL_PAIR_NOT_PAIRED] = { "not-paired", "device is not approved yet",
	    "Approve this device from the pending pairing requests." },
	[REFUSAL_PAIR_ROLE_UPGRADE] = { "role-upgrade",
	    "device is asking for a higher role than currently approved",
	    "Review the requested role upgrade, then approve the pending request." },
	[REFUSAL_PAIR_SCOPE_UPGRADE] = { "scope-upgrade",
	    "device is asking for more scopes than currently approved",
	    "Review the requested scopes, then approve the pending upgrade." },
	[REFUSAL_PAIR_METADATA_UPGRADE] = { "metadata-upgrade",
	    "device identity changed and must be re-approved",
	    "Review the refreshed device details, then approve the pending request." },
};

/* §5.1: text cut to the longest whole-UTF-8 prefix of at most 120 bytes; an
 * empty text becomes "invalid handshake". */
static void
refusal_close_reason(char out[PROTO_REASON_MAX + 1], const char *text)
{
	size_t n;

	if (text[0] == '\0')
		text = "invalid handshake";
	n = strlen(text);
	if (n > REFUSAL_REASON_BYTES) {
		n = REFUSAL_REASON_BYTES;
		/* Step back over continuation bytes: the cut must fall between characters. */
		while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, text, n);
	out[n] = '\0';
}

/* The close frame and, if code is not NULL, the error object before it. */
static void
refusal_set(struct proto_reject *r, uint16_t close_code, const char *reason, const char *code,
    const char *message)
{
	r->close_code = close_code;
	refusal_close_reason(r->close_reason, reason);
	r->has_error = code != NULL;
	r->error.retry_after_ms = -1;
	if (code != NULL) {
		snprintf(r->error.code, sizeof(r->error.code), "%s", code);
		snprintf(r->error.message, sizeof(r->error.message), "%s", message);
	}
}

void
refusal_invalid(struct proto_reject *r, struct pbuf *details, const char *text,
    const char *detail_code, const char *detail_reason)
{
	if (detail_code != NULL) {
		pval_obj_begin(details);
		pval_kv_str(details, "code", detail_code);
		pval_kv_str_opt(details, "reason", detail_reason);
		pval_obj_end(details);
	}
	refusal_set(r, PROTO_CLOSE_POLICY, text, "INVALID_REQUEST", text);
}

void
refusal_protocol_mismatch(struct proto_reject *r, struct pbuf *details,
    const struct proto_connect *c, int64_t expected)
{
	pval_obj_begin(details);
	pval_kv_str(details, "code", "PROTOCOL_MISMATCH");
	pval_kv_int(details, "clientMinProtocol", c->min_protocol);
	pval_kv_int(details, "clientMaxProtocol", c->max_protocol);
	pval_kv_int(details, "expectedProtocol", expected);
	pval_kv_int(details, "minimumProbeProtocol", REFUSAL_MIN_PROBE);
	pval_obj_end(details);
	refusal_set(r, PROTO_CLOSE_PROTOCOL_ERROR, "protocol mismatch", "INVALID_REQUEST",
	    "protocol mismatch");
}

void
refusal_identity_required(struct proto_reject *r, struct pbuf *details)
{
	pval_obj_begin(details);
	pval_kv_str(details, "code", "DEVICE_IDENTITY_REQUIRED");
	pval_obj_end(details);
	refusal_set(r, PROTO_CLOSE_POLICY, "device identity required", "NOT_PAIRED",
	    "device identity required");
}

void
refusal_device_proof(struct proto_reject *r, struct pbuf *details, enum devproof_result proof)
{
	refusal_invalid(r, details, refusal_proof_rows[proof].text, refusal_proof_rows[proof].code,
	    refusal_proof_rows[proof].reason);
}

void
refusal_unauthorized(struct proto_reject *r, struct pbuf *details, enum refusal_auth auth,
    enum refusal_hint hint, int password_mode, int retry)
{
	int mismatch = auth == REFUSAL_AUTH_TOKEN_MISMATCH || auth == REFUSAL_AUTH_PASSWORD_MISMATCH;
	char msg[PROTO_MESSAGE_MAX + 1];

	if (refusal_unauthorized_rows[auth].hinted)
		snprintf(msg, sizeof(msg), "%s (%s)", refusal_unauthorized_rows[auth].text,
		    refusal_hints[hint][password_mode != 0][mismatch]);
	else
		snprintf(msg, sizeof(msg), "%s", refusal_unauthorized_rows[auth].text);
	pval_obj_begin(details);
	pval_kv_str(details, "code", refusal_unauthorized_rows[auth].code);
	pval_kv_str(details, "authReason", refusal_unauthorized_rows[auth].auth_reason);
	pval_kv_bool(details, "canRetryWithDeviceToken", retry);
	pval_kv_str(details, "recommendedNextStep", retry ? "retry_with_device_token" :
	    refusal_unauthorized_rows[auth].next_step);
	pval_obj_end(details);
	refusal_set(r, PROTO_CLOSE_POLICY, msg, "INVALID_REQUEST", msg);
}

void
refusal_rate_limited(struct proto_reject *r, struct pbuf *details, int64_t wait_ms)
{
	static const char text[] =
	    "unauthorized: too many failed authentication attempts (retry later)";

	pval_obj_begin(details);
	pval_kv_str(details, "code", "AUTH_RATE_LIMITED");
	pval_kv_str(details, "authReason", "rate_limited");
	pval_kv_bool(details, "canRetryWithDeviceToken", 0);
	pval_kv_str(details, "recommendedNextStep", "wait_then_retry");
	pval_obj_end(details);
	refusal_set(r, PROTO_CLOSE_POLICY, text, "INVALID_REQUEST", text);
	r->error.retryable = 2;
	r->error.retry_after_ms = wait_ms;
}

void
refusal_pairing_required(struct proto_reject *r, struct pbuf *details,
    const struct proto_connect *c, enum role role, int browser, const char *request_id,
    const struct reg_device *d, enum refusal_pair why)
{
	char msg[PROTO_MESSAGE_MAX + 1], reason[PROTO_MESSAGE_MAX + 64];

	snprintf(msg, sizeof(msg), "pairing required: %s", refusal_pair_rows[why].requirement);
	snprintf(reason, sizeof(reason), "%s (requestId: %s)", msg, request_id);
	snprintf(r->pairing_request_id, sizeof(r->pairing_request_id), "%s", request_id);
	pval_obj_begin(details);
	pval_kv_str(details, "code", "PAIRING_REQUIRED");
	pval_kv_str(details, "reason", refusal_pair_rows[why].reason);
	pval_kv_str(details, "requestId", request_id);
	pval_kv_str(details, "remediationHint", refusal_pair_rows[why].hint);
	/* Only this trio keeps the Control UI polling until the admin approves. */
	if (browser && role == ROLE_OPERATOR) {
		pval_kv_str(details, "recommendedNextStep", "wait_then_retry");
		pval_kv_bool(details, "retryable", 1);
		pval_kv_bool(details, "pauseReconnect", 0);
	}
	pval_kv_str(details, "deviceId", c->device_id);
	pval_kv_str(details, "requestedRole", role_name(role));
	proto_kv_scopes(details, "requestedScopes", &c->scopes);
	if (d != NULL) {
		pval_key(details, "approvedRoles");
		registry_roles_pval(details, d->roles);
		proto_kv_scopes(details, "approvedScopes", &d->scopes);
	}
	pval_obj_end(details);
	refusal_set(r, PROTO_CLOSE_POLICY, reason, "NOT_PAIRED", msg);
}

void
refusal_pairing_limited(struct proto_reject *r, int rate, int64_t wait_ms)
{
	const char *reason = rate ? "too many new pairing requests from this address" :
	    "too many pending pairing requests";
	char msg[PROTO_MESSAGE_MAX + 1];

	snprintf(msg, sizeof(msg), "%s; retry later", reason);
	refusal_set(r, PROTO_CLOSE_TRY_AGAIN, reason, "UNAVAILABLE", msg);
	r->error.retryable = 2;
	r->error.retry_after_ms = wait_ms;
}
