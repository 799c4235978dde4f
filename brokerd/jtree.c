#include "brokerd/jtree.h"

yajl_val
jtree_get(yajl_val obj, const char *key)
{
	const char *path[] = { key, NULL };

	return jtree_path(obj, path);
}

yajl_val
jtree_path(yajl_val root, const char *const path[])
{
	/* yajl_tree_get only reads the path; its prototype lacks the const. */
	return root != NULL ? yajl_tree_get(root, (const char **)path, yajl_t_any) : NULL;
}

int
jtree_is(yajl_val v, enum jtree_kind kind)
{
	if (v == NULL)
		return 0;
	switch (kind) {
	case JTREE_OBJECT:
		return YAJL_IS_OBJECT(v);
	case JTREE_ARRAY:
		return YAJL_IS_ARRAY(v);
	case JTREE_STRING:
		return YAJL_IS_STRING(v);
	case JTREE_INT:
		return YAJL_IS_INTEGER(v);
	case JTREE_BOOL:
		return YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v);
	}
	return 0;
}

const char *
jtree_kind_name(enum jtree_kind kind)
{
	static const char *const names[] = {
		[JTREE_OBJECT] = "an object",
		[JTREE_ARRAY] = "an array",
		[JTREE_STRING] = "a string",
		[JTREE_INT] = "an integer",
		[JTREE_BOOL] = "true or false",
	};

	return names[kind];
}

const char *
jtree_str(yajl_val obj, const char *key)
{
	return YAJL_GET_STRING(jtree_get(obj, key));
}

const char *
jtree_text(yajl_val obj, const char *key)
{
	const char *s = jtree_str(obj, key);

	return s != NULL ? s : "";
}

long long
jtree_int(yajl_val obj, const char *key)
{
	yajl_val v = jtree_get(obj, key);

	return jtree_is(v, JTREE_INT) ? YAJL_GET_INTEGER(v) : 0;
}

size_t
jtree_len(yajl_val arr)
{
	return jtree_is(arr, JTREE_ARRAY) ? arr->u.array.len : 0;
}

const char *
jtree_str_at(yajl_val arr, size_t i, const char *dflt)
{
	const char *s = YAJL_GET_STRING(arr->u.array.values[i]);

	return s != NULL ? s : dflt;
}
