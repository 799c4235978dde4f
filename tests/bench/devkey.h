/* Device identities of the load generator: Ed25519 keys (OpenSSL), the device id
 * (SHA-256 hex of the raw public key, doc/protocol.md §3.1), the device token a paired
 * device received, and a keys file so pairing is done once and reused by every run. */
#ifndef CLAWGATE_BENCH_DEVKEY_H
#define CLAWGATE_BENCH_DEVKEY_H

#include <stddef.h>

#include <openssl/evp.h>

#define DEVKEY_ID_LEN 64
#define DEVKEY_PUB_LEN 43	/* base64url of 32 bytes, unpadded */
#define DEVKEY_SIG_LEN 86	/* base64url of 64 bytes, unpadded */
#define DEVKEY_TOKEN_MAX 128	/* device tokens are 43 characters; room for other gateways */

struct devkey {
	EVP_PKEY *pkey;
	char pub[DEVKEY_PUB_LEN + 1];
	char id[DEVKEY_ID_LEN + 1];
	char token[DEVKEY_TOKEN_MAX + 1];	/* "" until the device is paired */
};

void devkey_generate(struct devkey *k);
void devkey_clear(struct devkey *k);
/* Signs payload; writes the base64url signature and a NUL into sig. */
void devkey_sign(const struct devkey *k, const char *payload, size_t len,
    char sig[DEVKEY_SIG_LEN + 1]);
/* Keys file: one line per device, "<deviceId> <private key b64url> <device token>". */
void devkey_save(const char *path, const struct devkey *keys, size_t n);
/* Loads at most max keys; fatal on a malformed line (names the file and line). */
size_t devkey_load(const char *path, struct devkey *keys, size_t max);

#endif
