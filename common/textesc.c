#include "common/textesc.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/utf8.h"
#include "common/xmalloc.h"

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

size_t
textesc(char *dst, size_t dstsz, const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, o = 0;

	while (i < len) {
		char esc[8];
		size_t n, need;

		textesc_one(p + i, len - i, &n, esc, 0);
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

char *
textesc_dup(const char *s)
{
	size_t len = strlen(s);
	char *out = xmalloc(TEXTESC_GROWTH * len + 1);

	textesc(out, TEXTESC_GROWTH * len + 1, s, len);
	return out;
}

char *
textesc_json(const char *json)
{
	const uint8_t *p = (const uint8_t *)json;
	size_t len = strlen(json), i = 0, o = 0;
	/* \ufffd (6 bytes) for one byte is the largest growth. */
	char *out = xmalloc(6 * len + 1);

	while (i < len) {
		char esc[8];
		size_t n;

		textesc_one(p + i, len - i, &n, esc, 1);
		if (esc[0] != '\0') {
			memcpy(out + o, esc, strlen(esc));
			o += strlen(esc);
		} else {
			memcpy(out + o, json + i, n);
			o += n;
		}
		i += n;
	}
	out[o] = '\0';
	return out;
}
