/* brokerd/ratelimit: the sliding window, the lockout, reset, bounded memory. */
#include <stdio.h>

#include "brokerd/ratelimit.h"
#include "testutil.h"

static void
test_window_and_lockout(void)
{
	struct ratelimit *rl = ratelimit_new();
	int64_t t = 1000000;

	/* Nine failures, then the window slides past them: no lock. */
	for (int i = 0; i < 9; i++)
		CHECK_INT_EQ(ratelimit_fail(rl, "a", t + i), 0);
	CHECK_INT_EQ(ratelimit_fail(rl, "a", t + RATELIMIT_WINDOW_MS + 10), 0);
	/* Ten within the window lock the key for five minutes; others are free. */
	for (int i = 0; i < 9; i++)
		CHECK_INT_EQ(ratelimit_fail(rl, "b", t + i), 0);
	CHECK_INT_EQ(ratelimit_fail(rl, "b", t + 9), RATELIMIT_LOCKOUT_MS);
	CHECK_INT_EQ(ratelimit_locked(rl, "b", t + 1009), RATELIMIT_LOCKOUT_MS - 1000);
	CHECK_INT_EQ(ratelimit_locked(rl, "c", t + 9), 0);
	CHECK_INT_EQ(ratelimit_locked(rl, "b", t + 9 + RATELIMIT_LOCKOUT_MS), 0);
	/* A success resets. */
	for (int i = 0; i < 9; i++)
		ratelimit_fail(rl, "d", t + i);
	ratelimit_reset(rl, "d");
	CHECK_INT_EQ(ratelimit_fail(rl, "d", t + 10), 0);
	ratelimit_free(rl);
}

static void
test_bounded(void)
{
	struct ratelimit *rl = ratelimit_new();
	char key[32];

	for (int i = 0; i < RATELIMIT_MAX_KEYS + 500; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ratelimit_fail(rl, key, 1);
	}
	CHECK_INT_EQ(ratelimit_count(rl), RATELIMIT_MAX_KEYS);
	ratelimit_free(rl);
}

int
main(void)
{
	TEST_RUN(test_window_and_lockout);
	TEST_RUN(test_bounded);
	return test_exit();
}
