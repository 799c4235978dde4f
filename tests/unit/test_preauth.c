/* gatewayd/preauth: per-address socket counts up to a limit, released one by one,
 * counted under the address's budget key. */
#include <string.h>

#include "gatewayd/preauth.h"
#include "testutil.h"

static void
test_limit_per_address(void)
{
	CHECK(preauth_acquire(PREAUTH_UPGRADE, "192.0.2.1", 0) < 0);
	for (int i = 0; i < 3; i++)
		CHECK(preauth_acquire(PREAUTH_UPGRADE, "192.0.2.1", 3) == 0);
	CHECK(preauth_acquire(PREAUTH_UPGRADE, "192.0.2.1", 3) < 0);
	/* Another address has its own count. */
	CHECK(preauth_acquire(PREAUTH_UPGRADE, "2001:db8::1", 3) == 0);
	preauth_release(PREAUTH_UPGRADE, "192.0.2.1");
	CHECK(preauth_acquire(PREAUTH_UPGRADE, "192.0.2.1", 3) == 0);
	CHECK(preauth_acquire(PREAUTH_UPGRADE, "192.0.2.1", 3) < 0);
	preauth_free();
	/* Freed, every address starts afresh. */
	CHECK(preauth_acquire(PREAUTH_UPGRADE, "192.0.2.1", 1) == 0);
	CHECK(preauth_acquire(PREAUTH_UPGRADE, "192.0.2.1", 1) < 0);
	preauth_release(PREAUTH_UPGRADE, "192.0.2.1");
	CHECK(preauth_acquire(PREAUTH_UPGRADE, "192.0.2.1", 1) == 0);
	preauth_free();
}

/* Many addresses at once, each released to nothing. */
static void
test_many_addresses(void)
{
	char addr[32];
	int ok = 0;

	for (int i = 0; i < 2000; i++) {
		snprintf(addr, sizeof(addr), "10.0.%d.%d", i >> 8, i & 255);
		ok += preauth_acquire(PREAUTH_UPGRADE, addr, 1) == 0;
	}
	CHECK_INT_EQ(ok, 2000);
	for (int i = 0; i < 2000; i++) {
		snprintf(addr, sizeof(addr), "10.0.%d.%d", i >> 8, i & 255);
		preauth_release(PREAUTH_UPGRADE, addr);
	}
	ok = 0;
	for (int i = 0; i < 2000; i++) {
		snprintf(addr, sizeof(addr), "10.0.%d.%d", i >> 8, i & 255);
		ok += preauth_acquire(PREAUTH_UPGRADE, addr, 1) == 0;
	}
	CHECK_INT_EQ(ok, 2000);
	preauth_free();
}

/* IPv6 counts per /64, IPv4 per address, loopback as one. */
static void
test_budget_keys(void)
{
	char key[PREAUTH_KEY_MAX];

	CHECK(preauth_acquire(PREAUTH_UPGRADE, "2001:db8:1:2::1", 2) == 0);
	CHECK(preauth_acquire(PREAUTH_UPGRADE, "2001:db8:1:2:ffff::9", 2) == 0);
	CHECK(preauth_acquire(PREAUTH_UPGRADE, "2001:db8:1:2::77", 2) < 0);
	CHECK(preauth_acquire(PREAUTH_UPGRADE, "2001:db8:1:3::1", 2) == 0);
	CHECK(preauth_acquire(PREAUTH_UPGRADE, "127.0.0.1", 2) == 0);
	CHECK(preauth_acquire(PREAUTH_UPGRADE, "127.0.0.2", 2) == 0);
	CHECK(preauth_acquire(PREAUTH_UPGRADE, "::1", 2) < 0);
	CHECK(preauth_acquire(PREAUTH_UPGRADE, "192.0.2.1", 1) == 0);
	CHECK(preauth_acquire(PREAUTH_UPGRADE, "192.0.2.2", 1) == 0);
	CHECK(preauth_acquire(PREAUTH_UPGRADE, "::ffff:192.0.2.2", 1) < 0);
	/* Released under the same key whichever address of it is named. */
	preauth_release(PREAUTH_UPGRADE, "2001:db8:1:2::abcd");
	CHECK(preauth_acquire(PREAUTH_UPGRADE, "2001:db8:1:2::5", 2) == 0);
	/* The two budgets count apart. */
	CHECK(preauth_acquire(PREAUTH_FRONT, "192.0.2.1", 1) == 0);
	CHECK(preauth_acquire(PREAUTH_FRONT, "192.0.2.1", 1) < 0);
	preauth_key("2001:db8:1:2:aaaa::1", key);
	CHECK(strcmp(key, "2001:db8:1:2::/64") == 0);
	preauth_key("127.9.9.9", key);
	CHECK(strcmp(key, "loopback") == 0);
	preauth_key("unknown", key);
	CHECK(strcmp(key, "unknown") == 0);
	preauth_free();
}

int
main(void)
{
	TEST_RUN(test_limit_per_address);
	TEST_RUN(test_many_addresses);
	TEST_RUN(test_budget_keys);
	return test_exit();
}
