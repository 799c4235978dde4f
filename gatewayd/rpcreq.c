#include "gatewayd/rpcreq.h"

#include <stdio.h>
#include <string.h>

#include "gatewayd/jsonreq.h"

const char *const rpc_methods[] = {
	"health", "status", "device.pair.list", "device.pair.approve",
	"device.pair.reject", "device.pair.remove", "device.pair.rename",
	"device.token.rotate", "device.token.revoke",
};
const size_t rpc_nmethods = sizeof(rpc_methods) / sizeof(rpc_methods[0]);

/* The params members the broker uses; all other members are ignored, as the
 * methods' own schemas are the broker's business. */
#define R struct proto_rpc
#define RPC_STR(f, bit) .kind = JR_STR, .store = 1, .off = offsetof(R, f), \
	.size = sizeof(((R *)0)->f) - 1, .cs = PROTO_CS_DISPLAY, \
	.flag_width = JR_FLAG_U32, .flag_off = offsetof(R, params), .flag = (bit)

static const struct jsonreq_prop rpc_params_props[] = {
	{ .name = "requestId", RPC_STR(request_id, PROTO_RPC_REQUEST_ID) },
	{ .name = "deviceId", RPC_STR(device_id, PROTO_RPC_DEVICE_ID) },
	{ .name = "role", RPC_STR(role, PROTO_RPC_ROLE) },
	{ .name = "label", RPC_STR(label, PROTO_RPC_LABEL) },
	{ .name = "scopes", .kind = JR_STRS, .store = 1, .off = offsetof(R, scopes),
	    .flag_width = JR_FLAG_U32, .flag_off = offsetof(R, params),
	    .flag = PROTO_RPC_SCOPES },
};

#undef R
#undef RPC_STR

static const struct jsonreq_object rpc_params_object = {
	rpc_params_props, sizeof(rpc_params_props) / sizeof(rpc_params_props[0]), 0
};

static const struct jsonreq_prop rpc_params = {
	.name = "params", .kind = JR_OBJECT, .object = &rpc_params_object
};

int
rpc_parse(const uint8_t *msg, size_t len, struct rpc_result *out)
{
	struct jsonreq_result jr;
	enum jsonreq_status status;
	const char *method = NULL;

	memset(out, 0, sizeof(*out));
	status = jsonreq_parse(msg, len, &rpc_params, &out->rpc, &jr);
	if (status == JSONREQ_NOT_JSON || status == JSONREQ_NOT_REQUEST) {
		out->outcome = RPC_BAD_FRAME;
		return -1;
	}
	memcpy(out->rpc.id, jr.env.id, sizeof(out->rpc.id));
	for (size_t i = 0; i < rpc_nmethods; i++)
		if (strcmp(jr.env.method, rpc_methods[i]) == 0)
			method = rpc_methods[i];
	if (method == NULL) {
		/* The exact text clients recognise (doc/protocol.md §2.1). */
		out->outcome = RPC_UNKNOWN_METHOD;
		snprintf(out->error, sizeof(out->error), "unknown method: %s", jr.env.method);
		return -1;
	}
	if (status == JSONREQ_BAD_PARAMS) {
		out->outcome = RPC_BAD_PARAMS;
		snprintf(out->error, sizeof(out->error), "invalid %s params: %s", method,
		    jr.params_error);
		return -1;
	}
	snprintf(out->rpc.method, sizeof(out->rpc.method), "%s", method);
	out->outcome = RPC_FORWARD;
	return 0;
}
