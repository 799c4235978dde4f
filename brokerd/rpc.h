/* The RPC methods gatewayd forwards after hello-ok (doc/protocol.md §7.1): health,
 * status, device.pair.list/approve/reject/remove/rename and
 * device.token.rotate/revoke, authorised by the session the broker accepted for
 * the conn, as the request's verified ticket (ticket.h) describes it. */
#ifndef BROKERD_RPC_H
#define BROKERD_RPC_H

#include "brokerd/reply.h"
#include "proto/proto.h"

struct broker;
struct ticket_session;

struct rpc_reply {
	struct proto_rpc_result res;
	struct reply reply;	/* res.payload and res.error.details point into it */
};

void rpc_handle(struct broker *br, const struct ticket_session *s, const struct proto_rpc *req,
    struct rpc_reply *out);
void rpc_reply_free(struct rpc_reply *r);

#endif
