/* proto/pval: building value trees, checking untrusted ones (every blob decoded
 * from a link goes through pval_check) and rendering them as the JSON clients see. */
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "proto/proto.h"
#include "proto/pval.h"
#include "testutil.h"

/* Checks that b holds one well-formed value rendering exactly as want. */
static void
check_json(const struct pbuf *b, const char *want, const char *file, int line)
{
	char *got;

	testutil_check(pval_check(b->data, b->len) == 0, file, line, "pval_check of %s", want);
	got = pval_to_json_string(b->data, b->len, 0);
	testutil_check(got != NULL, file, line, "pval_to_json_string of %s", want);
	if (got != NULL) {
		testutil_check_str(got, want, "json", "want", file, line);
		free(got);
	}
}

#define CHECK_JSON(b, want) check_json((b), (want), __FILE__, __LINE__)

/* Tagged items as the format defines them (pval.h), for values the builder
 * writes only inside objects, or not at all. */
#define RAW(b, lit) pbuf_add((b), (lit), sizeof(lit) - 1)

static void
test_scalars(void)
{
	struct pbuf b;

	pbuf_init(&b);
	RAW(&b, "n");
	CHECK_JSON(&b, "null");
	pbuf_reset(&b);
	RAW(&b, "t");
	CHECK_JSON(&b, "true");
	pbuf_reset(&b);
	RAW(&b, "f");
	CHECK_JSON(&b, "false");
	pbuf_reset(&b);
	RAW(&b, "i\0\0\0\0\0\0\0\0");
	CHECK_JSON(&b, "0");
	pbuf_reset(&b);
	pval_str(&b, "");
	CHECK_JSON(&b, "\"\"");
	pbuf_reset(&b);
	pval_obj_begin(&b);
	pval_kv_int(&b, "a", 1795511295036);
	pval_kv_int(&b, "max", INT64_MAX);
	pval_kv_int(&b, "min", INT64_MIN);
	pval_kv_bool(&b, "t", 1);
	pval_kv_bool(&b, "f", 0);
	pval_obj_end(&b);
	CHECK_JSON(&b, "{\"a\":1795511295036,\"max\":9223372036854775807,"
	    "\"min\":-9223372036854775808,\"t\":true,\"f\":false}");
	pbuf_free(&b);
}

/* Strings reach clients inside JSON: quotes, backslashes and control characters
 * must be escaped, UTF-8 passed through. */
static void
test_string_escaping(void)
{
	struct pbuf b;

	pbuf_init(&b);
	pval_str(&b, "q\"b\\n\nt\tc\x01/\xc3\xa9");
	CHECK_JSON(&b, "\"q\\\"b\\\\n\\nt\\tc\\u0001/\xc3\xa9\"");
	pbuf_free(&b);
}

static void
test_containers_and_helpers(void)
{
	struct pbuf b;
	struct proto_scopes sc = { 2, { "operator.read", "operator.pairing" } };
	struct proto_scopes none = { 0, { { 0 } } };

	pbuf_init(&b);
	pval_obj_begin(&b);
	pval_obj_end(&b);
	CHECK_JSON(&b, "{}");
	pbuf_reset(&b);
	pval_arr_begin(&b);
	pval_arr_end(&b);
	CHECK_JSON(&b, "[]");

	pbuf_reset(&b);
	pval_obj_begin(&b);
	pval_kv_str(&b, "code", "PAIRING_REQUIRED");
	pval_kv_int(&b, "ts", -5);
	pval_kv_bool(&b, "silent", 0);
	pval_kv_bool(&b, "isRepair", 1);
	pval_kv_str_opt(&b, "displayName", "");
	pval_kv_str_opt(&b, "platform", NULL);
	pval_kv_str_opt(&b, "deviceFamily", "Linux");
	proto_kv_scopes(&b, "scopes", &sc);
	proto_kv_scopes(&b, "roles", &none);
	pval_key(&b, "nested");
	pval_arr_begin(&b);
	RAW(&b, "n");
	pval_obj_begin(&b);
	pval_key(&b, "k");
	pval_arr_begin(&b);
	pval_arr_end(&b);
	pval_obj_end(&b);
	RAW(&b, "i\0\0\0\0\0\0\0\7");
	pval_arr_end(&b);
	pval_obj_end(&b);
	CHECK_JSON(&b, "{\"code\":\"PAIRING_REQUIRED\",\"ts\":-5,\"silent\":false,"
		       "\"isRepair\":true,\"deviceFamily\":\"Linux\","
		       "\"scopes\":[\"operator.read\",\"operator.pairing\"],\"roles\":[],"
		       "\"nested\":[null,{\"k\":[]},7]}");
	pbuf_free(&b);
}

/* gatewayd embeds broker values inside frames it builds itself. */
static void
test_embedding_in_a_generator(void)
{
	struct pbuf b;
	yajl_gen g = yajl_gen_alloc(NULL);
	const unsigned char *out;
	size_t outlen;

	pbuf_init(&b);
	pval_obj_begin(&b);
	pval_kv_str(&b, "requestId", "r1");
	pval_obj_end(&b);
	CHECK(g != NULL);
	if (g == NULL)
		return;
	yajl_gen_map_open(g);
	yajl_gen_string(g, (const unsigned char *)"payload", 7);
	CHECK_INT_EQ(pval_to_json(g, b.data, b.len), 0);
	yajl_gen_string(g, (const unsigned char *)"seq", 3);
	yajl_gen_integer(g, 1);
	yajl_gen_map_close(g);
	CHECK(yajl_gen_get_buf(g, &out, &outlen) == yajl_gen_status_ok);
	CHECK_MEM_EQ(out, outlen, "{\"payload\":{\"requestId\":\"r1\"},\"seq\":1}",
	    strlen("{\"payload\":{\"requestId\":\"r1\"},\"seq\":1}"));
	yajl_gen_free(g);
	pbuf_free(&b);
}

static void
test_pretty(void)
{
	struct pbuf b;
	char *s;

	pbuf_init(&b);
	pval_obj_begin(&b);
	pval_kv_int(&b, "a", 1);
	pval_obj_end(&b);
	s = pval_to_json_string(b.data, b.len, 1);
	CHECK(s != NULL && strchr(s, '\n') != NULL && strstr(s, "\"a\": 1") != NULL);
	free(s);
	pbuf_free(&b);
}

static void
nest(struct pbuf *b, int depth, char open, char close)
{
	for (int i = 0; i < depth; i++) {
		pbuf_add(b, &open, 1);
		if (open == '{')
			pval_key(b, "k");
	}
	RAW(b, "n");
	for (int i = 0; i < depth; i++)
		pbuf_add(b, &close, 1);
}

static void
test_depth_limit(void)
{
	struct pbuf b;
	char *s;

	pbuf_init(&b);
	nest(&b, PVAL_MAX_DEPTH, '[', ']');
	CHECK_INT_EQ(pval_check(b.data, b.len), 0);
	s = pval_to_json_string(b.data, b.len, 0);
	CHECK(s != NULL && strlen(s) == 2 * PVAL_MAX_DEPTH + 4);
	free(s);
	pbuf_reset(&b);
	nest(&b, PVAL_MAX_DEPTH + 1, '[', ']');
	CHECK_INT_EQ(pval_check(b.data, b.len), -1);
	CHECK(pval_to_json_string(b.data, b.len, 0) == NULL);
	pbuf_reset(&b);
	nest(&b, PVAL_MAX_DEPTH, '{', '}');
	CHECK_INT_EQ(pval_check(b.data, b.len), 0);
	pbuf_reset(&b);
	nest(&b, PVAL_MAX_DEPTH + 1, '{', '}');
	CHECK_INT_EQ(pval_check(b.data, b.len), -1);
	/* Far deeper than the limit must fail, not overflow the walker's stack. */
	pbuf_reset(&b);
	nest(&b, 10000, '[', ']');
	CHECK_INT_EQ(pval_check(b.data, b.len), -1);
	pbuf_free(&b);
}

struct bad {
	const char *bytes;
	size_t len;
	const char *what;
};

#define BAD(lit, what) { lit, sizeof(lit) - 1, what }

static const struct bad malformed[] = {
	BAD("", "nothing"),
	BAD("x", "unknown tag"),
	BAD("N", "tags are case-sensitive"),
	BAD("i\0\0\0\0\0\0\0", "integer cut short"),
	BAD("s\0\0\0", "string length cut short"),
	BAD("s\0\0\0\5ab", "string shorter than its length"),
	BAD("s\xff\xff\xff\xff" "a", "huge string length"),
	BAD("s\0\0\0\1\xff", "string not UTF-8"),
	BAD("s\0\0\0\2\xc0\x80", "overlong NUL in a string"),
	BAD("s\0\0\0\3\xed\xa0\x80", "surrogate in a string"),
	BAD("{i\0\0\0\0\0\0\0\1n}", "integer key"),
	BAD("{nn}", "null key"),
	BAD("{s\0\0\0\1k}", "key without a value"),
	BAD("{s\0\0\0\1kns\0\0\0\1j}", "second key without a value"),
	BAD("{s\0\0\0\1\xff" "n}", "key not UTF-8"),
	BAD("{", "unclosed object"),
	BAD("[", "unclosed array"),
	BAD("[n", "unclosed array after a value"),
	BAD("{]", "object closed as array"),
	BAD("[}", "array closed as object"),
	BAD("]", "close without open"),
	BAD("}", "close without open"),
	BAD("nn", "two values"),
	BAD("[]n", "value after a container"),
	BAD("n\0", "trailing byte"),
	BAD("[[]]]", "extra close"),
};

static void
test_malformed(void)
{
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		const struct bad *m = &malformed[i];
		char *s = pval_to_json_string((const uint8_t *)m->bytes, m->len, 0);

		testutil_check(pval_check((const uint8_t *)m->bytes, m->len) == -1, __FILE__,
		    __LINE__, "pval_check rejects: %s", m->what);
		testutil_check(s == NULL, __FILE__, __LINE__, "not rendered: %s", m->what);
		free(s);
	}
}

/* Every proper prefix of a well-formed value is malformed (a truncated blob). */
static void
test_every_prefix_fails(void)
{
	struct pbuf b;

	pbuf_init(&b);
	pval_obj_begin(&b);
	pval_kv_str(&b, "a", "x\xc3\xa9");
	pval_key(&b, "b");
	pval_arr_begin(&b);
	pval_str(&b, "s");
	RAW(&b, "i\0\0\0\0\0\0\0\1tn");
	pval_arr_end(&b);
	pval_obj_end(&b);
	CHECK_INT_EQ(pval_check(b.data, b.len), 0);
	for (size_t n = 0; n < b.len; n++)
		testutil_check(pval_check(b.data, n) == -1, __FILE__, __LINE__,
		    "prefix of %zu of %zu bytes is rejected", n, b.len);
	pbuf_free(&b);
}

int
main(void)
{
	TEST_RUN(test_scalars);
	TEST_RUN(test_string_escaping);
	TEST_RUN(test_containers_and_helpers);
	TEST_RUN(test_embedding_in_a_generator);
	TEST_RUN(test_pretty);
	TEST_RUN(test_depth_limit);
	TEST_RUN(test_malformed);
	TEST_RUN(test_every_prefix_fails);
	return test_exit();
}
