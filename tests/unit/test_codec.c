/* common/codec: base64url (keys, signatures, tokens), padded base64
 * (Sec-WebSocket-Accept) and hex (device ids), against RFC 4648 §10 and the
 * spellings real clients send. */
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"
#include "testutil.h"

struct vec {
	const char *plain;
	const char *b64;	/* RFC 4648 §10, padded */
	const char *b64url;	/* same, unpadded */
};

static const struct vec rfc4648[] = {
	{ "", "", "" },
	{ "f", "Zg==", "Zg" },
	{ "fo", "Zm8=", "Zm8" },
	{ "foo", "Zm9v", "Zm9v" },
	{ "foob", "Zm9vYg==", "Zm9vYg" },
	{ "fooba", "Zm9vYmE=", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy", "Zm9vYmFy" },
};

#define NVEC (sizeof(rfc4648) / sizeof(rfc4648[0]))

static long
decode_str(const char *s, uint8_t *out, size_t outsz)
{
	return b64_decode(s, strlen(s), out, outsz);
}

static void
test_rfc4648_encode(void)
{
	for (size_t i = 0; i < NVEC; i++) {
		const struct vec *v = &rfc4648[i];
		char out[32];
		size_t n = strlen(v->plain);

		CHECK_INT_EQ(b64_encode((const uint8_t *)v->plain, n, out, sizeof(out)),
		    strlen(v->b64));
		CHECK_STR_EQ(out, v->b64);
		CHECK_INT_EQ(b64url_encode((const uint8_t *)v->plain, n, out, sizeof(out)),
		    strlen(v->b64url));
		CHECK_STR_EQ(out, v->b64url);
		CHECK_INT_EQ(B64URL_LEN(n), strlen(v->b64url));
	}
}

static void
test_rfc4648_decode_padded_and_unpadded(void)
{
	for (size_t i = 0; i < NVEC; i++) {
		const struct vec *v = &rfc4648[i];
		uint8_t out[32];
		long n;

		n = decode_str(v->b64, out, sizeof(out));
		CHECK_MEM_EQ(out, n < 0 ? 0 : (size_t)n, v->plain, strlen(v->plain));
		CHECK_INT_EQ(n, strlen(v->plain));
		n = decode_str(v->b64url, out, sizeof(out));
		CHECK_MEM_EQ(out, n < 0 ? 0 : (size_t)n, v->plain, strlen(v->plain));
		CHECK_INT_EQ(n, strlen(v->plain));
	}
}

/* 0xfb 0xff 0xbf uses sextets 62 and 63, the two that differ between the alphabets. */
static void
test_alphabets(void)
{
	static const uint8_t raw[] = { 0xfb, 0xff, 0xbf, 0xfb, 0xf0 };
	char out[16];
	uint8_t dec[16];

	CHECK_INT_EQ(b64_encode(raw, sizeof(raw), out, sizeof(out)), 8);
	CHECK_STR_EQ(out, "+/+/+/A=");
	CHECK_INT_EQ(b64url_encode(raw, sizeof(raw), out, sizeof(out)), 7);
	CHECK_STR_EQ(out, "-_-_-_A");
	/* Every spelling a client might send decodes to the same bytes. */
	static const char *const spellings[] = { "+/+/+/A=", "+/+/+/A", "-_-_-_A", "-_-_-_A=",
		"-/+_-/A" };
	for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
		long n = decode_str(spellings[i], dec, sizeof(dec));

		CHECK_INT_EQ(n, sizeof(raw));
		CHECK_MEM_EQ(dec, n < 0 ? 0 : (size_t)n, raw, sizeof(raw));
	}
}

static void
test_decode_rejects_bad_input(void)
{
	static const char *const bad[] = {
		"Z",		/* a lone sextet cannot end a group */
		"Zm9vY",	/* same after a full group */
		"Zg=",		/* padding that does not complete a quantum */
		"Zg===",	/* three pad characters */
		"Zm8==",	/* two pads after three characters */
		"=",
		"====",
		"Zg=a",		/* pad in the middle */
		"Z=g=",
		"Zm 9v",	/* whitespace */
		"Zm9v\n",
		"Zm*v",		/* outside both alphabets */
		"Zm9v.",
		"Zh",		/* non-zero leftover bits: "Zg" is the only spelling of "f" */
		"Zh==",
		"Zm9",		/* valid length, but "Zm8" is the only spelling of "fo" */
	};
	uint8_t out[16];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long n = decode_str(bad[i], out, sizeof(out));

		testutil_check(n == -1, __FILE__, __LINE__, "b64_decode(\"%s\") == -1 (got %ld)",
		    bad[i], n);
	}
	/* A NUL inside the given length is a bad character, not an end. */
	CHECK_INT_EQ(b64_decode("Zg\0=", 4, out, sizeof(out)), -1);
}

static void
test_output_bounds(void)
{
	uint8_t dec[8];
	char enc[16];
	static const uint8_t foo[] = { 'f', 'o', 'o' };

	/* Decoding: exactly enough room works, one byte less fails. */
	CHECK_INT_EQ(decode_str("Zm9v", dec, 3), 3);
	CHECK_INT_EQ(decode_str("Zm9v", dec, 2), -1);
	CHECK_INT_EQ(decode_str("Zm9vYg", dec, 4), 4);
	CHECK_INT_EQ(decode_str("Zm9vYg", dec, 3), -1);
	CHECK_INT_EQ(decode_str("", dec, 0), 0);
	/* Encoding needs room for the NUL too; too small writes nothing and says 0. */
	CHECK_INT_EQ(b64url_encode(foo, 3, enc, 5), 4);
	memset(enc, 'X', sizeof(enc));
	CHECK_INT_EQ(b64url_encode(foo, 3, enc, 4), 0);
	CHECK_INT_EQ(enc[0], 'X');
	CHECK_INT_EQ(b64_encode(foo, 1, enc, 5), 4);
	CHECK_INT_EQ(b64_encode(foo, 1, enc, 4), 0);
	CHECK_INT_EQ(b64url_encode(foo, 0, enc, 1), 0);
	CHECK_STR_EQ(enc, "");
}

/* The sizes clawgate meets: Ed25519 keys (32), signatures (64), tokens (32). */
static void
test_protocol_sizes(void)
{
	uint8_t raw[64], dec[64];
	char enc[100];
	long n;

	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(i * 37 + 11);
	CHECK_INT_EQ(B64URL_LEN(32), 43);
	CHECK_INT_EQ(B64URL_LEN(64), 86);
	CHECK_INT_EQ(b64url_encode(raw, 32, enc, sizeof(enc)), 43);
	CHECK_INT_EQ(b64url_encode(raw, 64, enc, sizeof(enc)), 86);
	n = b64_decode(enc, 86, dec, sizeof(dec));
	CHECK_INT_EQ(n, 64);
	CHECK_MEM_EQ(dec, 64, raw, 64);

	/* Vector A's public key (PROTOCOL.md §3.4). */
	n = decode_str("0GDD1hJUVmB_8IX7K5OPxiKPDnhMbZr2UNDpjt6PSCk", dec, sizeof(dec));
	CHECK_INT_EQ(n, 32);
	CHECK_INT_EQ(dec[0], 0xd0);
	CHECK_INT_EQ(dec[31], 0x29);
}

static void
test_roundtrip_all_lengths(void)
{
	uint8_t raw[100], dec[100];
	char enc[200];

	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(255 - i * 7);
	for (size_t len = 0; len <= sizeof(raw); len++) {
		size_t e = b64url_encode(raw, len, enc, sizeof(enc));
		long d = b64_decode(enc, e, dec, sizeof(dec));

		CHECK_INT_EQ(e, B64URL_LEN(len));
		CHECK_INT_EQ(d, len);
		CHECK_MEM_EQ(dec, d < 0 ? 0 : (size_t)d, raw, len);
		e = b64_encode(raw, len, enc, sizeof(enc));
		CHECK_INT_EQ(e, ((len + 2) / 3) * 4);
		d = b64_decode(enc, e, dec, sizeof(dec));
		CHECK_INT_EQ(d, len);
		CHECK_MEM_EQ(dec, d < 0 ? 0 : (size_t)d, raw, len);
	}
}

static void
test_hex(void)
{
	static const uint8_t raw[] = { 0x00, 0x0f, 0xa5, 0xff, 0x10 };
	char out[2 * sizeof(raw) + 1];

	hex_encode(raw, sizeof(raw), out);
	CHECK_STR_EQ(out, "000fa5ff10");
	memset(out, 'X', sizeof(out));
	hex_encode(raw, 0, out);
	CHECK_STR_EQ(out, "");
}

int
main(void)
{
	TEST_RUN(test_rfc4648_encode);
	TEST_RUN(test_rfc4648_decode_padded_and_unpadded);
	TEST_RUN(test_alphabets);
	TEST_RUN(test_decode_rejects_bad_input);
	TEST_RUN(test_output_bounds);
	TEST_RUN(test_protocol_sizes);
	TEST_RUN(test_roundtrip_all_lengths);
	TEST_RUN(test_hex);
	return test_exit();
}
