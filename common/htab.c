#include "common/htab.h"

#include <stdlib.h>
#include <string.h>
#include <sodium.h>

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

void
htab_clear(struct htab *h, void (*release)(struct htab_node *node))
{
	for (size_t i = 0; i < h->nbuckets; i++) {
		struct htab_node *n = h->buckets[i], *next;

		for (; n != NULL; n = next) {
			next = n->next;
			release(n);
		}
	}
	htab_free(h);
}

void
htab_free_record(struct htab_node *node)
{
	free(node);
}

static void
htab_grow(struct htab *h)
{
	size_t nb = h->nbuckets != 0 ? h->nbuckets * 2 : HTAB_MIN_BUCKETS;
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
	struct htab_node *n;

	if (h->nbuckets == 0)
		return NULL;
	for (n = h->buckets[hash & (h->nbuckets - 1)]; n != NULL; n = n->next)
		if (n->hash == hash && match(n, key))
			return n;
	return NULL;
}

/*
 * SipHash-2-4 (libsodium's crypto_shorthash) with a per-process random key:
 * gatewayd chooses conn numbers and is treated as hostile, so an unkeyed hash
 * would let it pile every connection into one chain and turn each lookup into
 * a scan.
 */
_Static_assert(crypto_shorthash_KEYBYTES == HTAB_KEY_BYTES, "SipHash key size");
_Static_assert(crypto_shorthash_BYTES == sizeof(uint64_t), "SipHash output size");

static unsigned char htab_key[HTAB_KEY_BYTES];
static int htab_keyed;

uint64_t
htab_hash_keyed(const unsigned char key[HTAB_KEY_BYTES], const void *in, size_t len)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h = 0;

	crypto_shorthash(out, in, len, key);
	/* The output is the little-endian encoding of SipHash's 64-bit value. */
	for (int i = crypto_shorthash_BYTES - 1; i >= 0; i--)
		h = (h << 8) | out[i];
	return h;
}

static uint64_t
htab_hash(const void *in, size_t len)
{
	if (!htab_keyed) {
		random_bytes(htab_key, sizeof(htab_key));
		htab_keyed = 1;
	}
	return htab_hash_keyed(htab_key, in, len);
}

uint64_t
htab_hash_str(const char *s)
{
	return htab_hash(s, strlen(s));
}

uint64_t
htab_hash_u64(uint64_t v)
{
	uint8_t b[8];

	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	return htab_hash(b, sizeof(b));
}
