/* gatewayd/wsframe: the frame headers and masking of ws.c's pass mode. */
#include <string.h>

#include "gatewayd/wsframe.h"
#include "testutil.h"

/* A header built for a length parses back to it, and every shorter prefix of
 * it asks for more bytes. */
static void
roundtrip(uint64_t len, const uint8_t *key, size_t want_size)
{
	uint8_t b[WSFRAME_HEAD_MAX];
	struct wsframe_head h;
	size_t n = wsframe_head_build(b, WSFRAME_TEXT, len, key);

	CHECK_INT_EQ(n, want_size);
	for (size_t i = 0; i < n; i++)
		CHECK_INT_EQ(wsframe_head_parse(b, i, &h), 0);
	CHECK_INT_EQ(wsframe_head_parse(b, n, &h), 1);
	CHECK_INT_EQ(h.len, len);
	CHECK_INT_EQ(h.size, n);
	CHECK_INT_EQ(h.fin, 1);
	CHECK_INT_EQ(h.rsv, 0);
	CHECK_INT_EQ(h.opcode, WSFRAME_TEXT);
	CHECK_INT_EQ(h.masked, key != NULL);
	if (key != NULL)
		CHECK_MEM_EQ(h.key, 4, key, 4);
}

static void
test_roundtrip(void)
{
	static const uint8_t key[4] = { 0x37, 0xfa, 0x21, 0x3d };
	static const uint64_t lens[] = { 0, 1, 125, 126, 65535, 65536, 26214400,
	    (uint64_t)1 << 62 };

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t size = lens[i] < 126 ? 2 : lens[i] < 65536 ? 4 : 10;

		roundtrip(lens[i], NULL, size);
		roundtrip(lens[i], key, size + 4);
	}
}

/* RFC 6455 §5.7's examples, byte for byte. */
static void
test_rfc_examples(void)
{
	static const uint8_t unmasked[] = { 0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f };
	static const uint8_t masked[] = { 0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f,
	    0x4d, 0x51, 0x58 };
	static const uint8_t frag[] = { 0x01, 0x03, 0x48, 0x65, 0x6c };
	static const uint8_t ping[] = { 0x89, 0x05 };
	static const uint8_t len256[] = { 0x82, 0x7e, 0x01, 0x00 };
	uint8_t b[WSFRAME_HEAD_MAX], payload[5];
	struct wsframe_head h;

	CHECK_INT_EQ(wsframe_head_build(b, WSFRAME_TEXT, 5, NULL), 2);
	CHECK_MEM_EQ(b, 2, unmasked, 2);
	CHECK_INT_EQ(wsframe_head_build(b, WSFRAME_TEXT, 5, masked + 2), 6);
	CHECK_MEM_EQ(b, 6, masked, 6);
	CHECK_INT_EQ(wsframe_head_parse(masked, sizeof(masked), &h), 1);
	wsframe_mask(payload, masked + h.size, 5, h.key);
	CHECK_MEM_EQ(payload, 5, "Hello", 5);
	CHECK_INT_EQ(wsframe_head_parse(frag, sizeof(frag), &h), 1);
	CHECK(h.fin == 0 && h.opcode == WSFRAME_TEXT && h.len == 3 && h.size == 2);
	CHECK_INT_EQ(wsframe_head_parse(ping, sizeof(ping), &h), 1);
	CHECK(h.fin == 1 && h.opcode == 0x9 && wsframe_is_control(h.opcode));
	CHECK_INT_EQ(wsframe_head_parse(len256, sizeof(len256), &h), 1);
	CHECK(h.opcode == WSFRAME_BINARY && h.len == 256 && h.size == 4);
}

/* Only the shortest length encoding, and never the 64-bit form's top bit. */
static void
test_refused_lengths(void)
{
	static const uint8_t short16[] = { 0x81, 0x7e, 0x00, 0x7d };
	static const uint8_t short64[] = { 0x81, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t top[] = { 0x81, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t least16[] = { 0x81, 0x7e, 0x00, 0x7e };
	static const uint8_t least64[] = { 0x81, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0 };
	struct wsframe_head h;

	CHECK_INT_EQ(wsframe_head_parse(short16, sizeof(short16), &h), -1);
	CHECK_INT_EQ(wsframe_head_parse(short64, sizeof(short64), &h), -1);
	CHECK_INT_EQ(wsframe_head_parse(top, sizeof(top), &h), -1);
	CHECK_INT_EQ(wsframe_head_parse(least16, sizeof(least16), &h), 1);
	CHECK_INT_EQ(h.len, 126);
	CHECK_INT_EQ(wsframe_head_parse(least64, sizeof(least64), &h), 1);
	CHECK_INT_EQ(h.len, 65536);
}

/* RSV bits and opcodes come back as sent: ws.c decides what they mean. */
static void
test_fields_as_sent(void)
{
	static const uint8_t b[] = { 0x7b, 0x00 };
	struct wsframe_head h;

	CHECK_INT_EQ(wsframe_head_parse(b, sizeof(b), &h), 1);
	CHECK(h.fin == 0 && h.rsv == 0x70 && h.opcode == 0xb && h.masked == 0 && h.len == 0);
}

/* Word-wise masking agrees with the byte-wise definition at every length and
 * alignment, in place and copying. */
static void
test_mask(void)
{
	static const uint8_t key[4] = { 0xa5, 0x01, 0x7e, 0xff };
	uint8_t src[80], dst[80], ref[80];

	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 37 + 11);
	for (size_t off = 0; off < 8; off++) {
		for (size_t len = 0; len + off <= 72; len++) {
			for (size_t i = 0; i < len; i++)
				ref[i] = src[off + i] ^ key[i % 4];
			memset(dst, 0, sizeof(dst));
			wsframe_mask(dst + off, src + off, len, key);
			CHECK_MEM_EQ(dst + off, len, ref, len);
			memcpy(dst, src, sizeof(src));
			wsframe_mask(dst + off, dst + off, len, key);
			CHECK_MEM_EQ(dst + off, len, ref, len);
			CHECK_MEM_EQ(dst + off + len, sizeof(dst) - off - len, src + off + len,
			    sizeof(src) - off - len);
		}
	}
}

int
main(void)
{
	TEST_RUN(test_roundtrip);
	TEST_RUN(test_rfc_examples);
	TEST_RUN(test_refused_lengths);
	TEST_RUN(test_fields_as_sent);
	TEST_RUN(test_mask);
	return test_exit();
}
