/* Device identities for the load generator (see devkey.h). */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sodium.h>

#include "common/log.h"
#include "devkey.h"

#define DEVKEY_RAW 32
/* Keys and signatures as clients send them. */
#define DEVKEY_B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

/* Fills pub and id from the key pair (both are derived, never stored). */
static void
devkey_derive(struct devkey *k)
{
	unsigned char raw[DEVKEY_RAW], digest[SHA256_DIGEST_LENGTH];
	size_t len = sizeof(raw);

	if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &len) != 1 || len != DEVKEY_RAW)
		fatalx("devkey: cannot read an Ed25519 public key (OpenSSL 3 with Ed25519 needed)");
	sodium_bin2base64(k->pub, sizeof(k->pub), raw, len, DEVKEY_B64);
	SHA256(raw, len, digest);
	sodium_bin2hex(k->id, sizeof(k->id), digest, sizeof(digest));
}

void
devkey_generate(struct devkey *k)
{
	memset(k, 0, sizeof(*k));
	k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (k->pkey == NULL)
		fatalx("devkey: Ed25519 key generation failed (OpenSSL 3 with Ed25519 needed)");
	devkey_derive(k);
}

void
devkey_clear(struct devkey *k)
{
	EVP_PKEY_free(k->pkey);
	memset(k, 0, sizeof(*k));
}

void
devkey_sign(const struct devkey *k, const char *payload, size_t len,
    char sig[DEVKEY_SIG_LEN + 1])
{
	unsigned char raw[64];
	size_t rawlen = sizeof(raw);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, raw, &rawlen, (const unsigned char *)payload, len) != 1 ||
	    rawlen != sizeof(raw))
		fatalx("devkey: Ed25519 signing failed");
	EVP_MD_CTX_free(ctx);
	sodium_bin2base64(sig, DEVKEY_SIG_LEN + 1, raw, rawlen, DEVKEY_B64);
}

void
devkey_save(const char *path, const struct devkey *keys, size_t n)
{
	char tmp[4096], priv[DEVKEY_PUB_LEN + 1];
	unsigned char raw[DEVKEY_RAW];
	FILE *f;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		fatalx("devkey: keys file path too long: %s", path);
	if ((f = fopen(tmp, "w")) == NULL)
		fatal("devkey: cannot write %s", tmp);
	for (size_t i = 0; i < n; i++) {
		size_t len = sizeof(raw);

		if (EVP_PKEY_get_raw_private_key(keys[i].pkey, raw, &len) != 1 ||
		    len != DEVKEY_RAW)
			fatalx("devkey: cannot read an Ed25519 private key");
		sodium_bin2base64(priv, sizeof(priv), raw, len, DEVKEY_B64);
		fprintf(f, "%s %s %s\n", keys[i].id, priv, keys[i].token);
	}
	if (fflush(f) != 0 || ferror(f) || fclose(f) != 0)
		fatal("devkey: writing %s", tmp);
	if (rename(tmp, path) != 0)
		fatal("devkey: rename %s to %s", tmp, path);
}

size_t
devkey_load(const char *path, struct devkey *keys, size_t max)
{
	char line[512], id[DEVKEY_ID_LEN + 2], priv[DEVKEY_PUB_LEN + 2];
	char token[DEVKEY_TOKEN_MAX + 2];
	unsigned char raw[DEVKEY_RAW];
	size_t n = 0, lineno = 0, rawlen;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		fatal("devkey: cannot read keys file %s (create it with clawgate-loadgen "
		    "--kind pair --keys %s)", path, path);
	while (n < max && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		/* The widths keep every field inside its buffer; a longer one fails the
		 * length checks below. */
		if (sscanf(line, "%65s %44s %129s", id, priv, token) != 3 ||
		    strlen(id) != DEVKEY_ID_LEN || strlen(token) > DEVKEY_TOKEN_MAX ||
		    sodium_base642bin(raw, sizeof(raw), priv, strlen(priv), NULL, &rawlen, NULL,
		    DEVKEY_B64) != 0 || rawlen != DEVKEY_RAW)
			fatalx("devkey: %s:%zu: want \"<deviceId> <private key> <device token>\"; "
			    "recreate the file with clawgate-loadgen --kind pair", path, lineno);
		memset(&keys[n], 0, sizeof(keys[n]));
		keys[n].pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw,
		    DEVKEY_RAW);
		if (keys[n].pkey == NULL)
			fatalx("devkey: %s:%zu: not an Ed25519 private key", path, lineno);
		devkey_derive(&keys[n]);
		if (strcmp(keys[n].id, id) != 0)
			fatalx("devkey: %s:%zu: device id does not match the key; recreate the "
			    "file with clawgate-loadgen --kind pair", path, lineno);
		memcpy(keys[n].token, token, strlen(token) + 1);
		n++;
	}
	fclose(f);
	return n;
}
