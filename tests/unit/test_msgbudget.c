/* gatewayd/msgbudget: the count and the queue of the large-message budget. */
#include <string.h>

#include "gatewayd/msgbudget.h"
#include "testutil.h"

/* The order in which waiting reservations were granted. */
static int granted_order[8];
static uint64_t granted_bytes[8];
static int ngranted;

static void
granted(void *arg, uint64_t bytes)
{
	granted_order[ngranted] = *(int *)arg;
	granted_bytes[ngranted] = bytes;
	ngranted++;
}

static int ids[4] = { 0, 1, 2, 3 };
static struct msgbudget_wait w[4];

static void
reset(uint64_t total)
{
	msgbudget_set_total(total);
	memset(w, 0, sizeof(w));
	for (int i = 0; i < 4; i++) {
		w[i].granted = granted;
		w[i].arg = &ids[i];
	}
	ngranted = 0;
}

static void
test_fits_and_frees(void)
{
	reset(1000);
	CHECK_INT_EQ(msgbudget_reserve(&w[0], 600), MSGBUDGET_GRANTED);
	CHECK_INT_EQ(msgbudget_reserve(&w[1], 400), MSGBUDGET_GRANTED);
	CHECK_INT_EQ(msgbudget_used(), 1000);
	CHECK_INT_EQ(msgbudget_waiting(), 0);
	msgbudget_release(1000);
	CHECK_INT_EQ(msgbudget_used(), 0);
	CHECK_INT_EQ(ngranted, 0);
}

/* First come, first served: a small reservation behind a large waiting one
 * waits too, though it would fit; releases grant them in order. */
static void
test_waits_in_order(void)
{
	reset(1000);
	CHECK_INT_EQ(msgbudget_reserve(&w[0], 700), MSGBUDGET_GRANTED);
	CHECK_INT_EQ(msgbudget_reserve(&w[1], 500), MSGBUDGET_QUEUED);
	CHECK_INT_EQ(msgbudget_reserve(&w[2], 100), MSGBUDGET_QUEUED);
	CHECK_INT_EQ(msgbudget_waiting(), 2);
	CHECK_INT_EQ(msgbudget_used(), 700);
	msgbudget_release(100);
	CHECK_INT_EQ(ngranted, 0);
	msgbudget_release(600);
	CHECK_INT_EQ(ngranted, 2);
	CHECK_INT_EQ(granted_order[0], 1);
	CHECK_INT_EQ(granted_bytes[0], 500);
	CHECK_INT_EQ(granted_order[1], 2);
	CHECK_INT_EQ(granted_bytes[1], 100);
	CHECK_INT_EQ(msgbudget_used(), 600);
	CHECK_INT_EQ(msgbudget_waiting(), 0);
	CHECK_INT_EQ(w[1].queued, 0);
	msgbudget_release(600);
}

/* A waiter that gives up lets those behind it through if they fit. */
static void
test_cancel(void)
{
	reset(1000);
	CHECK_INT_EQ(msgbudget_reserve(&w[0], 600), MSGBUDGET_GRANTED);
	CHECK_INT_EQ(msgbudget_reserve(&w[1], 900), MSGBUDGET_QUEUED);
	CHECK_INT_EQ(msgbudget_reserve(&w[2], 300), MSGBUDGET_QUEUED);
	msgbudget_cancel(&w[1]);
	CHECK_INT_EQ(ngranted, 1);
	CHECK_INT_EQ(granted_order[0], 2);
	CHECK_INT_EQ(msgbudget_used(), 900);
	CHECK_INT_EQ(msgbudget_waiting(), 0);
	/* Cancelling what is not queued changes nothing. */
	msgbudget_cancel(&w[1]);
	msgbudget_cancel(&w[3]);
	CHECK_INT_EQ(msgbudget_used(), 900);
	msgbudget_release(900);
	CHECK_INT_EQ(msgbudget_used(), 0);
}

/* More than the whole budget never fits: refused rather than queued forever. */
static void
test_never(void)
{
	reset(1000);
	CHECK_INT_EQ(msgbudget_reserve(&w[0], 1001), MSGBUDGET_NEVER);
	CHECK_INT_EQ(msgbudget_waiting(), 0);
	CHECK_INT_EQ(msgbudget_reserve(&w[0], 1000), MSGBUDGET_GRANTED);
	msgbudget_release(1000);
}

static void
test_default(void)
{
	CHECK_INT_EQ(msgbudget_default(1), MSGBUDGET_TOTAL);
	CHECK_INT_EQ(msgbudget_default(2), MSGBUDGET_TOTAL / 2);
	CHECK_INT_EQ(msgbudget_default(64), MSGBUDGET_WORKER_MIN);
}

int
main(void)
{
	TEST_RUN(test_fits_and_frees);
	TEST_RUN(test_waits_in_order);
	TEST_RUN(test_cancel);
	TEST_RUN(test_never);
	TEST_RUN(test_default);
	return test_exit();
}
