#include "gatewayd/render.h"

#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>
#include <yajl/yajl_gen.h>

#include "common/log.h"
#include "gatewayd/gatewayd.h"
#include "gatewayd/rpcreq.h"
#include "proto/pval.h"

/* OpenClaw's protocol version; hello-ok names the one the connect range held. */
#define RENDER_PROTOCOL 4

/* One generator, reset for every frame: the loop is single-threaded. */
static yajl_gen render_gen;

static const char *const render_relay_capabilities[] = { "model-catalog-snapshot" };

static const char *const render_events[] = {
	"tick", "device.pair.requested", "device.pair.resolved", "device.pair.changed",
};

/* A generator error can only be a bug here (every string was checked when it
 * was decoded or parsed), and a half-written frame must not reach a client. */
static void
render_check(yajl_gen_status st)
{
	if (st != yajl_gen_status_ok)
		fatalx("render: JSON generator error %d (a bug in gatewayd)", (int)st);
}

static yajl_gen
render_begin(void)
{
	if (render_gen == NULL) {
		if ((render_gen = yajl_gen_alloc(NULL)) == NULL)
			fatalx("out of memory allocating a JSON generator");
		yajl_gen_config(render_gen, yajl_gen_validate_utf8, 1);
	}
	yajl_gen_reset(render_gen, NULL);
	yajl_gen_clear(render_gen);
	return render_gen;
}

static void
render_end(struct render_out *out)
{
	render_check(yajl_gen_get_buf(render_gen, &out->data, &out->len));
}

void
render_wipe(struct render_out *out)
{
	/* yajl's own heap buffer, const only in its interface. */
	OPENSSL_cleanse((void *)out->data, out->len);
}

static void
render_str(yajl_gen g, const char *s)
{
	render_check(yajl_gen_string(g, (const unsigned char *)s, strlen(s)));
}

static void
render_kv_str(yajl_gen g, const char *k, const char *v)
{
	render_str(g, k);
	render_str(g, v);
}

static void
render_kv_int(yajl_gen g, const char *k, int64_t v)
{
	render_str(g, k);
	render_check(yajl_gen_integer(g, (long long)v));
}

static void
render_open(yajl_gen g)
{
	render_check(yajl_gen_map_open(g));
}

static void
render_close(yajl_gen g)
{
	render_check(yajl_gen_map_close(g));
}

static void
render_blob(yajl_gen g, const struct proto_blob *b)
{
	if (pval_to_json(g, b->data, b->len) < 0)
		fatalx("render: a checked pval failed to render (a bug in gatewayd)");
}

static void
render_strv(yajl_gen g, const char *k, const char *const *v, size_t n)
{
	render_str(g, k);
	render_check(yajl_gen_array_open(g));
	for (size_t i = 0; i < n; i++)
		render_str(g, v[i]);
	render_check(yajl_gen_array_close(g));
}

/* {"type":"res","id":ID,"ok":OK, -- the caller adds payload or error. */
static yajl_gen
render_res_begin(const char *id, int ok)
{
	yajl_gen g = render_begin();

	render_open(g);
	render_kv_str(g, "type", "res");
	render_kv_str(g, "id", id);
	render_str(g, "ok");
	render_check(yajl_gen_bool(g, ok));
	return g;
}

void
render_challenge(const struct proto_challenge *c, struct render_out *out)
{
	yajl_gen g = render_begin();

	render_open(g);
	render_kv_str(g, "type", "event");
	render_kv_str(g, "event", "connect.challenge");
	render_str(g, "payload");
	render_open(g);
	render_kv_str(g, "nonce", c->nonce);
	render_kv_int(g, "ts", c->ts);
	/* What the upstream offers: the Control UI then asks for the model
	 * catalog snapshot it sends after hello. */
	if (relay_mode())
		render_strv(g, "capabilities", render_relay_capabilities, 1);
	render_close(g);
	render_close(g);
	render_end(out);
}

static void
render_auth_object(yajl_gen g, const struct proto_accept *a)
{
	render_open(g);
	render_kv_str(g, "method", a->method);
	render_kv_str(g, "role", a->role);
	render_str(g, "scopes");
	render_check(yajl_gen_array_open(g));
	for (uint32_t i = 0; i < a->scopes.n; i++)
		render_str(g, a->scopes.v[i]);
	render_check(yajl_gen_array_close(g));
	if (a->recovery_scope[0] != '\0')
		render_kv_str(g, "recoveryScope", a->recovery_scope);
	if (a->device_token[0] != '\0') {
		/* Minted now: the one time the plaintext exists outside the device. */
		render_kv_str(g, "deviceToken", a->device_token);
		render_kv_int(g, "issuedAtMs", a->issued_at_ms);
	}
	if (a->flags & PROTO_ACCEPT_RECOVERY_MIGRATION) {
		render_str(g, "recoveryMigrationAllowed");
		render_check(yajl_gen_bool(g, 1));
	}
	render_close(g);
}

void
render_auth(const struct proto_accept *a, struct render_out *out)
{
	render_auth_object(render_begin(), a);
	render_end(out);
}

void
render_hello_ok(const char *id, const struct proto_accept *a, const char *conn_id,
    int64_t uptime_ms, struct render_out *out)
{
	yajl_gen g = render_res_begin(id, 1);

	render_str(g, "payload");
	render_open(g);
	render_kv_str(g, "type", "hello-ok");
	render_kv_int(g, "protocol", RENDER_PROTOCOL);

	render_str(g, "server");
	render_open(g);
	render_kv_str(g, "version", gatewayd.settings.version);
	render_kv_str(g, "connId", conn_id);
	render_close(g);

	render_str(g, "features");
	render_open(g);
	render_strv(g, "methods", rpc_methods, rpc_nmethods);
	render_strv(g, "events", render_events, sizeof(render_events) / sizeof(render_events[0]));
	render_close(g);

	render_str(g, "snapshot");
	render_open(g);
	render_str(g, "presence");
	render_check(yajl_gen_array_open(g));
	render_check(yajl_gen_array_close(g));
	render_str(g, "health");
	render_open(g);
	render_close(g);
	render_str(g, "stateVersion");
	render_open(g);
	render_kv_int(g, "presence", 0);
	render_kv_int(g, "health", 0);
	render_close(g);
	render_kv_int(g, "uptimeMs", uptime_ms);
	render_close(g);

	render_str(g, "auth");
	render_auth_object(g, a);

	render_str(g, "policy");
	render_open(g);
	render_kv_int(g, "maxPayload", gatewayd.settings.max_payload);
	render_kv_int(g, "maxBufferedBytes", gatewayd.settings.max_buffered);
	render_kv_int(g, "tickIntervalMs", gatewayd.settings.tick_interval_ms);
	render_close(g);

	render_close(g);	/* payload */
	render_close(g);	/* res */
	render_end(out);
}

void
render_res_ok(const char *id, const struct proto_blob *payload, struct render_out *out)
{
	yajl_gen g = render_res_begin(id, 1);

	if (payload->len > 0) {
		render_str(g, "payload");
		render_blob(g, payload);
	}
	render_close(g);
	render_end(out);
}

void
render_res_error(const char *id, const struct proto_error *e, struct render_out *out)
{
	yajl_gen g = render_res_begin(id, 0);

	render_str(g, "error");
	render_open(g);
	render_kv_str(g, "code", e->code);
	render_kv_str(g, "message", e->message);
	if (e->details.len > 0) {
		render_str(g, "details");
		render_blob(g, &e->details);
	}
	if (e->retryable != 0) {
		render_str(g, "retryable");
		render_check(yajl_gen_bool(g, e->retryable == 2));
	}
	if (e->retry_after_ms >= 0)
		render_kv_int(g, "retryAfterMs", e->retry_after_ms);
	render_close(g);
	render_close(g);
	render_end(out);
}

void
render_res_invalid(const char *id, const char *message, struct render_out *out)
{
	struct proto_error e;

	memset(&e, 0, sizeof(e));
	snprintf(e.code, sizeof(e.code), "INVALID_REQUEST");
	snprintf(e.message, sizeof(e.message), "%s", message);
	e.retry_after_ms = -1;
	render_res_error(id, &e, out);
}

void
render_event_open(const char *event, const struct proto_blob *payload,
    struct render_out *out)
{
	yajl_gen g = render_begin();

	render_open(g);
	render_kv_str(g, "type", "event");
	render_kv_str(g, "event", event);
	if (payload->len > 0) {
		render_str(g, "payload");
		render_blob(g, payload);
	}
	render_end(out);
}

void
render_free(void)
{
	if (render_gen != NULL)
		yajl_gen_free(render_gen);
	render_gen = NULL;
}
