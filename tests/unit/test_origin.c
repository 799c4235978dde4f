/* brokerd/origin: the Origin check of doc/protocol.md §4.7, rule by rule. */
#include <stdio.h>
#include <string.h>

#include "brokerd/origin.h"
#include "testutil.h"

static struct config cfg;

static void
allow(const char *origin)
{
	snprintf(cfg.allowed_origins[cfg.nallowed_origins++], sizeof(cfg.allowed_origins[0]),
	    "%s", origin);
}

#define D LOCALITY_DIRECT_LOCAL
#define B LOCALITY_BROWSER_CONTAINER_LOCAL
#define R LOCALITY_REMOTE

static const struct {
	const char *origin, *host;
	enum locality loc;
	int want;
} origin_cases[] = {
	/* (4) direct local from a loopback page, whatever the Host */
	{ "http://127.0.0.1:18789", "127.0.0.1:18789", D, 1 },
	{ "http://localhost:5173", "127.0.0.1:18789", D, 1 },
	{ "http://[::1]:18789", "[::1]:18789", D, 1 },
	{ "http://localhost:5173", "127.0.0.1:18789", R, 0 },
	/* (3) same host: loopback names only for local clients (Docker NAT) */
	{ "http://localhost:18789", "localhost:18789", B, 1 },
	{ "http://localhost:18789", "localhost:18789", R, 0 },
	{ "http://192.168.1.5:18789", "192.168.1.5:18789", R, 1 },
	{ "http://[fd00::2]:18789", "[fd00::2]:18789", R, 1 },
	{ "https://box.local", "box.local", R, 1 },
	{ "https://box.tail1234.ts.net", "box.tail1234.ts.net", R, 1 },
	{ "https://example.com", "example.com", R, 0 },
	{ "http://192.168.1.5:18789", "192.168.1.5:18790", R, 0 },
	{ "https://evil.example", "192.168.1.5:18789", R, 0 },
	/* (1) listed, case-insensitively */
	{ "HTTPS://UI.Example.COM", "gw.example.com", R, 1 },
	{ "https://ui.example.com:8443", "gw.example.com", R, 0 },
	/* never: null, credentials, paths, other schemes, junk */
	{ "null", "127.0.0.1:18789", D, 0 },
	{ "http://user@127.0.0.1:18789", "127.0.0.1:18789", D, 0 },
	{ "http://127.0.0.1:18789/x", "127.0.0.1:18789", D, 0 },
	{ "file://127.0.0.1", "127.0.0.1", D, 0 },
	{ "http://", "127.0.0.1", D, 0 },
	{ "http://[::1", "[::1]", D, 0 },
	{ "", "127.0.0.1", D, 0 },
};

static void
test_rules(void)
{
	memset(&cfg, 0, sizeof(cfg));
	allow("https://ui.example.com");
	for (size_t i = 0; i < sizeof(origin_cases) / sizeof(origin_cases[0]); i++)
		testutil_check(origin_allowed(&cfg, origin_cases[i].origin, origin_cases[i].host,
		    origin_cases[i].loc) == origin_cases[i].want, __FILE__, __LINE__,
		    "origin \"%s\" host \"%s\" locality %d: want %d", origin_cases[i].origin,
		    origin_cases[i].host, (int)origin_cases[i].loc, origin_cases[i].want);
}

static void
test_star_and_host_fallback(void)
{
	memset(&cfg, 0, sizeof(cfg));
	CHECK(!origin_allowed(&cfg, "https://example.com", "example.com", R));
	cfg.origin_host_fallback = 1;
	CHECK(origin_allowed(&cfg, "https://example.com", "example.com", R));
	CHECK(!origin_allowed(&cfg, "https://example.com", "other.com", R));
	allow("*");
	CHECK(origin_allowed(&cfg, "https://anything.example", "other.com", R));
	CHECK(!origin_allowed(&cfg, "null", "other.com", R));
}

int
main(void)
{
	TEST_RUN(test_rules);
	TEST_RUN(test_star_and_host_fallback);
	return test_exit();
}
