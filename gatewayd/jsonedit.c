#include "gatewayd/jsonedit.h"

#include <stdio.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

/* ---- peek ---- */

struct peek_ctx {
	struct jsonedit_peek *p;
	unsigned depth;
	char *target;		/* where the next top-level string goes, NULL: nowhere */
	size_t target_size;
	uint8_t key_ok;		/* the current top-level key is "ok" */
};

static void
peek_keep(char *dst, size_t size, const unsigned char *s, size_t len)
{
	if (len > size - 1)
		len = size - 1;
	memcpy(dst, s, len);
	dst[len] = '\0';
}

/* A top-level value that is not the string a target wants clears it. */
static void
peek_value(struct peek_ctx *c)
{
	if (c->depth == 1 && c->target != NULL)
		c->target[0] = '\0';
	if (c->depth == 1 && c->key_ok)
		c->p->ok = 0;
}

static int
peek_null(void *ctx)
{
	peek_value(ctx);
	return 1;
}

static int
peek_bool(void *ctx, int b)
{
	struct peek_ctx *c = ctx;

	peek_value(c);
	if (c->depth == 1 && c->key_ok)
		c->p->ok = b != 0;
	return 1;
}

static int
peek_number(void *ctx, const char *s, size_t l)
{
	peek_value(ctx);
	return 1;
}

static int
peek_string(void *ctx, const unsigned char *s, size_t l)
{
	struct peek_ctx *c = ctx;

	peek_value(c);
	if (c->depth == 1 && c->target != NULL)
		peek_keep(c->target, c->target_size, s, l);
	return 1;
}

static int
peek_key(void *ctx, const unsigned char *k, size_t l)
{
	struct peek_ctx *c = ctx;
	struct jsonedit_peek *p = c->p;

	if (c->depth != 1)
		return 1;
	c->target = NULL;
	c->key_ok = l == 2 && memcmp(k, "ok", 2) == 0;
	if (l == 4 && memcmp(k, "type", 4) == 0) {
		c->target = p->type;
		c->target_size = sizeof(p->type);
	} else if ((l == 6 && memcmp(k, "method", 6) == 0) ||
	    (l == 5 && memcmp(k, "event", 5) == 0)) {
		c->target = p->name;
		c->target_size = sizeof(p->name);
	} else if (l == 2 && memcmp(k, "id", 2) == 0) {
		c->target = p->id;
		c->target_size = sizeof(p->id);
	}
	return 1;
}

static int
peek_open(void *ctx)
{
	struct peek_ctx *c = ctx;

	peek_value(c);
	c->depth++;
	return 1;
}

static int
peek_close(void *ctx)
{
	struct peek_ctx *c = ctx;

	c->depth--;
	return 1;
}

static const yajl_callbacks peek_callbacks = {
	peek_null, peek_bool, NULL, NULL, peek_number, peek_string,
	peek_open, peek_key, peek_close, peek_open, peek_close,
};

/* Runs one complete document through a parser with these callbacks. */
static int
jsonedit_parse(const yajl_callbacks *cb, void *ctx, const uint8_t *in, size_t len)
{
	yajl_handle h = yajl_alloc(cb, NULL, ctx);
	int ok;

	if (h == NULL)
		return -1;
	ok = yajl_parse(h, in, len) == yajl_status_ok && yajl_complete_parse(h) == yajl_status_ok;
	yajl_free(h);
	return ok ? 0 : -1;
}

int
jsonedit_peek(const uint8_t *msg, size_t len, struct jsonedit_peek *p)
{
	struct peek_ctx c = { p, 0, NULL, 0, 0 };
	size_t i = 0;

	memset(p, 0, sizeof(*p));
	/* Only an object is a frame (and only it makes depth 1 mean members). */
	while (i < len && (msg[i] == ' ' || msg[i] == '\t' || msg[i] == '\r' || msg[i] == '\n'))
		i++;
	if (i == len || msg[i] != '{')
		return -1;
	if (jsonedit_parse(&peek_callbacks, &c, msg, len) < 0) {
		memset(p, 0, sizeof(*p));
		return -1;
	}
	return 0;
}

/* ---- apply ---- */

struct edit_ctx {
	yajl_gen g;
	const char *parent;
	const struct jsonedit_edit *e;
	size_t n;
	uint64_t done;		/* bit i: edit i applied */
	unsigned depth;		/* of the container being copied */
	uint8_t at_parent;	/* the next value is the top-level member `parent` */
	unsigned parent_depth;	/* depth inside `parent`, 0: not in it */
	unsigned skip;		/* a deleted or replaced value being skipped: its depth + 1 */
};

static int
edit_gen(yajl_gen_status st)
{
	return st == yajl_gen_status_ok;
}

/* A scalar, unless it is (the end of) a value being skipped. */
static int
edit_scalar(struct edit_ctx *c)
{
	c->at_parent = 0;
	if (c->skip == 1) {
		c->skip = 0;
		return 0;
	}
	return c->skip == 0;
}

static int
edit_null(void *ctx)
{
	struct edit_ctx *c = ctx;

	return !edit_scalar(c) || edit_gen(yajl_gen_null(c->g));
}

static int
edit_bool(void *ctx, int b)
{
	struct edit_ctx *c = ctx;

	return !edit_scalar(c) || edit_gen(yajl_gen_bool(c->g, b));
}

static int
edit_number(void *ctx, const char *s, size_t l)
{
	struct edit_ctx *c = ctx;

	return !edit_scalar(c) || edit_gen(yajl_gen_number(c->g, s, l));
}

static int
edit_string(void *ctx, const unsigned char *s, size_t l)
{
	struct edit_ctx *c = ctx;

	return !edit_scalar(c) || edit_gen(yajl_gen_string(c->g, s, l));
}

static int edit_insert(struct edit_ctx *c, size_t i);

static int
edit_key(void *ctx, const unsigned char *k, size_t l)
{
	struct edit_ctx *c = ctx;

	if (c->skip > 0)
		return 1;
	if (c->depth == 1)
		c->at_parent = strlen(c->parent) == l && memcmp(k, c->parent, l) == 0;
	if (c->parent_depth == 1) {
		for (size_t i = 0; i < c->n; i++) {
			if (strlen(c->e[i].name) != l || memcmp(k, c->e[i].name, l) != 0)
				continue;
			/* The value in the frame is skipped; a replacement goes in
			 * its place (once, should the name come twice). */
			c->skip = 1;
			if (c->e[i].value == NULL || (c->done & (1ull << i)))
				return 1;
			return edit_gen(yajl_gen_string(c->g, k, l)) && edit_insert(c, i);
		}
	}
	return edit_gen(yajl_gen_string(c->g, k, l));
}

static int
edit_open(struct edit_ctx *c, int map)
{
	if (c->skip > 0) {
		c->skip++;
		return 1;
	}
	c->depth++;
	if (c->parent_depth > 0)
		c->parent_depth++;
	else if (c->at_parent && map && c->depth == 2)
		c->parent_depth = 1;
	c->at_parent = 0;
	return edit_gen(map ? yajl_gen_map_open(c->g) : yajl_gen_array_open(c->g));
}

static int
edit_close(struct edit_ctx *c, int map)
{
	if (c->skip > 0) {
		/* skip 2: the skipped value's own container ends here. */
		c->skip = c->skip == 2 ? 0 : c->skip - 1;
		return 1;
	}
	if (c->parent_depth == 1) {
		/* The end of `parent`: replacements for absent members go last. */
		for (size_t i = 0; i < c->n; i++)
			if (c->e[i].value != NULL && !(c->done & (1ull << i)) &&
			    (!edit_gen(yajl_gen_string(c->g, (const unsigned char *)c->e[i].name,
			    strlen(c->e[i].name))) || !edit_insert(c, i)))
				return 0;
	}
	if (c->parent_depth > 0)
		c->parent_depth--;
	c->depth--;
	return edit_gen(map ? yajl_gen_map_close(c->g) : yajl_gen_array_close(c->g));
}

static int
edit_map_open(void *ctx)
{
	return edit_open(ctx, 1);
}

static int
edit_map_close(void *ctx)
{
	return edit_close(ctx, 1);
}

static int
edit_array_open(void *ctx)
{
	return edit_open(ctx, 0);
}

static int
edit_array_close(void *ctx)
{
	return edit_close(ctx, 0);
}

static const yajl_callbacks edit_callbacks = {
	edit_null, edit_bool, NULL, NULL, edit_number, edit_string,
	edit_map_open, edit_key, edit_map_close, edit_array_open, edit_array_close,
};

/* Copies a replacement value into the generator: parsed with the same
 * callbacks in a context of its own that edits nothing. */
static int
edit_insert(struct edit_ctx *c, size_t i)
{
	struct edit_ctx sub = { .g = c->g, .parent = "", .depth = 100 };

	c->done |= 1ull << i;
	return jsonedit_parse(&edit_callbacks, &sub, c->e[i].value, c->e[i].len) == 0;
}

int
jsonedit_apply(const uint8_t *in, size_t len, const char *parent,
    const struct jsonedit_edit *e, size_t n, struct pbuf *out)
{
	struct edit_ctx c = { .parent = parent, .e = e, .n = n };
	const unsigned char *buf;
	size_t blen;
	size_t i = 0;
	int r = -1;

	while (i < len && (in[i] == ' ' || in[i] == '\t' || in[i] == '\r' || in[i] == '\n'))
		i++;
	if (n > 64 || i == len || in[i] != '{')
		return -1;
	if ((c.g = yajl_gen_alloc(NULL)) == NULL)
		return -1;
	if (jsonedit_parse(&edit_callbacks, &c, in, len) == 0 &&
	    yajl_gen_get_buf(c.g, &buf, &blen) == yajl_gen_status_ok) {
		pbuf_add(out, buf, blen);
		r = 0;
	}
	yajl_gen_free(c.g);
	return r;
}
