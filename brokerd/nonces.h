/*
 * A nonce table: the challenge nonce issued for each WebSocket connection
 * ("conn") of one gateway link, kept until that conn's connect takes it (a nonce
 * is single-use whatever the outcome) or gatewayd reports the conn closed.
 * Bounded by a capacity its owner picks; each nonce expires at a time its owner
 * picks. Expired nonces are pruned only when the table is full, so a late connect
 * normally still finds its (expired) nonce and gets a clean close; a full table
 * then drops every nonce that has expired.
 */
#ifndef BROKERD_NONCES_H
#define BROKERD_NONCES_H

#include <stddef.h>
#include <stdint.h>

#include "common/random.h"

struct nonces;

struct nonces *nonces_new(size_t capacity);
void nonces_free(struct nonces *t);

/* Whether conn has an outstanding nonce. */
int nonces_has(const struct nonces *t, uint64_t conn);
/* Issues a fresh nonce for conn (which has none) into out, good until
 * expires_mono_ms. -1 if the table is full even after pruning the nonces that
 * expired before now_mono_ms. Nonces must be issued in the order they expire. */
int nonces_issue(struct nonces *t, uint64_t conn, int64_t now_mono_ms, int64_t expires_mono_ms,
    char out[UUID_STR_LEN + 1]);
/* Takes conn's nonce out of the table: 0 with its value in out and *expired
 * saying whether it expired before now_mono_ms; -1 if conn has none. */
int nonces_take(struct nonces *t, uint64_t conn, int64_t now_mono_ms,
    char out[UUID_STR_LEN + 1], int *expired);
/* Forgets conn's nonce, if it has one. */
void nonces_forget(struct nonces *t, uint64_t conn);
/* How many nonces the table holds. */
size_t nonces_count(const struct nonces *t);
/* Drops every nonce that expired before now_mono_ms; how many went. */
size_t nonces_prune(struct nonces *t, int64_t now_mono_ms);

#endif
