/* common/utf8: strict RFC 3629 validation, the gate in front of every string
 * that goes on the wire (proto TEXT fields, pval strings, JSON output). */
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "testutil.h"

struct sample {
	const char *bytes;
	size_t len;
	const char *what;
};

#define S(lit, what) { lit, sizeof(lit) - 1, what }

static const struct sample valid[] = {
	S("", "empty"),
	S("plain ASCII ~!", "ASCII"),
	S("\x00", "NUL is a valid code point (callers reject it separately)"),
	S("\x7f", "U+007F, last one-byte"),
	S("\xc2\x80", "U+0080, first two-byte"),
	S("\xc3\xa9", "U+00E9"),
	S("\xdf\xbf", "U+07FF, last two-byte"),
	S("\xe0\xa0\x80", "U+0800, first three-byte"),
	S("\xe2\x82\xac", "U+20AC"),
	S("\xed\x9f\xbf", "U+D7FF, just below the surrogates"),
	S("\xee\x80\x80", "U+E000, just above the surrogates"),
	S("\xef\xbf\xbf", "U+FFFF"),
	S("\xf0\x90\x80\x80", "U+10000, first four-byte"),
	S("\xf0\x9d\x84\x9e", "U+1D11E"),
	S("\xf4\x8f\xbf\xbf", "U+10FFFF, the last code point"),
	S("L\xc3\xa4ptop \xe2\x98\x95 \xf0\x9f\x94\x91", "mixed"),
};

static const struct sample invalid[] = {
	S("\x80", "lone continuation byte"),
	S("\xbf", "lone continuation byte"),
	S("a\x80z", "stray continuation in ASCII"),
	S("\xc0\x80", "overlong U+0000 (modified UTF-8 NUL)"),
	S("\xc0\xaf", "overlong '/'"),
	S("\xc1\xbf", "overlong U+007F"),
	S("\xe0\x80\x80", "overlong three-byte U+0000"),
	S("\xe0\x9f\xbf", "overlong U+07FF"),
	S("\xf0\x80\x80\x80", "overlong four-byte U+0000"),
	S("\xf0\x8f\xbf\xbf", "overlong U+FFFF"),
	S("\xed\xa0\x80", "surrogate U+D800"),
	S("\xed\xad\xbf", "surrogate U+DB7F"),
	S("\xed\xb0\x80", "surrogate U+DC00"),
	S("\xed\xbf\xbf", "surrogate U+DFFF"),
	S("\xed\xa0\xbd\xed\xb8\x80", "CESU-8 surrogate pair"),
	S("\xf4\x90\x80\x80", "U+110000, above the last code point"),
	S("\xf7\xbf\xbf\xbf", "U+1FFFFF"),
	S("\xf8\x88\x80\x80\x80", "five-byte form"),
	S("\xfc\x84\x80\x80\x80\x80", "six-byte form"),
	S("\xfe", "0xFE never appears"),
	S("\xff", "0xFF never appears"),
	S("\xc3", "truncated two-byte"),
	S("\xe2\x82", "truncated three-byte"),
	S("\xf0\x9d\x84", "truncated four-byte"),
	S("ok\xe2", "truncated at the end of a longer string"),
	S("\xc3\x28", "continuation replaced by ASCII"),
	S("\xe2\x28\xa1", "bad second byte"),
	S("\xe2\x82\x28", "bad third byte"),
	S("\xf0\x9d\x84\x28", "bad fourth byte"),
	S("\xc3\xc3\xa9", "lead byte where a continuation belongs"),
};

static void
test_valid(void)
{
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		testutil_check(utf8_valid((const uint8_t *)valid[i].bytes, valid[i].len) == 1,
		    __FILE__, __LINE__, "valid: %s", valid[i].what);
}

static void
test_invalid(void)
{
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++)
		testutil_check(utf8_valid((const uint8_t *)invalid[i].bytes, invalid[i].len) == 0,
		    __FILE__, __LINE__, "invalid: %s", invalid[i].what);
}

/* The length is authoritative: cutting a valid string inside a sequence makes it
 * invalid, and bytes beyond len are never read (ASan would see an overread). */
static void
test_length_is_authoritative(void)
{
	static const char mixed[] = "\xf0\x9f\x94\x91";	/* one four-byte sequence */
	uint8_t *heap;

	for (size_t cut = 1; cut < 4; cut++)
		testutil_check(utf8_valid((const uint8_t *)mixed, cut) == 0, __FILE__, __LINE__,
		    "four-byte sequence cut to %zu bytes is invalid", cut);
	CHECK(utf8_valid((const uint8_t *)mixed, 4) == 1);
	CHECK(utf8_valid((const uint8_t *)"\xff", 0) == 1);

	/* An exact-size heap copy, no NUL after it: a truncated lead byte at the very end. */
	heap = malloc(4);
	CHECK(heap != NULL);
	if (heap != NULL) {
		memcpy(heap, "abc\xe2", 4);
		CHECK(utf8_valid(heap, 4) == 0);
		CHECK(utf8_valid(heap, 3) == 1);
		free(heap);
	}
}

int
main(void)
{
	TEST_RUN(test_valid);
	TEST_RUN(test_invalid);
	TEST_RUN(test_length_is_authoritative);
	return test_exit();
}
