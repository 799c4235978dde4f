#include "brokerd/ratelimit.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "common/htab.h"
#include "common/xmalloc.h"

struct rl_entry {
	struct htab_node node;		/* first: the node is the entry */
	TAILQ_ENTRY(rl_entry) lru;	/* least recently used first */
	int64_t fails[RATELIMIT_MAX_ATTEMPTS];	/* ring of failure times */
	unsigned nfails, next;
	int64_t locked_until;
	char key[];
};

struct ratelimit {
	struct htab table;
	TAILQ_HEAD(, rl_entry) lru;
	unsigned count;
};

struct ratelimit *
ratelimit_new(void)
{
	struct ratelimit *rl = xcalloc(1, sizeof(*rl));

	htab_init(&rl->table);
	TAILQ_INIT(&rl->lru);
	return rl;
}

static void
rl_drop(struct ratelimit *rl, struct rl_entry *e)
{
	htab_remove(&rl->table, &e->node);
	TAILQ_REMOVE(&rl->lru, e, lru);
	rl->count--;
	free(e);
}

void
ratelimit_free(struct ratelimit *rl)
{
	struct rl_entry *e;

	if (rl == NULL)
		return;
	while ((e = TAILQ_FIRST(&rl->lru)) != NULL)
		rl_drop(rl, e);
	htab_free(&rl->table);
	free(rl);
}

static int
rl_match(const struct htab_node *n, const void *key)
{
	return strcmp(((const struct rl_entry *)(const void *)n)->key, key) == 0;
}

static struct rl_entry *
rl_find(struct ratelimit *rl, const char *key)
{
	return (struct rl_entry *)(void *)htab_lookup(&rl->table, htab_hash_str(key), rl_match,
	    key);
}

/* Failures older than the window no longer count. */
static unsigned
rl_recent(const struct rl_entry *e, int64_t now)
{
	unsigned n = 0;

	for (unsigned i = 0; i < e->nfails; i++)
		n += now - e->fails[i] < RATELIMIT_WINDOW_MS;
	return n;
}

int64_t
ratelimit_locked(struct ratelimit *rl, const char *key, int64_t now)
{
	struct rl_entry *e = rl_find(rl, key);

	return e != NULL && e->locked_until > now ? e->locked_until - now : 0;
}

/* Finds or makes key's entry (forgetting the least recently used one when
 * full) and records a failure at now. */
static struct rl_entry *
rl_record(struct ratelimit *rl, const char *key, int64_t now)
{
	struct rl_entry *e = rl_find(rl, key);

	if (e == NULL) {
		if (rl->count >= RATELIMIT_MAX_KEYS)
			rl_drop(rl, TAILQ_FIRST(&rl->lru));
		e = xcalloc(1, sizeof(*e) + strlen(key) + 1);
		strcpy(e->key, key);
		htab_insert(&rl->table, &e->node, htab_hash_str(key));
		rl->count++;
	} else {
		TAILQ_REMOVE(&rl->lru, e, lru);
	}
	TAILQ_INSERT_TAIL(&rl->lru, e, lru);
	e->fails[e->next] = now;
	e->next = (e->next + 1) % RATELIMIT_MAX_ATTEMPTS;
	if (e->nfails < RATELIMIT_MAX_ATTEMPTS)
		e->nfails++;
	return e;
}

int64_t
ratelimit_fail(struct ratelimit *rl, const char *key, int64_t now)
{
	struct rl_entry *e = rl_record(rl, key, now);

	if (rl_recent(e, now) >= RATELIMIT_MAX_ATTEMPTS && e->locked_until <= now) {
		e->locked_until = now + RATELIMIT_LOCKOUT_MS;
		e->nfails = e->next = 0;
	}
	return ratelimit_locked(rl, key, now);
}

unsigned
ratelimit_note(struct ratelimit *rl, const char *key, int64_t now)
{
	return rl_recent(rl_record(rl, key, now), now);
}

void
ratelimit_reset(struct ratelimit *rl, const char *key)
{
	struct rl_entry *e = rl_find(rl, key);

	if (e != NULL)
		rl_drop(rl, e);
}
