#include "gatewayd/preauth.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "proto/proto.h"

/* Chained buckets; an entry exists only while its count is nonzero, so the
 * table holds at most one entry per open pre-auth socket. */
#define PREAUTH_BUCKETS 1024

struct preauth_entry {
	struct preauth_entry *next;
	uint32_t count;
	char addr[PROTO_ADDR_MAX + 1];
};

static struct preauth_entry *preauth_table[PREAUTH_BUCKETS];

/* FNV-1a: addresses come from accept(), not from the client's bytes, so a
 * keyed hash buys nothing here. */
static struct preauth_entry **
preauth_slot(const char *addr)
{
	uint32_t h = 2166136261u;
	struct preauth_entry **e;

	for (const char *p = addr; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	for (e = &preauth_table[h % PREAUTH_BUCKETS]; *e != NULL; e = &(*e)->next)
		if (strcmp((*e)->addr, addr) == 0)
			break;
	return e;
}

int
preauth_acquire(const char *addr, uint32_t limit)
{
	struct preauth_entry **slot = preauth_slot(addr), *e = *slot;

	if (e == NULL) {
		if (limit == 0)
			return -1;
		e = xcalloc(1, sizeof(*e));
		strncpy(e->addr, addr, sizeof(e->addr) - 1);
		*slot = e;
	} else if (e->count >= limit) {
		return -1;
	}
	e->count++;
	return 0;
}

void
preauth_release(const char *addr)
{
	struct preauth_entry **slot = preauth_slot(addr), *e = *slot;

	if (e == NULL || e->count == 0)
		fatalx("preauth_release(%s) without preauth_acquire: a gatewayd bug", addr);
	if (--e->count == 0) {
		*slot = e->next;
		free(e);
	}
}

void
preauth_free(void)
{
	for (size_t i = 0; i < PREAUTH_BUCKETS; i++) {
		while (preauth_table[i] != NULL) {
			struct preauth_entry *e = preauth_table[i];

			preauth_table[i] = e->next;
			free(e);
		}
	}
}
