/*
 * proto: every message type survives encode -> header parse -> decode unchanged,
 * with values at their limits; and the decoder, which the broker runs on hostile
 * bytes from a possibly compromised gatewayd, refuses everything just outside them:
 * over-long strings, bad charsets, embedded NULs, too many scopes or binds, bad
 * blobs, truncated payloads and trailing bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "proto/pval.h"
#include "testutil.h"

/* Fills a char array with its longest allowed value: size-1 copies of c, then NUL. */
#define FILL_MAX(arr, c)                                  \
	do {                                              \
		memset((arr), (c), sizeof(arr) - 1);      \
		(arr)[sizeof(arr) - 1] = '\0';            \
	} while (0)
/* Fills a char array completely, no NUL: one byte longer than its field allows. */
#define FILL_OVER(arr, c) memset((arr), (c), sizeof(arr))

#define SET(arr, s) snprintf((arr), sizeof(arr), "%s", (s))

/* ---- helpers ---- */

struct frame {
	struct pbuf b;
	const uint8_t *payload;
	uint32_t len;
};

/* Encodes msg and checks the header fields; 0 on success. */
static int
frame_encode(struct frame *f, uint16_t type, uint32_t id, const void *msg)
{
	struct proto_hdr h;

	pbuf_init(&f->b);
	f->payload = NULL;
	f->len = 0;
	if (proto_encode(&f->b, type, id, msg) != 0) {
		testutil_check(0, __FILE__, __LINE__, "encode %s", proto_type_name(type));
		return -1;
	}
	CHECK_INT_EQ(proto_hdr_parse(f->b.data, f->b.len, PROTO_MAX_PAYLOAD, &h), PROTO_FRAME_OK);
	CHECK_INT_EQ(h.len, f->b.len - PROTO_HDR_LEN);
	CHECK_INT_EQ(h.type, type);
	CHECK_INT_EQ(h.version, PROTO_VERSION);
	CHECK_INT_EQ(h.id, id);
	CHECK_INT_EQ(h.flags, 0);
	f->payload = f->b.data + PROTO_HDR_LEN;
	f->len = h.len;
	return 0;
}

/* Every proper prefix and the payload plus one trailing byte must be refused. */
static void
check_strict(uint16_t type, const struct frame *f, size_t size)
{
	void *scratch = calloc(1, size ? size : 1);
	uint8_t *longer = malloc(f->len + 1);

	for (uint32_t n = 0; n < f->len; n++)
		testutil_check(proto_decode(type, f->payload, n, scratch, size) == -1, __FILE__,
		    __LINE__, "%s truncated to %u of %u bytes is refused", proto_type_name(type),
		    n, f->len);
	if (f->len)
		memcpy(longer, f->payload, f->len);
	longer[f->len] = 0;
	testutil_check(proto_decode(type, longer, f->len + 1, scratch, size) == -1, __FILE__,
	    __LINE__, "%s with a trailing byte is refused", proto_type_name(type));
	free(longer);
	free(scratch);
}

/* Round trip of a message without blobs (decoded blobs point into the frame, so
 * those types compare field by field): the decoded struct equals the original
 * byte for byte (both were zeroed before being filled). */
static void
roundtrip(uint16_t type, const void *msg, size_t size)
{
	struct frame f;
	void *out = malloc(size);

	if (frame_encode(&f, type, 0x01020304, msg) == 0) {
		CHECK_INT_EQ(proto_decode(type, f.payload, f.len, out, size), 0);
		testutil_check(memcmp(out, msg, size) == 0, __FILE__, __LINE__,
		    "%s decodes to what was encoded", proto_type_name(type));
		check_strict(type, &f, size);
	}
	free(out);
	pbuf_free(&f.b);
}

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
fill_connect(struct proto_connect *m)
{
	memset(m, 0, sizeof(*m));
	m->conn = 7;
	SET(m->peer_ip, "127.0.0.1");
	m->proxy_headers = 0;
	SET(m->origin, "http://127.0.0.1:18789");
	SET(m->host, "127.0.0.1:18789");
	m->min_protocol = 4;
	m->max_protocol = 4;
	SET(m->client_id, "cli");
	SET(m->client_mode, "cli");
	SET(m->client_version, "2026.9.6");
	SET(m->client_platform, "Linux x86_64");
	SET(m->client_device_family, "Linux");
	SET(m->client_display_name, "L\xc3\xa4ptop \xe2\x98\x95");
	SET(m->role, "operator");
	m->scopes.n = 2;
	SET(m->scopes.v[0], "operator.read");
	SET(m->scopes.v[1], "operator.read");	/* duplicates are kept: they are signed */
	m->auth_present = PROTO_AUTH_TOKEN | PROTO_AUTH_PASSWORD;
	SET(m->token, "test-token-0123456789abcdef0123456789abcdef");
	SET(m->password, "test-token-0123456789abcdef0123456789abcdef");
	m->has_device = 1;
	SET(m->device_id, "b07bd0de084e691f2f117025ec5e181bb2042b00577a86088f5ead1ee6904cac");
	SET(m->public_key, "0GDD1hJUVmB_8IX7K5OPxiKPDnhMbZr2UNDpjt6PSCk");
	SET(m->signature, "gvnXH8QcP9oU8uDRfFIFSJREceOZMLmQ3QA6uWye61FvEJ2lbMSOvOlwLXVHrgKn9fJsWxKbOqtmy0p5naaIDw");
	SET(m->device_nonce, "d1fb90d0-671c-4cbf-950f-ddf281376c5e");
	m->signed_at = 1795511295036;
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

/* Every type the header declares has a layout and a name; others have neither. */
static void
test_type_table(void)
{
	static const struct {
		uint16_t type;
		const char *name;
	} types[] = {
#define T(t) { t, #t }
		T(PROTO_GW_HELLO), T(PROTO_GW_CHALLENGE), T(PROTO_GW_CONNECT), T(PROTO_GW_RPC),
		T(PROTO_GW_CLOSED), T(PROTO_GW_SESSION_CLOSED), T(PROTO_BR_HELLO), T(PROTO_BR_CHALLENGE), T(PROTO_BR_ACCEPT),
		T(PROTO_BR_REJECT), T(PROTO_BR_RPC_RESULT), T(PROTO_BR_EVENT), T(PROTO_BR_CLOSE),
		T(PROTO_CTL_LIST), T(PROTO_CTL_APPROVE), T(PROTO_CTL_REJECT), T(PROTO_CTL_REMOVE),
		T(PROTO_CTL_TOKEN_GENERATE), T(PROTO_CTL_STATUS), T(PROTO_CTL_RESULT),
		T(PROTO_CTL_TOKEN_ROTATE), T(PROTO_CTL_TOKEN_REVOKE), T(PROTO_CTL_RENAME),
		T(PROTO_CTL_AUDIT), T(PROTO_CTL_DASHBOARD),
#undef T
	};
	struct pbuf b;
	uint8_t junk[4] = { 0 };

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		CHECK_STR_EQ(proto_type_name(types[i].type), types[i].name);
	CHECK_STR_EQ(proto_type_name(0), "unknown");
	CHECK_STR_EQ(proto_type_name(0x9999), "unknown");
	pbuf_init(&b);
	CHECK_INT_EQ(proto_encode(&b, 0x9999, 1, junk), -1);
	CHECK_INT_EQ(b.len, 0);
	CHECK_INT_EQ(proto_decode(0x9999, junk, 0, junk, sizeof(junk)), -1);
	pbuf_free(&b);
}

/* ---- limits ---- */

/* A failed encode appends nothing: what was in the buffer stays intact. */
static void
check_encode_refused(uint16_t type, const void *msg, const char *what)
{
	struct pbuf b;

	pbuf_init(&b);
	pbuf_add(&b, "keep", 4);
	testutil_check(proto_encode(&b, type, 1, msg) == -1, __FILE__, __LINE__,
	    "%s: encode refuses %s", proto_type_name(type), what);
	testutil_check(b.len == 4 && memcmp(b.data, "keep", 4) == 0, __FILE__, __LINE__,
	    "%s: a refused encode appends nothing (%s)", proto_type_name(type), what);
	pbuf_free(&b);
}

static void
test_encode_overlong_strings(void)
{
	struct proto_challenge ch;
	struct proto_connect *c = malloc(sizeof(*c));
	struct proto_close cl;
	struct proto_accept a;
	struct proto_br_hello h;

	memset(&ch, 0, sizeof(ch));
	FILL_OVER(ch.nonce, 'n');
	check_encode_refused(PROTO_BR_CHALLENGE, &ch, "a 129-byte nonce");

	fill_connect(c);
	FILL_OVER(c->client_display_name, 'd');
	check_encode_refused(PROTO_GW_CONNECT, c, "a 257-byte display name");
	fill_connect(c);
	FILL_OVER(c->token, 't');
	check_encode_refused(PROTO_GW_CONNECT, c, "a 513-byte token");
	fill_connect(c);
	FILL_OVER(c->scopes.v[1], 's');
	check_encode_refused(PROTO_GW_CONNECT, c, "a 65-byte scope");
	free(c);

	memset(&cl, 0, sizeof(cl));
	FILL_OVER(cl.reason, 'r');
	check_encode_refused(PROTO_BR_CLOSE, &cl, "a 124-byte close reason");

	memset(&a, 0, sizeof(a));
	FILL_OVER(a.device_token, 'x');
	check_encode_refused(PROTO_BR_ACCEPT, &a, "a 513-byte device token");

	memset(&h, 0, sizeof(h));
	h.nbind = 1;
	FILL_OVER(h.bind[0], '1');
	check_encode_refused(PROTO_BR_HELLO, &h, "a 65-byte bind address");
	memset(&h, 0, sizeof(h));
	FILL_OVER(h.gatewayctl, 'g');
	check_encode_refused(PROTO_BR_HELLO, &h, "a 513-byte gatewayctl command");
	SET(h.gatewayctl, "gatewayctl\n--socket /x");
	check_encode_refused(PROTO_BR_HELLO, &h, "a gatewayctl command with a line break");
}

static void
test_encode_bad_charset(void)
{
	static const char *const bad_atoms[] = { "a b", "a\x7f", "a\x01", "\xc3\xa9", "a\tb" };
	static const char *const bad_texts[] = { "line\nbreak", "del\x7f", "esc\x1b[0m",
		"bad\xff", "overlong\xc0\x80", "surrogate\xed\xa0\x80", "cut\xe2\x82" };
	struct proto_challenge ch;
	struct proto_connect *c = malloc(sizeof(*c));

	memset(&ch, 0, sizeof(ch));
	for (size_t i = 0; i < sizeof(bad_atoms) / sizeof(bad_atoms[0]); i++) {
		SET(ch.nonce, bad_atoms[i]);
		check_encode_refused(PROTO_BR_CHALLENGE, &ch, "a non-atom nonce");
	}
	SET(ch.nonce, "ok:all-printable_ASCII.~!{}");
	roundtrip(PROTO_BR_CHALLENGE, &ch, sizeof(ch));

	for (size_t i = 0; i < sizeof(bad_texts) / sizeof(bad_texts[0]); i++) {
		fill_connect(c);
		SET(c->client_display_name, bad_texts[i]);
		check_encode_refused(PROTO_GW_CONNECT, c, "a bad display name");
		fill_connect(c);
		SET(c->scopes.v[0], bad_texts[i]);
		check_encode_refused(PROTO_GW_CONNECT, c, "a bad scope");
	}
	fill_connect(c);
	SET(c->client_id, "c li");
	check_encode_refused(PROTO_GW_CONNECT, c, "a client id with a space");
	free(c);
}

static void
test_encode_too_many(void)
{
	struct proto_accept a;
	struct proto_rpc r;
	struct proto_br_hello h;

	memset(&a, 0, sizeof(a));
	a.scopes.n = PROTO_MAX_SCOPES + 1;
	check_encode_refused(PROTO_BR_ACCEPT, &a, "33 scopes");
	memset(&r, 0, sizeof(r));
	r.scopes.n = UINT32_MAX;
	check_encode_refused(PROTO_GW_RPC, &r, "2^32-1 scopes");
	memset(&h, 0, sizeof(h));
	h.nbind = PROTO_MAX_BINDS + 1;
	check_encode_refused(PROTO_BR_HELLO, &h, "5 bind addresses");
}

/* Hand-built payloads, as a hostile peer would send them. */
static void
put_u32be(struct pbuf *b, uint32_t v)
{
	uint8_t p[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	pbuf_add(b, p, 4);
}

static void
put_str(struct pbuf *b, const void *s, uint32_t len)
{
	put_u32be(b, len);
	pbuf_add(b, s, len);
}

/* A CTL_APPROVE payload: id string (TEXT, max PROTO_ID_MAX) then the latest byte. */
static int
decode_ctl_target(const void *id, uint32_t len)
{
	struct pbuf b;
	struct proto_ctl_target t;
	int rc;

	pbuf_init(&b);
	put_str(&b, id, len);
	pbuf_add(&b, "\0", 1);
	rc = proto_decode(PROTO_CTL_APPROVE, b.data, b.len, &t, sizeof(t));
	if (rc == 0)
		CHECK_INT_EQ(strlen(t.id), len);
	pbuf_free(&b);
	return rc;
}

static void
test_decode_strings(void)
{
	char big[PROTO_ID_MAX + 2];

	memset(big, 'a', sizeof(big));
	CHECK_INT_EQ(decode_ctl_target(big, PROTO_ID_MAX), 0);
	CHECK_INT_EQ(decode_ctl_target(big, PROTO_ID_MAX + 1), -1);
	CHECK_INT_EQ(decode_ctl_target("", 0), 0);
	CHECK_INT_EQ(decode_ctl_target("a\0b", 3), -1);
	CHECK_INT_EQ(decode_ctl_target("a\nb", 3), -1);
	CHECK_INT_EQ(decode_ctl_target("\xff", 1), -1);
	CHECK_INT_EQ(decode_ctl_target("\xc0\x80", 2), -1);
	CHECK_INT_EQ(decode_ctl_target("L\xc3\xa4ptop", 7), 0);

	/* A length that claims more than the payload holds. */
	{
		struct pbuf b;
		struct proto_ctl_target t;

		pbuf_init(&b);
		put_u32be(&b, UINT32_MAX);
		pbuf_add(&b, "abc\0", 4);
		CHECK_INT_EQ(proto_decode(PROTO_CTL_APPROVE, b.data, b.len, &t, sizeof(t)), -1);
		pbuf_free(&b);
	}

	/* An ATOM field (BR_CHALLENGE nonce) refuses what TEXT would allow. */
	{
		struct pbuf b;
		struct proto_challenge ch;
		static const uint8_t conn[8] = { 0, 0, 0, 0, 0, 0, 0, 1 };
		static const uint8_t ts[8] = { 0 };

		pbuf_init(&b);
		pbuf_add(&b, conn, 8);
		put_str(&b, "has space", 9);
		pbuf_add(&b, ts, 8);
		CHECK_INT_EQ(proto_decode(PROTO_BR_CHALLENGE, b.data, b.len, &ch, sizeof(ch)), -1);
		pbuf_reset(&b);
		pbuf_add(&b, conn, 8);
		put_str(&b, "no-space", 8);
		pbuf_add(&b, ts, 8);
		CHECK_INT_EQ(proto_decode(PROTO_BR_CHALLENGE, b.data, b.len, &ch, sizeof(ch)), 0);
		pbuf_free(&b);
	}
}

/* BR_ACCEPT with `count` scopes declared and `present` scope strings following. */
static int
decode_accept_scopes(uint32_t count, uint32_t present)
{
	struct pbuf b;
	struct proto_accept a;
	static const uint8_t zero8[8] = { 0 };
	int rc;

	pbuf_init(&b);
	pbuf_add(&b, zero8, 8);			/* conn */
	put_str(&b, "operator", 8);		/* role */
	put_u32be(&b, count);			/* scopes */
	for (uint32_t i = 0; i < present; i++)
		put_str(&b, "s", 1);
	put_str(&b, "token", 5);		/* method */
	put_str(&b, "", 0);			/* device_id */
	put_str(&b, "", 0);			/* device_token */
	pbuf_add(&b, zero8, 8);			/* issued_at_ms */
	put_str(&b, "", 0);			/* recovery_scope */
	pbuf_add(&b, "\0", 1);			/* flags */
	put_str(&b, "remote", 6);		/* locality */
	for (int i = 0; i < PROTO_TICKET_LEN; i++)
		pbuf_add(&b, "\0", 1);		/* ticket */
	rc = proto_decode(PROTO_BR_ACCEPT, b.data, b.len, &a, sizeof(a));
	if (rc == 0)
		CHECK_INT_EQ(a.scopes.n, count);
	pbuf_free(&b);
	return rc;
}

static void
test_decode_scopes_count(void)
{
	CHECK_INT_EQ(decode_accept_scopes(0, 0), 0);
	CHECK_INT_EQ(decode_accept_scopes(PROTO_MAX_SCOPES, PROTO_MAX_SCOPES), 0);
	/* Over the maximum is refused even when the strings are all there. */
	CHECK_INT_EQ(decode_accept_scopes(PROTO_MAX_SCOPES + 1, PROTO_MAX_SCOPES + 1), -1);
	CHECK_INT_EQ(decode_accept_scopes(UINT32_MAX, 0), -1);
	/* Count and strings disagree. */
	CHECK_INT_EQ(decode_accept_scopes(2, 1), -1);
	CHECK_INT_EQ(decode_accept_scopes(1, 2), -1);
}

/* BR_HELLO with `count` binds. */
static void
test_decode_binds_count(void)
{
	for (uint32_t count = PROTO_MAX_BINDS; count <= PROTO_MAX_BINDS + 1; count++) {
		struct pbuf b;
		struct proto_br_hello h;
		static const uint8_t port[2] = { 0x48, 0xa5 };

		pbuf_init(&b);
		put_str(&b, "0.1.0", 5);
		pbuf_add(&b, port, 2);
		put_u32be(&b, count);
		for (uint32_t i = 0; i < count; i++)
			put_str(&b, "::1", 3);
		/* tick, handshake timeout, max payload, max buffered, max pre-auth */
		for (int i = 0; i < 5; i++)
			put_u32be(&b, 1000);
		put_u32be(&b, 0);		/* no trusted proxies */
		pbuf_add(&b, "\0", 1);		/* allow_real_ip_fallback */
		pbuf_add(&b, "\0", 1);		/* tls_enabled */
		put_str(&b, "", 0);		/* tls_cert_path */
		put_str(&b, "", 0);		/* tls_key_path */
		put_str(&b, "", 0);		/* ui_root */
		put_str(&b, "gatewayctl", 10);	/* gatewayctl */
		testutil_check(proto_decode(PROTO_BR_HELLO, b.data, b.len, &h, sizeof(h)) ==
		    (count <= PROTO_MAX_BINDS ? 0 : -1), __FILE__, __LINE__,
		    "BR_HELLO with %u binds", count);
		pbuf_free(&b);
	}
}

/* A blob is checked as a pval while decoding: a malformed one fails the message. */
static void
test_decode_bad_blob(void)
{
	static const struct {
		const char *bytes;
		uint32_t len;
	} blobs[] = { { "x", 1 }, { "{", 1 }, { "nn", 2 }, { "s\0\0\0\1\xff", 6 } };
	struct proto_event m, out;
	struct frame f;

	for (size_t i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++) {
		memset(&m, 0, sizeof(m));
		SET(m.event, "tick");
		m.payload.data = (const uint8_t *)blobs[i].bytes;
		m.payload.len = blobs[i].len;
		if (frame_encode(&f, PROTO_BR_EVENT, 0, &m) == 0)
			testutil_check(proto_decode(PROTO_BR_EVENT, f.payload, f.len, &out,
			    sizeof(out)) == -1, __FILE__, __LINE__, "event with malformed blob %zu is refused", i);
		pbuf_free(&f.b);
	}
	/* A blob length beyond the payload. */
	{
		struct pbuf b;
		static const uint8_t audience = PROTO_AUDIENCE_PAIRING;

		pbuf_init(&b);
		pbuf_add(&b, &audience, 1);
		put_str(&b, "tick", 4);
		put_u32be(&b, 1000);
		pbuf_add(&b, "n", 1);
		CHECK_INT_EQ(proto_decode(PROTO_BR_EVENT, b.data, b.len, &out, sizeof(out)), -1);
		pbuf_free(&b);
	}
}

/* The destination's size is checked before a byte is written: a type whose
 * struct does not fit is refused and leaves the destination alone, whatever the
 * payload; a bigger destination (a union of messages) is fine. */
static void
test_decode_size(void)
{
	struct proto_accept m;
	union {
		struct proto_conn_ref ref;
		struct proto_accept accept;
	} big;
	uint8_t small[sizeof(struct proto_challenge)], want[sizeof(small)];
	struct frame f;

	memset(&m, 0, sizeof(m));
	m.conn = 7;
	SET(m.role, "operator");
	SET(m.method, "token");
	SET(m.locality, "loopback");
	if (frame_encode(&f, PROTO_BR_ACCEPT, 1, &m) == 0) {
		memset(small, 0xa5, sizeof(small));
		memcpy(want, small, sizeof(small));
		CHECK_INT_EQ(proto_decode(PROTO_BR_ACCEPT, f.payload, f.len, small,
		    sizeof(small)), -1);
		CHECK(memcmp(small, want, sizeof(small)) == 0);
		CHECK_INT_EQ(proto_decode(PROTO_BR_ACCEPT, f.payload, f.len, &big.accept,
		    sizeof(m) - 1), -1);
		CHECK_INT_EQ(proto_decode(PROTO_BR_ACCEPT, f.payload, f.len, &big, sizeof(big)), 0);
		CHECK(memcmp(&big.accept, &m, sizeof(m)) == 0);
	}
	pbuf_free(&f.b);
}

static void
test_header_parse(void)
{
	uint8_t raw[PROTO_HDR_LEN] = { 0, 0, 0, 5, 0x01, 0x03, 0, 1, 0, 0, 0, 42, 0, 0, 0, 0 };
	struct proto_hdr h;

	for (size_t n = 0; n < PROTO_HDR_LEN; n++)
		CHECK_INT_EQ(proto_hdr_parse(raw, n, 100, &h), PROTO_FRAME_NEED_MORE);
	CHECK_INT_EQ(proto_hdr_parse(raw, sizeof(raw), 100, &h), PROTO_FRAME_OK);
	CHECK_INT_EQ(h.len, 5);
	CHECK_INT_EQ(h.type, PROTO_GW_CONNECT);
	CHECK_INT_EQ(h.version, 1);
	CHECK_INT_EQ(h.id, 42);
	/* The payload limit is inclusive. */
	CHECK_INT_EQ(proto_hdr_parse(raw, sizeof(raw), 5, &h), PROTO_FRAME_OK);
	CHECK_INT_EQ(proto_hdr_parse(raw, sizeof(raw), 4, &h), PROTO_FRAME_BAD);
	/* Flags must be zero. */
	raw[15] = 1;
	CHECK_INT_EQ(proto_hdr_parse(raw, sizeof(raw), 100, &h), PROTO_FRAME_BAD);
	raw[15] = 0;
	raw[12] = 0x80;
	CHECK_INT_EQ(proto_hdr_parse(raw, sizeof(raw), 100, &h), PROTO_FRAME_BAD);
	raw[12] = 0;
	/* A huge length is refused before anyone waits for the bytes. */
	raw[0] = 0xff;
	CHECK_INT_EQ(proto_hdr_parse(raw, sizeof(raw), PROTO_MAX_PAYLOAD, &h), PROTO_FRAME_BAD);
	raw[0] = 0;
	/* The version is left to the caller. */
	raw[7] = 9;
	CHECK_INT_EQ(proto_hdr_parse(raw, sizeof(raw), 100, &h), PROTO_FRAME_OK);
	CHECK_INT_EQ(h.version, 9);
}

static void
test_str_ok(void)
{
	CHECK(proto_str_ok("abc", 3, 3, PROTO_CS_ATOM));
	CHECK(!proto_str_ok("abcd", 4, 3, PROTO_CS_ATOM));
	CHECK(proto_str_ok("", 0, 0, PROTO_CS_TEXT));
	CHECK(proto_str_ok("a b", 3, 3, PROTO_CS_TEXT));
	CHECK(!proto_str_ok("a b", 3, 3, PROTO_CS_ATOM));
	CHECK(proto_str_ok("\xc3\xa9", 2, 2, PROTO_CS_TEXT));
	CHECK(!proto_str_ok("\xc3\xa9", 2, 2, PROTO_CS_ATOM));
	CHECK(!proto_str_ok("\xc3", 1, 5, PROTO_CS_TEXT));
	CHECK(!proto_str_ok("a\x1f", 2, 5, PROTO_CS_TEXT));
	CHECK(!proto_str_ok("a\x7f", 2, 5, PROTO_CS_TEXT));
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
	TEST_RUN(test_type_table);
	TEST_RUN(test_encode_overlong_strings);
	TEST_RUN(test_encode_bad_charset);
	TEST_RUN(test_encode_too_many);
	TEST_RUN(test_decode_strings);
	TEST_RUN(test_decode_scopes_count);
	TEST_RUN(test_decode_binds_count);
	TEST_RUN(test_decode_bad_blob);
	TEST_RUN(test_decode_size);
	TEST_RUN(test_header_parse);
	TEST_RUN(test_str_ok);
	return test_exit();
}
