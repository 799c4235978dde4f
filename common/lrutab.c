#include "common/lrutab.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"

struct lrutab_entry {
	struct htab_node node;		/* first: the node is the entry */
	TAILQ_ENTRY(lrutab_entry) lru;
	const char *key;		/* right after the value */
	_Alignas(max_align_t) unsigned char val[];
};

void
lrutab_init(struct lrutab *t, size_t max, size_t valsize)
{
	if (max == 0)
		fatalx("lrutab_init: a table of no records is a bug of its caller");
	htab_init(&t->tab);
	TAILQ_INIT(&t->lru);
	t->max = max;
	t->valsize = valsize;
}

static void
lrutab_drop(struct lrutab *t, struct lrutab_entry *e)
{
	htab_remove(&t->tab, &e->node);
	TAILQ_REMOVE(&t->lru, e, lru);
	free(e);
}

void
lrutab_free(struct lrutab *t)
{
	htab_clear(&t->tab, htab_free_record);
	TAILQ_INIT(&t->lru);
}

static int
lrutab_match(const struct htab_node *n, const void *key)
{
	return strcmp(((const struct lrutab_entry *)(const void *)n)->key, key) == 0;
}

static struct lrutab_entry *
lrutab_lookup(const struct lrutab *t, const char *key, uint64_t hash)
{
	return (struct lrutab_entry *)(void *)htab_lookup(&t->tab, hash, lrutab_match, key);
}

void *
lrutab_find(const struct lrutab *t, const char *key)
{
	struct lrutab_entry *e = lrutab_lookup(t, key, htab_hash_str(key));

	return e != NULL ? e->val : NULL;
}

void *
lrutab_touch(struct lrutab *t, const char *key, int *created)
{
	uint64_t hash = htab_hash_str(key);
	struct lrutab_entry *e = lrutab_lookup(t, key, hash);

	*created = e == NULL;
	if (e == NULL) {
		if (t->tab.count >= t->max)
			lrutab_drop(t, TAILQ_FIRST(&t->lru));
		e = xcalloc(1, sizeof(*e) + t->valsize + strlen(key) + 1);
		e->key = strcpy((char *)e->val + t->valsize, key);
		htab_insert(&t->tab, &e->node, hash);
	} else {
		TAILQ_REMOVE(&t->lru, e, lru);
	}
	TAILQ_INSERT_TAIL(&t->lru, e, lru);
	return e->val;
}

void
lrutab_remove(struct lrutab *t, const char *key)
{
	struct lrutab_entry *e = lrutab_lookup(t, key, htab_hash_str(key));

	if (e != NULL)
		lrutab_drop(t, e);
}

size_t
lrutab_count(const struct lrutab *t)
{
	return t->tab.count;
}
