/* A scanner for the members of one JSON object, for test programs that answer
 * or check frames without building a tree: it finds the byte span of each
 * wanted member's value in one pass (values are skipped, not decoded), so that
 * an echo can copy a 25 MiB value as it is. Keys are compared as raw bytes. */
#ifndef CLAWGATE_TEST_JSCAN_H
#define CLAWGATE_TEST_JSCAN_H

#include <stddef.h>

struct jscan_span {
	const char *p;		/* NULL: the member is absent */
	size_t len;
};

/* The end of the JSON value starting at p (after leading white space), or NULL
 * when it is not one well-bracketed value ending before end. */
const char *jscan_skip(const char *p, const char *end);

/* For the object in [p, end): out[i] gets the value of member keys[i] (the last
 * one when repeated). Returns 0, or -1 when [p, end) is not one object. */
int jscan_object(const char *p, const char *end, const char *const *keys, size_t nkeys,
    struct jscan_span *out);

/* Whether span is the JSON string s (raw bytes between the quotes). */
int jscan_is_string(const struct jscan_span *span, const char *s);

/* The span as a long when it is a JSON integer within [0, max], else -1. */
long jscan_long(const struct jscan_span *span, long max);

#endif
