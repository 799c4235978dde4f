#include "gatewayd/preauth.h"

#include <stdlib.h>
#include <string.h>

#include "common/htab.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "proto/proto.h"

/* An entry exists only while its count is nonzero, so the table holds at most
 * one entry per open pre-auth socket. */
struct preauth_entry {
	struct htab_node node;	/* first: the node is the entry */
	uint32_t count;
	char addr[PROTO_ADDR_MAX + 1];
};

static struct htab preauth_table;	/* zeroed: empty */

static int
preauth_match(const struct htab_node *n, const void *addr)
{
	return strcmp(((const struct preauth_entry *)(const void *)n)->addr, addr) == 0;
}

static struct preauth_entry *
preauth_lookup(const char *addr)
{
	return (struct preauth_entry *)(void *)htab_lookup(&preauth_table, htab_hash_str(addr),
	    preauth_match, addr);
}

int
preauth_acquire(const char *addr, uint32_t limit)
{
	struct preauth_entry *e = preauth_lookup(addr);

	if (e == NULL) {
		if (limit == 0)
			return -1;
		e = xcalloc(1, sizeof(*e));
		strncpy(e->addr, addr, sizeof(e->addr) - 1);
		htab_insert(&preauth_table, &e->node, htab_hash_str(e->addr));
	} else if (e->count >= limit) {
		return -1;
	}
	e->count++;
	return 0;
}

void
preauth_release(const char *addr)
{
	struct preauth_entry *e = preauth_lookup(addr);

	if (e == NULL || e->count == 0)
		fatalx("preauth_release(%s) without preauth_acquire: a gatewayd bug", addr);
	if (--e->count == 0) {
		htab_remove(&preauth_table, &e->node);
		free(e);
	}
}

void
preauth_free(void)
{
	htab_clear(&preauth_table, htab_free_record);
}
