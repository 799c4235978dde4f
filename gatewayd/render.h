/*
 * The JSON frames gatewayd writes to clients, generated with yajl_gen (which
 * escapes every string). Each function returns the text in *out, valid until
 * the next render call; wslay copies what it queues, so that is long enough.
 */
#ifndef GATEWAYD_RENDER_H
#define GATEWAYD_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

struct render_out {
	const uint8_t *data;
	size_t len;
};

/* Overwrites what out holds (a hello-ok or auth object carries a device token),
 * once it is sent or copied. */
void render_wipe(struct render_out *out);

/* {"type":"event","event":"connect.challenge","payload":{"nonce","ts"}}; in
 * relay mode with the upstream's capabilities: ["model-catalog-snapshot"]. */
void render_challenge(const struct proto_challenge *c, struct render_out *out);

/* {"type":"res","id","ok":true,"payload":<hello-ok>} (doc/protocol.md §2.4). */
void render_hello_ok(const char *id, const struct proto_accept *a, const char *conn_id,
    int64_t uptime_ms, struct render_out *out);

/* The hello-ok's auth object alone: {method, role, scopes, recoveryScope?,
 * deviceToken?, issuedAtMs?, recoveryMigrationAllowed?}. */
void render_auth(const struct proto_accept *a, struct render_out *out);

/* {"type":"res","id","ok":true,"payload":P} */
void render_res_ok(const char *id, const struct proto_blob *payload, struct render_out *out);

/* {"type":"res","id","ok":false,"error":{code, message, details?, retryable?,
 * retryAfterMs?}} */
void render_res_error(const char *id, const struct proto_error *e, struct render_out *out);

/* The same for an INVALID_REQUEST answered by gatewayd itself. */
void render_res_invalid(const char *id, const char *message, struct render_out *out);

/* {"type":"event","event":E,"payload":P  -- left open: the caller appends its
 * own ,"seq":N} per socket, so a broadcast is rendered once. */
void render_event_open(const char *event, const struct proto_blob *payload,
    struct render_out *out);

void render_free(void);

#endif
