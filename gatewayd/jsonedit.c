#include "gatewayd/jsonedit.h"

#include <stddef.h>
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

/* ---- peek, the one-pass scan ---- */

/*
 * Routing a frame needs only a few top-level members, yet frames carry up to
 * megabytes of params and payload. The scan checks the frame's structure as
 * yajl does (tokens, brackets, commas and colons, numbers and literals, what
 * follows the object) but passes over the contents of strings it does not
 * keep with memchr; the top-level keys and the values it keeps must be plain
 * ASCII. Whatever it is not sure of it leaves to yajl (jsonedit_peek_full).
 */

enum peek_want {
	PEEK_VALUE,		/* after ':' or an array's ',' */
	PEEK_VALUE_OR_CLOSE,	/* after '[' */
	PEEK_KEY,		/* after an object's ',' */
	PEEK_KEY_OR_CLOSE,	/* after '{' */
	PEEK_COLON,		/* after a key */
	PEEK_NEXT,		/* after a value: ',' or the container's end */
	PEEK_DONE,		/* after the top-level object: only whitespace */
};

struct peek_scan {
	struct peek_ctx x;	/* fed as yajl feeds it: x.depth is the nesting */
	uint64_t is_map[JSONEDIT_PEEK_DEPTH / 64];	/* bit d: level d+1 is an object */
};

/* yajl's whitespace, which has \v and \f besides JSON's four. */
static int
peek_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The closing quote of a string whose contents start at s, NULL if none:
 * a quote is the end unless an odd number of backslashes precede it. */
static const uint8_t *
peek_string_end(const uint8_t *s, const uint8_t *end)
{
	const uint8_t *from = s, *q;
	size_t n;

	while ((q = memchr(from, '"', (size_t)(end - from))) != NULL) {
		for (n = 0; q - n > s && q[-1 - (ptrdiff_t)n] == '\\'; n++)
			;
		if (n % 2 == 0)
			return q;
		from = q + 1;
	}
	return NULL;
}

/* The closing quote of a string with no escape, control character or
 * non-ASCII byte: those the scan leaves to yajl to decode and check. */
static const uint8_t *
peek_plain_end(const uint8_t *s, const uint8_t *end)
{
	for (; s < end; s++) {
		if (*s == '"')
			return s;
		if (*s == '\\' || *s < 0x20 || *s >= 0x80)
			return NULL;
	}
	return NULL;
}

static const uint8_t *
peek_digits(const uint8_t *s, const uint8_t *end)
{
	if (s == end || *s < '0' || *s > '9')
		return NULL;
	while (s < end && *s >= '0' && *s <= '9')
		s++;
	return s;
}

/* The end of the number or literal at s (JSON's grammar, as yajl lexes it;
 * what follows is the caller's to check), NULL if it is none. *b: 1 for
 * true, 0 for false, -1 otherwise. */
static const uint8_t *
peek_scalar(const uint8_t *s, const uint8_t *end, int *b)
{
	static const char *const lit[] = { "false", "true", "null" };

	for (int i = 0; i < 3; i++) {
		size_t n = strlen(lit[i]);

		if (*s == (uint8_t)lit[i][0]) {
			*b = i < 2 ? i : -1;
			return (size_t)(end - s) >= n && memcmp(s, lit[i], n) == 0 ? s + n : NULL;
		}
	}
	*b = -1;
	if (*s == '-')
		s++;
	if (s < end && *s == '0')
		s++;
	else if ((s = peek_digits(s, end)) == NULL)
		return NULL;
	if (s < end && *s == '.' && (s = peek_digits(s + 1, end)) == NULL)
		return NULL;
	if (s < end && (*s == 'e' || *s == 'E')) {
		s++;
		if (s < end && (*s == '+' || *s == '-'))
			s++;
		s = peek_digits(s, end);
	}
	return s;
}

static int
peek_in_map(const struct peek_scan *c)
{
	unsigned d = c->x.depth - 1;

	return (c->is_map[d / 64] >> (d % 64)) & 1;
}

/* A string where want expects one: s at its opening quote. Returns the byte
 * after it, NULL to leave the frame to yajl. Top-level keys and the values
 * kept are read as yajl would hand them over; other strings are skipped. */
static const uint8_t *
peek_scan_string(struct peek_scan *c, const uint8_t *s, const uint8_t *end,
    enum peek_want *want)
{
	int key = *want == PEEK_KEY || *want == PEEK_KEY_OR_CLOSE;
	const uint8_t *q;

	if (!key && *want != PEEK_VALUE && *want != PEEK_VALUE_OR_CLOSE)
		return NULL;
	s++;
	*want = key ? PEEK_COLON : PEEK_NEXT;
	if (c->x.depth != 1)
		return (q = peek_string_end(s, end)) == NULL ? NULL : q + 1;
	if (!key && c->x.target == NULL) {
		peek_value(&c->x);
		return (q = peek_string_end(s, end)) == NULL ? NULL : q + 1;
	}
	if ((q = peek_plain_end(s, end)) == NULL)
		return NULL;
	if (key)
		peek_key(&c->x, s, (size_t)(q - s));
	else
		peek_string(&c->x, s, (size_t)(q - s));
	return q + 1;
}

/* A '{' or '['. */
static int
peek_scan_open(struct peek_scan *c, uint8_t ch, enum peek_want *want)
{
	unsigned d = c->x.depth;

	if ((*want != PEEK_VALUE && *want != PEEK_VALUE_OR_CLOSE) || d == JSONEDIT_PEEK_DEPTH)
		return -1;
	if (ch == '{')
		c->is_map[d / 64] |= 1ull << (d % 64);
	else
		c->is_map[d / 64] &= ~(1ull << (d % 64));
	peek_open(&c->x);
	*want = ch == '{' ? PEEK_KEY_OR_CLOSE : PEEK_VALUE_OR_CLOSE;
	return 0;
}

/* A '}' or ']': it must end the innermost container, where one may end. */
static int
peek_scan_close(struct peek_scan *c, uint8_t ch, enum peek_want *want)
{
	int map;

	if (c->x.depth == 0)
		return -1;
	map = peek_in_map(c);
	if (map != (ch == '}') || !(*want == PEEK_NEXT ||
	    *want == (map ? PEEK_KEY_OR_CLOSE : PEEK_VALUE_OR_CLOSE)))
		return -1;
	peek_close(&c->x);
	*want = c->x.depth == 0 ? PEEK_DONE : PEEK_NEXT;
	return 0;
}

/* A number or literal: s at its first byte; the byte after it, or NULL. */
static const uint8_t *
peek_scan_scalar(struct peek_scan *c, const uint8_t *s, const uint8_t *end,
    enum peek_want *want)
{
	int b;

	if ((*want != PEEK_VALUE && *want != PEEK_VALUE_OR_CLOSE) ||
	    (s = peek_scalar(s, end, &b)) == NULL)
		return NULL;
	if (b >= 0)
		peek_bool(&c->x, b);
	else
		peek_value(&c->x);
	*want = PEEK_NEXT;
	return s;
}

/* The scan of a frame whose '{' is at s: 0 with p filled in, -1 to leave the
 * frame to yajl. */
static int
peek_fast(const uint8_t *s, const uint8_t *end, struct jsonedit_peek *p)
{
	struct peek_scan c = { .x = { .p = p } };
	enum peek_want want = PEEK_VALUE;

	memset(p, 0, sizeof(*p));
	while (s < end) {
		if (peek_space(*s)) {
			s++;
			continue;
		}
		if (want == PEEK_DONE)
			return -1;
		switch (*s) {
		case '{':
		case '[':
			if (peek_scan_open(&c, *s++, &want) < 0)
				return -1;
			break;
		case '}':
		case ']':
			if (peek_scan_close(&c, *s++, &want) < 0)
				return -1;
			break;
		case ',':
			if (want != PEEK_NEXT || c.x.depth == 0)
				return -1;
			want = peek_in_map(&c) ? PEEK_KEY : PEEK_VALUE;
			s++;
			break;
		case ':':
			if (want != PEEK_COLON)
				return -1;
			want = PEEK_VALUE;
			s++;
			break;
		case '"':
			if ((s = peek_scan_string(&c, s, end, &want)) == NULL)
				return -1;
			break;
		default:
			if ((s = peek_scan_scalar(&c, s, end, &want)) == NULL)
				return -1;
			break;
		}
	}
	return want == PEEK_DONE ? 0 : -1;
}

/* Only an object is a frame (and only it makes depth 1 mean members): the
 * offset of its '{', or len if msg does not start with one. */
static size_t
peek_start(const uint8_t *msg, size_t len)
{
	size_t i = 0;

	while (i < len && (msg[i] == ' ' || msg[i] == '\t' || msg[i] == '\r' || msg[i] == '\n'))
		i++;
	return i < len && msg[i] == '{' ? i : len;
}

int
jsonedit_peek_full(const uint8_t *msg, size_t len, struct jsonedit_peek *p)
{
	struct peek_ctx c = { p, 0, NULL, 0, 0 };

	memset(p, 0, sizeof(*p));
	if (peek_start(msg, len) == len)
		return -1;
	if (jsonedit_parse(&peek_callbacks, &c, msg, len) < 0) {
		memset(p, 0, sizeof(*p));
		return -1;
	}
	return 0;
}

int
jsonedit_peek(const uint8_t *msg, size_t len, struct jsonedit_peek *p)
{
	size_t i = peek_start(msg, len);

	if (i == len) {
		memset(p, 0, sizeof(*p));
		return -1;
	}
	if (peek_fast(msg + i, msg + len, p) == 0)
		return 0;
	return jsonedit_peek_full(msg, len, p);
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
