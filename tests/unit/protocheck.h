/*
 * What the proto unit tests (test_proto_messages.c, test_proto_limits.c) share:
 * filling fields to their limits, encoding a message into a frame whose header is
 * checked, and a round trip that also checks every truncation and a trailing byte
 * is refused. Header-only, like testutil.h, whose counters it reports to.
 */
#ifndef CLAWGATE_PROTOCHECK_H
#define CLAWGATE_PROTOCHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/pbuf.h"
#include "proto/proto.h"
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

struct frame {
	struct pbuf b;
	const uint8_t *payload;
	uint32_t len;
};

/* Encodes msg and checks the header fields; 0 on success. */
static inline int
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
static inline void
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
static inline void
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

/* A GW_CONNECT with every field set, as a client with a device sends it. */
static inline void
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

#endif
