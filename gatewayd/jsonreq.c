#include "gatewayd/jsonreq.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "common/log.h"

/* Schema containers open at once: envelope, params, client (or device, auth,
 * scopes, ...), with room to spare. Everything deeper is skipped, not framed. */
#define JR_MAX_FRAMES 5
/* Bytes of an attacker-chosen name echoed in an error message. */
#define JR_NAME_SHOWN 96
/* A pointer segment: the shown name with every byte possibly escaped as "~x". */
#define JR_SEG_MAX (2 * JR_NAME_SHOWN + 1)
/* JavaScript's Number.MAX_SAFE_INTEGER: beyond it integers stop being exact
 * in the real gateway, so clawgate draws its explicit limit there. */
#define JR_INT_LIMIT 9007199254740991ULL

/* ajv (allErrors off) checks an object's keywords in this order. */
enum jr_cat { JR_CAT_REQUIRED, JR_CAT_EXTRA, JR_CAT_PROP };

/* One step of an error's rank: the lexicographically smallest rank is the
 * error ajv would have reported. */
struct jr_step {
	uint8_t cat;
	uint64_t n;
};

struct jr_frame {
	const struct jsonreq_prop *prop;	/* JR_OBJECT, JR_BOOLMAP or JR_STRS */
	uint8_t domain;		/* 0: envelope, 1: inside the params */
	uint64_t seen;		/* objects: properties met so far, by index */
	uint32_t count;		/* keys or items so far */
	const struct jsonreq_prop *next;	/* schema of the coming value; NULL: skip */
	struct jr_step step;	/* rank step of the coming value */
	char seg[JR_SEG_MAX];	/* JSON pointer segment of the coming value */
};

struct jr_best {
	int set;
	struct jr_step rank[JR_MAX_FRAMES + 1];
	int nrank;
	char msg[JSONREQ_ERROR_MAX];
};

struct jr_state {
	const struct jsonreq_prop *params;
	uint8_t *base[2];
	struct jr_frame frames[JR_MAX_FRAMES];
	int nframes;
	uint32_t skip;		/* depth inside a value that is not looked at */
	uint8_t skip_domain;	/* and that value's domain */
	int too_deep;
	struct jr_best best[2];	/* per domain */
};

static const char *const jr_req_type[] = { "req", NULL };

#define JR_ENV_STR(f) \
	.store = 1, .off = offsetof(struct jsonreq_env, f), \
	.size = sizeof(((struct jsonreq_env *)0)->f) - 1, .cs = PROTO_CS_TEXT

/* doc/protocol.md §2.1. Ids and methods longer than the fields that carry them to
 * the broker are not request frames here: an explicit limit of clawgate's. */
static const struct jsonreq_prop jr_envelope_props[] = {
	{ .name = "type", .kind = JR_ENUM, .required = 1, .values = jr_req_type },
	{ .name = "id", .kind = JR_STR, .required = 1, .min = 1, JR_ENV_STR(id) },
	{ .name = "method", .kind = JR_STR, .required = 1, .min = 1, JR_ENV_STR(method) },
	{ .name = "params", .kind = JR_PARAMS, .flag_width = JR_FLAG_U8,
	    .flag_off = offsetof(struct jsonreq_env, has_params), .flag = 1 },
	{ .name = "traceparent", .kind = JR_STR, .max = 128 },
	{ .name = "expectedProfileId", .kind = JR_STR },
};

static const struct jsonreq_object jr_envelope_object = {
	jr_envelope_props, sizeof(jr_envelope_props) / sizeof(jr_envelope_props[0]), 1
};

static const struct jsonreq_prop jr_envelope = {
	.name = "", .kind = JR_OBJECT, .object = &jr_envelope_object
};

/* Items of JR_STRS arrays and values of JR_BOOLMAP objects. */
static const struct jsonreq_prop jr_item_str = { .name = "", .kind = JR_STR };
static const struct jsonreq_prop jr_item_bool = { .name = "", .kind = JR_BOOL };

static int
jr_rank_cmp(const struct jr_step *a, int na, const struct jr_step *b, int nb)
{
	for (int i = 0; i < na && i < nb; i++) {
		if (a[i].cat != b[i].cat)
			return a[i].cat < b[i].cat ? -1 : 1;
		if (a[i].n != b[i].n)
			return a[i].n < b[i].n ? -1 : 1;
	}
	return na < nb ? -1 : na > nb;
}

/*
 * Copies a name from the message for an error text: at most JR_NAME_SHOWN bytes
 * cut at a character boundary (yajl has checked the UTF-8), control characters
 * shown as '?' so the text is safe for a C string and a log line, and for a
 * pointer segment '~' and '/' escaped as RFC 6901 says.
 */
static void
jr_name(char *dst, size_t dstsz, const unsigned char *s, size_t len, int pointer)
{
	size_t o = 0, shown = 0, i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;

		if (shown + n > JR_NAME_SHOWN || o + 2 * n >= dstsz || i + n > len)
			break;
		if (n == 1 && (c < 0x20 || c == 0x7f)) {
			dst[o++] = '?';
		} else if (pointer && (c == '~' || c == '/')) {
			dst[o++] = '~';
			dst[o++] = c == '~' ? '0' : '1';
		} else {
			memcpy(dst + o, s + i, n);
			o += n;
		}
		shown += n;
		i += n;
	}
	dst[o] = '\0';
}

/* Appends to a bounded text, cutting what does not fit (error texts may be cut). */
static void __attribute__((format(printf, 4, 0)))
jr_vappend(char *buf, size_t size, size_t *len, const char *fmt, va_list ap)
{
	int n;

	if (*len + 1 >= size)
		return;
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	if (n > 0)
		*len += (size_t)n < size - *len ? (size_t)n : size - *len - 1;
}

static void __attribute__((format(printf, 4, 5)))
jr_append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	jr_vappend(buf, size, len, fmt, ap);
	va_end(ap);
}

/*
 * Records an error unless a better-ranked one is already known for its domain.
 * The error concerns the value now being read (upto = nframes) or the object on
 * top of the stack (upto = nframes - 1, plus an extra rank step).
 */
static void __attribute__((format(printf, 5, 6)))
jr_fail(struct jr_state *st, int domain, int upto, const struct jr_step *extra,
    const char *fmt, ...)
{
	struct jr_best *b = &st->best[domain];
	struct jr_step rank[JR_MAX_FRAMES + 1];
	size_t len = 0, root;
	int n = 0;
	va_list ap;

	for (int i = 0; i < upto; i++)
		rank[n++] = st->frames[i].step;
	if (extra != NULL)
		rank[n++] = *extra;
	if (b->set && jr_rank_cmp(rank, n, b->rank, b->nrank) >= 0)
		return;
	b->set = 1;
	memcpy(b->rank, rank, sizeof(rank[0]) * (size_t)n);
	b->nrank = n;

	jr_append(b->msg, sizeof(b->msg), &len, "at ");
	root = len;
	/* The params' pointer starts at the params: the envelope's step is not in it. */
	for (int i = 0; i < upto; i++)
		if (st->frames[i].domain == domain)
			jr_append(b->msg, sizeof(b->msg), &len, "/%s", st->frames[i].seg);
	if (len == root)
		jr_append(b->msg, sizeof(b->msg), &len, "root");
	jr_append(b->msg, sizeof(b->msg), &len, ": ");
	va_start(ap, fmt);
	jr_vappend(b->msg, sizeof(b->msg), &len, fmt, ap);
	va_end(ap);
}

static const char *
jr_type_name(enum jsonreq_kind kind)
{
	switch (kind) {
	case JR_OBJECT:
	case JR_BOOLMAP:
	case JR_PARAMS:
		return "object";
	case JR_STRS:
		return "array";
	case JR_INT:
		return "integer";
	case JR_BOOL:
		return "boolean";
	case JR_STR:
	case JR_ENUM:
	case JR_ANY:
		break;
	}
	return "string";
}

static void
jr_type_error(struct jr_state *st, int domain, const struct jsonreq_prop *prop)
{
	jr_fail(st, domain, st->nframes, NULL, "must be %s", jr_type_name(prop->kind));
}

/*
 * The schema the value now starting must meet (NULL: not looked at) and its
 * domain. Starting a value inside an array moves the array to its next item.
 */
static const struct jsonreq_prop *
jr_expect(struct jr_state *st, int *domain)
{
	struct jr_frame *top;

	if (st->nframes == 0) {
		*domain = 0;
		return &jr_envelope;
	}
	top = &st->frames[st->nframes - 1];
	*domain = top->domain;
	if (top->prop->kind == JR_STRS) {
		top->step.cat = JR_CAT_PROP;
		top->step.n = top->count;
		snprintf(top->seg, sizeof(top->seg), "%u", top->count);
		top->count++;
		return &jr_item_str;
	}
	if (top->next != NULL && top->next->kind == JR_PARAMS) {
		*domain = 1;
		return st->params;
	}
	return top->next;
}

/* Counts one more open container of a value that is not looked at (in the
 * given domain), and notes excessive depth once, as an error of the whole
 * domain: ranked at the domain's root, it outranks everything in it. */
static void
jr_skip_open(struct jr_state *st, int domain)
{
	int upto = 0;

	if (st->skip++ == 0)
		st->skip_domain = (uint8_t)domain;
	if (st->too_deep || st->nframes + (int)st->skip <= JSONREQ_MAX_DEPTH)
		return;
	st->too_deep = 1;
	if (st->skip_domain == 1)
		while (upto < st->nframes && st->frames[upto].domain == 0)
			upto++;
	jr_fail(st, st->skip_domain, upto, NULL,
	    "must NOT be nested more than %d levels deep", JSONREQ_MAX_DEPTH);
}

static size_t
jr_chars(const unsigned char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += (s[i] & 0xc0) != 0x80;
	return n;
}

/* What a string refused for its charset must NOT have: the error's problem. */
static const char *
jr_charset_rule(enum proto_charset cs)
{
	switch (cs) {
	case PROTO_CS_ATOM:
		return "must be printable ASCII without spaces";
	case PROTO_CS_TEXT:
		return "must NOT contain control characters";
	case PROTO_CS_DISPLAY:
		break;
	}
	return "must NOT contain control or bidirectional formatting characters";
}

/* Length and charset checks for a string value, then the copy if it is stored. */
static void
jr_string_value(struct jr_state *st, int domain, int upto, const unsigned char *s,
    size_t len, int64_t min, uint32_t max, char *dst, size_t size, enum proto_charset cs)
{
	size_t chars = jr_chars(s, len);

	if ((int64_t)chars < min) {
		jr_fail(st, domain, upto, NULL, "must NOT have fewer than %lld characters",
		    (long long)min);
	} else if (max != 0 && chars > max) {
		jr_fail(st, domain, upto, NULL, "must NOT have more than %u characters", max);
	} else if (dst != NULL) {
		if (len > size && chars > size)
			jr_fail(st, domain, upto, NULL,
			    "must NOT have more than %zu characters", size);
		else if (len > size)
			jr_fail(st, domain, upto, NULL, "must NOT be longer than %zu bytes",
			    size);
		else if (!proto_str_ok((const char *)s, len, size, cs))
			jr_fail(st, domain, upto, NULL, "%s", jr_charset_rule(cs));
		else {
			memcpy(dst, s, len);
			dst[len] = '\0';
		}
	}
}

/* An item of a JR_STRS array (the frame on top). */
static void
jr_item(struct jr_state *st, const unsigned char *s, size_t len)
{
	struct jr_frame *top = &st->frames[st->nframes - 1];
	const struct jsonreq_prop *arr = top->prop;
	uint32_t idx = top->count - 1;
	struct proto_scopes *sc;

	if (!arr->store) {
		jr_string_value(st, top->domain, st->nframes, s, len, arr->min, 0, NULL, 0,
		    PROTO_CS_TEXT);
		return;
	}
	sc = (struct proto_scopes *)(st->base[top->domain] + arr->off);
	if (idx >= PROTO_MAX_SCOPES) {
		jr_fail(st, top->domain, st->nframes - 1, NULL,
		    "must NOT have more than %d items", PROTO_MAX_SCOPES);
		return;
	}
	jr_string_value(st, top->domain, st->nframes, s, len, arr->min, 0, sc->v[idx],
	    PROTO_NAME_MAX, PROTO_CS_DISPLAY);
	sc->n = idx + 1;
}

static void
jr_enum(struct jr_state *st, int domain, const struct jsonreq_prop *prop,
    const unsigned char *s, size_t len)
{
	for (const char *const *v = prop->values; *v != NULL; v++) {
		if (strlen(*v) == len && memcmp(*v, s, len) == 0) {
			/* The lists are ATOMs short enough for their fields. */
			if (prop->store && len <= prop->size) {
				char *dst = (char *)st->base[domain] + prop->off;

				memcpy(dst, s, len);
				dst[len] = '\0';
			}
			return;
		}
	}
	jr_fail(st, domain, st->nframes, NULL, "must be equal to one of the allowed values");
}

static int
jr_on_string(void *ctx, const unsigned char *s, size_t len)
{
	struct jr_state *st = ctx;
	const struct jsonreq_prop *prop;
	int domain;

	if (st->skip)
		return 1;
	if ((prop = jr_expect(st, &domain)) == NULL)
		return 1;
	if (prop == &jr_item_str) {
		jr_item(st, s, len);
		return 1;
	}
	switch (prop->kind) {
	case JR_STR:
		jr_string_value(st, domain, st->nframes, s, len, prop->min, prop->max,
		    prop->store ? (char *)st->base[domain] + prop->off : NULL, prop->size,
		    prop->cs);
		break;
	case JR_ENUM:
		jr_enum(st, domain, prop, s, len);
		break;
	case JR_ANY:
		break;
	default:
		jr_type_error(st, domain, prop);
		break;
	}
	return 1;
}

/* JSON integers only: a fraction or an exponent is "must be integer" here,
 * although JavaScript would take 4.0 as 4. */
static void
jr_int(struct jr_state *st, int domain, const struct jsonreq_prop *prop, const char *s,
    size_t len)
{
	int neg = len > 0 && s[0] == '-';
	uint64_t v = 0;
	int64_t value;

	for (size_t i = (size_t)neg; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			jr_fail(st, domain, st->nframes, NULL, "must be integer");
			return;
		}
		if (v <= JR_INT_LIMIT)	/* saturate: it is out of range either way */
			v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (!neg && v > JR_INT_LIMIT) {
		jr_fail(st, domain, st->nframes, NULL, "must be <= %llu", JR_INT_LIMIT);
		return;
	}
	value = neg ? -(int64_t)(v > JR_INT_LIMIT ? JR_INT_LIMIT + 1 : v) : (int64_t)v;
	if (value < prop->min) {
		jr_fail(st, domain, st->nframes, NULL, "must be >= %lld", (long long)prop->min);
		return;
	}
	if (prop->store)
		memcpy(st->base[domain] + prop->off, &value, sizeof(value));
}

static int
jr_on_number(void *ctx, const char *s, size_t len)
{
	struct jr_state *st = ctx;
	const struct jsonreq_prop *prop;
	int domain;

	if (st->skip)
		return 1;
	if ((prop = jr_expect(st, &domain)) == NULL || prop->kind == JR_ANY)
		return 1;
	if (prop->kind == JR_INT)
		jr_int(st, domain, prop, s, len);
	else
		jr_type_error(st, domain, prop);
	return 1;
}

/* A null or a boolean, which satisfies schemas of the given kind (and JR_ANY). */
static int
jr_scalar(struct jr_state *st, enum jsonreq_kind kind)
{
	const struct jsonreq_prop *prop;
	int domain;

	if (st->skip)
		return 1;
	if ((prop = jr_expect(st, &domain)) == NULL || prop->kind == JR_ANY)
		return 1;
	if (prop->kind != kind)
		jr_type_error(st, domain, prop);
	return 1;
}

static int
jr_on_null(void *ctx)
{
	/* No schema here admits null: it satisfies only JR_ANY. */
	return jr_scalar(ctx, JR_ANY);
}

static int
jr_on_boolean(void *ctx, int v)
{
	(void)v;
	return jr_scalar(ctx, JR_BOOL);
}

static void
jr_set_flag(uint8_t *base, const struct jsonreq_prop *prop)
{
	if (prop->flag_width == JR_FLAG_U8) {
		base[prop->flag_off] |= (uint8_t)prop->flag;
	} else if (prop->flag_width == JR_FLAG_U32) {
		uint32_t v;

		memcpy(&v, base + prop->flag_off, sizeof(v));
		v |= prop->flag;
		memcpy(base + prop->flag_off, &v, sizeof(v));
	}
}

static int
jr_open(struct jr_state *st, int is_map)
{
	const struct jsonreq_prop *prop;
	struct jr_frame *f;
	int domain, fits;

	if (st->skip) {
		jr_skip_open(st, st->skip_domain);
		return 1;
	}
	if ((prop = jr_expect(st, &domain)) == NULL || prop->kind == JR_ANY) {
		jr_skip_open(st, domain);
		return 1;
	}
	fits = is_map ? prop->kind == JR_OBJECT || prop->kind == JR_BOOLMAP :
	    prop->kind == JR_STRS;
	if (!fits) {
		jr_type_error(st, domain, prop);
		jr_skip_open(st, domain);
		return 1;
	}
	if (st->nframes == JR_MAX_FRAMES)
		fatalx("jsonreq: a schema nests deeper than %d objects", JR_MAX_FRAMES);
	f = &st->frames[st->nframes++];
	memset(f, 0, sizeof(*f));
	f->prop = prop;
	f->domain = (uint8_t)domain;
	return 1;
}

static int
jr_on_start_map(void *ctx)
{
	return jr_open(ctx, 1);
}

static int
jr_on_start_array(void *ctx)
{
	return jr_open(ctx, 0);
}

static int
jr_on_end(void *ctx)
{
	struct jr_state *st = ctx;
	struct jr_frame *top;

	if (st->skip) {
		st->skip--;
		return 1;
	}
	top = &st->frames[st->nframes - 1];
	if (top->prop->kind == JR_OBJECT) {
		const struct jsonreq_object *obj = top->prop->object;

		for (size_t i = 0; i < obj->nprops; i++) {
			if (obj->props[i].required && !(top->seen & (1ULL << i))) {
				struct jr_step step = { JR_CAT_REQUIRED, i };

				jr_fail(st, top->domain, st->nframes - 1, &step,
				    "must have required property '%s'", obj->props[i].name);
				break;
			}
		}
	}
	st->nframes--;
	return 1;
}

/* JavaScript enumerates array-index keys first, ascending, then the others in
 * insertion order; ajv reports the first unexpected key in that order. */
static uint64_t
jr_key_order(const unsigned char *key, size_t len, uint32_t seq)
{
	uint64_t v = 0;

	if (len == 0 || len > 10 || (len > 1 && key[0] == '0'))
		return (1ULL << 32) + seq;
	for (size_t i = 0; i < len; i++) {
		if (key[i] < '0' || key[i] > '9')
			return (1ULL << 32) + seq;
		v = v * 10 + (key[i] - '0');
	}
	return v < 0xffffffffULL ? v : (1ULL << 32) + seq;
}

static int
jr_on_map_key(void *ctx, const unsigned char *key, size_t len)
{
	struct jr_state *st = ctx;
	struct jr_frame *top;
	const struct jsonreq_object *obj;
	struct jr_step step;
	char shown[JR_SEG_MAX];

	if (st->skip)
		return 1;
	top = &st->frames[st->nframes - 1];
	step.n = jr_key_order(key, len, top->count++);
	if (top->prop->kind == JR_BOOLMAP) {
		top->next = &jr_item_bool;
		top->step.cat = JR_CAT_PROP;
		top->step.n = step.n;
		jr_name(top->seg, sizeof(top->seg), key, len, 1);
		return 1;
	}
	obj = top->prop->object;
	top->next = NULL;
	step.cat = JR_CAT_EXTRA;
	for (size_t i = 0; i < obj->nprops; i++) {
		const struct jsonreq_prop *p = &obj->props[i];

		if (strlen(p->name) != len || memcmp(p->name, key, len) != 0)
			continue;
		if (top->seen & (1ULL << i)) {
			jr_fail(st, top->domain, st->nframes - 1, &step,
			    "duplicate property '%s'", p->name);
			return 1;
		}
		top->seen |= 1ULL << i;
		top->next = p;
		top->step.cat = JR_CAT_PROP;
		top->step.n = i;
		snprintf(top->seg, sizeof(top->seg), "%s", p->name);
		jr_set_flag(st->base[top->domain], p);
		return 1;
	}
	if (obj->closed) {
		jr_name(shown, sizeof(shown), key, len, 0);
		jr_fail(st, top->domain, st->nframes - 1, &step, "unexpected property '%s'",
		    shown);
	}
	return 1;
}

static const yajl_callbacks jr_callbacks = {
	.yajl_null = jr_on_null,
	.yajl_boolean = jr_on_boolean,
	/* Raw number text: integers are checked exactly, and numbers too large for
	 * a long long are not a parse error, as they are not in JSON. */
	.yajl_number = jr_on_number,
	.yajl_string = jr_on_string,
	.yajl_start_map = jr_on_start_map,
	.yajl_map_key = jr_on_map_key,
	.yajl_end_map = jr_on_end,
	.yajl_start_array = jr_on_start_array,
	.yajl_end_array = jr_on_end,
};

enum jsonreq_status
jsonreq_parse(const uint8_t *msg, size_t len, const struct jsonreq_prop *params,
    void *params_out, struct jsonreq_result *res)
{
	struct jr_state st;
	yajl_handle h;
	yajl_status status;

	memset(res, 0, sizeof(*res));
	memset(&st, 0, sizeof(st));
	st.params = params;
	st.base[0] = (uint8_t *)&res->env;
	st.base[1] = params_out;
	/* yajl's own nesting stack is a growable byte array, not recursion, and
	 * its defaults are strict: no comments, one value, UTF-8 checked. */
	if ((h = yajl_alloc(&jr_callbacks, NULL, &st)) == NULL)
		fatalx("out of memory allocating a JSON parser");
	status = yajl_parse(h, msg, len);
	if (status == yajl_status_ok)
		status = yajl_complete_parse(h);
	yajl_free(h);
	if (status != yajl_status_ok)
		return JSONREQ_NOT_JSON;
	if (st.best[0].set)
		return JSONREQ_NOT_REQUEST;
	if (st.best[1].set) {
		memcpy(res->params_error, st.best[1].msg, sizeof(res->params_error));
		return JSONREQ_BAD_PARAMS;
	}
	return JSONREQ_OK;
}
