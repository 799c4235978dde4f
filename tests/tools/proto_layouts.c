/*
 * proto-layouts: prints, as JSON, the wire layout of every message type of the
 * internal protocol as proto/'s decoder accepts it, found through the public API
 * alone (proto.h: proto_type_name, proto_decode, proto_encode) rather than read from
 * proto.c's tables, so that what it prints is what brokerd and gatewayd do.
 * tests/integration/test_proto_layouts.py compares it with the Python copy in
 * tests/lib/clawgate_test/protolink.py and with the fingerprint recorded for this
 * PROTO_VERSION.
 *
 * How: a payload of zero bytes decodes for every layout (integers 0, empty strings,
 * lists and blobs, raw bytes 0) at exactly one length. At each offset of it the
 * program tries what a length-prefixed field accepts: a 1-byte string ("a"), a list
 * of one empty string, a blob holding a pval null; what accepts none is a fixed-size
 * byte. String maxima and list counts are found by bisection and the charset by
 * whether a space passes. Fixed bytes are grouped into integers by where the decoder
 * puts each byte in its output (a big-endian integer lands byte-reversed in a
 * little-endian struct); what is not part of a 2, 4 or 8-byte integer is raw bytes
 * (u8 fields and byte arrays, which the wire cannot tell apart). Finally a payload
 * with every field full (strings at their maxima, lists at their counts) must decode
 * and encode back to the same bytes, and one byte more or less must be refused;
 * otherwise the program says so and exits 1.
 *
 * 64-bit integers are printed as "u64": the wire does not show their sign.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

#define LAYOUTS_MAX_FIELDS 64
#define LAYOUTS_MAX_ZEROS 8192		/* longest all-zero payload searched for */
#define LAYOUTS_STRUCT_MAX (256u << 10)	/* room for any message struct */

enum field_kind { FK_BYTE, FK_STR, FK_STRS, FK_BLOB, FK_INT };

struct field {
	enum field_kind kind;
	size_t len;		/* FK_BYTE: raw bytes in the run; FK_INT: 2, 4 or 8 */
	size_t max;		/* FK_STR, FK_STRS: longest string */
	size_t count;		/* FK_STRS: most entries */
	int text;		/* FK_STR, FK_STRS: a space passes (UTF-8 text), else atoms */
};

struct layout {
	uint16_t type;
	const char *name;
	size_t zeros;		/* length of the all-zero payload that decodes */
	size_t size;		/* bytes of the struct the decoder fills */
	size_t nfields;
	struct field fields[LAYOUTS_MAX_FIELDS];
};

static union {
	uint64_t align;
	uint8_t b[LAYOUTS_STRUCT_MAX];
} out;

static void
die(const struct layout *l, const char *what)
{
	fprintf(stderr, "proto-layouts: %s (0x%04x): %s\n", l ? l->name : "-",
	    l ? l->type : 0, what);
	exit(1);
}

/* A growable byte string for building payloads. */
struct bytes {
	uint8_t *p;
	size_t len, cap;
};

static void
bytes_add(struct bytes *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2 + 64;
		if ((b->p = realloc(b->p, b->cap)) == NULL) {
			perror("proto-layouts: realloc");
			exit(1);
		}
	}
	if (len)
		memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void
bytes_fill(struct bytes *b, uint8_t c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		bytes_add(b, &c, 1);
}

static void
bytes_u32(struct bytes *b, uint32_t v)
{
	uint8_t p[4];

	proto_put_u32(p, v);
	bytes_add(b, p, 4);
}

static int
decodes(uint16_t type, const struct bytes *b)
{
	return proto_decode(type, b->p, b->len, out.b, sizeof(out.b)) == 0;
}

/* The all-zero payload with its bytes [at, at + 4) replaced by head (a u32 length
 * or count) followed by tail. */
static int
decodes_at(const struct layout *l, size_t at, uint32_t head, const struct bytes *tail)
{
	struct bytes b = { 0 };
	int ok;

	bytes_fill(&b, 0, at);
	bytes_u32(&b, head);
	bytes_add(&b, tail->p, tail->len);
	bytes_fill(&b, 0, l->zeros - at - 4);
	ok = decodes(l->type, &b);
	free(b.p);
	return ok;
}

static int
str_fits(const struct layout *l, size_t at, size_t n, uint8_t c)
{
	struct bytes tail = { 0 };
	int ok;

	bytes_fill(&tail, c, n);
	ok = decodes_at(l, at, (uint32_t)n, &tail);
	free(tail.p);
	return ok;
}

/* A list at `at` with n entries, each (n > 0) `len` bytes of c. */
static int
list_fits(const struct layout *l, size_t at, size_t n, size_t len, uint8_t c)
{
	struct bytes tail = { 0 };
	int ok;

	for (size_t i = 0; i < n; i++) {
		bytes_u32(&tail, (uint32_t)len);
		bytes_fill(&tail, c, len);
	}
	ok = decodes_at(l, at, (uint32_t)n, &tail);
	free(tail.p);
	return ok;
}

static int
blob_fits(const struct layout *l, size_t at, uint8_t tag)
{
	struct bytes tail = { 0 };
	int ok;

	bytes_add(&tail, &tag, 1);
	ok = decodes_at(l, at, 1, &tail);
	free(tail.p);
	return ok;
}

enum probe { PROBE_STR_LEN, PROBE_LIST_COUNT, PROBE_ENTRY_LEN };

static int
probe(const struct layout *l, size_t at, enum probe what, size_t n)
{
	switch (what) {
	case PROBE_STR_LEN:
		return str_fits(l, at, n, 'a');
	case PROBE_LIST_COUNT:
		return list_fits(l, at, n, 0, 'a');
	case PROBE_ENTRY_LEN:
		return list_fits(l, at, 1, n, 'a');
	}
	return 0;
}

/* The largest n in [lo, hi] that the probe accepts, given that it accepts lo and
 * that what it accepts is a range from 0. */
static size_t
bisect(const struct layout *l, size_t at, enum probe what, size_t lo, size_t hi)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo + 1) / 2;

		if (probe(l, at, what, mid))
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

static void
add_field(struct layout *l, struct field f)
{
	if (l->nfields == LAYOUTS_MAX_FIELDS)
		die(l, "more fields than this program has room for (LAYOUTS_MAX_FIELDS)");
	l->fields[l->nfields++] = f;
}

/* Where in the decoded struct the byte at payload offset `at` lands: the one
 * struct byte that differs from the all-zero payload's decoding in the same
 * buffer (blobs are pointers into it, the same in both). */
static size_t
landing(const struct layout *l, size_t at)
{
	static uint8_t before[LAYOUTS_STRUCT_MAX];
	struct bytes b = { 0 };
	size_t found = SIZE_MAX;

	bytes_fill(&b, 0, l->zeros);
	if (!decodes(l->type, &b))
		die(l, "the all-zero payload stopped decoding");
	memcpy(before, out.b, l->size);
	b.p[at] = 0xa5;
	if (!decodes(l->type, &b))
		die(l, "a fixed byte changed the payload's validity");
	for (size_t i = 0; i < l->size; i++) {
		if (out.b[i] == before[i])
			continue;
		if (out.b[i] != 0xa5 || found != SIZE_MAX)
			die(l, "a fixed byte did not land as one byte in the struct");
		found = i;
	}
	free(b.p);
	if (found == SIZE_MAX)
		die(l, "a fixed byte landed nowhere in the struct");
	return found;
}

static int
little_endian(void)
{
	uint16_t x = 1;

	return *(uint8_t *)&x == 1;
}

/* Splits the fixed bytes [from, to) into integers and raw byte runs. */
static void
split_fixed(struct layout *l, size_t from, size_t to)
{
	size_t i = from, run = 0;
	int little = little_endian();

	while (i < to) {
		size_t w = 1, at = landing(l, i);

		/* A big-endian integer's next byte lands one lower in a little-endian
		 * struct (one higher in a big-endian one). */
		while (i + w < to && landing(l, i + w) == (little ? at - w : at + w))
			w++;
		if (w == 1) {
			run++;
			i++;
			continue;
		}
		if (w != 2 && w != 4 && w != 8)
			die(l, "fixed bytes landed as an integer of a width no field has");
		if (run)
			add_field(l, (struct field){ .kind = FK_BYTE, .len = run });
		run = 0;
		add_field(l, (struct field){ .kind = FK_INT, .len = w });
		i += w;
	}
	if (run)
		add_field(l, (struct field){ .kind = FK_BYTE, .len = run });
}

static void
infer(struct layout *l)
{
	struct bytes z = { 0 };
	size_t at = 0, fixed_from = 0;

	/* The all-zero payload that decodes, and the struct size it fills. */
	for (l->zeros = 0; l->zeros <= LAYOUTS_MAX_ZEROS; l->zeros++) {
		z.len = 0;
		bytes_fill(&z, 0, l->zeros);
		memset(out.b, 0xee, sizeof(out.b));
		if (decodes(l->type, &z))
			break;
	}
	free(z.p);
	if (l->zeros > LAYOUTS_MAX_ZEROS)
		die(l, "no all-zero payload decodes");
	for (l->size = sizeof(out.b); l->size > 0 && out.b[l->size - 1] == 0xee; l->size--)
		;
	while (at < l->zeros) {
		struct field f = { 0 };

		if (at + 4 <= l->zeros && str_fits(l, at, 1, 'a') && str_fits(l, at, 2, 'a')) {
			f.kind = FK_STR;
			f.max = bisect(l, at, PROBE_STR_LEN, 1, PROTO_MAX_REQUEST);
			f.text = str_fits(l, at, 1, ' ');
		} else if (at + 4 <= l->zeros && list_fits(l, at, 1, 0, 'a') &&
		    list_fits(l, at, 2, 0, 'a')) {
			f.kind = FK_STRS;
			f.count = bisect(l, at, PROBE_LIST_COUNT, 2, PROTO_MAX_REQUEST / 4);
			f.max = bisect(l, at, PROBE_ENTRY_LEN, 0, PROTO_MAX_REQUEST);
			f.text = list_fits(l, at, 1, 1, ' ');
		} else if (at + 4 <= l->zeros && blob_fits(l, at, 'n') && blob_fits(l, at, 't')) {
			f.kind = FK_BLOB;
		} else {
			at++;
			continue;
		}
		if (fixed_from < at)
			split_fixed(l, fixed_from, at);
		add_field(l, f);
		at += 4;
		fixed_from = at;
	}
	if (fixed_from < at)
		split_fixed(l, fixed_from, at);
}

/* Every field full: integers and raw bytes patterned, strings at their maxima,
 * lists at their counts of longest entries, blobs a pval string. */
static void
full_payload(const struct layout *l, struct bytes *b)
{
	static const uint8_t blob[] = { 's', 0, 0, 0, 3, 'a', 'b', 'c' };
	uint8_t c = 1;

	for (size_t i = 0; i < l->nfields; i++) {
		const struct field *f = &l->fields[i];

		switch (f->kind) {
		case FK_BYTE:
		case FK_INT:
			for (size_t k = 0; k < f->len; k++, c++)
				bytes_add(b, &c, 1);
			break;
		case FK_STR:
			bytes_u32(b, (uint32_t)f->max);
			bytes_fill(b, 'x', f->max);
			break;
		case FK_STRS:
			bytes_u32(b, (uint32_t)f->count);
			for (size_t k = 0; k < f->count; k++) {
				bytes_u32(b, (uint32_t)f->max);
				bytes_fill(b, 'x', f->max);
			}
			break;
		case FK_BLOB:
			bytes_u32(b, sizeof(blob));
			bytes_add(b, blob, sizeof(blob));
			break;
		}
	}
}

static void
verify(const struct layout *l)
{
	struct bytes b = { 0 };
	struct pbuf enc;
	size_t full;

	full_payload(l, &b);
	full = b.len;
	if (!decodes(l->type, &b))
		die(l, "the inferred layout's full payload does not decode");
	pbuf_init(&enc);
	if (proto_encode(&enc, l->type, 1, out.b) < 0)
		die(l, "the decoded full payload does not encode");
	if (enc.len != PROTO_HDR_LEN + full ||
	    (full > 0 && memcmp(enc.data + PROTO_HDR_LEN, b.p, full) != 0))
		die(l, "the full payload does not encode back to the same bytes");
	pbuf_free(&enc);
	bytes_fill(&b, 0, 1);
	if (decodes(l->type, &b))
		die(l, "one byte more than the inferred layout still decodes");
	if (full > 0) {
		b.len = full - 1;
		if (decodes(l->type, &b))
			die(l, "one byte less than the inferred layout still decodes");
	}
	free(b.p);
}

static void
print_layout(const struct layout *l, int last)
{
	printf("    {\"type\": %u, \"name\": \"%s\", \"fields\": [", l->type, l->name);
	for (size_t i = 0; i < l->nfields; i++) {
		const struct field *f = &l->fields[i];

		printf("%s\n      ", i ? "," : "");
		switch (f->kind) {
		case FK_BYTE:
			printf("{\"kind\": \"bytes\", \"len\": %zu}", f->len);
			break;
		case FK_INT:
			printf("{\"kind\": \"u%zu\"}", f->len * 8);
			break;
		case FK_STR:
			printf("{\"kind\": \"str\", \"max\": %zu, \"charset\": \"%s\"}", f->max,
			    f->text ? "text" : "atom");
			break;
		case FK_STRS:
			printf("{\"kind\": \"strs\", \"count\": %zu, \"max\": %zu, "
			    "\"charset\": \"%s\"}", f->count, f->max, f->text ? "text" : "atom");
			break;
		case FK_BLOB:
			printf("{\"kind\": \"blob\"}");
			break;
		}
	}
	printf("]}%s\n", last ? "" : ",");
}

int
main(void)
{
	static struct layout layouts[256];
	size_t n = 0;

	for (unsigned t = 0; t <= 0xffff; t++) {
		const char *name = proto_type_name((uint16_t)t);

		if (strcmp(name, "unknown") == 0)
			continue;
		if (n == sizeof(layouts) / sizeof(layouts[0]))
			die(NULL, "more message types than this program has room for");
		layouts[n].type = (uint16_t)t;
		layouts[n].name = name;
		infer(&layouts[n]);
		verify(&layouts[n]);
		n++;
	}
	printf("{\n  \"proto_version\": %d,\n  \"header_len\": %d,\n", PROTO_VERSION,
	    PROTO_HDR_LEN);
	printf("  \"max_request\": %u,\n  \"max_payload\": %u,\n  \"types\": [\n",
	    PROTO_MAX_REQUEST, PROTO_MAX_PAYLOAD);
	for (size_t i = 0; i < n; i++)
		print_layout(&layouts[i], i + 1 == n);
	printf("  ]\n}\n");
	return 0;
}
