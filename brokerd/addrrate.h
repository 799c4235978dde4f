/* A per-address rate limit: one token bucket per peer address, in a table of
 * bounded size (the least recently used address goes first when it is full). It
 * caps how fast one address can create new pairing requests (doc/protocol.md §6.1). */
#ifndef BROKERD_ADDRRATE_H
#define BROKERD_ADDRRATE_H

#include <stdint.h>

#include "common/lrutab.h"

/* Addresses remembered at once: a flood from many addresses costs at most this
 * many small entries, and only evicts the buckets of other addresses. */
#define ADDRRATE_MAX_ADDRS 4096

struct addrrate {
	struct lrutab buckets;		/* address -> struct addrrate_bucket */
	unsigned burst;			/* a bucket's size */
	int64_t interval_ms;		/* one token comes back per interval */
};

void addrrate_init(struct addrrate *r, unsigned burst, int64_t interval_ms);
void addrrate_free(struct addrrate *r);
/* Takes one token from addr's bucket at now_ms: 0, or -1 with *retry_after_ms
 * set to when the next token comes back. */
int addrrate_take(struct addrrate *r, const char *addr, int64_t now_ms,
    int64_t *retry_after_ms);
/* What addrrate_take would answer, without taking a token or remembering addr. */
int addrrate_peek(struct addrrate *r, const char *addr, int64_t now_ms,
    int64_t *retry_after_ms);

#endif
