/* gatewayd/preauth: per-address socket counts up to a limit, released one by one. */
#include "gatewayd/preauth.h"
#include "testutil.h"

static void
test_limit_per_address(void)
{
	CHECK(preauth_acquire("192.0.2.1", 0) < 0);
	for (int i = 0; i < 3; i++)
		CHECK(preauth_acquire("192.0.2.1", 3) == 0);
	CHECK(preauth_acquire("192.0.2.1", 3) < 0);
	/* Another address has its own count. */
	CHECK(preauth_acquire("2001:db8::1", 3) == 0);
	preauth_release("192.0.2.1");
	CHECK(preauth_acquire("192.0.2.1", 3) == 0);
	CHECK(preauth_acquire("192.0.2.1", 3) < 0);
	preauth_free();
	/* Freed, every address starts afresh. */
	CHECK(preauth_acquire("192.0.2.1", 1) == 0);
	CHECK(preauth_acquire("192.0.2.1", 1) < 0);
	preauth_release("192.0.2.1");
	CHECK(preauth_acquire("192.0.2.1", 1) == 0);
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
		ok += preauth_acquire(addr, 1) == 0;
	}
	CHECK_INT_EQ(ok, 2000);
	for (int i = 0; i < 2000; i++) {
		snprintf(addr, sizeof(addr), "10.0.%d.%d", i >> 8, i & 255);
		preauth_release(addr);
	}
	ok = 0;
	for (int i = 0; i < 2000; i++) {
		snprintf(addr, sizeof(addr), "10.0.%d.%d", i >> 8, i & 255);
		ok += preauth_acquire(addr, 1) == 0;
	}
	CHECK_INT_EQ(ok, 2000);
	preauth_free();
}

int
main(void)
{
	TEST_RUN(test_limit_per_address);
	TEST_RUN(test_many_addresses);
	return test_exit();
}
