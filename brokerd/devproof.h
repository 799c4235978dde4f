/* The device proof of doc/protocol.md §3: device id derivation, the v2/v3 signed
 * payload strings and Ed25519 verification, in the order of §3.3. */
#ifndef BROKERD_DEVPROOF_H
#define BROKERD_DEVPROOF_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "proto/proto.h"

#define DEVPROOF_KEY_BYTES 32
/* The canonical text form of a key: unpadded base64url, 43 characters. */
#define DEVPROOF_KEY_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define DEVPROOF_KEY_LEN \
	(sodium_base64_ENCODED_LEN(DEVPROOF_KEY_BYTES, DEVPROOF_KEY_VARIANT) - 1)
#define DEVPROOF_ID_LEN 64
#define DEVPROOF_MAX_SKEW_MS 120000
/* Longest payload the field maxima of struct proto_connect allow, rounded up. */
#define DEVPROOF_PAYLOAD_MAX 4096

enum devproof_result {
	DEVPROOF_OK,
	DEVPROOF_ID_MISMATCH,
	DEVPROOF_EXPIRED,
	DEVPROOF_NONCE_REQUIRED,
	DEVPROOF_NONCE_MISMATCH,
	DEVPROOF_SIGNATURE_INVALID,
};

/* Decodes base64 as clients write keys and signatures: either alphabet (even
 * mixed), padded or not, nothing else (no white space, no leftover bits set,
 * at most 128 characters). Returns the decoded length, or -1 if in is not
 * such text or does not fit outsz bytes. */
long devproof_b64_decode(const char *in, size_t len, uint8_t *out, size_t outsz);

/* Decodes a public key (base64url or base64, padded or not) that must be exactly
 * 32 bytes, and writes its canonical form (unpadded base64url) if canon is not
 * NULL. -1 if it is not such a key. */
int devproof_key_decode(const char *text, uint8_t key[DEVPROOF_KEY_BYTES],
    char canon[DEVPROOF_KEY_LEN + 1]);

/* The device id of a raw key: lower-case hex SHA-256. */
void devproof_device_id(const uint8_t key[DEVPROOF_KEY_BYTES], char out[DEVPROOF_ID_LEN + 1]);

/* Writes the v2 or v3 payload string (version 2 or 3) a client signs for this
 * connect, with the nonce as given (trimmed). Returns its length, or -1 if out is
 * too small. */
int devproof_payload(const struct proto_connect *c, int version, char *out, size_t outsz);

/* The v3 form of client.platform / client.deviceFamily (§3.2): trimmed, then
 * only ASCII A-Z lower-cased (no locale, no Unicode folding). Pairing compares
 * the pinned values in this form too (§4.5). */
void devproof_norm(const char *s, char *out, size_t outsz);

/* 1 iff signature (base64url/base64 of 64 bytes) is key's Ed25519 signature of msg. */
int devproof_verify(const uint8_t key[DEVPROOF_KEY_BYTES], const char *msg, size_t len,
    const char *signature);

/* Runs §3.3 steps on c's device block against the nonce the broker issued for
 * this connection and the broker's clock; the first failure wins. On success
 * writes the key's canonical text form to canon_key. */
enum devproof_result devproof_check(const struct proto_connect *c, const char *issued_nonce,
    int64_t now_ms, char canon_key[DEVPROOF_KEY_LEN + 1]);

#endif
