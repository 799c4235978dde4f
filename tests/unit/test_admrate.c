/* brokerd/admission with brokerd/authrate: which failures count under which key
 * (doc/protocol.md §4.6), what a lock refuses, and that a connect unauthorized
 * whatever its proof says is refused before the signature is checked. */
#include "admharness.h"

#include "brokerd/authrate.h"

#define ORIGIN "http://127.0.0.1:18789"
#define RATE_LIMITED "unauthorized: too many failed authentication attempts (retry later)"
#define REMOTE_MISMATCH \
	"unauthorized: gateway token mismatch (set gateway.remote.token to match " \
	"gateway.auth.token)"

static void
fresh_limits(void)
{
	ratelimit_free(br.rl);
	br.rl = ratelimit_new();
}

/* c's verdict: 1 accepted, else the refusal's details code (static). */
static const char *
verdict(const struct proto_connect *c, uint32_t *delay_ms)
{
	static char code[PROTO_REASON_MAX + 8];
	struct outcome o;
	const char *p;

	decide(&o, c);
	if (delay_ms != NULL)
		*delay_ms = o.a.reject.delay_ms;
	if (o.a.accepted)
		snprintf(code, sizeof(code), "accepted");
	else if ((p = strstr(o.details, "\"code\":\"")) != NULL)
		snprintf(code, sizeof(code), "%.*s", (int)strcspn(p + 8, "\""), p + 8);
	else
		snprintf(code, sizeof(code), "%s", o.a.reject.close_reason);
	done(&o);
	return code;
}

static struct proto_connect
wrong_token(const char *peer, const char *origin)
{
	struct proto_connect c = cli(NULL);

	SETF(c.token, "wrong");
	SETF(c.peer_ip, peer);
	SETF(c.origin, origin);
	return c;
}

/* Failures counted under an Origin never refuse a correct credential, and a
 * remote client's never count under it at all. */
static void
test_origin_lock(void)
{
	struct proto_connect c;
	char peer[32];
	uint32_t delay;

	fresh_limits();
	/* Remote clients (each from its own address, so that none is locked) with
	 * the Origin and Host of the admin's own Control UI. */
	for (int i = 0; i < 12; i++) {
		snprintf(peer, sizeof(peer), "203.0.113.%d", 100 + i);
		c = wrong_token(peer, ORIGIN);
		CHECK_STR_EQ(verdict(&c, NULL), "AUTH_TOKEN_MISMATCH");
	}
	c = cli(NULL);
	SETF(c.origin, ORIGIN);
	CHECK_STR_EQ(verdict(&c, NULL), "accepted");
	c = wrong_token("127.0.0.1", ORIGIN);
	CHECK_STR_EQ(verdict(&c, NULL), "AUTH_TOKEN_MISMATCH");

	/* On loopback the Origin's lock after 10 failures changes only the answer
	 * to a wrong credential; the back-off holds every wrong answer. */
	fresh_limits();
	for (unsigned i = 1; i <= RATELIMIT_MAX_ATTEMPTS; i++) {
		CHECK_STR_EQ(verdict(&c, &delay), "AUTH_TOKEN_MISMATCH");
		CHECK_INT_EQ(delay, i >= 6 ? AUTHRATE_BACKOFF_MAX_MS :
		    AUTHRATE_BACKOFF_BASE_MS << (i - 1));
	}
	CHECK_STR_EQ(verdict(&c, &delay), "AUTH_RATE_LIMITED");
	CHECK_INT_EQ(delay, AUTHRATE_BACKOFF_MAX_MS);
	c = cli(NULL);
	SETF(c.origin, ORIGIN);
	CHECK_STR_EQ(verdict(&c, NULL), "accepted");
	/* ... which reset the Origin and the back-off. */
	c = wrong_token("127.0.0.1", ORIGIN);
	CHECK_STR_EQ(verdict(&c, &delay), "AUTH_TOKEN_MISMATCH");
	CHECK_INT_EQ(delay, AUTHRATE_BACKOFF_BASE_MS);
}

/* One back-off for every loopback address; IPv6 counted per /64. */
static void
test_budget_keys(void)
{
	static const char *const loopbacks[] = { "127.0.0.1", "127.0.0.2", "::1",
		"::ffff:127.3.4.5" };
	struct proto_connect c;
	uint32_t delay;

	fresh_limits();
	for (unsigned i = 0; i < 4; i++) {
		c = wrong_token(loopbacks[i], "");
		CHECK_STR_EQ(verdict(&c, &delay), "AUTH_TOKEN_MISMATCH");
		CHECK_INT_EQ(delay, AUTHRATE_BACKOFF_BASE_MS << i);
	}
	/* Remote: no back-off, a lock after 10, shared by the /64. */
	for (int i = 0; i < RATELIMIT_MAX_ATTEMPTS; i++) {
		c = wrong_token(i % 2 ? "2001:db8:1:2::a" : "2001:db8:1:2:0:ffff:0:b", "");
		CHECK_STR_EQ(verdict(&c, &delay), "AUTH_TOKEN_MISMATCH");
		CHECK_INT_EQ(delay, 0);
	}
	c = cli(NULL);
	SETF(c.peer_ip, "2001:db8:1:2::99");
	CHECK_STR_EQ(verdict(&c, NULL), "AUTH_RATE_LIMITED");
	SETF(c.peer_ip, "2001:db8:1:3::a");
	CHECK_STR_EQ(verdict(&c, NULL), "accepted");
}

/* A device paired silently from loopback; its operator token in devtok. */
static void
pair(struct device *dev, char devtok[PROTO_TOKEN_MAX + 1])
{
	struct proto_connect c = cli("operator.read");
	struct outcome o;

	device_new(dev);
	cfg.auto_approve_local = 1;
	sign(&c, dev, NONCE);
	decide(&o, &c);
	CHECK(o.a.accepted);
	snprintf(devtok, PROTO_TOKEN_MAX + 1, "%s", o.a.accept.device_token);
	done(&o);
	cfg.auto_approve_local = 0;
}

/* A remote connect of dev with the given auth fields ("" leaves one out). */
static struct proto_connect
device_connect(const struct device *dev, const char *peer, const char *token,
    const char *device_token)
{
	struct proto_connect c = cli("operator.read");

	SETF(c.peer_ip, peer);
	c.auth_present = 0;
	if (token[0] != '\0')
		c.auth_present |= PROTO_AUTH_TOKEN;
	SETF(c.token, token);
	if (device_token[0] != '\0')
		c.auth_present |= PROTO_AUTH_DEVICE_TOKEN;
	SETF(c.device_token, device_token);
	sign(&c, dev, NONCE);
	return c;
}

/* A wrong shared secret rescued by the device token is no failure; wrong device
 * tokens lock their own scope; any success resets every key. */
static void
test_device_token_counting(void)
{
	struct device dev;
	struct proto_connect c;
	char devtok[PROTO_TOKEN_MAX + 1];

	fresh_limits();
	pair(&dev, devtok);
	for (int i = 0; i < RATELIMIT_MAX_ATTEMPTS + 2; i++) {
		c = device_connect(&dev, "203.0.113.20", "stale-shared", devtok);
		CHECK_STR_EQ(verdict(&c, NULL), "accepted");
	}
	for (int i = 0; i < RATELIMIT_MAX_ATTEMPTS; i++) {
		c = device_connect(&dev, "203.0.113.21", "", "wrong-device-token");
		CHECK_STR_EQ(verdict(&c, NULL), "AUTH_DEVICE_TOKEN_MISMATCH");
	}
	c = device_connect(&dev, "203.0.113.21", "", devtok);
	CHECK_STR_EQ(verdict(&c, NULL), "AUTH_RATE_LIMITED");
	c = device_connect(&dev, "203.0.113.22", "", devtok);
	CHECK_STR_EQ(verdict(&c, NULL), "accepted");
	/* The shared secret is another scope, and its success clears the lock. */
	c = cli(NULL);
	SETF(c.peer_ip, "203.0.113.21");
	CHECK_STR_EQ(verdict(&c, NULL), "accepted");
	c = device_connect(&dev, "203.0.113.21", "", devtok);
	CHECK_STR_EQ(verdict(&c, NULL), "accepted");
	EVP_PKEY_free(dev.key);
}

static void
break_signature(struct proto_connect *c)
{
	c->signature[5] = c->signature[5] == 'A' ? 'B' : 'A';
}

/* Unauthorized whatever the proof says: refused without checking it. */
static void
test_hopeless_skips_the_proof(void)
{
	struct device dev, stranger;
	struct proto_connect c;
	struct reg_device *d;
	char devtok[PROTO_TOKEN_MAX + 1];
	int64_t used;

	fresh_limits();
	pair(&dev, devtok);
	device_new(&stranger);
	c = device_connect(&stranger, "203.0.113.30", "", "");
	break_signature(&c);
	CHECK_STR_EQ(verdict(&c, NULL), "AUTH_TOKEN_MISSING");
	c = device_connect(&stranger, "203.0.113.30", "", "some-device-token");
	break_signature(&c);
	CHECK_STR_EQ(verdict(&c, NULL), "AUTH_DEVICE_TOKEN_MISMATCH");
	c = device_connect(&dev, "203.0.113.30", "wrong", "");
	break_signature(&c);
	CHECK_STR_EQ(verdict(&c, NULL), "AUTH_TOKEN_MISMATCH");
	/* The right device token is worth checking the proof for, and a failed
	 * proof leaves no trace of the token's use. */
	d = registry_device_find(&reg, dev.id);
	used = d->tokens[ROLE_OPERATOR].last_used_at_ms;
	c = device_connect(&dev, "203.0.113.30", "", devtok);
	c.signed_at = NOW + 1;	/* still within the skew, but not what was signed */
	CHECK_STR_EQ(verdict(&c, NULL), "DEVICE_AUTH_SIGNATURE_INVALID");
	CHECK_INT_EQ(d->tokens[ROLE_OPERATOR].last_used_at_ms, used);
	/* With a good proof the answers are what they always were. */
	c = device_connect(&stranger, "203.0.113.30", "", "");
	CHECK_STR_EQ(verdict(&c, NULL), "AUTH_TOKEN_MISSING");
	EVP_PKEY_free(dev.key);
	EVP_PKEY_free(stranger.key);
}

int
main(void)
{
	if (adm_setup() < 0)
		return 2;
	TEST_RUN(test_origin_lock);
	TEST_RUN(test_budget_keys);
	TEST_RUN(test_device_token_counting);
	TEST_RUN(test_hopeless_skips_the_proof);
	adm_teardown();
	return test_exit();
}
