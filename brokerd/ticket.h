/*
 * Session tickets (proto.h): the broker keeps nothing per accepted session
 * (doc/design.md §6). What it needs to authorise a session's RPCs is sealed into a
 * ticket on BR_ACCEPT with HMAC-SHA256 under a key made at start-up that never
 * leaves this process; gatewayd stores the ticket and sends it back with every
 * GW_RPC and GW_SESSION_CLOSED. A ticket of another broker process, link or
 * conn, or with any byte changed, does not open. Whether an opened ticket is
 * still current (its device, role and shared secret not closed since) is the
 * session book's check (sessions.h).
 */
#ifndef BROKERD_TICKET_H
#define BROKERD_TICKET_H

#include <stdint.h>

#include "brokerd/devproof.h"
#include "brokerd/role.h"
#include "proto/proto.h"

/* An accepted session as its ticket carries it. */
struct ticket_session {
	uint64_t link;				/* the serial of the link that accepted it */
	uint64_t conn;				/* (these two are MAC'd, not stored) */
	enum role role;
	uint32_t scope_mask;			/* scopes_mask() of the accepted scopes */
	char device_id[DEVPROOF_ID_LEN + 1];	/* "" for a device-less (unbound) session */
	uint8_t shared_auth;			/* accepted on the shared token or password */
	uint64_t device_epoch;			/* when bound: its device's and role's */
	uint64_t shared_epoch;			/* when shared_auth */
	/* Not in the ticket: set when it is opened if the session is no longer
	 * current (the broker asked gatewayd to close it). */
	uint8_t closing;
};

/* Makes the key; before the sandbox (it fetches OpenSSL's HMAC). */
void ticket_init(void);
void ticket_shutdown(void);

void ticket_seal(const struct ticket_session *s, uint8_t out[PROTO_TICKET_LEN]);
/* 0 and *s (closing 0) if the ticket is one this process sealed for that link
 * and conn; -1 otherwise. */
int ticket_open(const uint8_t in[PROTO_TICKET_LEN], uint64_t link, uint64_t conn,
    struct ticket_session *s);

#endif
