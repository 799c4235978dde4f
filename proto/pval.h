/*
 * pval: the value trees the broker sends where OpenClaw puts JSON (error details,
 * RPC results, event payloads), and the registry file's in-memory form on its way
 * to disk. A pval is a byte string of tagged items:
 *   'n' null | 'f' false | 't' true | 'i' i64 (8 bytes BE) | 's' u32 len + UTF-8 bytes
 *   '{' (key-string value)* '}' | '[' value* ']'
 * Built only by trusted code (brokerd), checked by pval_check on every decode and
 * turned into JSON text by pval_to_json. Nesting is limited to PVAL_MAX_DEPTH.
 */
#ifndef CLAWGATE_PVAL_H
#define CLAWGATE_PVAL_H

#include <stddef.h>
#include <stdint.h>

#include "proto/pbuf.h"

#define PVAL_MAX_DEPTH 16

void pval_str(struct pbuf *b, const char *s);
void pval_obj_begin(struct pbuf *b);
void pval_obj_end(struct pbuf *b);
void pval_arr_begin(struct pbuf *b);
void pval_arr_end(struct pbuf *b);
/* A key inside an object; the next item is its value. */
void pval_key(struct pbuf *b, const char *key);

/* Key-value shorthands for objects. */
void pval_kv_str(struct pbuf *b, const char *key, const char *v);
void pval_kv_int(struct pbuf *b, const char *key, int64_t v);
void pval_kv_bool(struct pbuf *b, const char *key, int v);
/* Only when v is non-empty: OpenClaw omits absent optional strings. */
void pval_kv_str_opt(struct pbuf *b, const char *key, const char *v);

/* 0 if data is exactly one well-formed value (strings valid UTF-8, keys strings,
 * depth within PVAL_MAX_DEPTH), else -1. */
int pval_check(const uint8_t *data, size_t len);

struct yajl_gen_t;
/* Emits the (checked) value into a yajl generator; -1 on a generator error. */
int pval_to_json(struct yajl_gen_t *g, const uint8_t *data, size_t len);
/* Renders a checked value as a NUL-terminated JSON string (malloc'd); pretty if asked. */
char *pval_to_json_string(const uint8_t *data, size_t len, int pretty);

#endif
