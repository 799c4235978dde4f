/* Secret material: the shared gateway token on disk, constant-time comparison
 * (doc/protocol.md §4.3), device-token minting and hashing. Plaintexts are wiped with
 * OPENSSL_cleanse before their memory is released and never logged. */
#ifndef BROKERD_SECRET_H
#define BROKERD_SECRET_H

#include <stddef.h>

#include <sodium.h>

/* 32 random bytes, base64url without padding: 43 characters. */
#define SECRET_TOKEN_BYTES 32
#define SECRET_TOKEN_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define SECRET_TOKEN_LEN \
	(sodium_base64_ENCODED_LEN(SECRET_TOKEN_BYTES, SECRET_TOKEN_VARIANT) - 1)
#define SECRET_HASH_LEN 64	/* SHA-256 as lower-case hex */
#define SECRET_TOKEN_FILE "gateway.token"

/* Whether a configured secret counts: blank, "undefined" and "null" do not. */
int secret_configured(const char *s);

/* 1 iff a and b are equal. Compares over the longer length with the shorter one
 * padded, without early exit, and only then requires equal lengths, so timing
 * reveals neither a common prefix nor the length of the configured secret. */
int secret_equal(const char *a, const char *b);

/* Mints a fresh token (SECRET_TOKEN_LEN chars + NUL) into out. */
void secret_mint(char out[SECRET_TOKEN_LEN + 1]);
/* SHA-256 of s as lower-case hex (SECRET_HASH_LEN chars + NUL). */
void secret_hash(const char *s, char out[SECRET_HASH_LEN + 1]);

/* Reads <state>/gateway.token: a malloc'd token, or NULL with errno (ENOENT if
 * there is none yet, EINVAL if the file holds no usable token, ELOOP if it is a
 * symbolic link, which is never followed). */
char *secret_token_load(int state_fd);
/* Atomically writes token to <state>/gateway.token with mode 0600; -1 with errno. */
int secret_token_save(int state_fd, const char *token);

/* Wipes and frees a malloc'd secret; NULL is fine. */
void secret_free(char *s);

#endif
