/* A record per connection in common/htab, keyed by conn id. */
#include "gatewayd/conntab.h"

#include <stdlib.h>

#include "common/htab.h"
#include "common/xmalloc.h"

struct conntab_node {
	struct htab_node node;	/* first: the node is the record */
	uint64_t conn;
	struct session *s;
};

static uint64_t conntab_next_id = 1;	/* 0 means "none" on the link */
static struct htab conntab;		/* zeroed: empty */

uint64_t
conntab_new_id(void)
{
	return conntab_next_id++;
}

/* conn ids are gatewayd's own sequential numbers, never a peer's choice, so a
 * keyed hash would buy nothing here and makes add, find and delete several times
 * slower. htab takes the low bits of the hash, and an odd multiplier maps
 * consecutive ids to distinct ones. */
static uint64_t
conntab_hash(uint64_t conn)
{
	return conn * 0x9e3779b97f4a7c15ULL;
}

static int
conntab_match(const struct htab_node *n, const void *conn)
{
	return ((const struct conntab_node *)(const void *)n)->conn == *(const uint64_t *)conn;
}

static struct conntab_node *
conntab_lookup(uint64_t conn)
{
	return (struct conntab_node *)(void *)htab_lookup(&conntab, conntab_hash(conn),
	    conntab_match, &conn);
}

void
conntab_add(uint64_t conn, struct session *s)
{
	struct conntab_node *n = xmalloc(sizeof(*n));

	n->conn = conn;
	n->s = s;
	htab_insert(&conntab, &n->node, conntab_hash(conn));
}

struct session *
conntab_find(uint64_t conn)
{
	struct conntab_node *n = conntab_lookup(conn);

	return n != NULL ? n->s : NULL;
}

void
conntab_del(uint64_t conn)
{
	struct conntab_node *n = conntab_lookup(conn);

	if (n != NULL) {
		htab_remove(&conntab, &n->node);
		free(n);
	}
}

void
conntab_free(void)
{
	htab_clear(&conntab, htab_free_record);
}
