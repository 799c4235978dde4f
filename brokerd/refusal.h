/*
 * The refusals of a connect (doc/protocol.md §5), as OpenClaw words them: for
 * each way admission.c refuses, the close code and reason, the error code and
 * message, and the details object. Each call fills a BR_REJECT's close and error
 * fields and builds its details in the caller's buffer; the close reason is cut
 * to §5.1's 120 bytes on a character boundary ("invalid handshake" if empty).
 */
#ifndef BROKERD_REFUSAL_H
#define BROKERD_REFUSAL_H

#include <stdint.h>

#include "brokerd/devproof.h"
#include "brokerd/registry.h"
#include "brokerd/role.h"
#include "proto/proto.h"

/* The outcomes of the shared-secret and device-token steps, in §5's order. The
 * token and password triples are laid out alike: base + REFUSAL_AUTH_MISSING etc. */
enum refusal_auth {
	REFUSAL_AUTH_OK,
	REFUSAL_AUTH_TOKEN_MISSING,
	REFUSAL_AUTH_TOKEN_MISMATCH,
	REFUSAL_AUTH_TOKEN_NOT_CONFIGURED,
	REFUSAL_AUTH_PASSWORD_MISSING,
	REFUSAL_AUTH_PASSWORD_MISMATCH,
	REFUSAL_AUTH_PASSWORD_NOT_CONFIGURED,
	REFUSAL_AUTH_DEVICE_TOKEN_MISMATCH,
	REFUSAL_AUTH_SCOPE_MISMATCH,
};
#define REFUSAL_AUTH_MISSING 0
#define REFUSAL_AUTH_MISMATCH 1
#define REFUSAL_AUTH_NOT_CONFIGURED 2

/* Whose configuration a shared-secret refusal's hint speaks of. */
enum refusal_hint { REFUSAL_HINT_LOCAL_CLI, REFUSAL_HINT_REMOTE_CLI, REFUSAL_HINT_UI,
	REFUSAL_HINT_OTHER };

/* Why a device whose proof passed must be (re-)approved (§4.5). */
enum refusal_pair { REFUSAL_PAIR_NOT_PAIRED, REFUSAL_PAIR_ROLE_UPGRADE,
	REFUSAL_PAIR_SCOPE_UPGRADE, REFUSAL_PAIR_METADATA_UPGRADE };

/* 1008 INVALID_REQUEST with text as close reason and message; details
 * {code, reason} if detail_code is not NULL (detail_reason may be). */
void refusal_invalid(struct proto_reject *r, struct pbuf *details, const char *text,
    const char *detail_code, const char *detail_reason);
/* 1002 "protocol mismatch": the client's range does not hold expected. */
void refusal_protocol_mismatch(struct proto_reject *r, struct pbuf *details,
    const struct proto_connect *c, int64_t expected);
/* A device-less client that needs a device identity. */
void refusal_identity_required(struct proto_reject *r, struct pbuf *details);
/* A device proof that failed (proof is not DEVPROOF_OK). */
void refusal_device_proof(struct proto_reject *r, struct pbuf *details,
    enum devproof_result proof);
/* §4.1 step 10: auth (not REFUSAL_AUTH_OK) with the hint for that kind of client
 * and secret (password_mode); retry tells the client to retry with the device
 * token it may hold. */
void refusal_unauthorized(struct proto_reject *r, struct pbuf *details, enum refusal_auth auth,
    enum refusal_hint hint, int password_mode, int retry);
/* §4.6: the client's address or origin is locked for wait_ms more. */
void refusal_rate_limited(struct proto_reject *r, struct pbuf *details, int64_t wait_ms);
/* §4.5: the device must be approved: request_id is its pending request, d its
 * record if it has one (NULL: never paired), role and the connect what it asks
 * for, browser whether it is the Control UI (which then keeps polling). */
void refusal_pairing_required(struct proto_reject *r, struct pbuf *details,
    const struct proto_connect *c, enum role role, int browser, const char *request_id,
    const struct reg_device *d, enum refusal_pair why);
/* 1013: no new pairing request may be created now, because this address creates
 * them too fast (rate) or too many are pending; retry after wait_ms. */
void refusal_pairing_limited(struct proto_reject *r, int rate, int64_t wait_ms);

#endif
