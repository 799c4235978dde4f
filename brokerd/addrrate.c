#include "brokerd/addrrate.h"

struct addrrate_bucket {
	unsigned tokens;
	int64_t refilled_ms;	/* when tokens was last brought up to date */
};

void
addrrate_init(struct addrrate *r, unsigned burst, int64_t interval_ms)
{
	lrutab_init(&r->buckets, ADDRRATE_MAX_ADDRS, sizeof(struct addrrate_bucket));
	r->burst = burst;
	r->interval_ms = interval_ms;
}

void
addrrate_free(struct addrrate *r)
{
	lrutab_free(&r->buckets);
}

/* Brings e's bucket up to now_ms: 0, or -1 with *retry_after_ms set to when the
 * next token comes back if the bucket is empty. */
static int
addrrate_refill(const struct addrrate *r, struct addrrate_bucket *e, int64_t now_ms,
    int64_t *retry_after_ms)
{
	int64_t elapsed, back;

	/* A wall clock stepped back only delays the refill. */
	elapsed = now_ms > e->refilled_ms ? now_ms - e->refilled_ms : 0;
	back = elapsed / r->interval_ms;
	if (e->tokens + back >= r->burst) {
		e->tokens = r->burst;
		e->refilled_ms = now_ms;
	} else {
		e->tokens += (unsigned)back;
		e->refilled_ms += back * r->interval_ms;
	}
	if (e->tokens == 0) {
		*retry_after_ms = r->interval_ms -
		    (now_ms > e->refilled_ms ? now_ms - e->refilled_ms : 0);
		return -1;
	}
	return 0;
}

int
addrrate_take(struct addrrate *r, const char *addr, int64_t now_ms, int64_t *retry_after_ms)
{
	int created;
	struct addrrate_bucket *e = lrutab_touch(&r->buckets, addr, &created);

	if (created) {
		e->tokens = r->burst;
		e->refilled_ms = now_ms;
	}
	if (addrrate_refill(r, e, now_ms, retry_after_ms) < 0)
		return -1;
	e->tokens--;
	return 0;
}

int
addrrate_peek(struct addrrate *r, const char *addr, int64_t now_ms, int64_t *retry_after_ms)
{
	struct addrrate_bucket *e = lrutab_find(&r->buckets, addr);

	return e == NULL ? 0 : addrrate_refill(r, e, now_ms, retry_after_ms);
}
