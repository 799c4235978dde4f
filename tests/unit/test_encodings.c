/* Bytes as text, all through libsodium's constant-time codecs: the base64 that
 * clients send keys and signatures in (devproof_b64_decode, either alphabet,
 * padded or not, against RFC 4648 §10 and the spellings real clients send), and
 * what brokerd writes: shared and device tokens (unpadded base64url), their
 * hashes and device ids (lower-case hex), canonical keys (unpadded base64url). */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "brokerd/devproof.h"
#include "brokerd/secret.h"
#include "common/random.h"
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
	return devproof_b64_decode(s, strlen(s), out, outsz);
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
	uint8_t dec[16];

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

		testutil_check(n == -1, __FILE__, __LINE__,
		    "devproof_b64_decode(\"%s\") == -1 (got %ld)", bad[i], n);
	}
	/* A NUL inside the given length is a bad character, not an end. */
	CHECK_INT_EQ(devproof_b64_decode("Zg\0=", 4, out, sizeof(out)), -1);
	CHECK_INT_EQ(devproof_b64_decode("Zg\0\0", 4, out, sizeof(out)), -1);
}

static void
test_decode_bounds(void)
{
	uint8_t dec[97], raw[97];
	char enc[140];

	/* Exactly enough room works, one byte less fails. */
	CHECK_INT_EQ(decode_str("Zm9v", dec, 3), 3);
	CHECK_INT_EQ(decode_str("Zm9v", dec, 2), -1);
	CHECK_INT_EQ(decode_str("Zm9vYg", dec, 4), 4);
	CHECK_INT_EQ(decode_str("Zm9vYg", dec, 3), -1);
	CHECK_INT_EQ(decode_str("", dec, 0), 0);
	/* At most 128 characters, however much room there is. */
	memset(raw, 0xa5, sizeof(raw));
	sodium_bin2base64(enc, sizeof(enc), raw, 96, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	CHECK_INT_EQ(strlen(enc), 128);
	CHECK_INT_EQ(decode_str(enc, dec, sizeof(dec)), 96);
	sodium_bin2base64(enc, sizeof(enc), raw, 97, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	CHECK_INT_EQ(decode_str(enc, dec, sizeof(dec)), -1);
}

/* Every length a key or signature can have, in all four spellings. */
static void
test_roundtrip(void)
{
	static const int variants[] = { sodium_base64_VARIANT_ORIGINAL,
		sodium_base64_VARIANT_ORIGINAL_NO_PADDING, sodium_base64_VARIANT_URLSAFE,
		sodium_base64_VARIANT_URLSAFE_NO_PADDING };
	uint8_t raw[66], dec[66];
	char enc[100];

	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(255 - i * 7);
	for (size_t len = 0; len <= sizeof(raw); len++) {
		for (size_t v = 0; v < sizeof(variants) / sizeof(variants[0]); v++) {
			long d;

			sodium_bin2base64(enc, sizeof(enc), raw, len, variants[v]);
			d = decode_str(enc, dec, sizeof(dec));
			CHECK_INT_EQ(d, len);
			CHECK_MEM_EQ(dec, d < 0 ? 0 : (size_t)d, raw, len);
		}
	}
}

/* Keys: any spelling in, the canonical unpadded base64url out (43 characters). */
static void
test_canonical_key(void)
{
	uint8_t key[DEVPROOF_KEY_BYTES];
	char canon[DEVPROOF_KEY_LEN + 1];
	char id[DEVPROOF_ID_LEN + 1];

	CHECK_INT_EQ(DEVPROOF_KEY_LEN, 43);
	CHECK_INT_EQ(devproof_key_decode("0GDD1hJUVmB/8IX7K5OPxiKPDnhMbZr2UNDpjt6PSCk=", key,
	    canon), 0);
	CHECK_INT_EQ(key[0], 0xd0);
	CHECK_INT_EQ(key[31], 0x29);
	CHECK_STR_EQ(canon, "0GDD1hJUVmB_8IX7K5OPxiKPDnhMbZr2UNDpjt6PSCk");
	/* The device id: SHA-256 of the raw key, lower-case hex. */
	devproof_device_id(key, id);
	CHECK_STR_EQ(id, "b07bd0de084e691f2f117025ec5e181bb2042b00577a86088f5ead1ee6904cac");
}

static void
test_tokens_and_hashes(void)
{
	char a[SECRET_TOKEN_LEN + 1], b[SECRET_TOKEN_LEN + 1], hash[SECRET_HASH_LEN + 1];
	uint8_t raw[SECRET_TOKEN_BYTES + 1];

	CHECK_INT_EQ(SECRET_TOKEN_LEN, 43);
	secret_mint(a);
	secret_mint(b);
	CHECK_INT_EQ(strlen(a), SECRET_TOKEN_LEN);
	CHECK(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
	    SECRET_TOKEN_LEN);
	CHECK_INT_EQ(decode_str(a, raw, sizeof(raw)), SECRET_TOKEN_BYTES);
	CHECK(strcmp(a, b) != 0);
	/* SHA-256("abc") from FIPS 180-2. */
	secret_hash("abc", hash);
	CHECK_STR_EQ(hash, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int
main(void)
{
	random_init();
	TEST_RUN(test_rfc4648_decode_padded_and_unpadded);
	TEST_RUN(test_alphabets);
	TEST_RUN(test_decode_rejects_bad_input);
	TEST_RUN(test_decode_bounds);
	TEST_RUN(test_roundtrip);
	TEST_RUN(test_canonical_key);
	TEST_RUN(test_tokens_and_hashes);
	return test_exit();
}
