/*
 * The two looks the relay takes into frames it otherwise carries untouched:
 * jsonedit_peek reads the top-level members that route a frame, and
 * jsonedit_apply copies a frame with members of one top-level object deleted
 * or replaced (the connect handed upstream loses `device` and `auth`; the
 * upstream's hello-ok gets clawgate's `auth`). Both stream through yajl's event
 * parser; both are pure, for unit tests and fuzzing.
 */
#ifndef GATEWAYD_JSONEDIT_H
#define GATEWAYD_JSONEDIT_H

#include <stddef.h>
#include <stdint.h>

#include "proto/pbuf.h"

/* Longer names are kept cut: a prefix still says what they start with. */
#define JSONEDIT_NAME_MAX 127

struct jsonedit_peek {
	char type[16];			/* "req", "res", "event"; "" if absent or not a string */
	char name[JSONEDIT_NAME_MAX + 1];	/* "method" of a req, "event" of an event */
	char id[JSONEDIT_NAME_MAX + 1];
	uint8_t ok;			/* a res with "ok": true */
};

/* Parses the whole message, as the receiving end would: a member named twice
 * counts with its last value, as JSON.parse has it. -1 if msg is not one
 * JSON object. */
int jsonedit_peek(const uint8_t *msg, size_t len, struct jsonedit_peek *p);

struct jsonedit_edit {
	const char *name;		/* a member of the top-level object `parent` */
	const uint8_t *value;		/* NULL: delete it; else its new JSON value, */
	size_t len;			/* added at the end if it was absent */
};

/* Appends a copy of in[0..len) with the edits applied to out. Strings are
 * re-escaped and numbers keep their text, so the copy means what in meant.
 * -1 (out as it was) if in is not one JSON object, or nests deeper than
 * yajl's generator (128 levels). */
int jsonedit_apply(const uint8_t *in, size_t len, const char *parent,
    const struct jsonedit_edit *e, size_t n, struct pbuf *out);

#endif
