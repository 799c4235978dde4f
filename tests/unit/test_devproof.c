/* brokerd/devproof: the v2/v3 payload strings built from connect fields, every
 * vector of spec/vectors/signatures.json (path in argv[1], read with yajl_tree),
 * and the connect-level verification order of doc/protocol.md §3.3. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "brokerd/devproof.h"
#include "common/random.h"
#include "testutil.h"

#define TOKEN "test-token-0123456789abcdef0123456789abcdef"

/* Vector A's connect (doc/protocol.md §3.4): the real CLI, signing v3. */
#define A_KEY "0GDD1hJUVmB_8IX7K5OPxiKPDnhMbZr2UNDpjt6PSCk"
#define A_ID "b07bd0de084e691f2f117025ec5e181bb2042b00577a86088f5ead1ee6904cac"
#define A_NONCE "d1fb90d0-671c-4cbf-950f-ddf281376c5e"
#define A_SIGNED_AT 1795511295036LL
#define A_SIG "gvnXH8QcP9oU8uDRfFIFSJREceOZMLmQ3QA6uWye61FvEJ2lbMSOvOlwLXVHrgKn9fJsWxKbOqtmy0p5naaIDw"
/* Vector B's: the Control UI, signing v2. */
#define B_KEY "ZEpDxTDyC6Lgzo522tbC2Ezj19FLxpcR9obpt21BlTE"
#define B_ID "4e2ef06a5d3773818ba00098cb0efd5082d0f12d314f22b58fb248526d614de7"
#define B_NONCE "e062c755-f66e-4af9-bf13-0909bc4e064d"
#define B_SIGNED_AT 1795511575441LL
#define B_SIG "VTO3DqbdrH4VMDb70UJnNUj__bvUWMA-xEyQr5dzmvURDPtZVZG_qSRI03sg_WwLUrbkdcsj_mgf58GvsTEnCQ"

#define SETF(field, value) snprintf((field), sizeof(field), "%s", (value))

static yajl_val vectors;

static const char *
vec_str(yajl_val v, const char *key)
{
	const char *path[] = { key, NULL };
	const char *s = YAJL_GET_STRING(yajl_tree_get(v, path, yajl_t_string));

	return s != NULL ? s : "";
}

static const char *
vec_payload(const char *name)
{
	for (size_t i = 0; i < vectors->u.array.len; i++)
		if (strcmp(vec_str(vectors->u.array.values[i], "name"), name) == 0)
			return vec_str(vectors->u.array.values[i], "payload");
	testutil_check(0, __FILE__, __LINE__, "vector %s is in signatures.json", name);
	return "";
}

static struct proto_connect
connect_a(void)
{
	struct proto_connect c;

	memset(&c, 0, sizeof(c));
	c.conn = 1;
	SETF(c.client_id, "cli");
	SETF(c.client_mode, "cli");
	SETF(c.client_platform, "linux");
	SETF(c.client_device_family, "Linux");
	SETF(c.role, "operator");
	c.scopes.n = 1;
	SETF(c.scopes.v[0], "operator.read");
	c.auth_present = PROTO_AUTH_TOKEN;
	SETF(c.token, TOKEN);
	c.has_device = 1;
	SETF(c.device_id, A_ID);
	SETF(c.public_key, A_KEY);
	SETF(c.signature, A_SIG);
	SETF(c.device_nonce, A_NONCE);
	c.signed_at = A_SIGNED_AT;
	return c;
}

static struct proto_connect
connect_b(void)
{
	static const char *const scopes[] = { "operator.admin", "operator.read",
		"operator.write", "operator.approvals", "operator.questions", "operator.pairing" };
	struct proto_connect c;

	memset(&c, 0, sizeof(c));
	c.conn = 2;
	SETF(c.client_id, "openclaw-control-ui");
	SETF(c.client_mode, "webchat");
	SETF(c.client_platform, "Linux x86_64");
	SETF(c.role, "operator");
	for (c.scopes.n = 0; c.scopes.n < 6; c.scopes.n++)
		SETF(c.scopes.v[c.scopes.n], scopes[c.scopes.n]);
	/* The Control UI sends the secret twice; only auth.token is signed. */
	c.auth_present = PROTO_AUTH_TOKEN | PROTO_AUTH_PASSWORD;
	SETF(c.token, TOKEN);
	SETF(c.password, TOKEN);
	c.has_device = 1;
	SETF(c.device_id, B_ID);
	SETF(c.public_key, B_KEY);
	SETF(c.signature, B_SIG);
	SETF(c.device_nonce, B_NONCE);
	c.signed_at = B_SIGNED_AT;
	return c;
}

static const char *
payload(const struct proto_connect *c, int version)
{
	static char buf[DEVPROOF_PAYLOAD_MAX];

	CHECK(devproof_payload(c, version, buf, sizeof(buf)) == (int)strlen(buf));
	return buf;
}

static void
test_payload_from_fields(void)
{
	struct proto_connect a = connect_a(), b = connect_b();

	CHECK_STR_EQ(payload(&a, 3), vec_payload("A-cli-v3"));
	CHECK_STR_EQ(payload(&a, 2), vec_payload("A-cli-v3-signature-checked-as-v2"));
	CHECK_STR_EQ(payload(&b, 2), vec_payload("B-control-ui-v2"));
}

static void
test_payload_rules(void)
{
	struct proto_connect c = connect_a();
	char small[16];

	/* An absent role is signed as operator; scopes exactly as sent. */
	c.role[0] = '\0';
	c.scopes.n = 3;
	SETF(c.scopes.v[1], "operator.admin");
	SETF(c.scopes.v[2], "operator.read");
	CHECK_STR_EQ(payload(&c, 2), "v2|" A_ID "|cli|cli|operator|operator.read,operator.admin,"
	    "operator.read|1795511295036|" TOKEN "|" A_NONCE);
	c.scopes.n = 0;
	/* The token slot: auth.token if present (even ""), else auth.deviceToken, else
	 * auth.bootstrapToken; never auth.password. */
	c.auth_present = PROTO_AUTH_TOKEN | PROTO_AUTH_DEVICE_TOKEN;
	SETF(c.token, "");
	SETF(c.device_token, "devtok");
	CHECK_STR_EQ(payload(&c, 2), "v2|" A_ID "|cli|cli|operator||1795511295036||" A_NONCE);
	c.auth_present = PROTO_AUTH_DEVICE_TOKEN | PROTO_AUTH_BOOTSTRAP | PROTO_AUTH_PASSWORD;
	SETF(c.bootstrap_token, "boot");
	SETF(c.password, "pw");
	CHECK_STR_EQ(payload(&c, 2), "v2|" A_ID "|cli|cli|operator||1795511295036|devtok|" A_NONCE);
	c.auth_present = PROTO_AUTH_BOOTSTRAP | PROTO_AUTH_PASSWORD;
	CHECK_STR_EQ(payload(&c, 2), "v2|" A_ID "|cli|cli|operator||1795511295036|boot|" A_NONCE);
	c.auth_present = PROTO_AUTH_PASSWORD;
	CHECK_STR_EQ(payload(&c, 2), "v2|" A_ID "|cli|cli|operator||1795511295036||" A_NONCE);
	/* v3 normalisation: trimmed, ASCII A-Z lowered only; the nonce is trimmed. */
	SETF(c.client_platform, "  MacOS 14 ");
	SETF(c.client_device_family, "\tÄPFEL-Mac\n");
	SETF(c.device_nonce, " " A_NONCE "\t");
	CHECK_STR_EQ(payload(&c, 3), "v3|" A_ID "|cli|cli|operator||1795511295036||" A_NONCE
	    "|macos 14|Äpfel-mac");
	c.client_device_family[0] = '\0';
	CHECK_STR_EQ(payload(&c, 3), "v3|" A_ID "|cli|cli|operator||1795511295036||" A_NONCE
	    "|macos 14|");
	/* Too small a buffer is an error, not a truncated payload. */
	CHECK_INT_EQ(devproof_payload(&c, 3, small, sizeof(small)), -1);
}

/* Every vector in the file: id derivation and signature as expect_valid says. */
static void
test_vectors(void)
{
	size_t valid = 0, invalid = 0;

	CHECK_INT_EQ(vectors->u.array.len, 5);
	for (size_t i = 0; i < vectors->u.array.len; i++) {
		yajl_val v = vectors->u.array.values[i];
		const char *path[] = { "expect_valid", NULL };
		yajl_val expect = yajl_tree_get(v, path, yajl_t_any);
		const char *msg = vec_str(v, "payload");
		uint8_t key[DEVPROOF_KEY_BYTES];
		char id[DEVPROOF_ID_LEN + 1], canon[DEVPROOF_KEY_LEN + 1];
		int want = YAJL_IS_TRUE(expect);

		CHECK(expect != NULL && (YAJL_IS_TRUE(expect) || YAJL_IS_FALSE(expect)));
		CHECK_INT_EQ(devproof_key_decode(vec_str(v, "publicKey"), key, canon), 0);
		CHECK_STR_EQ(canon, vec_str(v, "publicKey"));
		devproof_device_id(key, id);
		CHECK_STR_EQ(id, vec_str(v, "deviceId"));
		CHECK_INT_EQ(strncmp(msg, vec_str(v, "version"), 2), 0);
		testutil_check(devproof_verify(key, msg, strlen(msg), vec_str(v, "signature")) == want,
		    __FILE__, __LINE__, "vector %s verifies: %d", vec_str(v, "name"), want);
		valid += want;
		invalid += !want;
	}
	CHECK_INT_EQ(valid, 2);
	CHECK_INT_EQ(invalid, 3);
}

static void
test_key_forms(void)
{
	uint8_t key[DEVPROOF_KEY_BYTES], raw[DEVPROOF_KEY_BYTES];
	char canon[DEVPROOF_KEY_LEN + 1], b64[64];

	CHECK_INT_EQ(devproof_key_decode(A_KEY, raw, NULL), 0);
	/* Standard base64 with padding, base64url with padding: the same key. */
	sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw), sodium_base64_VARIANT_ORIGINAL);
	CHECK(strchr(b64, '=') != NULL);
	CHECK_INT_EQ(devproof_key_decode(b64, key, canon), 0);
	CHECK_MEM_EQ(key, sizeof(key), raw, sizeof(raw));
	CHECK_STR_EQ(canon, A_KEY);
	CHECK_INT_EQ(devproof_key_decode(A_KEY "=", key, canon), 0);
	CHECK_STR_EQ(canon, A_KEY);
	/* 31 or 33 bytes, or not base64 at all: not a key. */
	sodium_bin2base64(b64, sizeof(b64), raw, 31, DEVPROOF_KEY_VARIANT);
	CHECK_INT_EQ(devproof_key_decode(b64, key, NULL), -1);
	CHECK_INT_EQ(devproof_key_decode(A_KEY "AA", key, NULL), -1);
	CHECK_INT_EQ(devproof_key_decode("not a key!", key, NULL), -1);
	CHECK_INT_EQ(devproof_key_decode("", key, NULL), -1);
}

static enum devproof_result
check(const struct proto_connect *c, const char *issued, int64_t now)
{
	char canon[DEVPROOF_KEY_LEN + 1];

	return devproof_check(c, issued, now, canon);
}

/* §3.3: id, skew, nonce present, nonce equal, signature; first failure wins. */
static void
test_check_order(void)
{
	struct proto_connect a = connect_a(), b = connect_b(), c;
	char canon[DEVPROOF_KEY_LEN + 1];

	CHECK_INT_EQ(devproof_check(&a, A_NONCE, A_SIGNED_AT, canon), DEVPROOF_OK);
	CHECK_STR_EQ(canon, A_KEY);
	/* The Control UI's v2 signature passes after v3 fails. */
	CHECK_INT_EQ(check(&b, B_NONCE, B_SIGNED_AT), DEVPROOF_OK);

	/* 1: the id must be the key's hash; it wins over every later failure. */
	c = a;
	c.device_id[63] = c.device_id[63] == '0' ? '1' : '0';
	CHECK_INT_EQ(check(&c, A_NONCE, A_SIGNED_AT), DEVPROOF_ID_MISMATCH);
	SETF(c.device_nonce, "");
	SETF(c.signature, "AAAA");
	CHECK_INT_EQ(check(&c, "other", A_SIGNED_AT + 999999), DEVPROOF_ID_MISMATCH);
	c = a;
	SETF(c.public_key, "AAAA");	/* not 32 bytes: no id can be derived */
	CHECK_INT_EQ(check(&c, A_NONCE, A_SIGNED_AT), DEVPROOF_ID_MISMATCH);
	c = a;
	SETF(c.device_id, B_ID);	/* another device's id */
	CHECK_INT_EQ(check(&c, A_NONCE, A_SIGNED_AT), DEVPROOF_ID_MISMATCH);

	/* 2: ±120 s against the broker's clock, inclusive; before the nonce checks. */
	CHECK_INT_EQ(check(&a, A_NONCE, A_SIGNED_AT + 120000), DEVPROOF_OK);
	CHECK_INT_EQ(check(&a, A_NONCE, A_SIGNED_AT - 120000), DEVPROOF_OK);
	CHECK_INT_EQ(check(&a, A_NONCE, A_SIGNED_AT + 120001), DEVPROOF_EXPIRED);
	CHECK_INT_EQ(check(&a, A_NONCE, A_SIGNED_AT - 120001), DEVPROOF_EXPIRED);
	c = a;
	SETF(c.device_nonce, " ");
	CHECK_INT_EQ(check(&c, "other", A_SIGNED_AT + 120001), DEVPROOF_EXPIRED);
	c = a;
	c.signed_at = INT64_MIN;	/* hostile values must not overflow */
	CHECK_INT_EQ(check(&c, A_NONCE, A_SIGNED_AT), DEVPROOF_EXPIRED);
	c.signed_at = INT64_MAX;
	CHECK_INT_EQ(check(&c, A_NONCE, A_SIGNED_AT), DEVPROOF_EXPIRED);

	/* 3: a blank nonce, before comparing it and before the signature. */
	c = a;
	SETF(c.device_nonce, " \t ");
	CHECK_INT_EQ(check(&c, A_NONCE, A_SIGNED_AT), DEVPROOF_NONCE_REQUIRED);
	SETF(c.signature, "AAAA");
	CHECK_INT_EQ(check(&c, "other", A_SIGNED_AT), DEVPROOF_NONCE_REQUIRED);

	/* 4: exactly this connection's nonce (trimmed); a foreign or reused one fails
	 * even with a valid signature over it. */
	CHECK_INT_EQ(check(&a, B_NONCE, A_SIGNED_AT), DEVPROOF_NONCE_MISMATCH);
	CHECK_INT_EQ(check(&a, A_NONCE "x", A_SIGNED_AT), DEVPROOF_NONCE_MISMATCH);
	c = a;
	SETF(c.signature, "AAAA");
	CHECK_INT_EQ(check(&c, B_NONCE, A_SIGNED_AT), DEVPROOF_NONCE_MISMATCH);
	c = a;
	SETF(c.device_nonce, "  " A_NONCE "\n");
	CHECK_INT_EQ(check(&c, A_NONCE, A_SIGNED_AT), DEVPROOF_OK);

	/* 5: the signature over v3, else v2, of exactly these fields. */
	c = a;
	SETF(c.scopes.v[c.scopes.n++], "operator.read");	/* a duplicate is signed too */
	CHECK_INT_EQ(check(&c, A_NONCE, A_SIGNED_AT), DEVPROOF_SIGNATURE_INVALID);
	c = a;
	SETF(c.token, "another-token");
	CHECK_INT_EQ(check(&c, A_NONCE, A_SIGNED_AT), DEVPROOF_SIGNATURE_INVALID);
	c = a;
	SETF(c.client_platform, "macos");	/* only v3 carries it: v2 cannot rescue */
	CHECK_INT_EQ(check(&c, A_NONCE, A_SIGNED_AT), DEVPROOF_SIGNATURE_INVALID);
	c = a;
	SETF(c.client_platform, " LINUX ");	/* normalises to the signed value */
	CHECK_INT_EQ(check(&c, A_NONCE, A_SIGNED_AT), DEVPROOF_OK);
	c = a;
	SETF(c.signature, B_SIG);
	CHECK_INT_EQ(check(&c, A_NONCE, A_SIGNED_AT), DEVPROOF_SIGNATURE_INVALID);
	c = a;
	c.signature[84] = '\0';		/* 63 bytes */
	CHECK_INT_EQ(check(&c, A_NONCE, A_SIGNED_AT), DEVPROOF_SIGNATURE_INVALID);
	c = a;
	SETF(c.signature, "!!!");
	CHECK_INT_EQ(check(&c, A_NONCE, A_SIGNED_AT), DEVPROOF_SIGNATURE_INVALID);
}

int
main(int argc, char *argv[])
{
	char err[256];
	size_t len;
	char *text;
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: test_devproof path/to/signatures.json\n");
		return 2;
	}
	random_init();
	if ((f = fopen(argv[1], "r")) == NULL) {
		perror(argv[1]);
		return 2;
	}
	text = calloc(1, 1 << 20);
	len = fread(text, 1, (1 << 20) - 1, f);
	fclose(f);
	text[len] = '\0';
	vectors = yajl_tree_parse(text, err, sizeof(err));
	free(text);
	if (vectors == NULL || !YAJL_IS_ARRAY(vectors)) {
		fprintf(stderr, "%s: not a JSON array: %s\n", argv[1], err);
		return 2;
	}
	TEST_RUN(test_payload_from_fields);
	TEST_RUN(test_payload_rules);
	TEST_RUN(test_vectors);
	TEST_RUN(test_key_forms);
	TEST_RUN(test_check_order);
	yajl_tree_free(vectors);
	return test_exit();
}
