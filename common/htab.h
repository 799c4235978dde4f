/* An intrusive chained hash table: records embed a struct htab_node and the
 * caller supplies the hash and the key comparison. It backs the O(1) lookups of
 * both daemons (devices by id, connections by conn number, addresses). A zeroed
 * struct htab is an empty table, as is one after htab_init or htab_free. */
#ifndef COMMON_HTAB_H
#define COMMON_HTAB_H

#include <stddef.h>
#include <stdint.h>

struct htab_node {
	struct htab_node *next;
	uint64_t hash;
};

struct htab {
	struct htab_node **buckets;
	size_t nbuckets;	/* a power of two */
	size_t count;
};

typedef int (*htab_match_fn)(const struct htab_node *node, const void *key);

void htab_init(struct htab *h);
/* Frees the bucket array only; the records belong to the caller. */
void htab_free(struct htab *h);
/* Hands every record to release (which may free it), then frees the bucket array. */
void htab_clear(struct htab *h, void (*release)(struct htab_node *node));
/* A release for htab_clear when each record came from malloc and begins with its
 * node: frees the record. */
void htab_free_record(struct htab_node *node);
void htab_insert(struct htab *h, struct htab_node *n, uint64_t hash);
void htab_remove(struct htab *h, struct htab_node *n);
struct htab_node *htab_lookup(const struct htab *h, uint64_t hash, htab_match_fn match,
    const void *key);

#define HTAB_KEY_BYTES 16

/* Keyed hashes for the tables, under a random key made on first use. */
uint64_t htab_hash_str(const char *s);
uint64_t htab_hash_u64(uint64_t v);
/* SipHash-2-4 of in under key, as a number (what the two above compute). */
uint64_t htab_hash_keyed(const unsigned char key[HTAB_KEY_BYTES], const void *in, size_t len);

#endif
