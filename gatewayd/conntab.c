/* Chained hash table with power-of-two buckets, doubled as it fills so chains
 * stay short at tens of thousands of connections. conn ids are sequential, so
 * a multiplicative hash spreads them well. */
#include "gatewayd/conntab.h"

#include <stdlib.h>

#include "common/xmalloc.h"

#define CONNTAB_INITIAL 1024

struct conntab_node {
	struct conntab_node *next;
	uint64_t conn;
	struct session *s;
};

static uint64_t conntab_next_id = 1;	/* 0 means "none" on the link */
static struct conntab_node **conntab_buckets;
static size_t conntab_nbuckets;
static size_t conntab_count;

uint64_t
conntab_new_id(void)
{
	return conntab_next_id++;
}

static size_t
conntab_slot(uint64_t conn, size_t nbuckets)
{
	return (size_t)((conn * 0x9e3779b97f4a7c15ULL) >> 32) & (nbuckets - 1);
}

static void
conntab_grow(void)
{
	size_t n = conntab_nbuckets ? conntab_nbuckets * 2 : CONNTAB_INITIAL;
	struct conntab_node **b = xcalloc(n, sizeof(*b));

	for (size_t i = 0; i < conntab_nbuckets; i++) {
		struct conntab_node *node, *next;

		for (node = conntab_buckets[i]; node != NULL; node = next) {
			size_t slot = conntab_slot(node->conn, n);

			next = node->next;
			node->next = b[slot];
			b[slot] = node;
		}
	}
	free(conntab_buckets);
	conntab_buckets = b;
	conntab_nbuckets = n;
}

void
conntab_add(uint64_t conn, struct session *s)
{
	struct conntab_node *node = xmalloc(sizeof(*node));
	size_t slot;

	if (conntab_count >= conntab_nbuckets)
		conntab_grow();
	slot = conntab_slot(conn, conntab_nbuckets);
	node->conn = conn;
	node->s = s;
	node->next = conntab_buckets[slot];
	conntab_buckets[slot] = node;
	conntab_count++;
}

struct session *
conntab_find(uint64_t conn)
{
	if (conntab_nbuckets == 0)
		return NULL;
	for (struct conntab_node *node = conntab_buckets[conntab_slot(conn, conntab_nbuckets)];
	    node != NULL; node = node->next)
		if (node->conn == conn)
			return node->s;
	return NULL;
}

void
conntab_del(uint64_t conn)
{
	struct conntab_node **pp;

	if (conntab_nbuckets == 0)
		return;
	for (pp = &conntab_buckets[conntab_slot(conn, conntab_nbuckets)]; *pp != NULL;
	    pp = &(*pp)->next) {
		if ((*pp)->conn == conn) {
			struct conntab_node *node = *pp;

			*pp = node->next;
			free(node);
			conntab_count--;
			return;
		}
	}
}

void
conntab_free(void)
{
	for (size_t i = 0; i < conntab_nbuckets; i++) {
		struct conntab_node *node, *next;

		for (node = conntab_buckets[i]; node != NULL; node = next) {
			next = node->next;
			free(node);
		}
	}
	free(conntab_buckets);
	conntab_buckets = NULL;
	conntab_nbuckets = conntab_count = 0;
}
