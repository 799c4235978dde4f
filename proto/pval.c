#include "proto/pval.h"

#include <string.h>
#include <yajl/yajl_gen.h>

#include "common/log.h"
#include "common/utf8.h"
#include "common/xmalloc.h"

static void
pval_tag(struct pbuf *b, char tag)
{
	pbuf_add(b, &tag, 1);
}

static void
pval_be(struct pbuf *b, uint64_t v, int bytes)
{
	uint8_t p[8];

	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
	pbuf_add(b, p, (size_t)bytes);
}

static void
pval_bool(struct pbuf *b, int v)
{
	pval_tag(b, v ? 't' : 'f');
}

static void
pval_int(struct pbuf *b, int64_t v)
{
	pval_tag(b, 'i');
	pval_be(b, (uint64_t)v, 8);
}

static void
pval_strn(struct pbuf *b, const char *s, size_t len)
{
	pval_tag(b, 's');
	pval_be(b, len, 4);
	pbuf_add(b, s, len);
}

void
pval_str(struct pbuf *b, const char *s)
{
	pval_strn(b, s, strlen(s));
}

void
pval_obj_begin(struct pbuf *b)
{
	pval_tag(b, '{');
}

void
pval_obj_end(struct pbuf *b)
{
	pval_tag(b, '}');
}

void
pval_arr_begin(struct pbuf *b)
{
	pval_tag(b, '[');
}

void
pval_arr_end(struct pbuf *b)
{
	pval_tag(b, ']');
}

void
pval_key(struct pbuf *b, const char *key)
{
	pval_str(b, key);
}

void
pval_kv_str(struct pbuf *b, const char *key, const char *v)
{
	pval_key(b, key);
	pval_str(b, v);
}

void
pval_kv_str_opt(struct pbuf *b, const char *key, const char *v)
{
	if (v != NULL && v[0] != '\0')
		pval_kv_str(b, key, v);
}

void
pval_kv_int(struct pbuf *b, const char *key, int64_t v)
{
	pval_key(b, key);
	pval_int(b, v);
}

void
pval_kv_bool(struct pbuf *b, const char *key, int v)
{
	pval_key(b, key);
	pval_bool(b, v);
}

/*
 * One walker serves both checking (g == NULL) and rendering. It is iterative:
 * a stack of container kinds bounded by PVAL_MAX_DEPTH.
 */
struct pval_walk {
	const uint8_t *p;
	size_t left;
	char stack[PVAL_MAX_DEPTH];
	int depth;
	int expect_key;		/* inside an object, before a key */
};

static int
walk_str(struct pval_walk *w, const uint8_t **s, uint32_t *len)
{
	if (w->left < 4)
		return -1;
	*len = ((uint32_t)w->p[0] << 24) | ((uint32_t)w->p[1] << 16) |
	    ((uint32_t)w->p[2] << 8) | w->p[3];
	w->p += 4;
	w->left -= 4;
	if (*len > w->left || !utf8_valid(w->p, *len))
		return -1;
	*s = w->p;
	w->p += *len;
	w->left -= *len;
	return 0;
}

static int
pval_walk(const uint8_t *data, size_t len, yajl_gen g)
{
	struct pval_walk w = { data, len, { 0 }, 0, 0 };
	int done = 0;

	while (!done) {
		const uint8_t *s;
		uint32_t slen;
		uint8_t tag;

		if (w.left == 0)
			return -1;
		tag = *w.p++;
		w.left--;
		if (w.expect_key && tag != 's' && tag != '}')
			return -1;
		switch (tag) {
		case 'n':
			if (g && yajl_gen_null(g) != yajl_gen_status_ok)
				return -1;
			break;
		case 't':
		case 'f':
			if (g && yajl_gen_bool(g, tag == 't') != yajl_gen_status_ok)
				return -1;
			break;
		case 'i': {
			uint64_t v = 0;

			if (w.left < 8)
				return -1;
			for (int i = 0; i < 8; i++)
				v = (v << 8) | w.p[i];
			w.p += 8;
			w.left -= 8;
			if (g && yajl_gen_integer(g, (long long)v) != yajl_gen_status_ok)
				return -1;
			break;
		}
		case 's':
			if (walk_str(&w, &s, &slen) < 0)
				return -1;
			if (g && yajl_gen_string(g, s, slen) != yajl_gen_status_ok)
				return -1;
			if (w.expect_key) {
				w.expect_key = 0;
				continue;	/* the value follows */
			}
			break;
		case '{':
		case '[':
			if (w.depth == PVAL_MAX_DEPTH)
				return -1;
			w.stack[w.depth++] = (char)tag;
			if (g && (tag == '{' ? yajl_gen_map_open(g) : yajl_gen_array_open(g)) !=
			    yajl_gen_status_ok)
				return -1;
			w.expect_key = tag == '{';
			continue;
		case '}':
		case ']':
			if (w.depth == 0 || w.stack[w.depth - 1] != (tag == '}' ? '{' : '['))
				return -1;
			if (tag == '}' && !w.expect_key)
				return -1;
			w.depth--;
			if (g && (tag == '}' ? yajl_gen_map_close(g) : yajl_gen_array_close(g)) !=
			    yajl_gen_status_ok)
				return -1;
			break;
		default:
			return -1;
		}
		/* A value is complete: what comes next depends on the container. */
		if (w.depth == 0)
			done = 1;
		else
			w.expect_key = w.stack[w.depth - 1] == '{';
	}
	return w.left == 0 ? 0 : -1;
}

int
pval_check(const uint8_t *data, size_t len)
{
	return pval_walk(data, len, NULL);
}

int
pval_to_json(yajl_gen g, const uint8_t *data, size_t len)
{
	return pval_walk(data, len, g);
}

char *
pval_to_json_string(const uint8_t *data, size_t len, int pretty)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *out;
	size_t outlen;
	char *s = NULL;

	if (g == NULL)
		fatalx("out of memory allocating a JSON generator");
	yajl_gen_config(g, yajl_gen_beautify, pretty);
	yajl_gen_config(g, yajl_gen_validate_utf8, 1);
	if (pval_to_json(g, data, len) == 0 &&
	    yajl_gen_get_buf(g, &out, &outlen) == yajl_gen_status_ok)
		s = xstrndup((const char *)out, outlen);
	yajl_gen_free(g);
	return s;
}
