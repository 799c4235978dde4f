#include "gatewayd/msgbudget.h"

#include "common/clock.h"
#include "common/log.h"

/* A full budget is reported at most this often; each wait is counted. */
#define MSGBUDGET_REPORT_MS 10000

static TAILQ_HEAD(, msgbudget_wait) msgbudget_queue = TAILQ_HEAD_INITIALIZER(msgbudget_queue);
static uint64_t msgbudget_limit = MSGBUDGET_TOTAL;
static uint64_t msgbudget_in_use;
static size_t msgbudget_nwaiting;
static struct {
	int64_t last_ms;
	unsigned waits;		/* since the last report */
} msgbudget_report;

void
msgbudget_set_total(uint64_t total)
{
	msgbudget_limit = total;
}

uint64_t
msgbudget_default(unsigned workers)
{
	uint64_t share = MSGBUDGET_TOTAL / (workers > 0 ? workers : 1);

	return share < MSGBUDGET_WORKER_MIN ? MSGBUDGET_WORKER_MIN : share;
}

uint64_t
msgbudget_total(void)
{
	return msgbudget_limit;
}

uint64_t
msgbudget_used(void)
{
	return msgbudget_in_use;
}

size_t
msgbudget_waiting(void)
{
	return msgbudget_nwaiting;
}

static int
msgbudget_fits(uint64_t n)
{
	return n <= msgbudget_limit && msgbudget_in_use <= msgbudget_limit - n;
}

/* The admin learns that connections wait, and what to do about it. */
static void
msgbudget_note_full(void)
{
	int64_t now = clock_mono_ms();

	msgbudget_report.waits++;
	if (msgbudget_report.last_ms != 0 && now - msgbudget_report.last_ms < MSGBUDGET_REPORT_MS)
		return;
	log_warnx("large-message budget full: %llu of %llu MiB held by messages still arriving; "
	    "%u connection(s) had to wait for room since the last report (%zu waiting now). "
	    "A connection sending a message over %d KiB waits for room, and is closed 1013 "
	    "(retry later) when it waits too long", (unsigned long long)(msgbudget_in_use >> 20),
	    (unsigned long long)(msgbudget_limit >> 20), msgbudget_report.waits,
	    msgbudget_nwaiting, MSGBUDGET_SMALL / 1024);
	msgbudget_report.last_ms = now;
	msgbudget_report.waits = 0;
}

enum msgbudget_result
msgbudget_reserve(struct msgbudget_wait *w, uint64_t n)
{
	if (n > msgbudget_limit)
		return MSGBUDGET_NEVER;
	if (TAILQ_EMPTY(&msgbudget_queue) && msgbudget_fits(n)) {
		msgbudget_in_use += n;
		return MSGBUDGET_GRANTED;
	}
	w->want = n;
	w->queued = 1;
	TAILQ_INSERT_TAIL(&msgbudget_queue, w, entry);
	msgbudget_nwaiting++;
	msgbudget_note_full();
	return MSGBUDGET_QUEUED;
}

void
msgbudget_cancel(struct msgbudget_wait *w)
{
	if (!w->queued)
		return;
	TAILQ_REMOVE(&msgbudget_queue, w, entry);
	w->queued = 0;
	msgbudget_nwaiting--;
	/* Those behind it may fit where it did not. */
	msgbudget_release(0);
}

void
msgbudget_release(uint64_t n)
{
	struct msgbudget_wait *w;

	if (n > msgbudget_in_use)
		fatalx("large-message budget: %llu bytes released, %llu reserved",
		    (unsigned long long)n, (unsigned long long)msgbudget_in_use);
	msgbudget_in_use -= n;
	while ((w = TAILQ_FIRST(&msgbudget_queue)) != NULL && msgbudget_fits(w->want)) {
		TAILQ_REMOVE(&msgbudget_queue, w, entry);
		w->queued = 0;
		msgbudget_nwaiting--;
		msgbudget_in_use += w->want;
		w->granted(w->arg, w->want);
	}
}
