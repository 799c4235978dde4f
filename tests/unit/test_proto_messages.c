/*
 * proto: every message type survives encode -> header parse -> decode unchanged,
 * with values at their limits, and each of its frames cut short or with a byte
 * added is refused (test_proto_limits.c has the hostile payloads).
 */
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "proto/pval.h"
#include "protocheck.h"
#include "testutil.h"

static void
check_blob(const struct proto_blob *got, const struct proto_blob *want, const char *what)
{
	testutil_check(got->len == want->len && (want->len == 0 ||
	    memcmp(got->data, want->data, want->len) == 0), __FILE__, __LINE__,
	    "%s blob survives the round trip", what);
}

/* A small error-details value like the broker sends. */
static void
details_blob(struct pbuf *b)
{
	pval_obj_begin(b);
	pval_kv_str(b, "code", "PAIRING_REQUIRED");
	pval_kv_str(b, "reason", "not-paired");
	pval_kv_int(b, "ts", 1795511295036);
	pval_obj_end(b);
}

/* ---- round trips, one per message type ---- */

static void
test_gw_hello(void)
{
	struct proto_gw_hello m;

	memset(&m, 0, sizeof(m));
	m.pid = 4242;
	m.worker = UINT32_MAX;
	m.workers = 7;
	roundtrip(PROTO_GW_HELLO, &m, sizeof(m));
}

static void
test_br_hello(void)
{
	struct proto_br_hello m;

	memset(&m, 0, sizeof(m));
	SET(m.version, "0.1.0");
	m.port = 65535;
	m.nbind = PROTO_MAX_BINDS;
	SET(m.bind[0], "127.0.0.1");
	SET(m.bind[1], "::1");
	SET(m.bind[2], "0.0.0.0");
	FILL_MAX(m.bind[3], 'f');
	m.tick_interval_ms = 30000;
	m.handshake_timeout_ms = 15000;
	m.max_payload = 26214400;
	m.max_buffered = 52428800;
	SET(m.ui_root, "/usr/lib/node_modules/openclaw/dist/control-ui");
	roundtrip(PROTO_BR_HELLO, &m, sizeof(m));
	SET(m.gatewayctl, "/home/ann/clawgate/build/brokerd/gatewayctl --socket "
	    "'/home/ann/my clawgate/.clawgate/run/control.sock'");
	roundtrip(PROTO_BR_HELLO, &m, sizeof(m));
	FILL_MAX(m.ui_root, 'r');
	FILL_MAX(m.gatewayctl, 'g');
	roundtrip(PROTO_BR_HELLO, &m, sizeof(m));
	m.nbind = 0;
	memset(m.bind, 0, sizeof(m.bind));
	FILL_MAX(m.version, 'v');
	roundtrip(PROTO_BR_HELLO, &m, sizeof(m));
}

static void
test_conn_refs(void)
{
	struct proto_conn_ref m;

	memset(&m, 0, sizeof(m));
	m.conn = UINT64_MAX;
	roundtrip(PROTO_GW_CHALLENGE, &m, sizeof(m));
	m.conn = 1;
	roundtrip(PROTO_GW_CLOSED, &m, sizeof(m));
}

/* Tickets are raw bytes: any value, NULs and 0xff included, comes back as sent. */
static void
fill_ticket(uint8_t t[PROTO_TICKET_LEN])
{
	for (size_t i = 0; i < PROTO_TICKET_LEN; i++)
		t[i] = (uint8_t)(i * 37 + 255);
}

static void
test_session_ref(void)
{
	struct proto_session_ref m;

	memset(&m, 0, sizeof(m));
	m.conn = UINT64_MAX;
	roundtrip(PROTO_GW_SESSION_CLOSED, &m, sizeof(m));
	fill_ticket(m.ticket);
	roundtrip(PROTO_GW_SESSION_CLOSED, &m, sizeof(m));
}

static void
test_br_challenge(void)
{
	struct proto_challenge m;

	memset(&m, 0, sizeof(m));
	m.conn = 0x8000000000000001ull;
	SET(m.nonce, "d1fb90d0-671c-4cbf-950f-ddf281376c5e");
	m.ts = 1795511295036;
	roundtrip(PROTO_BR_CHALLENGE, &m, sizeof(m));
	FILL_MAX(m.nonce, 'n');
	m.ts = INT64_MIN;
	roundtrip(PROTO_BR_CHALLENGE, &m, sizeof(m));
}

static void
test_gw_connect(void)
{
	struct proto_connect *m = malloc(sizeof(*m));

	fill_connect(m);
	roundtrip(PROTO_GW_CONNECT, m, sizeof(*m));

	/* Everything at its maximum. */
	FILL_MAX(m->peer_ip, '1');
	FILL_MAX(m->origin, 'o');
	FILL_MAX(m->host, 'h');
	FILL_MAX(m->client_id, 'c');
	FILL_MAX(m->client_mode, 'm');
	FILL_MAX(m->client_version, 'v');
	FILL_MAX(m->client_platform, 'p');
	FILL_MAX(m->client_device_family, 'f');
	FILL_MAX(m->client_display_name, 'd');
	FILL_MAX(m->role, 'r');
	m->scopes.n = PROTO_MAX_SCOPES;
	for (uint32_t i = 0; i < PROTO_MAX_SCOPES; i++)
		FILL_MAX(m->scopes.v[i], (char)('a' + i % 26));
	m->auth_present = 0x0f;
	FILL_MAX(m->token, 't');
	FILL_MAX(m->password, 'p');
	FILL_MAX(m->device_token, 'd');
	FILL_MAX(m->bootstrap_token, 'b');
	FILL_MAX(m->device_id, 'i');
	FILL_MAX(m->public_key, 'k');
	FILL_MAX(m->signature, 's');
	FILL_MAX(m->device_nonce, 'n');
	m->min_protocol = INT64_MIN;
	m->max_protocol = INT64_MAX;
	m->signed_at = -1;
	roundtrip(PROTO_GW_CONNECT, m, sizeof(*m));

	/* Absent things: empty strings, no scopes, no device. */
	memset(m, 0, sizeof(*m));
	m->conn = 1;
	roundtrip(PROTO_GW_CONNECT, m, sizeof(*m));
	free(m);
}

static void
test_gw_rpc(void)
{
	struct proto_rpc m;

	memset(&m, 0, sizeof(m));
	m.conn = 3;
	SET(m.id, "12:0b5e8c4e-6f27-4b43-a3a1-0c3cbb1c41c5");
	SET(m.method, "device.pair.approve");
	m.params = PROTO_RPC_REQUEST_ID | PROTO_RPC_SCOPES | PROTO_RPC_LABEL;
	SET(m.request_id, "610a4539-1b2c-4d5e-8f90-123456789abc");
	SET(m.label, "Ana's laptop");
	m.scopes.n = 1;
	SET(m.scopes.v[0], "operator.admin");
	roundtrip(PROTO_GW_RPC, &m, sizeof(m));
	fill_ticket(m.ticket);
	FILL_MAX(m.id, 'i');
	FILL_MAX(m.method, 'm');
	FILL_MAX(m.request_id, 'r');
	FILL_MAX(m.device_id, 'd');
	FILL_MAX(m.role, 'o');
	FILL_MAX(m.label, 'l');
	m.params = UINT32_MAX;
	roundtrip(PROTO_GW_RPC, &m, sizeof(m));
}

static void
test_br_accept(void)
{
	struct proto_accept m;

	memset(&m, 0, sizeof(m));
	m.conn = 9;
	SET(m.role, "operator");
	m.scopes.n = 1;
	SET(m.scopes.v[0], "operator.read");
	SET(m.method, "token");
	SET(m.device_id, "b07bd0de084e691f2f117025ec5e181bb2042b00577a86088f5ead1ee6904cac");
	SET(m.device_token, "vma814HDO8FKGGW-7XPrxuc8ggvWnTf1Ceu2VvJ29T4");
	m.issued_at_ms = 1795511327051;
	SET(m.recovery_scope, "rs-1");
	m.flags = PROTO_ACCEPT_PAIRING_EVENTS | PROTO_ACCEPT_RECOVERY_MIGRATION;
	fill_ticket(m.ticket);
	roundtrip(PROTO_BR_ACCEPT, &m, sizeof(m));
	/* A device-less session: no device id, no token. */
	memset(m.device_id, 0, sizeof(m.device_id));
	memset(m.device_token, 0, sizeof(m.device_token));
	m.scopes.n = 0;
	memset(m.scopes.v, 0, sizeof(m.scopes.v));
	roundtrip(PROTO_BR_ACCEPT, &m, sizeof(m));
}

static void
test_br_reject(void)
{
	struct proto_reject m, out;
	struct pbuf details;
	struct frame f;

	pbuf_init(&details);
	details_blob(&details);
	memset(&m, 0, sizeof(m));
	m.conn = 11;
	m.close_code = PROTO_CLOSE_POLICY;
	/* The reason field holds exactly RFC 6455's 123 bytes. */
	FILL_MAX(m.close_reason, 'r');
	m.has_error = 1;
	SET(m.error.code, "NOT_PAIRED");
	SET(m.error.message, "pairing required: device is not approved yet");
	m.error.details = proto_blob_of(&details);
	m.error.retryable = 2;
	m.error.retry_after_ms = 500;
	if (frame_encode(&f, PROTO_BR_REJECT, 5, &m) == 0) {
		CHECK_INT_EQ(proto_decode(PROTO_BR_REJECT, f.payload, f.len, &out, sizeof(out)), 0);
		check_blob(&out.error.details, &m.error.details, "reject details");
		out.error.details.data = m.error.details.data;
		CHECK(memcmp(&out, &m, sizeof(m)) == 0);
		check_strict(PROTO_BR_REJECT, &f, sizeof(m));
	}
	pbuf_free(&f.b);

	/* No res frame: empty error, empty details, absent retry fields. */
	memset(&m, 0, sizeof(m));
	m.close_code = PROTO_CLOSE_NORMAL;
	m.error.retry_after_ms = -1;
	if (frame_encode(&f, PROTO_BR_REJECT, 6, &m) == 0) {
		CHECK_INT_EQ(proto_decode(PROTO_BR_REJECT, f.payload, f.len, &out, sizeof(out)), 0);
		CHECK_INT_EQ(out.error.details.len, 0);
		CHECK_INT_EQ(out.error.retry_after_ms, -1);
		CHECK_STR_EQ(out.close_reason, "");
	}
	pbuf_free(&f.b);
	pbuf_free(&details);
}

static void
test_br_rpc_result(void)
{
	struct proto_rpc_result m, out;
	struct pbuf payload;
	struct frame f;

	pbuf_init(&payload);
	pval_obj_begin(&payload);
	pval_kv_bool(&payload, "ok", 1);
	pval_kv_int(&payload, "ts", 1795511295036);
	pval_kv_int(&payload, "durationMs", 0);
	pval_obj_end(&payload);
	memset(&m, 0, sizeof(m));
	m.conn = 12;
	SET(m.id, "3:abc");
	m.ok = 1;
	m.payload = proto_blob_of(&payload);
	m.error.retry_after_ms = -1;
	if (frame_encode(&f, PROTO_BR_RPC_RESULT, 0, &m) == 0) {
		CHECK_INT_EQ(proto_decode(PROTO_BR_RPC_RESULT, f.payload, f.len, &out, sizeof(out)), 0);
		check_blob(&out.payload, &m.payload, "rpc payload");
		out.payload.data = m.payload.data;
		out.error.details.data = m.error.details.data;
		CHECK(memcmp(&out, &m, sizeof(m)) == 0);
		check_strict(PROTO_BR_RPC_RESULT, &f, sizeof(m));
	}
	pbuf_free(&f.b);
	pbuf_free(&payload);
}

static void
test_br_event(void)
{
	struct proto_event m, out;
	struct pbuf payload;
	struct frame f;

	pbuf_init(&payload);
	details_blob(&payload);
	memset(&m, 0, sizeof(m));
	m.audience = PROTO_AUDIENCE_PAIRING;
	SET(m.event, "device.pair.requested");
	m.payload = proto_blob_of(&payload);
	if (frame_encode(&f, PROTO_BR_EVENT, 0, &m) == 0) {
		CHECK_INT_EQ(proto_decode(PROTO_BR_EVENT, f.payload, f.len, &out, sizeof(out)), 0);
		check_blob(&out.payload, &m.payload, "event payload");
		out.payload.data = m.payload.data;
		CHECK(memcmp(&out, &m, sizeof(m)) == 0);
		check_strict(PROTO_BR_EVENT, &f, sizeof(m));
	}
	pbuf_free(&f.b);
	pbuf_free(&payload);
}

static void
test_br_close(void)
{
	struct proto_close m;

	memset(&m, 0, sizeof(m));
	m.target = PROTO_CLOSE_TARGET_DEVICE;
	memset(m.device, 0xb0, sizeof(m.device));
	m.roles = 1u << PROTO_ROLE_NODE;
	m.except_conn = 13;
	m.code = PROTO_CLOSE_POLICY;
	SET(m.reason, "device removed");
	roundtrip(PROTO_BR_CLOSE, &m, sizeof(m));
	m.target = PROTO_CLOSE_TARGET_SHARED;
	memset(m.device, 0, sizeof(m.device));
	FILL_MAX(m.reason, 'x');
	roundtrip(PROTO_BR_CLOSE, &m, sizeof(m));
}

static void
test_ctl_targets(void)
{
	struct proto_ctl_target m;

	memset(&m, 0, sizeof(m));
	SET(m.id, "610a4539-1b2c-4d5e-8f90-123456789abc");
	roundtrip(PROTO_CTL_APPROVE, &m, sizeof(m));
	roundtrip(PROTO_CTL_REJECT, &m, sizeof(m));
	memset(&m, 0, sizeof(m));
	m.latest = 1;
	roundtrip(PROTO_CTL_APPROVE, &m, sizeof(m));
	FILL_MAX(m.id, 'd');
	m.latest = 0;
	roundtrip(PROTO_CTL_REMOVE, &m, sizeof(m));
}

/* rotate, revoke, rename: one layout, every field at its limit too. */
static void
test_ctl_device(void)
{
	static const uint16_t types[] = { PROTO_CTL_TOKEN_ROTATE, PROTO_CTL_TOKEN_REVOKE,
		PROTO_CTL_RENAME };
	struct proto_ctl_device m;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		memset(&m, 0, sizeof(m));
		SET(m.device_id, "6c1f0e0a9d1b4f2e8a7c3b5d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b");
		SET(m.role, "operator");
		SET(m.label, "Büro PC");
		roundtrip(types[i], &m, sizeof(m));
		FILL_MAX(m.device_id, 'd');
		FILL_MAX(m.role, 'r');
		FILL_MAX(m.label, 'l');
		m.has_scopes = 1;
		m.scopes.n = PROTO_MAX_SCOPES;
		for (uint32_t j = 0; j < PROTO_MAX_SCOPES; j++)
			FILL_MAX(m.scopes.v[j], 's');
		roundtrip(types[i], &m, sizeof(m));
	}
}

/* Commands without fields: a 16-byte header and nothing else. */
static void
test_ctl_empty(void)
{
	static const uint16_t types[] = { PROTO_CTL_LIST, PROTO_CTL_TOKEN_GENERATE,
		PROTO_CTL_STATUS, PROTO_CTL_AUDIT, PROTO_CTL_DASHBOARD };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct frame f;

		if (frame_encode(&f, types[i], 99, NULL) == 0) {
			CHECK_INT_EQ(f.len, 0);
			CHECK_INT_EQ(proto_decode(types[i], f.payload, 0, NULL, 0), 0);
			CHECK_INT_EQ(proto_decode(types[i], (const uint8_t *)"x", 1, NULL, 0), -1);
		}
		pbuf_free(&f.b);
	}
}

static void
test_ctl_result(void)
{
	struct proto_ctl_result m, out;
	struct pbuf payload;
	struct frame f;

	pbuf_init(&payload);
	pval_obj_begin(&payload);
	pval_key(&payload, "pending");
	pval_arr_begin(&payload);
	pval_arr_end(&payload);
	pval_key(&payload, "paired");
	pval_arr_begin(&payload);
	pval_arr_end(&payload);
	pval_obj_end(&payload);
	memset(&m, 0, sizeof(m));
	m.ok = 1;
	m.payload = proto_blob_of(&payload);
	m.error.retry_after_ms = -1;
	if (frame_encode(&f, PROTO_CTL_RESULT, 1, &m) == 0) {
		CHECK_INT_EQ(proto_decode(PROTO_CTL_RESULT, f.payload, f.len, &out, sizeof(out)), 0);
		check_blob(&out.payload, &m.payload, "ctl payload");
		out.payload.data = m.payload.data;
		out.error.details.data = m.error.details.data;
		CHECK(memcmp(&out, &m, sizeof(m)) == 0);
		check_strict(PROTO_CTL_RESULT, &f, sizeof(m));
	}
	pbuf_free(&f.b);

	memset(&m, 0, sizeof(m));
	SET(m.error.code, "INVALID_REQUEST");
	SET(m.error.message, "unknown requestId 1234 (it may have expired after 5 minutes): "
			     "list pending requests with: gatewayctl devices list");
	m.error.retry_after_ms = -1;
	if (frame_encode(&f, PROTO_CTL_RESULT, 2, &m) == 0) {
		CHECK_INT_EQ(proto_decode(PROTO_CTL_RESULT, f.payload, f.len, &out, sizeof(out)), 0);
		CHECK_INT_EQ(out.ok, 0);
		CHECK_INT_EQ(out.payload.len, 0);
		CHECK_STR_EQ(out.error.code, m.error.code);
		CHECK_STR_EQ(out.error.message, m.error.message);
		CHECK_INT_EQ(out.error.retry_after_ms, -1);
		check_strict(PROTO_CTL_RESULT, &f, sizeof(m));
	}
	pbuf_free(&f.b);
	pbuf_free(&payload);
}

int
main(void)
{
	TEST_RUN(test_gw_hello);
	TEST_RUN(test_br_hello);
	TEST_RUN(test_conn_refs);
	TEST_RUN(test_session_ref);
	TEST_RUN(test_br_challenge);
	TEST_RUN(test_gw_connect);
	TEST_RUN(test_gw_rpc);
	TEST_RUN(test_br_accept);
	TEST_RUN(test_br_reject);
	TEST_RUN(test_br_rpc_result);
	TEST_RUN(test_br_event);
	TEST_RUN(test_br_close);
	TEST_RUN(test_ctl_targets);
	TEST_RUN(test_ctl_device);
	TEST_RUN(test_ctl_empty);
	TEST_RUN(test_ctl_result);
	return test_exit();
}
