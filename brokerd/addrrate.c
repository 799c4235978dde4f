#include "brokerd/addrrate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "proto/proto.h"

struct addrrate_ent {
	struct htab_node node;
	TAILQ_ENTRY(addrrate_ent) entry;
	char addr[PROTO_ADDR_MAX + 1];
	unsigned tokens;
	int64_t refilled_ms;	/* when tokens was last brought up to date */
};

void
addrrate_init(struct addrrate *r, unsigned burst, int64_t interval_ms)
{
	htab_init(&r->tab);
	TAILQ_INIT(&r->lru);
	r->n = 0;
	r->burst = burst;
	r->interval_ms = interval_ms;
}

static void
addrrate_drop(struct addrrate *r, struct addrrate_ent *e)
{
	htab_remove(&r->tab, &e->node);
	TAILQ_REMOVE(&r->lru, e, entry);
	r->n--;
	free(e);
}

void
addrrate_free(struct addrrate *r)
{
	struct addrrate_ent *e;

	while ((e = TAILQ_FIRST(&r->lru)) != NULL)
		addrrate_drop(r, e);
	htab_free(&r->tab);
}

static int
addrrate_match(const struct htab_node *n, const void *key)
{
	return strcmp(((const struct addrrate_ent *)n)->addr, key) == 0;
}

/* Brings e's bucket up to now_ms: 0, or -1 with *retry_after_ms set to when the
 * next token comes back if the bucket is empty. */
static int
addrrate_refill(const struct addrrate *r, struct addrrate_ent *e, int64_t now_ms,
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
	uint64_t hash = htab_hash_str(addr);
	struct addrrate_ent *e;

	e = (struct addrrate_ent *)htab_lookup(&r->tab, hash, addrrate_match, addr);
	if (e == NULL) {
		if (r->n >= ADDRRATE_MAX_ADDRS)
			addrrate_drop(r, TAILQ_FIRST(&r->lru));
		e = xcalloc(1, sizeof(*e));
		snprintf(e->addr, sizeof(e->addr), "%s", addr);
		e->tokens = r->burst;
		e->refilled_ms = now_ms;
		htab_insert(&r->tab, &e->node, hash);
		r->n++;
	} else {
		TAILQ_REMOVE(&r->lru, e, entry);
	}
	TAILQ_INSERT_TAIL(&r->lru, e, entry);
	if (addrrate_refill(r, e, now_ms, retry_after_ms) < 0)
		return -1;
	e->tokens--;
	return 0;
}

int
addrrate_peek(struct addrrate *r, const char *addr, int64_t now_ms, int64_t *retry_after_ms)
{
	struct addrrate_ent *e;

	e = (struct addrrate_ent *)htab_lookup(&r->tab, htab_hash_str(addr), addrrate_match,
	    addr);
	return e == NULL ? 0 : addrrate_refill(r, e, now_ms, retry_after_ms);
}
