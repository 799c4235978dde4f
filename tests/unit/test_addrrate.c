/* brokerd/addrrate: the per-address token bucket that caps how fast one address
 * creates pairing requests: burst, refill, retry-after, independence of addresses
 * and the bounded table. */
#include <stdio.h>

#include "brokerd/addrrate.h"
#include "testutil.h"

#define T0 1795511295036LL

static void
test_burst_then_refill(void)
{
	struct addrrate r;
	int64_t retry = 0;

	addrrate_init(&r, 3, 1000);
	for (int i = 0; i < 3; i++)
		CHECK(addrrate_take(&r, "10.0.0.1", T0, &retry) == 0);
	CHECK(addrrate_take(&r, "10.0.0.1", T0 + 400, &retry) < 0);
	CHECK_INT_EQ(retry, 600);
	/* Another address has its own bucket. */
	CHECK(addrrate_take(&r, "10.0.0.2", T0 + 400, &retry) == 0);
	/* One token per interval comes back, no more. */
	CHECK(addrrate_take(&r, "10.0.0.1", T0 + 1000, &retry) == 0);
	CHECK(addrrate_take(&r, "10.0.0.1", T0 + 1500, &retry) < 0);
	CHECK_INT_EQ(retry, 500);
	/* A long pause refills to the burst, not beyond. */
	for (int i = 0; i < 3; i++)
		CHECK(addrrate_take(&r, "10.0.0.1", T0 + 3600000, &retry) == 0);
	CHECK(addrrate_take(&r, "10.0.0.1", T0 + 3600000, &retry) < 0);
	/* A clock stepped back neither refills nor breaks the retry time. */
	CHECK(addrrate_take(&r, "10.0.0.1", T0, &retry) < 0);
	CHECK(retry > 0 && retry <= 1000);
	addrrate_free(&r);
}

static void
test_table_is_bounded(void)
{
	struct addrrate r;
	char addr[32];
	int64_t retry;

	addrrate_init(&r, 1, 60000);
	CHECK(addrrate_take(&r, "192.0.2.1", T0, &retry) == 0);
	CHECK(addrrate_take(&r, "192.0.2.1", T0, &retry) < 0);
	for (int i = 0; i < ADDRRATE_MAX_ADDRS + 10; i++) {
		snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		CHECK(addrrate_take(&r, addr, T0, &retry) == 0);
	}
	CHECK_INT_EQ(lrutab_count(&r.buckets), ADDRRATE_MAX_ADDRS);
	/* The least recently used address was forgotten: it starts afresh. */
	CHECK(addrrate_take(&r, "192.0.2.1", T0, &retry) == 0);
	addrrate_free(&r);
}

int
main(void)
{
	TEST_RUN(test_burst_then_refill);
	TEST_RUN(test_table_is_bounded);
	return test_exit();
}
