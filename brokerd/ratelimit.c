#include "brokerd/ratelimit.h"

#include <stdlib.h>

#include "common/lrutab.h"
#include "common/xmalloc.h"

struct rl_entry {
	int64_t fails[RATELIMIT_MAX_ATTEMPTS];	/* ring of failure times */
	unsigned nfails, next;
	int64_t locked_until;
};

struct ratelimit {
	struct lrutab table;
};

struct ratelimit *
ratelimit_new(void)
{
	struct ratelimit *rl = xcalloc(1, sizeof(*rl));

	lrutab_init(&rl->table, RATELIMIT_MAX_KEYS, sizeof(struct rl_entry));
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	lrutab_free(&rl->table);
	free(rl);
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
	const struct rl_entry *e = lrutab_find(&rl->table, key);

	return e != NULL && e->locked_until > now ? e->locked_until - now : 0;
}

/* Finds or makes key's entry (forgetting the least recently used one when
 * full) and records a failure at now. */
static struct rl_entry *
rl_record(struct ratelimit *rl, const char *key, int64_t now)
{
	int created;
	struct rl_entry *e = lrutab_touch(&rl->table, key, &created);

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
	lrutab_remove(&rl->table, key);
}
