/*
 * A table of at most a fixed number of records keyed by string, each holding a
 * value of a fixed size that the table allocates. Making a record beyond the
 * bound forgets the least recently used one, so memory stays bounded whatever
 * keys clients bring. Only lrutab_touch counts as use; looking a key up with
 * lrutab_find leaves the order alone.
 */
#ifndef COMMON_LRUTAB_H
#define COMMON_LRUTAB_H

#include <stddef.h>
#include <sys/queue.h>

#include "common/htab.h"

struct lrutab_entry;

struct lrutab {
	struct htab tab;
	TAILQ_HEAD(, lrutab_entry) lru;	/* least recently used first */
	size_t max;			/* records kept at most, at least 1 */
	size_t valsize;			/* bytes of each record's value */
};

void lrutab_init(struct lrutab *t, size_t max, size_t valsize);
void lrutab_free(struct lrutab *t);
/* key's value (suitably aligned for any type), or NULL. */
void *lrutab_find(const struct lrutab *t, const char *key);
/* key's value, now the most recently used. If key had none, a zeroed one is made
 * (the least recently used record forgotten first when the table is full) and
 * *created set to 1; otherwise *created is 0. */
void *lrutab_touch(struct lrutab *t, const char *key, int *created);
/* Forgets key's record, if it has one. */
void lrutab_remove(struct lrutab *t, const char *key);
size_t lrutab_count(const struct lrutab *t);

#endif
