/*
 * Reading parsed JSON (yajl's tree): members by key or path, array items, and
 * kind checks with the kind's name for messages. brokerd reads its config, its
 * registry and its audit log this way, and gatewayctl brokerd's answers. Every
 * lookup takes NULL for an absent parent and gives NULL (or the default) for an
 * absent member or one of another kind.
 */
#ifndef BROKERD_JTREE_H
#define BROKERD_JTREE_H

#include <stddef.h>
#include <yajl/yajl_tree.h>

enum jtree_kind { JTREE_OBJECT, JTREE_ARRAY, JTREE_STRING, JTREE_INT, JTREE_BOOL };

/* The member key of obj, of any kind. */
yajl_val jtree_get(yajl_val obj, const char *key);
/* The value at path (keys, NULL-terminated) below root, of any kind. */
yajl_val jtree_path(yajl_val root, const char *const path[]);
/* Whether v (NULL: no) is of kind. */
int jtree_is(yajl_val v, enum jtree_kind kind);
/* The kind as messages name it: "an object", "a string", "true or false", ... */
const char *jtree_kind_name(enum jtree_kind kind);

/* The string member key of obj; NULL if there is none. */
const char *jtree_str(yajl_val obj, const char *key);
/* Likewise, but "" if there is none: for showing. */
const char *jtree_text(yajl_val obj, const char *key);
/* The integer member key of obj; 0 if there is none. */
long long jtree_int(yajl_val obj, const char *key);
/* The number of items of arr; 0 if it is not an array. */
size_t jtree_len(yajl_val arr);
/* Item i (< jtree_len) of arr if it is a string; dflt otherwise. */
const char *jtree_str_at(yajl_val arr, size_t i, const char *dflt);

#endif
