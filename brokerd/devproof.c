#include "brokerd/devproof.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <openssl/sha.h>
#include <sodium.h>

#include "common/log.h"

#define DEVPROOF_SIG_BYTES 64
/* The longest text devproof_b64_decode takes: a padded signature is 88. */
#define DEVPROOF_B64_TEXT_MAX 128

/* c with the URL-safe alphabet's '-' and '_' mapped to standard base64's '+'
 * and '/'. Keys and signatures are public, but libsodium's decoder takes the
 * same time whatever the text, and this keeps it so: no branch on the byte. */
static char
devproof_b64_fold(char c)
{
	unsigned char u = (unsigned char)c;
	unsigned char dash = (unsigned char)(((unsigned)(u ^ '-') - 1U) >> 8);
	unsigned char under = (unsigned char)(((unsigned)(u ^ '_') - 1U) >> 8);

	return (char)(u ^ (dash & ('-' ^ '+')) ^ (under & ('_' ^ '/')));
}

long
devproof_b64_decode(const char *in, size_t len, uint8_t *out, size_t outsz)
{
	char std[DEVPROOF_B64_TEXT_MAX];
	size_t n;
	int variant;

	if (len > sizeof(std))
		return -1;
	for (size_t i = 0; i < len; i++)
		std[i] = devproof_b64_fold(in[i]);
	/* libsodium requires the padding in the padded variant and refuses it in
	 * the other; clients send either. */
	variant = memchr(std, '=', len) != NULL ? sodium_base64_VARIANT_ORIGINAL :
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
	if (sodium_base642bin(out, outsz, std, len, NULL, &n, NULL, variant) != 0)
		return -1;
	return (long)n;
}

int
devproof_key_decode(const char *text, uint8_t key[DEVPROOF_KEY_BYTES],
    char canon[DEVPROOF_KEY_LEN + 1])
{
	/* One spare byte so an over-long key fails on its length, not on overflow. */
	uint8_t buf[DEVPROOF_KEY_BYTES + 1];
	long n = devproof_b64_decode(text, strlen(text), buf, sizeof(buf));

	if (n != DEVPROOF_KEY_BYTES)
		return -1;
	memcpy(key, buf, DEVPROOF_KEY_BYTES);
	if (canon != NULL)
		sodium_bin2base64(canon, DEVPROOF_KEY_LEN + 1, key, DEVPROOF_KEY_BYTES,
		    DEVPROOF_KEY_VARIANT);
	return 0;
}

void
devproof_device_id(const uint8_t key[DEVPROOF_KEY_BYTES], char out[DEVPROOF_ID_LEN + 1])
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	SHA256(key, DEVPROOF_KEY_BYTES, md);
	sodium_bin2hex(out, DEVPROOF_ID_LEN + 1, md, sizeof(md));
}

/* JavaScript's String.prototype.trim for the ASCII whitespace clients send. */
static void
devproof_trim(const char *s, const char **start, size_t *len)
{
	const char *end = s + strlen(s);

	while (*s != '\0' && isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	*start = s;
	*len = (size_t)(end - s);
}

/* A bounded string builder: once out of room it stays failed. */
struct devproof_buf {
	char *p;
	size_t len, cap;
	int overflow;
};

static void
devproof_add(struct devproof_buf *b, const char *s, size_t n)
{
	if (b->overflow || b->cap - b->len <= n) {
		b->overflow = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
devproof_field(struct devproof_buf *b, const char *s)
{
	devproof_add(b, "|", 1);
	devproof_add(b, s, strlen(s));
}

void
devproof_norm(const char *s, char *out, size_t outsz)
{
	const char *t;
	size_t n, i;

	devproof_trim(s, &t, &n);
	for (i = 0; i < n && i + 1 < outsz; i++)
		out[i] = t[i] >= 'A' && t[i] <= 'Z' ? (char)(t[i] - 'A' + 'a') : t[i];
	if (outsz > 0)
		out[i] = '\0';
}

static void
devproof_field_norm(struct devproof_buf *b, const char *s)
{
	char norm[PROTO_TEXT_MAX + 1];

	devproof_norm(s, norm, sizeof(norm));
	devproof_field(b, norm);
}

/* The token slot: the first of auth.token, auth.deviceToken, auth.bootstrapToken
 * that was present, "" included; auth.password is never signed. */
static const char *
devproof_token_slot(const struct proto_connect *c)
{
	if (c->auth_present & PROTO_AUTH_TOKEN)
		return c->token;
	if (c->auth_present & PROTO_AUTH_DEVICE_TOKEN)
		return c->device_token;
	if (c->auth_present & PROTO_AUTH_BOOTSTRAP)
		return c->bootstrap_token;
	return "";
}

int
devproof_payload(const struct proto_connect *c, int version, char *out, size_t outsz)
{
	struct devproof_buf b = { out, 0, outsz, outsz == 0 };
	char num[24];
	const char *nonce;
	size_t nonce_len;

	if (outsz > 0)
		out[0] = '\0';
	devproof_add(&b, version == 3 ? "v3" : "v2", 2);
	devproof_field(&b, c->device_id);
	devproof_field(&b, c->client_id);
	devproof_field(&b, c->client_mode);
	devproof_field(&b, c->role[0] != '\0' ? c->role : "operator");
	/* Scopes exactly as sent: order and duplicates are part of what was signed. */
	devproof_add(&b, "|", 1);
	for (uint32_t i = 0; i < c->scopes.n; i++) {
		if (i > 0)
			devproof_add(&b, ",", 1);
		devproof_add(&b, c->scopes.v[i], strlen(c->scopes.v[i]));
	}
	snprintf(num, sizeof(num), "%lld", (long long)c->signed_at);
	devproof_field(&b, num);
	devproof_field(&b, devproof_token_slot(c));
	devproof_trim(c->device_nonce, &nonce, &nonce_len);
	devproof_add(&b, "|", 1);
	devproof_add(&b, nonce, nonce_len);
	if (version == 3) {
		devproof_field_norm(&b, c->client_platform);
		devproof_field_norm(&b, c->client_device_family);
	}
	return b.overflow ? -1 : (int)b.len;
}

/*
 * 1 if sig verifies over any of the messages (tried in order).
 *
 * Ed25519 verification is libsodium's, not OpenSSL's: on this machine class it
 * costs about half (52 against 104 us), and one verify is most of the CPU a
 * signed connect costs. It is also the stricter of the two: a non-canonical S,
 * a small-order key or R, or a non-canonical key encoding is refused.
 */
static int
devproof_verify_any(const uint8_t key[DEVPROOF_KEY_BYTES], const char *const msgs[],
    const size_t lens[], size_t n, const char *signature)
{
	uint8_t sig[DEVPROOF_SIG_BYTES + 1];

	if (devproof_b64_decode(signature, strlen(signature), sig, sizeof(sig)) !=
	    DEVPROOF_SIG_BYTES)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (crypto_sign_verify_detached(sig, (const unsigned char *)msgs[i], lens[i],
		    key) == 0)
			return 1;
	return 0;
}

int
devproof_verify(const uint8_t key[DEVPROOF_KEY_BYTES], const char *msg, size_t len,
    const char *signature)
{
	return devproof_verify_any(key, &msg, &len, 1, signature);
}

/*
 * §3.3 lists a sixth step, "key normalises to 32 valid bytes", after the
 * signature. Here the id is derived only from a key that decodes to exactly 32
 * bytes (§3.1), so an unusable key already fails step 1 and the sixth step can
 * never be the first failure; it has no code of its own.
 */
enum devproof_result
devproof_check(const struct proto_connect *c, const char *issued_nonce, int64_t now_ms,
    char canon_key[DEVPROOF_KEY_LEN + 1])
{
	uint8_t key[DEVPROOF_KEY_BYTES];
	char id[DEVPROOF_ID_LEN + 1], v3[DEVPROOF_PAYLOAD_MAX], v2[DEVPROOF_PAYLOAD_MAX];
	const char *nonce;
	size_t nonce_len;
	int n3, n2;

	if (devproof_key_decode(c->public_key, key, canon_key) < 0)
		return DEVPROOF_ID_MISMATCH;
	devproof_device_id(key, id);
	if (strcmp(id, c->device_id) != 0)
		return DEVPROOF_ID_MISMATCH;
	/* Written as two comparisons so a hostile signedAt cannot overflow. */
	if (c->signed_at < now_ms - DEVPROOF_MAX_SKEW_MS ||
	    c->signed_at > now_ms + DEVPROOF_MAX_SKEW_MS)
		return DEVPROOF_EXPIRED;
	devproof_trim(c->device_nonce, &nonce, &nonce_len);
	if (nonce_len == 0)
		return DEVPROOF_NONCE_REQUIRED;
	if (strlen(issued_nonce) != nonce_len ||
	    memcmp(nonce, issued_nonce, nonce_len) != 0)
		return DEVPROOF_NONCE_MISMATCH;
	n3 = devproof_payload(c, 3, v3, sizeof(v3));
	n2 = devproof_payload(c, 2, v2, sizeof(v2));
	if (n3 < 0 || n2 < 0)
		fatalx("devproof: payload buffer too small for a decoded connect");
	/* The CLI signs v3 and the Control UI v2: try v3 first (§3.2). */
	const char *const msgs[] = { v3, v2 };
	const size_t lens[] = { (size_t)n3, (size_t)n2 };

	if (!devproof_verify_any(key, msgs, lens, 2, c->signature))
		return DEVPROOF_SIGNATURE_INVALID;
	return DEVPROOF_OK;
}
