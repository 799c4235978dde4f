/*
 * Request frames after hello-ok (doc/protocol.md §7): the methods clawgate forwards
 * to the broker become a struct proto_rpc; everything else is answered or
 * refused here.
 */
#ifndef GATEWAYD_RPCREQ_H
#define GATEWAYD_RPCREQ_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

#define RPC_ERROR_MAX (PROTO_MESSAGE_MAX + 1)

enum rpc_outcome {
	RPC_FORWARD,		/* send `rpc` to the broker as GW_RPC */
	RPC_UNKNOWN_METHOD,	/* res INVALID_REQUEST `error`, answered here */
	RPC_BAD_PARAMS,		/* res INVALID_REQUEST `error`, answered here */
	RPC_BAD_FRAME,		/* close 1008 "invalid request frame" */
};

/* Every method the broker implements; hello-ok advertises this list. */
extern const char *const rpc_methods[];
extern const size_t rpc_nmethods;

struct rpc_result {
	enum rpc_outcome outcome;
	char error[RPC_ERROR_MAX];
	/* id is set unless RPC_BAD_FRAME; the rest only for RPC_FORWARD (conn is
	 * the caller's). */
	struct proto_rpc rpc;
};

/* Parses one text message. Pure, like handshake_parse. Returns 0 for
 * RPC_FORWARD, else -1. */
int rpc_parse(const uint8_t *msg, size_t len, struct rpc_result *out);

#endif
