/*
 * The two looks the relay takes into frames it otherwise carries untouched:
 * jsonedit_peek reads the top-level members that route a frame, and
 * jsonedit_apply copies a frame with members of one top-level object deleted
 * or replaced (the connect handed upstream loses `device` and `auth`; the
 * upstream's hello-ok gets clawgate's `auth`). The copy streams through yajl's
 * event parser; the peek, which every relayed frame costs, is one scan that
 * leaves the unusual frame to yajl. Both are pure, for unit tests and fuzzing.
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

/* Nesting the scan of jsonedit_peek follows itself; deeper frames go to yajl,
 * which has no bound of its own. A multiple of 64. */
#define JSONEDIT_PEEK_DEPTH 1024

/*
 * Reads the members as the receiving end would: a member named twice counts
 * with its last value, as JSON.parse has it; a `type`, `method`, `event` or
 * `id` that is not a string reads as "". -1 if msg is not one JSON object.
 *
 * A frame jsonedit_peek_full accepts gets its answer. Of the rest, the one
 * scan passes over the contents of strings it does not read (it reads the
 * top-level keys and the values of those four) but checks everything else:
 * every token, bracket, comma and colon, numbers and literals, nothing but
 * whitespace after the object. So it may accept a frame whose only faults are
 * invalid UTF-8, a control character or a bad escape inside another string,
 * with the fields jsonedit_peek_full gives once those are mended. gatewayd only
 * routes frames: the far end (the upstream OpenClaw gateway, or the browser)
 * parses each one whole and refuses those. A top-level key or one
 * of those four values with an escape, control character or non-ASCII byte,
 * nesting deeper than JSONEDIT_PEEK_DEPTH, and any frame the scan would refuse
 * go to jsonedit_peek_full.
 */
int jsonedit_peek(const uint8_t *msg, size_t len, struct jsonedit_peek *p);

/* The reference jsonedit_peek keeps to: yajl's event parser over the whole
 * message, which checks and decodes every string. The fuzzer and unit tests
 * compare the two. */
int jsonedit_peek_full(const uint8_t *msg, size_t len, struct jsonedit_peek *p);

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
