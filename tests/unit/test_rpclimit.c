/* The budget of changing calls over the gateway (brokerd/rpclimit.c): a burst,
 * then a steady rate, per device and per link, and a refusal takes nothing. */
#include "brokerd/rpclimit.h"
#include "testutil.h"

#define DEV "a1b2"
#define T0 1000000

static void
test_device_burst_then_rate(void)
{
	struct rpclimit *rl = rpclimit_new();
	int64_t retry = -1;

	for (int i = 0; i < RPCLIMIT_DEVICE_BURST; i++)
		CHECK(rpclimit_take(rl, DEV, 1, T0, &retry) == RPCLIMIT_OK);
	CHECK(rpclimit_take(rl, DEV, 1, T0, &retry) == RPCLIMIT_DEVICE);
	CHECK_INT_EQ(retry, RPCLIMIT_DEVICE_EVERY_MS);
	CHECK(rpclimit_take(rl, DEV, 1, T0 + RPCLIMIT_DEVICE_EVERY_MS / 2, &retry) ==
	    RPCLIMIT_DEVICE);
	CHECK_INT_EQ(retry, RPCLIMIT_DEVICE_EVERY_MS / 2);
	CHECK(rpclimit_take(rl, DEV, 1, T0 + RPCLIMIT_DEVICE_EVERY_MS, &retry) == RPCLIMIT_OK);
	CHECK(rpclimit_take(rl, DEV, 1, T0 + RPCLIMIT_DEVICE_EVERY_MS, &retry) ==
	    RPCLIMIT_DEVICE);
	/* Another device, even on the same link, has its own budget. */
	CHECK(rpclimit_take(rl, "c3d4", 1, T0, &retry) == RPCLIMIT_OK);
	/* A long pause refills to the burst, not beyond. */
	for (int i = 0; i < RPCLIMIT_DEVICE_BURST; i++)
		CHECK(rpclimit_take(rl, DEV, 2, T0 + 3600000, &retry) == RPCLIMIT_OK);
	CHECK(rpclimit_take(rl, DEV, 2, T0 + 3600000, &retry) == RPCLIMIT_DEVICE);
	rpclimit_free(rl);
}

static void
test_link_budget(void)
{
	struct rpclimit *rl = rpclimit_new();
	char dev[16];
	int64_t retry = -1;

	/* Device-less sessions have only the link's budget. */
	for (int i = 0; i < RPCLIMIT_LINK_BURST; i++)
		CHECK(rpclimit_take(rl, "", 7, T0, &retry) == RPCLIMIT_OK);
	CHECK(rpclimit_take(rl, "", 7, T0, &retry) == RPCLIMIT_LINK);
	CHECK_INT_EQ(retry, RPCLIMIT_LINK_EVERY_MS);
	/* A device with budget left is still refused through a spent link, and
	 * the refusal does not spend the device's budget. */
	for (int i = 0; i < 3 * RPCLIMIT_DEVICE_BURST; i++)
		CHECK(rpclimit_take(rl, DEV, 7, T0, &retry) == RPCLIMIT_LINK);
	CHECK(rpclimit_take(rl, DEV, 8, T0, &retry) == RPCLIMIT_OK);
	/* Many devices on one link: the link's budget binds. */
	for (int i = 0; i < RPCLIMIT_LINK_BURST; i++) {
		snprintf(dev, sizeof(dev), "d%d", i);
		CHECK(rpclimit_take(rl, dev, 9, T0, &retry) == RPCLIMIT_OK);
	}
	CHECK(rpclimit_take(rl, "fresh", 9, T0, &retry) == RPCLIMIT_LINK);
	rpclimit_free(rl);
}

int
main(void)
{
	TEST_RUN(test_device_burst_then_rate);
	TEST_RUN(test_link_budget);
	return test_exit();
}
