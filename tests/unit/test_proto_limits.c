/*
 * proto's limits: the type table, and the encoder and decoder, which the broker
 * runs on hostile bytes from a possibly compromised gatewayd, refusing everything
 * just outside a field's limits: over-long strings, bad charsets, embedded NULs,
 * too many scopes or binds, bad blobs, a destination too small; and the frame
 * header's parser.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "protocheck.h"
#include "testutil.h"

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
		T(PROTO_CTL_AUDIT), T(PROTO_CTL_DASHBOARD), T(PROTO_CTL_DOCTOR),
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
		put_str(&b, "", 0);		/* tls_cert_der */
		put_str(&b, "", 0);		/* tls_key_der */
		put_str(&b, "", 0);		/* ui_root */
		put_str(&b, "gatewayctl", 10);	/* gatewayctl */
		/* relay mode off: address, port 0, host, user header, user, no
		 * required headers, placeholder */
		put_str(&b, "", 0);
		pbuf_add(&b, "\0\0", 2);
		for (int i = 0; i < 3; i++)
			put_str(&b, "", 0);
		put_u32be(&b, 0);
		put_str(&b, "", 0);
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

/* Text a client chose and admins see: letters of any script and emoji pass;
 * C0/C1 controls, DEL and bidirectional formatting do not, where TEXT takes
 * the C1 and bidi ones. */
static void
test_str_ok_display(void)
{
	static const char *const pass[] = {
		"Kitchen laptop", "Linux x86_64", "2026.9.6", "operator.read",
		"L\xc3\xa4ptop \xe2\x98\x95 \xf0\x9f\x94\x91",	/* Läptop ☕ 🔑 */
		"\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d",	/* Hebrew, right to left by itself */
		"\xe5\x8f\xb0\xe5\xbc\x8f",		/* CJK */
		"\xc2\xa0\xc2\xa9",			/* U+00A0, U+00A9: just above C1 */
	};
	static const char *const refuse[] = {
		"a\x1b[31m", "a\x7f", "a\xc2\x80", "a\xc2\x9b\x33\x31m", "a\xc2\x9f",
		"a\xd8\x9c", "a\xe2\x80\x8e", "a\xe2\x80\x8f",
		"a\xe2\x80\xaa", "a\xe2\x80\xae", "a\xe2\x81\xa6", "a\xe2\x81\xa9",
		"a\xe2\x80\xa8", "a\xe2\x80\xa9", "a\xc3",
	};

	for (size_t i = 0; i < sizeof(pass) / sizeof(pass[0]); i++)
		testutil_check(proto_str_ok(pass[i], strlen(pass[i]), 64, PROTO_CS_DISPLAY),
		    __FILE__, __LINE__, "DISPLAY admits sample %zu", i);
	for (size_t i = 0; i < sizeof(refuse) / sizeof(refuse[0]); i++)
		testutil_check(!proto_str_ok(refuse[i], strlen(refuse[i]), 64, PROTO_CS_DISPLAY),
		    __FILE__, __LINE__, "DISPLAY refuses sample %zu", i);
	/* TEXT, for secrets and brokerd's own text, keeps admitting C1 and bidi. */
	CHECK(proto_str_ok("a\xc2\x9b", 3, 5, PROTO_CS_TEXT));
	CHECK(proto_str_ok("a\xe2\x80\xae", 4, 5, PROTO_CS_TEXT));
	CHECK(!proto_str_ok("abcd", 4, 3, PROTO_CS_DISPLAY));
}

/* The connect's client-chosen fields refuse a bidi override on the wire too:
 * brokerd does not rely on gatewayd having checked. */
static void
test_connect_display_fields(void)
{
	static struct proto_connect c, out;
	struct pbuf b;

	memset(&c, 0, sizeof(c));
	snprintf(c.client_id, sizeof(c.client_id), "cli");
	snprintf(c.client_display_name, sizeof(c.client_display_name), "Laptop \xf0\x9f\x94\x91");
	pbuf_init(&b);
	CHECK_INT_EQ(proto_encode(&b, PROTO_GW_CONNECT, 1, &c), 0);
	CHECK_INT_EQ(proto_decode(PROTO_GW_CONNECT, b.data + PROTO_HDR_LEN,
	    b.len - PROTO_HDR_LEN, &out, sizeof(out)), 0);
	CHECK_STR_EQ(out.client_display_name, c.client_display_name);
	b.len = 0;
	snprintf(c.client_display_name, sizeof(c.client_display_name), "evil\xe2\x80\xaegpj.exe");
	CHECK_INT_EQ(proto_encode(&b, PROTO_GW_CONNECT, 1, &c), -1);
	snprintf(c.client_display_name, sizeof(c.client_display_name), "ok");
	snprintf(c.device_id, sizeof(c.device_id), "id\xc2\x9b" "2J");
	CHECK_INT_EQ(proto_encode(&b, PROTO_GW_CONNECT, 1, &c), -1);
	/* A peer that writes it anyway (a gatewayd that skipped the check). */
	snprintf(c.device_id, sizeof(c.device_id), "@@@@");
	CHECK_INT_EQ(proto_encode(&b, PROTO_GW_CONNECT, 1, &c), 0);
	for (size_t i = PROTO_HDR_LEN; i + 4 <= b.len; i++)
		if (memcmp(b.data + i, "@@@@", 4) == 0)
			memcpy(b.data + i, "a\xe2\x80\xae", 4);
	CHECK_INT_EQ(proto_decode(PROTO_GW_CONNECT, b.data + PROTO_HDR_LEN,
	    b.len - PROTO_HDR_LEN, &out, sizeof(out)), -1);
	pbuf_free(&b);
}

int
main(void)
{
	TEST_RUN(test_type_table);
	TEST_RUN(test_str_ok_display);
	TEST_RUN(test_connect_display_fields);
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
