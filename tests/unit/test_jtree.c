/*
 * brokerd/jtree: lookups through absent parents read as absent, a member of
 * another kind reads as none (or the default), and each kind has the name the
 * config and registry messages give it.
 */
#include <stddef.h>

#include "brokerd/jtree.h"
#include "testutil.h"

static yajl_val
parse(const char *json)
{
	char err[128];
	yajl_val v = yajl_tree_parse(json, err, sizeof(err));

	CHECK(v != NULL);
	return v;
}

static void
test_lookups(void)
{
	yajl_val root = parse("{\"a\": {\"b\": \"x\", \"n\": 7, \"t\": true, \"l\": [\"p\", 3]}, "
	    "\"s\": 5}");
	const char *const path[] = { "a", "l", NULL };
	const char *const missing[] = { "a", "zz", "b", NULL };
	yajl_val a = jtree_get(root, "a"), l = jtree_path(root, path);

	CHECK(jtree_is(a, JTREE_OBJECT));
	CHECK(jtree_is(l, JTREE_ARRAY));
	CHECK(jtree_path(root, missing) == NULL);
	CHECK(jtree_get(NULL, "a") == NULL);
	CHECK(jtree_path(NULL, path) == NULL);
	CHECK_STR_EQ(jtree_str(a, "b"), "x");
	CHECK(jtree_str(a, "n") == NULL);
	CHECK(jtree_str(root, "s") == NULL);
	CHECK_STR_EQ(jtree_text(a, "n"), "");
	CHECK_STR_EQ(jtree_text(NULL, "b"), "");
	CHECK_INT_EQ(jtree_int(a, "n"), 7);
	CHECK_INT_EQ(jtree_int(a, "b"), 0);
	CHECK(jtree_is(jtree_get(a, "t"), JTREE_BOOL));
	CHECK(!jtree_is(jtree_get(a, "t"), JTREE_INT));
	CHECK(!jtree_is(NULL, JTREE_STRING));
	CHECK_INT_EQ(jtree_len(l), 2);
	CHECK_INT_EQ(jtree_len(a), 0);
	CHECK_INT_EQ(jtree_len(NULL), 0);
	CHECK_STR_EQ(jtree_str_at(l, 0, NULL), "p");
	CHECK(jtree_str_at(l, 1, NULL) == NULL);
	CHECK_STR_EQ(jtree_str_at(l, 1, "-"), "-");
	yajl_tree_free(root);
}

static void
test_kind_names(void)
{
	CHECK_STR_EQ(jtree_kind_name(JTREE_OBJECT), "an object");
	CHECK_STR_EQ(jtree_kind_name(JTREE_ARRAY), "an array");
	CHECK_STR_EQ(jtree_kind_name(JTREE_STRING), "a string");
	CHECK_STR_EQ(jtree_kind_name(JTREE_INT), "an integer");
	CHECK_STR_EQ(jtree_kind_name(JTREE_BOOL), "true or false");
}

int
main(void)
{
	TEST_RUN(test_lookups);
	TEST_RUN(test_kind_names);
	return test_exit();
}
