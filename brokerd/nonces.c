#include "brokerd/nonces.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "common/htab.h"
#include "common/xmalloc.h"

struct nonce {
	struct htab_node node;		/* in nonces.by_conn */
	TAILQ_ENTRY(nonce) entry;	/* in nonces.order */
	uint64_t conn;
	int64_t expires_mono_ms;
	char value[UUID_STR_LEN + 1];
};

struct nonces {
	struct htab by_conn;
	TAILQ_HEAD(, nonce) order;	/* oldest first, which is expiry order */
	size_t count;
	size_t capacity;
};

struct nonces *
nonces_new(size_t capacity)
{
	struct nonces *t = xcalloc(1, sizeof(*t));

	htab_init(&t->by_conn);
	TAILQ_INIT(&t->order);
	t->capacity = capacity;
	return t;
}

static void
nonces_remove(struct nonces *t, struct nonce *n)
{
	TAILQ_REMOVE(&t->order, n, entry);
	htab_remove(&t->by_conn, &n->node);
	t->count--;
	free(n);
}

void
nonces_free(struct nonces *t)
{
	struct nonce *n;

	while ((n = TAILQ_FIRST(&t->order)) != NULL)
		nonces_remove(t, n);
	htab_free(&t->by_conn);
	free(t);
}

static int
nonces_match(const struct htab_node *node, const void *key)
{
	return ((const struct nonce *)node)->conn == *(const uint64_t *)key;
}

static struct nonce *
nonces_find(const struct nonces *t, uint64_t conn)
{
	return (struct nonce *)htab_lookup(&t->by_conn, htab_hash_u64(conn), nonces_match, &conn);
}

int
nonces_has(const struct nonces *t, uint64_t conn)
{
	return nonces_find(t, conn) != NULL;
}

int
nonces_issue(struct nonces *t, uint64_t conn, int64_t now_mono_ms, int64_t expires_mono_ms,
    char out[UUID_STR_LEN + 1])
{
	struct nonce *n;

	if (t->count >= t->capacity)
		nonces_prune(t, now_mono_ms);
	if (t->count >= t->capacity)
		return -1;
	n = xcalloc(1, sizeof(*n));
	n->conn = conn;
	n->expires_mono_ms = expires_mono_ms;
	random_uuid4(n->value);
	htab_insert(&t->by_conn, &n->node, htab_hash_u64(conn));
	TAILQ_INSERT_TAIL(&t->order, n, entry);
	t->count++;
	memcpy(out, n->value, sizeof(n->value));
	return 0;
}

int
nonces_take(struct nonces *t, uint64_t conn, int64_t now_mono_ms, char out[UUID_STR_LEN + 1],
    int *expired)
{
	struct nonce *n = nonces_find(t, conn);

	if (n == NULL)
		return -1;
	memcpy(out, n->value, sizeof(n->value));
	*expired = n->expires_mono_ms < now_mono_ms;
	nonces_remove(t, n);
	return 0;
}

void
nonces_forget(struct nonces *t, uint64_t conn)
{
	struct nonce *n = nonces_find(t, conn);

	if (n != NULL)
		nonces_remove(t, n);
}

size_t
nonces_count(const struct nonces *t)
{
	return t->count;
}

size_t
nonces_prune(struct nonces *t, int64_t now_mono_ms)
{
	struct nonce *n;
	size_t pruned = 0;

	while ((n = TAILQ_FIRST(&t->order)) != NULL && n->expires_mono_ms < now_mono_ms) {
		nonces_remove(t, n);
		pruned++;
	}
	return pruned;
}
