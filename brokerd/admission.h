/*
 * The admission decision for a connect (doc/protocol.md §4.1 steps 2-12): protocol,
 * role, shared secret, device-less operators, device proof, device-token fallback,
 * pairing and device-token issuance. It yields BR_ACCEPT, or BR_REJECT with the
 * exact close code, reason, error code, message and details of §5 (refusal.h).
 */
#ifndef BROKERD_ADMISSION_H
#define BROKERD_ADMISSION_H

#include <stdint.h>

#include "proto/proto.h"

struct broker;

struct admission {
	int accepted;
	struct proto_accept accept;
	struct proto_reject reject;
	struct pbuf details;		/* reject.error.details points into it */
};

/* Decides c, whose conn was issued `nonce` (already consumed by the caller), at
 * wall-clock now_ms. May change the registry (pairing requests, approvals, token
 * issuance) and publish pairing events. Free a with admission_free. */
void admission_decide(struct broker *br, const struct proto_connect *c, const char *nonce,
    int64_t now_ms, struct admission *a);
/* Wipes the minted token, if any, and frees the details. */
void admission_free(struct admission *a);

#endif
