#include "common/textesc.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/utf8.h"

/* How s[i..] is shown: its length in the input (*n) and the escape written into
 * esc ("" when the character passes as it is). */
static void
textesc_one(const uint8_t *s, size_t len, size_t *n, char esc[8], int json)
{
	uint32_t cp;

	*n = utf8_decode(s, len, &cp);
	esc[0] = '\0';
	if (*n == 0) {
		*n = 1;
		if (json)
			snprintf(esc, 8, "\\ufffd");
		else
			snprintf(esc, 8, "\\x%02x", s[0]);
	} else if (utf8_is_hidden(cp)) {
		/* ASCII controls are JSON syntax or already escaped by the generator. */
		if (json && cp < 0x80)
			return;
		if (cp < 0x80)
			snprintf(esc, 8, "\\x%02x", (unsigned)cp);
		else
			snprintf(esc, 8, "\\u%04x", (unsigned)cp);
	}
}

/* The loop of both forms. */
static size_t
textesc_run(char *dst, size_t dstsz, const char *s, size_t len, int json)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, o = 0;

	while (i < len) {
		char esc[8];
		size_t n, need;

		textesc_one(p + i, len - i, &n, esc, json);
		need = esc[0] != '\0' ? strlen(esc) : n;
		if (o + need >= dstsz)
			break;
		memcpy(dst + o, esc[0] != '\0' ? esc : s + i, need);
		o += need;
		i += n;
	}
	dst[o] = '\0';
	return o;
}

size_t
textesc(char *dst, size_t dstsz, const char *s, size_t len)
{
	return textesc_run(dst, dstsz, s, len, 0);
}

size_t
textesc_json(char *dst, size_t dstsz, const char *json, size_t len)
{
	return textesc_run(dst, dstsz, json, len, 1);
}
