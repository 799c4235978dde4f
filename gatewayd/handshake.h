/*
 * The first frame on a WebSocket: a connect request (doc/protocol.md §2.3) turned
 * into a struct proto_connect, or the reason it is refused (§4.1 step 1, §5).
 */
#ifndef GATEWAYD_HANDSHAKE_H
#define GATEWAYD_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "gatewayd/jsonreq.h"
#include "proto/proto.h"

/* "invalid connect params: " + JSONREQ_ERROR_MAX */
#define HANDSHAKE_ERROR_MAX (JSONREQ_ERROR_MAX + 32)

enum handshake_outcome {
	HANDSHAKE_CONNECT,	/* schema-valid: forward to the broker */
	HANDSHAKE_NOT_JSON,	/* close 1000, empty reason, no res */
	HANDSHAKE_NOT_REQUEST,	/* close 1008 "invalid request frame", no res */
	HANDSHAKE_NOT_CONNECT,	/* res INVALID_REQUEST + close 1008, both `error` */
	HANDSHAKE_BAD_PARAMS,	/* res INVALID_REQUEST + close 1008, both `error` */
};

struct handshake_result {
	enum handshake_outcome outcome;
	char id[PROTO_ID_MAX + 1];	/* the request id, unless NOT_JSON/NOT_REQUEST */
	char error[HANDSHAKE_ERROR_MAX];	/* full text; the close reason is its cut */
	/* HANDSHAKE_CONNECT: the params; conn and the peer fields are the caller's. */
	struct proto_connect connect;
};

/* Parses one text message. Pure (no I/O, no global state) so that a fuzz target
 * and a unit test can drive it. Returns 0 for HANDSHAKE_CONNECT, else -1. */
int handshake_parse(const uint8_t *msg, size_t len, struct handshake_result *out);

#endif
