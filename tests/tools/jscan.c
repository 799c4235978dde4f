/* One-pass member spans of a JSON object (see jscan.h). */
#include <string.h>

#include "jscan.h"

static const char *
jscan_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* The end of the string whose opening quote is at p, or NULL. */
static const char *
jscan_string(const char *p, const char *end)
{
	for (p++; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return NULL;
}

const char *
jscan_skip(const char *p, const char *end)
{
	long depth = 0;

	p = jscan_ws(p, end);
	if (p >= end)
		return NULL;
	if (*p != '{' && *p != '[') {
		if (*p == '"')
			return jscan_string(p, end);
		while (p < end && strchr(",}] \t\r\n", *p) == NULL)
			p++;
		return p;
	}
	/* Brackets are counted, not matched by kind: enough to find the end of a
	 * value the peer wrote, which the receiver parses properly anyway. */
	while (p < end) {
		if (*p == '"') {
			if ((p = jscan_string(p, end)) == NULL)
				return NULL;
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if ((*p == '}' || *p == ']') && --depth == 0)
			return p + 1;
		p++;
	}
	return NULL;
}

int
jscan_object(const char *p, const char *end, const char *const *keys, size_t nkeys,
    struct jscan_span *out)
{
	for (size_t i = 0; i < nkeys; i++)
		out[i].p = NULL;
	p = jscan_ws(p, end);
	if (p >= end || *p != '{')
		return -1;
	p = jscan_ws(p + 1, end);
	if (p < end && *p == '}')
		return jscan_ws(p + 1, end) == end ? 0 : -1;
	while (p < end) {
		const char *k = p, *ke, *v, *ve;

		if (*k != '"' || (ke = jscan_string(k, end)) == NULL)
			return -1;
		p = jscan_ws(ke, end);
		if (p >= end || *p != ':')
			return -1;
		v = jscan_ws(p + 1, end);
		if ((ve = jscan_skip(v, end)) == NULL || ve == v)
			return -1;
		for (size_t i = 0; i < nkeys; i++)
			if ((size_t)(ke - k - 2) == strlen(keys[i]) &&
			    memcmp(k + 1, keys[i], strlen(keys[i])) == 0) {
				out[i].p = v;
				out[i].len = (size_t)(ve - v);
			}
		p = jscan_ws(ve, end);
		if (p < end && *p == '}')
			return jscan_ws(p + 1, end) == end ? 0 : -1;
		if (p >= end || *p != ',')
			return -1;
		p = jscan_ws(p + 1, end);
	}
	return -1;
}

int
jscan_is_string(const struct jscan_span *span, const char *s)
{
	size_t n = strlen(s);

	return span->p != NULL && span->len == n + 2 && span->p[0] == '"' &&
	    memcmp(span->p + 1, s, n) == 0;
}

long
jscan_long(const struct jscan_span *span, long max)
{
	long v = 0;

	if (span->p == NULL || span->len == 0 || span->len > 18)
		return -1;
	for (size_t i = 0; i < span->len; i++) {
		if (span->p[i] < '0' || span->p[i] > '9')
			return -1;
		v = v * 10 + (span->p[i] - '0');
	}
	return v <= max ? v : -1;
}
