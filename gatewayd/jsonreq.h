/*
 * Streaming, schema-checked parsing of one OpenClaw request frame
 * {"type":"req","id","method","params"?,"traceparent"?,"expectedProfileId"?}.
 *
 * yajl's event parser (never yajl_tree, whose free is recursive) feeds a small
 * table-driven validator that copies the fields it is told about straight into
 * fixed structs. Because members may come in any order, the params are checked
 * against the caller's schema before the method is known; the caller decides
 * afterwards whether the params errors matter.
 *
 * When several things are wrong, the error reported is the one ajv (which the
 * real gateway uses, allErrors off) reports first: within an object, a missing
 * required property (declaration order), then an unexpected property (in
 * JavaScript key order), then the properties' own errors (declaration order).
 * Explicit limits: nesting deeper than JSONREQ_MAX_DEPTH, strings longer than
 * the field that holds them, more than PROTO_MAX_SCOPES array items where they
 * are stored, and duplicate keys (which JSON.parse would resolve silently) are
 * all schema errors.
 */
#ifndef GATEWAYD_JSONREQ_H
#define GATEWAYD_JSONREQ_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

#define JSONREQ_MAX_DEPTH 32
/* "at <JSON pointer>: <problem>"; echoed names are cut to keep it in bounds. */
#define JSONREQ_ERROR_MAX 400

enum jsonreq_kind {
	JR_OBJECT,	/* object described by a jsonreq_object */
	JR_INT,		/* integer >= min, |value| < 2^53 */
	JR_STR,		/* string of min..max characters */
	JR_ENUM,	/* string from a NULL-terminated list */
	JR_BOOL,	/* true or false */
	JR_STRS,	/* array of strings of at least min characters each */
	JR_BOOLMAP,	/* object whose every value is a boolean */
	JR_ANY,		/* any JSON value, not looked at */
	JR_PARAMS,	/* the envelope's params: the caller's schema (internal) */
};

enum jsonreq_flag_width { JR_FLAG_NONE, JR_FLAG_U8, JR_FLAG_U32 };

struct jsonreq_object;

/* One property of an object schema, written with designated initializers so
 * that whatever is left out is off. Stored values go to base + off, where base
 * is the output struct the caller passed for that part of the frame. */
struct jsonreq_prop {
	const char *name;
	enum jsonreq_kind kind;
	uint8_t required;
	int64_t min;		/* JR_INT: minimum; JR_STR/JR_STRS: minimum characters */
	uint32_t max;		/* JR_STR: maximum characters by schema, 0 for none */
	uint8_t store;		/* copy the value to base + off: */
	size_t off;		/* JR_STR: char[size + 1]; JR_INT: int64_t;
				 * JR_STRS: struct proto_scopes (PROTO_MAX_SCOPES items) */
	size_t size;		/* JR_STR: bytes the field holds, NUL not counted */
	enum proto_charset cs;	/* JR_STR: what the stored field admits */
	enum jsonreq_flag_width flag_width;	/* presence flag: base[flag_off] |= flag */
	size_t flag_off;
	uint32_t flag;
	const char *const *values;	/* JR_ENUM */
	const struct jsonreq_object *object;	/* JR_OBJECT */
};

struct jsonreq_object {
	const struct jsonreq_prop *props;
	size_t nprops;		/* at most 64 */
	int closed;		/* unknown properties are errors (else ignored) */
};

/* The envelope members a caller needs. */
struct jsonreq_env {
	char id[PROTO_ID_MAX + 1];
	char method[PROTO_TEXT_MAX + 1];
	uint8_t has_params;
};

enum jsonreq_status {
	JSONREQ_OK,		/* a request frame whose params (if any) fit the schema */
	JSONREQ_NOT_JSON,	/* not exactly one well-formed JSON value */
	JSONREQ_NOT_REQUEST,	/* JSON, but not a request envelope */
	JSONREQ_BAD_PARAMS,	/* a request frame; params_error says what is wrong */
};

struct jsonreq_result {
	struct jsonreq_env env;
	char params_error[JSONREQ_ERROR_MAX];
};

/* Parses msg[0..len). params describes the params value (kind JR_OBJECT) and its
 * stored fields land in params_out, which the caller has zeroed (stored string
 * fields are NUL-terminated; absent ones stay as they were). Pure: no I/O, no
 * global state. */
enum jsonreq_status jsonreq_parse(const uint8_t *msg, size_t len,
    const struct jsonreq_prop *params, void *params_out, struct jsonreq_result *res);

#endif
