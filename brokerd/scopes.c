#include "brokerd/scopes.h"

#include <stdlib.h>
#include <string.h>

/* The operator scopes §6.4 names; their order fixes the bits of a session mask. */
static const char *const known_scopes[] = {
	"operator.read", "operator.write", "operator.admin", "operator.approvals",
	"operator.questions", "operator.pairing", "operator.talk", "operator.talk.secrets",
	"operator.sessions.read", "operator.sessions.write",
};
#define NKNOWN (sizeof(known_scopes) / sizeof(known_scopes[0]))

static int
is_operator_scope(const char *s)
{
	return strncmp(s, "operator.", 9) == 0;
}

/* Whether holding `held` satisfies a requirement for `wanted` (scopes_covers). */
static int
scopes_satisfies(const char *held, const char *wanted)
{
	static const char *const by_write[] = {
		"operator.read", "operator.talk", "operator.sessions.read",
		"operator.sessions.write",
	};

	if (strcmp(held, wanted) == 0)
		return 1;
	if (!is_operator_scope(wanted))
		return 0;
	if (strcmp(held, SCOPE_ADMIN) == 0)
		return 1;
	if (strcmp(held, SCOPE_WRITE) == 0)
		for (size_t i = 0; i < sizeof(by_write) / sizeof(by_write[0]); i++)
			if (strcmp(wanted, by_write[i]) == 0)
				return 1;
	return 0;
}

static int
scopes_satisfy_one(const struct proto_scopes *held, const char *wanted)
{
	for (uint32_t i = 0; i < held->n; i++)
		if (scopes_satisfies(held->v[i], wanted))
			return 1;
	return 0;
}

int
scopes_covers(const struct proto_scopes *held, const struct proto_scopes *wanted,
    const char **missing)
{
	for (uint32_t i = 0; i < wanted->n; i++) {
		if (!scopes_satisfy_one(held, wanted->v[i])) {
			if (missing != NULL)
				*missing = wanted->v[i];
			return 0;
		}
	}
	return 1;
}

static int
scopes_contains(const struct proto_scopes *s, const char *scope)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], scope) == 0)
			return 1;
	return 0;
}

/* Appends a trimmed scope unless it is empty or already there; -1 if full. */
static int
scopes_add(struct proto_scopes *s, const char *scope)
{
	const char *end = scope + strlen(scope);

	while (*scope == ' ' || *scope == '\t' || *scope == '\n' || *scope == '\r')
		scope++;
	while (end > scope && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' ||
	    end[-1] == '\r'))
		end--;
	if (end == scope)
		return 0;
	for (uint32_t i = 0; i < s->n; i++)
		if (strlen(s->v[i]) == (size_t)(end - scope) &&
		    memcmp(s->v[i], scope, (size_t)(end - scope)) == 0)
			return 0;
	if (s->n == PROTO_MAX_SCOPES)
		return -1;
	memcpy(s->v[s->n], scope, (size_t)(end - scope));
	s->v[s->n][end - scope] = '\0';
	s->n++;
	return 0;
}

static int
scopes_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

int
scopes_normalize(struct proto_scopes *out, const struct proto_scopes *in)
{
	struct proto_scopes s;

	/* Zeroed whole: unused slots hold no leftovers, so equal sets are equal bytes. */
	memset(&s, 0, sizeof(s));
	for (uint32_t i = 0; i < in->n; i++)
		if (scopes_add(&s, in->v[i]) < 0)
			return -1;
	/* Store the implied scopes explicitly so readers of the file see them. */
	if (scopes_contains(&s, SCOPE_ADMIN) &&
	    (scopes_add(&s, SCOPE_READ) < 0 || scopes_add(&s, SCOPE_WRITE) < 0))
		return -1;
	if (scopes_contains(&s, SCOPE_WRITE) && scopes_add(&s, SCOPE_READ) < 0)
		return -1;
	qsort(s.v, s.n, sizeof(s.v[0]), scopes_cmp);
	*out = s;
	return 0;
}

int
scopes_merge(struct proto_scopes *dst, const struct proto_scopes *add)
{
	struct proto_scopes u = *dst;

	for (uint32_t i = 0; i < add->n; i++)
		if (scopes_add(&u, add->v[i]) < 0)
			return -1;
	*dst = u;
	return 0;
}

int
scopes_union(struct proto_scopes *dst, const struct proto_scopes *add)
{
	struct proto_scopes u = *dst;

	if (scopes_merge(&u, add) < 0)
		return -1;
	return scopes_normalize(dst, &u);
}

uint32_t
scopes_mask(const struct proto_scopes *s)
{
	uint32_t mask = 0;

	for (size_t k = 0; k < NKNOWN; k++)
		if (scopes_satisfy_one(s, known_scopes[k]))
			mask |= 1u << k;
	return mask;
}

int
scopes_mask_allows(uint32_t mask, const char *wanted)
{
	for (size_t k = 0; k < NKNOWN; k++)
		if (strcmp(wanted, known_scopes[k]) == 0)
			return (mask >> k) & 1;
	return is_operator_scope(wanted) && scopes_mask_allows(mask, SCOPE_ADMIN);
}
