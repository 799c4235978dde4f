#include "brokerd/authrate.h"

#include <ctype.h>
#include <stdio.h>

#include "brokerd/ratelimit.h"
#include "common/ipaddr.h"

#define AUTHRATE_KEY_MAX (PROTO_TEXT_MAX + 32)

static const char *const authrate_scope_names[] = {
	[AUTHRATE_SHARED_SECRET] = "shared-secret",
	[AUTHRATE_DEVICE_TOKEN] = "device-token",
};

/* Only a loopback peer without proxy headers is this host; a proxied client's
 * address is never loopback (gatewayd skips such hops). */
static int
authrate_direct_loopback(const struct proto_connect *c)
{
	uint8_t a[16];

	return !c->proxy_headers && ipaddr_parse(c->peer_ip, a) == 0 &&
	    ipaddr_classify(a) == IPADDR_LOOPBACK;
}

/* "<scope>:<budget key>". An address that does not parse (only a broken
 * gatewayd sends one) counts as the text it is. */
static void
authrate_addr_key(const struct proto_connect *c, enum authrate_scope scope,
    char key[AUTHRATE_KEY_MAX])
{
	char budget[IPADDR_BUDGET_KEY_MAX];
	uint8_t a[16];

	if (ipaddr_parse(c->peer_ip, a) < 0) {
		snprintf(key, AUTHRATE_KEY_MAX, "%s:%s", authrate_scope_names[scope], c->peer_ip);
		return;
	}
	ipaddr_budget_key(a, budget);
	snprintf(key, AUTHRATE_KEY_MAX, "%s:%s", authrate_scope_names[scope], budget);
}

/* "browser-origin:<origin, lower-cased>". */
static void
authrate_origin_key(const struct proto_connect *c, char key[AUTHRATE_KEY_MAX])
{
	snprintf(key, AUTHRATE_KEY_MAX, "browser-origin:%s", c->origin);
	for (char *p = key; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
}

#define AUTHRATE_BACKOFF_KEY "backoff:loopback"

int64_t
authrate_locked(struct ratelimit *rl, const struct proto_connect *c, enum authrate_scope scope,
    int64_t now_ms)
{
	char key[AUTHRATE_KEY_MAX];

	if (authrate_direct_loopback(c))
		return 0;
	authrate_addr_key(c, scope, key);
	return ratelimit_locked(rl, key, now_ms);
}

int64_t
authrate_failed(struct ratelimit *rl, const struct proto_connect *c, unsigned scopes,
    int64_t now_ms, uint32_t *delay_ms)
{
	char key[AUTHRATE_KEY_MAX];
	int64_t was_locked = 0;
	unsigned n;

	*delay_ms = 0;
	if (!authrate_direct_loopback(c)) {
		for (unsigned s = 0; s < sizeof(authrate_scope_names) / sizeof(*authrate_scope_names);
		    s++) {
			if (!(scopes & AUTHRATE_SCOPE_BIT(s)))
				continue;
			authrate_addr_key(c, (enum authrate_scope)s, key);
			ratelimit_fail(rl, key, now_ms);
		}
		return 0;
	}
	n = ratelimit_note(rl, AUTHRATE_BACKOFF_KEY, now_ms);
	*delay_ms = n >= 6 ? AUTHRATE_BACKOFF_MAX_MS : AUTHRATE_BACKOFF_BASE_MS << (n - 1);
	if (c->origin[0] != '\0') {
		authrate_origin_key(c, key);
		was_locked = ratelimit_locked(rl, key, now_ms);
		ratelimit_fail(rl, key, now_ms);
	}
	return was_locked;
}

void
authrate_succeeded(struct ratelimit *rl, const struct proto_connect *c)
{
	char key[AUTHRATE_KEY_MAX];

	if (!authrate_direct_loopback(c)) {
		for (unsigned s = 0; s < sizeof(authrate_scope_names) / sizeof(*authrate_scope_names);
		    s++) {
			authrate_addr_key(c, (enum authrate_scope)s, key);
			ratelimit_reset(rl, key);
		}
		return;
	}
	ratelimit_reset(rl, AUTHRATE_BACKOFF_KEY);
	if (c->origin[0] != '\0') {
		authrate_origin_key(c, key);
		ratelimit_reset(rl, key);
	}
}
