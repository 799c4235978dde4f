#include "brokerd/secret.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "brokerd/fileio.h"
#include "common/random.h"
#include "common/xmalloc.h"

/* A token file is one line; anything much bigger is not ours. */
#define SECRET_FILE_MAX 4096

int
secret_configured(const char *s)
{
	const char *p;

	if (s == NULL)
		return 0;
	for (p = s; *p != '\0' && isspace((unsigned char)*p); p++)
		;
	if (*p == '\0')
		return 0;
	return strcmp(s, "undefined") != 0 && strcmp(s, "null") != 0;
}

int
secret_equal(const char *a, const char *b)
{
	size_t alen = strlen(a), blen = strlen(b);
	size_t n = alen > blen ? alen : blen;
	unsigned char *pa, *pb;
	int same;

	if (n == 0)
		return 1;
	/* Zero-padded copies of equal length, so CRYPTO_memcmp always runs over n. */
	pa = xcalloc(1, n);
	pb = xcalloc(1, n);
	memcpy(pa, a, alen);
	memcpy(pb, b, blen);
	same = CRYPTO_memcmp(pa, pb, n) == 0;
	OPENSSL_cleanse(pa, n);
	OPENSSL_cleanse(pb, n);
	free(pa);
	free(pb);
	return same & (alen == blen);
}

void
secret_mint(char out[SECRET_TOKEN_LEN + 1])
{
	uint8_t raw[SECRET_TOKEN_BYTES];

	random_bytes(raw, sizeof(raw));
	sodium_bin2base64(out, SECRET_TOKEN_LEN + 1, raw, sizeof(raw), SECRET_TOKEN_VARIANT);
	OPENSSL_cleanse(raw, sizeof(raw));
}

void
secret_hash(const char *s, char out[SECRET_HASH_LEN + 1])
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)s, strlen(s), md);
	sodium_bin2hex(out, SECRET_HASH_LEN + 1, md, sizeof(md));
}

char *
secret_token_load(int state_fd)
{
	size_t len;
	char *buf = fileio_read_state(state_fd, SECRET_TOKEN_FILE, SECRET_FILE_MAX, &len);
	char *tok;

	if (buf == NULL)
		return NULL;
	/* Editors add a trailing newline; the token itself has no spaces. */
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		buf[--len] = '\0';
	if (!secret_configured(buf) || strlen(buf) != len) {
		OPENSSL_cleanse(buf, len);
		free(buf);
		errno = EINVAL;
		return NULL;
	}
	tok = xstrdup(buf);
	OPENSSL_cleanse(buf, len);
	free(buf);
	return tok;
}

int
secret_token_save(int state_fd, const char *token)
{
	size_t len = strlen(token);
	char *line = xmalloc(len + 2);
	int rc, saved;

	memcpy(line, token, len);
	line[len] = '\n';
	line[len + 1] = '\0';
	rc = fileio_write_atomic(state_fd, SECRET_TOKEN_FILE, line, len + 1, 0600);
	saved = errno;
	OPENSSL_cleanse(line, len + 1);
	free(line);
	errno = saved;
	return rc;
}

void
secret_free(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}
