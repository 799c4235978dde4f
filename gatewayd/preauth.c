#include "gatewayd/preauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/htab.h"
#include "common/ipaddr.h"
#include "common/log.h"
#include "common/xmalloc.h"

/* The one key of every loopback address: a second local address is no fresh
 * budget. */

/* An entry exists only while its count is nonzero, so a table holds at most
 * one entry per open counted socket. */
struct preauth_entry {
	struct htab_node node;	/* first: the node is the entry */
	uint32_t count;
	char key[PREAUTH_KEY_MAX];
};

static struct htab preauth_tables[PREAUTH_NBUDGETS];	/* zeroed: empty */

void
preauth_key(const char *addr, char key[PREAUTH_KEY_MAX])
{
	uint8_t a[16];

	if (ipaddr_parse(addr, a) < 0) {
		snprintf(key, PREAUTH_KEY_MAX, "%s", addr);
		return;
	}
	ipaddr_budget_key(a, key);
}

static int
preauth_match(const struct htab_node *n, const void *key)
{
	return strcmp(((const struct preauth_entry *)(const void *)n)->key, key) == 0;
}

static struct preauth_entry *
preauth_lookup(enum preauth_budget b, const char *key)
{
	return (struct preauth_entry *)(void *)htab_lookup(&preauth_tables[b],
	    htab_hash_str(key), preauth_match, key);
}

int
preauth_acquire(enum preauth_budget b, const char *addr, uint32_t limit)
{
	char key[PREAUTH_KEY_MAX];
	struct preauth_entry *e;

	preauth_key(addr, key);
	if ((e = preauth_lookup(b, key)) == NULL) {
		if (limit == 0)
			return -1;
		e = xcalloc(1, sizeof(*e));
		memcpy(e->key, key, sizeof(e->key));
		htab_insert(&preauth_tables[b], &e->node, htab_hash_str(e->key));
	} else if (e->count >= limit) {
		return -1;
	}
	e->count++;
	return 0;
}

void
preauth_release(enum preauth_budget b, const char *addr)
{
	char key[PREAUTH_KEY_MAX];
	struct preauth_entry *e;

	preauth_key(addr, key);
	if ((e = preauth_lookup(b, key)) == NULL || e->count == 0)
		fatalx("preauth_release(%s) without preauth_acquire: a gatewayd bug", addr);
	if (--e->count == 0) {
		htab_remove(&preauth_tables[b], &e->node);
		free(e);
	}
}

void
preauth_free(void)
{
	for (int b = 0; b < PREAUTH_NBUDGETS; b++)
		htab_clear(&preauth_tables[b], htab_free_record);
}
