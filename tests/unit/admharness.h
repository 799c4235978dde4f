/*
 * The admission harness shared by the unit tests of brokerd/admission: a broker
 * with token auth over a real registry in a temp dir, connects of the local CLI,
 * devices with fresh Ed25519 keys that sign them, and the decision with its
 * details rendered as JSON.
 */
#ifndef CLAWGATE_ADMHARNESS_H
#define CLAWGATE_ADMHARNESS_H

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "brokerd/admission.h"
#include "brokerd/audit.h"
#include "brokerd/broker.h"
#include "brokerd/devproof.h"
#include "brokerd/pairing.h"
#include "brokerd/ratelimit.h"
#include "brokerd/refusal.h"
#include "common/random.h"
#include "proto/pval.h"
#include "recorder.h"
#include "testutil.h"

#define TOKEN "shared-token-for-tests"
#define NOW 1795511295036LL
#define NONCE "d1fb90d0-671c-4cbf-950f-ddf281376c5e"
#define LOCAL_CLI_HINT "use this gateway's gateway.auth.token or pair the device"

#define SETF(field, value) snprintf((field), sizeof(field), "%s", (value))

static struct config cfg;
static struct registry reg;
static struct broker br;
static char dir[64];

/* A device: an Ed25519 key with its id and text form. */
struct device {
	EVP_PKEY *key;
	char id[DEVPROOF_ID_LEN + 1];
	char pub[DEVPROOF_KEY_LEN + 1];
};

static void
device_new(struct device *d)
{
	uint8_t raw[DEVPROOF_KEY_BYTES];
	size_t len = sizeof(raw);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);

	d->key = NULL;
	if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &d->key) != 1 ||
	    EVP_PKEY_get_raw_public_key(d->key, raw, &len) != 1)
		abort();
	EVP_PKEY_CTX_free(ctx);
	devproof_device_id(raw, d->id);
	sodium_bin2base64(d->pub, sizeof(d->pub), raw, sizeof(raw), DEVPROOF_KEY_VARIANT);
}

/* A schema-valid connect of the local CLI with the shared token, no device. */
static struct proto_connect
cli(const char *scope)
{
	struct proto_connect c;

	memset(&c, 0, sizeof(c));
	c.conn = 7;
	SETF(c.peer_ip, "127.0.0.1");
	SETF(c.host, "127.0.0.1:18789");
	c.min_protocol = c.max_protocol = 4;
	SETF(c.client_id, "cli");
	SETF(c.client_mode, "cli");
	SETF(c.client_version, "2026.9.6");
	SETF(c.client_platform, "linux");
	SETF(c.client_device_family, "Linux");
	SETF(c.role, "operator");
	if (scope != NULL) {
		c.scopes.n = 1;
		SETF(c.scopes.v[0], scope);
	}
	c.auth_present = PROTO_AUTH_TOKEN;
	SETF(c.token, TOKEN);
	return c;
}

/* Adds d's device block, signed v3 over c's fields with the given nonce. */
static void
sign(struct proto_connect *c, const struct device *d, const char *nonce)
{
	char payload[DEVPROOF_PAYLOAD_MAX];
	uint8_t sig[64];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int n;

	c->has_device = 1;
	SETF(c->device_id, d->id);
	SETF(c->public_key, d->pub);
	SETF(c->device_nonce, nonce);
	c->signed_at = NOW;
	n = devproof_payload(c, 3, payload, sizeof(payload));
	if (n < 0 || EVP_DigestSignInit(ctx, NULL, NULL, NULL, d->key) != 1 ||
	    EVP_DigestSign(ctx, sig, &siglen, (const uint8_t *)payload, (size_t)n) != 1)
		abort();
	EVP_MD_CTX_free(ctx);
	sodium_bin2base64(c->signature, sizeof(c->signature), sig, siglen,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* The decision for c, with its details rendered as JSON for strstr checks. */
struct outcome {
	struct admission a;
	char *details;
};

static void
decide(struct outcome *o, const struct proto_connect *c)
{
	admission_decide(&br, c, NONCE, NOW, &o->a);
	o->details = o->a.accepted || o->a.reject.error.details.len == 0 ? strdup("") :
	    pval_to_json_string(o->a.reject.error.details.data, o->a.reject.error.details.len, 0);
}

static void
done(struct outcome *o)
{
	admission_free(&o->a);
	free(o->details);
}

#define CHECK_REJECT(o, want_close, want_reason, want_code)              \
	do {                                                            \
		CHECK(!(o)->a.accepted);                                \
		CHECK_INT_EQ((o)->a.reject.close_code, (want_close));   \
		CHECK_STR_EQ((o)->a.reject.close_reason, (want_reason)); \
		CHECK_STR_EQ((o)->a.reject.error.code, (want_code));    \
	} while (0)
#define CHECK_DETAIL(o, text)                                                          \
	testutil_check(strstr((o)->details, (text)) != NULL, __FILE__, __LINE__,        \
	    "details %s contain %s", (o)->details, (text))

/* The broker of these tests, its state in a fresh temp dir (0, or -1). */
static int
adm_setup(void)
{
	char err[256];
	int fd;

	random_init();
	snprintf(dir, sizeof(dir), "/tmp/clawgate-test-admission.XXXXXX");
	if (mkdtemp(dir) == NULL || (fd = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
		return -1;
	cfg.auth_mode = AUTH_MODE_TOKEN;
	cfg.token = strdup(TOKEN);
	registry_init(&reg, fd, dir);
	if (registry_load(&reg, err, sizeof(err)) < 0)
		return -1;
	br.cfg = &cfg;
	br.reg = &reg;
	br.rl = ratelimit_new();
	br.state_dir = dir;
	br.state_fd = fd;
	pairing_init(&recorder_effects);
	audit_open(fd, dir);
	return 0;
}

static void
adm_teardown(void)
{
	int fd = br.state_fd;

	registry_free(&reg);
	pairing_shutdown();
	audit_close();
	free(cfg.token);
	unlinkat(fd, REG_FILE, 0);
	unlinkat(fd, AUDIT_FILE, 0);
	close(fd);
	rmdir(dir);
	ratelimit_free(br.rl);
}

#endif
