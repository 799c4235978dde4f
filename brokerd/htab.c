#include "brokerd/htab.h"

#include <stdlib.h>
#include <string.h>

#include "common/random.h"
#include "common/xmalloc.h"

#define HTAB_MIN_BUCKETS 64

void
htab_init(struct htab *h)
{
	h->nbuckets = HTAB_MIN_BUCKETS;
	h->buckets = xcalloc(h->nbuckets, sizeof(*h->buckets));
	h->count = 0;
}

void
htab_free(struct htab *h)
{
	free(h->buckets);
	h->buckets = NULL;
	h->nbuckets = h->count = 0;
}

static void
htab_grow(struct htab *h)
{
	size_t nb = h->nbuckets * 2;
	struct htab_node **b = xcalloc(nb, sizeof(*b));

	for (size_t i = 0; i < h->nbuckets; i++) {
		struct htab_node *n = h->buckets[i], *next;

		for (; n != NULL; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	}
	free(h->buckets);
	h->buckets = b;
	h->nbuckets = nb;
}

void
htab_insert(struct htab *h, struct htab_node *n, uint64_t hash)
{
	struct htab_node **slot;

	/* Keep chains short: grow once there are more records than buckets. */
	if (h->count >= h->nbuckets)
		htab_grow(h);
	slot = &h->buckets[hash & (h->nbuckets - 1)];
	n->hash = hash;
	n->next = *slot;
	*slot = n;
	h->count++;
}

void
htab_remove(struct htab *h, struct htab_node *n)
{
	struct htab_node **p = &h->buckets[n->hash & (h->nbuckets - 1)];

	while (*p != NULL && *p != n)
		p = &(*p)->next;
	if (*p == n) {
		*p = n->next;
		h->count--;
	}
}

struct htab_node *
htab_lookup(const struct htab *h, uint64_t hash, htab_match_fn match, const void *key)
{
	struct htab_node *n = h->buckets[hash & (h->nbuckets - 1)];

	for (; n != NULL; n = n->next)
		if (n->hash == hash && match(n, key))
			return n;
	return NULL;
}

/*
 * SipHash-2-4 with a per-process random key: gatewayd chooses conn numbers and is
 * treated as hostile, so an unkeyed hash would let it pile every connection into
 * one chain and turn each lookup into a scan.
 */
static uint64_t htab_key[2];
static int htab_keyed;

#define ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                         \
	do {                                                             \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                   \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                   \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

static uint64_t
htab_siphash(const uint8_t *in, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ULL, v1 = 0x646f72616e646f6dULL;
	uint64_t v2 = 0x6c7967656e657261ULL, v3 = 0x7465646279746573ULL;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i, tail = len & 7;

	if (!htab_keyed) {
		random_bytes((uint8_t *)htab_key, sizeof(htab_key));
		htab_keyed = 1;
	}
	v0 ^= htab_key[0];
	v1 ^= htab_key[1];
	v2 ^= htab_key[0];
	v3 ^= htab_key[1];
	for (i = 0; i + 8 <= len; i += 8) {
		m = 0;
		for (int k = 7; k >= 0; k--)
			m = (m << 8) | in[i + (size_t)k];
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t k = 0; k < tail; k++)
		b |= (uint64_t)in[i + k] << (8 * k);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t
htab_hash_str(const char *s)
{
	return htab_siphash((const uint8_t *)s, strlen(s));
}

uint64_t
htab_hash_u64(uint64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return htab_siphash(b, sizeof(b));
}
