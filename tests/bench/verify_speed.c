/*
 * clawgate-verify-speed: CPU time of one Ed25519 verification, with OpenSSL 3 at
 * its best (the floor the targets are stated in) and with libsodium (what brokerd
 * uses), over a signed v3 payload of a real connect's size. Prints one JSON line:
 * {"openssl_us":..., "libsodium_us":...}. tests/bench/run reads it.
 */
#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

#define VS_ROUNDS 3000

static const char vs_msg[] =
    "v3|b07bd0de084e691f2f117025ec5e181bb2042b00577a86088f5ead1ee6904cac|cli|cli|"
    "operator|operator.read|1795511295036|test-token-0123456789abcdef0123456789abcdef|"
    "d1fb90d0-671c-4cbf-950f-ddf281376c5e|linux|linux";

static double
vs_cpu_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* OpenSSL's best case, as `openssl speed ed25519` measures it: one key object
 * and one context, set up once, then one-shot verifies. */
static double
vs_openssl_us(const unsigned char pk[32], const unsigned char sig[64])
{
	EVP_PKEY *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk, 32);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	double t0;
	int ok = 0;

	if (key == NULL || ctx == NULL || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) != 1)
		fatalx("cannot set up an OpenSSL Ed25519 verification");
	t0 = vs_cpu_s();
	for (int i = 0; i < VS_ROUNDS; i++)
		ok += EVP_DigestVerify(ctx, sig, 64, (const unsigned char *)vs_msg,
		    strlen(vs_msg)) == 1;
	t0 = vs_cpu_s() - t0;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	if (ok != VS_ROUNDS)
		fatalx("OpenSSL failed to verify a valid signature (%d of %d)", ok, VS_ROUNDS);
	return t0 * 1e6 / VS_ROUNDS;
}

/* libsodium's, as brokerd calls it. */
static double
vs_libsodium_us(const unsigned char pk[32], const unsigned char sig[64])
{
	double t0 = vs_cpu_s();
	int ok = 0;

	for (int i = 0; i < VS_ROUNDS; i++)
		ok += crypto_sign_verify_detached(sig, (const unsigned char *)vs_msg,
		    strlen(vs_msg), pk) == 0;
	t0 = vs_cpu_s() - t0;
	if (ok != VS_ROUNDS)
		fatalx("libsodium failed to verify a valid signature (%d of %d)", ok, VS_ROUNDS);
	return t0 * 1e6 / VS_ROUNDS;
}

int
main(void)
{
	unsigned char pk[32], sk[64], sig[64];

	log_init("clawgate-verify-speed", LOG_LEVEL_WARN);
	if (sodium_init() < 0)
		fatalx("cannot initialise libsodium");
	crypto_sign_keypair(pk, sk);
	crypto_sign_detached(sig, NULL, (const unsigned char *)vs_msg, strlen(vs_msg), sk);
	printf("{\"openssl_us\":%.1f,\"libsodium_us\":%.1f}\n", vs_openssl_us(pk, sig),
	    vs_libsodium_us(pk, sig));
	return 0;
}
