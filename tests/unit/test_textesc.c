/* common/textesc and utf8_is_hidden: what reaches a terminal, a log line or
 * gatewayctl's JSON of text a client chose. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/textesc.h"
#include "common/utf8.h"
#include "testutil.h"

static void
test_hidden_set(void)
{
	static const uint32_t hidden[] = { 0x00, 0x09, 0x0a, 0x1b, 0x1f, 0x7f, 0x80, 0x85,
		0x9b, 0x9f, 0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e,
		0x2066, 0x2067, 0x2068, 0x2069, 0x2028, 0x2029 };
	static const uint32_t shown[] = { 0x20, 'a', '~', 0xa0, 0xe9, 0x05d0, 0x061b, 0x061d,
		0x200d, 0x2010, 0x2027, 0x202f, 0x2065, 0x206a, 0x1f511, 0xfffd };

	for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
		testutil_check(utf8_is_hidden(hidden[i]), __FILE__, __LINE__, "U+%04X is hidden",
		    (unsigned)hidden[i]);
	for (size_t i = 0; i < sizeof(shown) / sizeof(shown[0]); i++)
		testutil_check(!utf8_is_hidden(shown[i]), __FILE__, __LINE__, "U+%04X is shown",
		    (unsigned)shown[i]);
}

static void
test_decode(void)
{
	uint32_t cp = 0;

	CHECK_INT_EQ(utf8_decode((const uint8_t *)"A", 1, &cp), 1);
	CHECK_INT_EQ(cp, 'A');
	CHECK_INT_EQ(utf8_decode((const uint8_t *)"\xc2\x9b", 2, &cp), 2);
	CHECK_INT_EQ(cp, 0x9b);
	CHECK_INT_EQ(utf8_decode((const uint8_t *)"\xe2\x80\xae", 3, &cp), 3);
	CHECK_INT_EQ(cp, 0x202e);
	CHECK_INT_EQ(utf8_decode((const uint8_t *)"\xf0\x9f\x94\x91", 4, &cp), 4);
	CHECK_INT_EQ(cp, 0x1f511);
	CHECK_INT_EQ(utf8_decode((const uint8_t *)"\xe2\x80", 2, &cp), 0);
	CHECK_INT_EQ(utf8_decode((const uint8_t *)"\xc0\x80", 2, &cp), 0);
	CHECK_INT_EQ(utf8_decode((const uint8_t *)"", 0, &cp), 0);
}

static void
check_esc(const char *in, const char *want)
{
	size_t len = strlen(in);
	char *got = malloc(TEXTESC_GROWTH * len + 1);

	CHECK(got != NULL);
	if (got == NULL)
		return;
	CHECK_INT_EQ(textesc(got, TEXTESC_GROWTH * len + 1, in, len), strlen(want));
	CHECK_STR_EQ(got, want);
	free(got);
}

static void
test_terminal(void)
{
	check_esc("", "");
	check_esc("Kitchen laptop", "Kitchen laptop");
	check_esc("L\xc3\xa4ptop \xe2\x98\x95 \xf0\x9f\x94\x91", "L\xc3\xa4ptop \xe2\x98\x95 \xf0\x9f\x94\x91");
	check_esc("\x1b[31mred", "\\x1b[31mred");
	check_esc("a\tb\nc\rd\x7f", "a\\x09b\\x0ac\\x0dd\\x7f");
	check_esc("\xc2\x9b" "2J", "\\u009b2J");
	check_esc("evil\xe2\x80\xaegpj.exe", "evil\\u202egpj.exe");
	check_esc("\xe2\x81\xa6x\xe2\x81\xa9\xd8\x9c\xe2\x80\x8f\xe2\x80\xa8",
	    "\\u2066x\\u2069\\u061c\\u200f\\u2028");
	/* bytes that are not UTF-8, a sequence cut short at the end */
	check_esc("a\xff\xfe" "b\xe2\x80", "a\\xff\\xfeb\\xe2\\x80");
	/* backslashes and quotes are the printers' business (quoting), not escapes */
	check_esc("C:\\x \"q\"", "C:\\x \"q\"");
}

static void
test_terminal_cut(void)
{
	char buf[8];

	/* never half an escape or half a character */
	CHECK_INT_EQ(textesc(buf, sizeof(buf), "abcd\x1b", 5), 4);
	CHECK_STR_EQ(buf, "abcd");
	CHECK_INT_EQ(textesc(buf, sizeof(buf), "abcdef\xc3\xa9", 8), 6);
	CHECK_STR_EQ(buf, "abcdef");
	CHECK_INT_EQ(textesc(buf, 1, "abc", 3), 0);
	CHECK_STR_EQ(buf, "");
	/* TEXTESC_GROWTH per byte always holds the whole */
	{
		static const char worst[] = "\x01\xff\xc2\x9b\xe2\x80\xae";
		char big[TEXTESC_GROWTH * (sizeof(worst) - 1) + 1];

		CHECK_INT_EQ(textesc(big, sizeof(big), worst, sizeof(worst) - 1),
		    strlen("\\x01\\xff\\u009b\\u202e"));
		CHECK_STR_EQ(big, "\\x01\\xff\\u009b\\u202e");
	}
}

static void
check_json(const char *in, const char *want)
{
	size_t len = strlen(in);
	char *got = malloc(TEXTESC_JSON_GROWTH * len + 1);

	CHECK(got != NULL);
	if (got == NULL)
		return;
	CHECK_INT_EQ(textesc_json(got, TEXTESC_JSON_GROWTH * len + 1, in, len), strlen(want));
	CHECK_STR_EQ(got, want);
	free(got);
}

static void
test_json(void)
{
	check_json("{\"a\":\"b\"}", "{\"a\":\"b\"}");
	/* yajl's own escapes and JSON white space stay */
	check_json("{\n  \"a\": \"\\u001b[31m\\n\"\n}", "{\n  \"a\": \"\\u001b[31m\\n\"\n}");
	check_json("[\"\xc2\x9b" "2J\",\"x\xe2\x80\xae" "y\",\"\xe2\x98\x95\"]",
	    "[\"\\u009b2J\",\"x\\u202ey\",\"\xe2\x98\x95\"]");
	check_json("\"\xff\"", "\"\\ufffd\"");
	/* a whole result or a cut one, never half an escape */
	{
		char small[8];

		CHECK_INT_EQ(textesc_json(small, sizeof(small), "\"ab\xe2\x80\xae\"", 7), 3);
		CHECK_STR_EQ(small, "\"ab");
	}
}

int
main(void)
{
	TEST_RUN(test_hidden_set);
	TEST_RUN(test_decode);
	TEST_RUN(test_terminal);
	TEST_RUN(test_terminal_cut);
	TEST_RUN(test_json);
	return test_exit();
}
