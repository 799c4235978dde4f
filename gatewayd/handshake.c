#include "gatewayd/handshake.h"

#include <stdio.h>
#include <string.h>

/*
 * The connect params schema of doc/protocol.md §2.3, in the declaration order of
 * OpenClaw's schema so that the first error reported is the one it reports.
 * Fields that reach the broker are stored with the size and charset of their
 * proto_connect member, so proto_encode cannot refuse them later; the others are
 * only checked.
 */
#define C struct proto_connect
#define TEXT(f) .store = 1, .off = offsetof(C, f), .size = sizeof(((C *)0)->f) - 1, \
	.cs = PROTO_CS_TEXT
#define DISPLAY(f) .store = 1, .off = offsetof(C, f), .size = sizeof(((C *)0)->f) - 1, \
	.cs = PROTO_CS_DISPLAY
#define ATOM(f) .store = 1, .off = offsetof(C, f), .size = sizeof(((C *)0)->f) - 1, \
	.cs = PROTO_CS_ATOM
#define AUTH(bit) .flag_width = JR_FLAG_U8, .flag_off = offsetof(C, auth_present), \
	.flag = (bit)

static const char *const handshake_client_ids[] = {
	"webchat-ui", "openclaw-control-ui", "openclaw-browser-copilot", "openclaw-tui",
	"webchat", "cli", "gateway-client", "openclaw-macos", "openclaw-linux",
	"openclaw-ios", "openclaw-watchos", "openclaw-android", "node-host",
	"openclaw-worker", "test", "fingerprint", "openclaw-probe", NULL
};

static const char *const handshake_client_modes[] = {
	"webchat", "cli", "ui", "backend", "node", "worker", "probe", "test", NULL
};

static const struct jsonreq_prop handshake_client_props[] = {
	{ .name = "id", .kind = JR_ENUM, .required = 1, .values = handshake_client_ids,
	    ATOM(client_id) },
	{ .name = "displayName", .kind = JR_STR, .min = 1, DISPLAY(client_display_name) },
	{ .name = "version", .kind = JR_STR, .required = 1, .min = 1, DISPLAY(client_version) },
	{ .name = "platform", .kind = JR_STR, .required = 1, .min = 1,
	    DISPLAY(client_platform) },
	{ .name = "deviceFamily", .kind = JR_STR, .min = 1, DISPLAY(client_device_family) },
	{ .name = "modelIdentifier", .kind = JR_STR, .min = 1 },
	{ .name = "mode", .kind = JR_ENUM, .required = 1, .values = handshake_client_modes,
	    ATOM(client_mode) },
	{ .name = "instanceId", .kind = JR_STR, .min = 1 },
	{ .name = "buildId", .kind = JR_STR, .min = 1, .max = 96 },
	{ .name = "timeZone", .kind = JR_STR, .min = 1, .max = 64 },
};

static const struct jsonreq_object handshake_client = {
	handshake_client_props, sizeof(handshake_client_props) / sizeof(handshake_client_props[0]), 1
};

static const struct jsonreq_prop handshake_device_props[] = {
	{ .name = "id", .kind = JR_STR, .required = 1, .min = 1, DISPLAY(device_id) },
	{ .name = "publicKey", .kind = JR_STR, .required = 1, .min = 1, TEXT(public_key) },
	{ .name = "signature", .kind = JR_STR, .required = 1, .min = 1, TEXT(signature) },
	{ .name = "signedAt", .kind = JR_INT, .required = 1, .min = 0, .store = 1,
	    .off = offsetof(C, signed_at) },
	{ .name = "nonce", .kind = JR_STR, .required = 1, .min = 1, TEXT(device_nonce) },
};

static const struct jsonreq_object handshake_device = {
	handshake_device_props, sizeof(handshake_device_props) / sizeof(handshake_device_props[0]), 1
};

/* All optional and possibly empty: "" still counts as present (auth_present). */
static const struct jsonreq_prop handshake_auth_props[] = {
	{ .name = "token", .kind = JR_STR, TEXT(token), AUTH(PROTO_AUTH_TOKEN) },
	{ .name = "bootstrapToken", .kind = JR_STR, TEXT(bootstrap_token),
	    AUTH(PROTO_AUTH_BOOTSTRAP) },
	{ .name = "deviceToken", .kind = JR_STR, TEXT(device_token),
	    AUTH(PROTO_AUTH_DEVICE_TOKEN) },
	{ .name = "password", .kind = JR_STR, TEXT(password), AUTH(PROTO_AUTH_PASSWORD) },
	{ .name = "approvalRuntimeToken", .kind = JR_STR },
	{ .name = "agentRuntimeIdentityToken", .kind = JR_STR },
};

static const struct jsonreq_object handshake_auth = {
	handshake_auth_props, sizeof(handshake_auth_props) / sizeof(handshake_auth_props[0]), 1
};

static const struct jsonreq_prop handshake_model_catalog_props[] = {
	{ .name = "agentId", .kind = JR_STR },
	{ .name = "sessionKey", .kind = JR_STR },
	{ .name = "shortId", .kind = JR_STR },
	{ .name = "slugHint", .kind = JR_STR },
};

static const struct jsonreq_object handshake_model_catalog = {
	handshake_model_catalog_props,
	sizeof(handshake_model_catalog_props) / sizeof(handshake_model_catalog_props[0]), 1
};

static const struct jsonreq_prop handshake_params_props[] = {
	{ .name = "minProtocol", .kind = JR_INT, .required = 1, .min = 1, .store = 1,
	    .off = offsetof(C, min_protocol) },
	{ .name = "maxProtocol", .kind = JR_INT, .required = 1, .min = 1, .store = 1,
	    .off = offsetof(C, max_protocol) },
	{ .name = "client", .kind = JR_OBJECT, .required = 1, .object = &handshake_client },
	{ .name = "caps", .kind = JR_STRS, .min = 1 },
	{ .name = "commands", .kind = JR_STRS, .min = 1 },
	{ .name = "permissions", .kind = JR_BOOLMAP },
	{ .name = "pathEnv", .kind = JR_STR },
	{ .name = "role", .kind = JR_STR, .min = 1, DISPLAY(role) },
	{ .name = "scopes", .kind = JR_STRS, .min = 1, .store = 1, .off = offsetof(C, scopes) },
	{ .name = "device", .kind = JR_OBJECT, .object = &handshake_device,
	    .flag_width = JR_FLAG_U8, .flag_off = offsetof(C, has_device), .flag = 1 },
	{ .name = "auth", .kind = JR_OBJECT, .object = &handshake_auth },
	{ .name = "locale", .kind = JR_STR },
	{ .name = "userAgent", .kind = JR_STR },
	{ .name = "computerUse", .kind = JR_ANY },
	{ .name = "workerRuns", .kind = JR_ANY },
	{ .name = "modelCatalog", .kind = JR_OBJECT, .object = &handshake_model_catalog },
};

static const struct jsonreq_object handshake_params_object = {
	handshake_params_props, sizeof(handshake_params_props) / sizeof(handshake_params_props[0]), 1
};

static const struct jsonreq_prop handshake_params = {
	.name = "params", .kind = JR_OBJECT, .object = &handshake_params_object
};

#undef C
#undef TEXT
#undef DISPLAY
#undef ATOM
#undef AUTH

int
handshake_parse(const uint8_t *msg, size_t len, struct handshake_result *out)
{
	struct jsonreq_result jr;
	enum jsonreq_status status;

	memset(out, 0, sizeof(*out));
	status = jsonreq_parse(msg, len, &handshake_params, &out->connect, &jr);
	if (status == JSONREQ_NOT_JSON) {
		out->outcome = HANDSHAKE_NOT_JSON;
		return -1;
	}
	if (status == JSONREQ_NOT_REQUEST) {
		out->outcome = HANDSHAKE_NOT_REQUEST;
		return -1;
	}
	memcpy(out->id, jr.env.id, sizeof(out->id));
	if (strcmp(jr.env.method, "connect") != 0) {
		out->outcome = HANDSHAKE_NOT_CONNECT;
		snprintf(out->error, sizeof(out->error),
		    "invalid handshake: first request must be connect");
		return -1;
	}
	if (!jr.env.has_params || status == JSONREQ_BAD_PARAMS) {
		/* ajv on an absent params: the root value must be an object. */
		out->outcome = HANDSHAKE_BAD_PARAMS;
		snprintf(out->error, sizeof(out->error), "invalid connect params: %s",
		    jr.env.has_params ? jr.params_error : "at root: must be object");
		return -1;
	}
	out->outcome = HANDSHAKE_CONNECT;
	return 0;
}
