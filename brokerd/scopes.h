/* Operator scopes (doc/protocol.md §6.4): implication, normalisation of
 * stored sets, coverage checks, and a bitmask form small enough to keep for every
 * live session. Scope sets use struct proto_scopes from proto.h. */
#ifndef BROKERD_SCOPES_H
#define BROKERD_SCOPES_H

#include <stdint.h>

#include "proto/proto.h"

/* 1 if every scope in wanted is satisfied by some scope in held; otherwise 0 and,
 * if missing is not NULL, *missing names the first unsatisfied one. A held scope
 * satisfies itself; operator.admin satisfies every operator.* scope, and
 * operator.write operator.read, operator.talk and operator.sessions.*. */
int scopes_covers(const struct proto_scopes *held, const struct proto_scopes *wanted,
    const char **missing);

/* dst := dst followed by the scopes of add it lacks, trimmed, empties dropped, in
 * their order; -1 (dst unchanged) if that does not fit. Pending requests keep
 * what was asked for in this form. */
int scopes_merge(struct proto_scopes *dst, const struct proto_scopes *add);

/* The stored form of an approved set: trimmed, empties dropped, deduplicated, operator.read
 * and operator.write added for operator.admin and operator.read for
 * operator.write, sorted. -1 if the result would exceed PROTO_MAX_SCOPES. out may
 * be in. */
int scopes_normalize(struct proto_scopes *out, const struct proto_scopes *in);
/* dst := normalize(dst ∪ add); -1 (dst unchanged) if that does not fit. */
int scopes_union(struct proto_scopes *dst, const struct proto_scopes *add);

/*
 * A session keeps only a bitmask: bit i is set when the session's scopes satisfy
 * the i-th well-known operator scope. A well-known wanted scope is then one bit
 * test; any other operator.* scope needs operator.admin and a non-operator scope
 * is never granted from a mask (a session holding such a scope verbatim loses
 * nothing the broker checks: it authorises only operator scopes).
 */
uint32_t scopes_mask(const struct proto_scopes *s);
int scopes_mask_allows(uint32_t mask, const char *wanted);

#define SCOPE_READ "operator.read"
#define SCOPE_WRITE "operator.write"
#define SCOPE_ADMIN "operator.admin"
#define SCOPE_PAIRING "operator.pairing"

#endif
