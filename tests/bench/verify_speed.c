/*
 * clawgate-verify-speed: CPU time of one Ed25519 verification, with OpenSSL 3
 * (the floor issue 6 is stated in) and with libsodium (what brokerd uses), over a
 * signed v3 payload of a real connect's size. Prints one JSON line:
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

/* As brokerd did before libsodium: a key object, a context, one-shot verify. */
static int
vs_openssl_once(const unsigned char pk[32], const unsigned char sig[64])
{
	EVP_PKEY *key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk, 32);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = key != NULL && ctx != NULL &&
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
	    EVP_DigestVerify(ctx, sig, 64, (const unsigned char *)vs_msg, strlen(vs_msg)) == 1;

	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return ok;
}

int
main(void)
{
	unsigned char pk[32], sk[64], sig[64];
	double t0, t1, t2;
	int ok = 0;

	log_init("clawgate-verify-speed", LOG_LEVEL_WARN);
	if (sodium_init() < 0)
		fatalx("cannot initialise libsodium");
	crypto_sign_keypair(pk, sk);
	crypto_sign_detached(sig, NULL, (const unsigned char *)vs_msg, strlen(vs_msg), sk);
	t0 = vs_cpu_s();
	for (int i = 0; i < VS_ROUNDS; i++)
		ok += vs_openssl_once(pk, sig);
	t1 = vs_cpu_s();
	for (int i = 0; i < VS_ROUNDS; i++)
		ok += crypto_sign_verify_detached(sig, (const unsigned char *)vs_msg,
		    strlen(vs_msg), pk) == 0;
	t2 = vs_cpu_s();
	if (ok != 2 * VS_ROUNDS)
		fatalx("a valid signature failed to verify (%d of %d)", ok, 2 * VS_ROUNDS);
	printf("{\"openssl_us\":%.1f,\"libsodium_us\":%.1f}\n", (t1 - t0) * 1e6 / VS_ROUNDS,
	    (t2 - t1) * 1e6 / VS_ROUNDS);
	return 0;
}
