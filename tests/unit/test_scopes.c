/* brokerd/scopes: normalisation of stored scope sets and implication
 * (doc/protocol.md §6.4), coverage, and the session bitmask built on them. */
#include <stdio.h>
#include <string.h>

#include "brokerd/role.h"
#include "brokerd/scopes.h"
#include "testutil.h"

static struct proto_scopes
set(const char *const *v)
{
	struct proto_scopes s;

	memset(&s, 0, sizeof(s));
	for (; *v != NULL; v++)
		snprintf(s.v[s.n++], sizeof(s.v[0]), "%s", *v);
	return s;
}

#define SET(...) set((const char *const[]){ __VA_ARGS__, NULL })
#define EMPTY set((const char *const[]){ NULL })

static void
check_set(struct proto_scopes got, struct proto_scopes want, int line)
{
	testutil_check(got.n == want.n, __FILE__, line, "scope count %u == %u", got.n, want.n);
	for (uint32_t i = 0; i < got.n && i < want.n; i++)
		testutil_check(strcmp(got.v[i], want.v[i]) == 0, __FILE__, line,
		    "scope %u: \"%s\" == \"%s\"", i, got.v[i], want.v[i]);
}
#define CHECK_SET(got, want) check_set((got), (want), __LINE__)

static void
test_normalize(void)
{
	struct proto_scopes in, out;

	/* Trim, drop empties, dedupe, add what admin and write imply, sort. */
	in = SET(" operator.pairing ", "", "  ", "operator.admin", "operator.pairing");
	CHECK_INT_EQ(scopes_normalize(&out, &in), 0);
	CHECK_SET(out, SET("operator.admin", "operator.pairing", "operator.read",
	    "operator.write"));

	in = SET("operator.write");
	CHECK_INT_EQ(scopes_normalize(&out, &in), 0);
	CHECK_SET(out, SET("operator.read", "operator.write"));

	/* Nothing is implied by read, and unknown scopes are kept verbatim. */
	in = SET("zeta.custom", "operator.read", "node.exec");
	CHECK_INT_EQ(scopes_normalize(&out, &in), 0);
	CHECK_SET(out, SET("node.exec", "operator.read", "zeta.custom"));

	in = EMPTY;
	CHECK_INT_EQ(scopes_normalize(&out, &in), 0);
	CHECK_INT_EQ(out.n, 0);

	/* In place, and idempotent. */
	in = SET("operator.admin");
	CHECK_INT_EQ(scopes_normalize(&in, &in), 0);
	out = in;
	CHECK_INT_EQ(scopes_normalize(&out, &out), 0);
	CHECK_SET(out, in);
}

static void
test_normalize_overflow(void)
{
	struct proto_scopes in, out, before;

	/* 31 distinct scopes plus admin: the two implied ones no longer fit. */
	memset(&in, 0, sizeof(in));
	for (in.n = 0; in.n < PROTO_MAX_SCOPES - 1; in.n++)
		snprintf(in.v[in.n], sizeof(in.v[0]), "custom.%02u", in.n);
	snprintf(in.v[in.n++], sizeof(in.v[0]), "operator.admin");
	out = EMPTY;
	before = out;
	CHECK_INT_EQ(scopes_normalize(&out, &in), -1);
	CHECK_SET(out, before);
	/* The same set with duplicates squeezed out fits. */
	in.n = 30;
	snprintf(in.v[in.n++], sizeof(in.v[0]), "custom.00");
	snprintf(in.v[in.n++], sizeof(in.v[0]), "operator.write");
	CHECK_INT_EQ(scopes_normalize(&out, &in), 0);
	CHECK_INT_EQ(out.n, 32);
}

/* Whether holding held alone covers wanted alone. */
static int
satisfies(const char *held, const char *wanted)
{
	struct proto_scopes h = { 1, { { 0 } } }, w = { 1, { { 0 } } };

	snprintf(h.v[0], sizeof(h.v[0]), "%s", held);
	snprintf(w.v[0], sizeof(w.v[0]), "%s", wanted);
	return scopes_covers(&h, &w, NULL);
}

static void
test_satisfies(void)
{
	static const char *const operator_scopes[] = {
		"operator.read", "operator.write", "operator.admin", "operator.approvals",
		"operator.questions", "operator.pairing", "operator.talk",
		"operator.talk.secrets", "operator.sessions.read", "operator.sessions.write",
		"operator.future-scope",
	};

	for (size_t i = 0; i < sizeof(operator_scopes) / sizeof(operator_scopes[0]); i++) {
		CHECK(satisfies(operator_scopes[i], operator_scopes[i]));
		CHECK(satisfies("operator.admin", operator_scopes[i]));
	}
	CHECK(satisfies("operator.write", "operator.read"));
	CHECK(satisfies("operator.write", "operator.talk"));
	CHECK(satisfies("operator.write", "operator.sessions.read"));
	CHECK(satisfies("operator.write", "operator.sessions.write"));
	CHECK(!satisfies("operator.write", "operator.talk.secrets"));
	CHECK(!satisfies("operator.write", "operator.pairing"));
	CHECK(!satisfies("operator.write", "operator.admin"));
	CHECK(!satisfies("operator.read", "operator.write"));
	CHECK(!satisfies("operator.pairing", "operator.read"));
	/* Non-operator scopes need exact matches, even from admin. */
	CHECK(satisfies("node.exec", "node.exec"));
	CHECK(!satisfies("operator.admin", "node.exec"));
	CHECK(!satisfies("node.exec", "node.exec.all"));
}

static void
test_covers(void)
{
	struct proto_scopes held = SET("operator.write", "operator.pairing");
	struct proto_scopes want = SET("operator.read", "operator.pairing", "operator.talk");
	struct proto_scopes admin = SET("operator.admin");
	struct proto_scopes none = EMPTY;
	const char *missing = NULL;

	CHECK(scopes_covers(&held, &want, &missing));
	CHECK(scopes_covers(&held, &none, NULL));
	CHECK(!scopes_covers(&none, &want, &missing));
	CHECK_STR_EQ(missing, "operator.read");
	want = SET("operator.read", "operator.approvals");
	CHECK(!scopes_covers(&held, &want, &missing));
	CHECK_STR_EQ(missing, "operator.approvals");
	CHECK(scopes_covers(&admin, &want, NULL));
	want = SET("operator.read", "node.exec");
	CHECK(!scopes_covers(&admin, &want, &missing));
	CHECK_STR_EQ(missing, "node.exec");
}

static void
test_merge(void)
{
	struct proto_scopes dst = SET("operator.write"), before;
	struct proto_scopes add = SET(" operator.pairing", "operator.write", "", "operator.admin",
	    "operator.pairing ");
	struct proto_scopes many;

	/* Order kept, trimmed, deduplicated, empties dropped, nothing implied. */
	CHECK_INT_EQ(scopes_merge(&dst, &add), 0);
	CHECK_SET(dst, SET("operator.write", "operator.pairing", "operator.admin"));
	memset(&many, 0, sizeof(many));
	for (many.n = 0; many.n < PROTO_MAX_SCOPES; many.n++)
		snprintf(many.v[many.n], sizeof(many.v[0]), "custom.%02u", many.n);
	before = dst;
	CHECK_INT_EQ(scopes_merge(&dst, &many), -1);
	CHECK_SET(dst, before);
}

static void
test_union(void)
{
	struct proto_scopes dst = SET("operator.read"), add = SET("operator.write", "node.x");

	CHECK_INT_EQ(scopes_union(&dst, &add), 0);
	CHECK_SET(dst, SET("node.x", "operator.read", "operator.write"));
}

static void
test_mask(void)
{
	struct proto_scopes admin = SET("operator.admin"), write = SET("operator.write");
	struct proto_scopes pairing = SET("operator.pairing"), odd = SET("operator.custom");
	uint32_t m;

	CHECK_INT_EQ(scopes_mask(&admin), (1u << 10) - 1);	/* every well-known scope */
	m = scopes_mask(&write);
	CHECK(scopes_mask_allows(m, "operator.read"));
	CHECK(scopes_mask_allows(m, "operator.write"));
	CHECK(scopes_mask_allows(m, "operator.talk"));
	CHECK(!scopes_mask_allows(m, "operator.pairing"));
	CHECK(!scopes_mask_allows(m, "operator.admin"));
	m = scopes_mask(&pairing);
	CHECK(scopes_mask_allows(m, "operator.pairing"));
	CHECK(!scopes_mask_allows(m, "operator.read"));
	/* Unknown operator scopes need admin; non-operator ones are never granted. */
	CHECK(scopes_mask_allows(scopes_mask(&admin), "operator.custom"));
	CHECK(!scopes_mask_allows(scopes_mask(&odd), "operator.custom"));
	CHECK(!scopes_mask_allows(scopes_mask(&admin), "node.exec"));
	CHECK_INT_EQ(scopes_mask(&(struct proto_scopes){ 0 }), 0);
}

static void
test_roles(void)
{
	CHECK_INT_EQ(role_parse("operator"), ROLE_OPERATOR);
	CHECK_INT_EQ(role_parse("node"), ROLE_NODE);
	CHECK_INT_EQ(role_parse("admin"), -1);
	CHECK_INT_EQ(role_parse(""), -1);
	CHECK_INT_EQ(role_parse("Operator"), -1);
	CHECK_STR_EQ(role_name(ROLE_NODE), "node");
}

int
main(void)
{
	TEST_RUN(test_normalize);
	TEST_RUN(test_normalize_overflow);
	TEST_RUN(test_satisfies);
	TEST_RUN(test_covers);
	TEST_RUN(test_merge);
	TEST_RUN(test_union);
	TEST_RUN(test_mask);
	TEST_RUN(test_roles);
	return test_exit();
}
