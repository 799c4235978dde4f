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

/* The loopback back-off's counter: failures within the window, never a lock. */
static void
test_note_never_locks(void)
{
	struct ratelimit *rl = ratelimit_new();
	int64_t t = 1000000;

	for (unsigned i = 1; i <= 3; i++)
		CHECK_INT_EQ(ratelimit_note(rl, "l", t + i), i);
	for (unsigned i = 4; i <= 12; i++)
		ratelimit_note(rl, "l", t + i);
	CHECK_INT_EQ(ratelimit_locked(rl, "l", t + 13), 0);
	CHECK_INT_EQ(ratelimit_note(rl, "l", t + 14), RATELIMIT_MAX_ATTEMPTS);
	/* Past the window only the new failure counts. */
	CHECK_INT_EQ(ratelimit_note(rl, "l", t + 15 + RATELIMIT_WINDOW_MS), 1);
	ratelimit_reset(rl, "l");
	CHECK_INT_EQ(ratelimit_note(rl, "l", t + 16 + RATELIMIT_WINDOW_MS), 1);
	ratelimit_free(rl);
}

/* At most RATELIMIT_MAX_KEYS keys are kept: one more forgets the least recently
 * used, here a locked one. */
static void
test_bounded(void)
{
	struct ratelimit *rl = ratelimit_new();
	char key[32];

	for (int i = 0; i < RATELIMIT_MAX_ATTEMPTS; i++)
		ratelimit_fail(rl, "victim", 1);
	CHECK(ratelimit_locked(rl, "victim", 2) > 0);
	for (int i = 1; i < RATELIMIT_MAX_KEYS; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ratelimit_fail(rl, key, 1);
	}
	CHECK(ratelimit_locked(rl, "victim", 2) > 0);
	ratelimit_fail(rl, "one-more", 1);
	CHECK_INT_EQ(ratelimit_locked(rl, "victim", 2), 0);
	ratelimit_free(rl);
}

int
main(void)
{
	TEST_RUN(test_window_and_lockout);
	TEST_RUN(test_note_never_locks);
	TEST_RUN(test_bounded);
	return test_exit();
}
