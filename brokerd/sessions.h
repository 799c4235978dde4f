/*
 * The session book: what the broker remembers of the sessions it accepted. It
 * keeps no session (each one's ticket, ticket.h, carries what authorises it),
 * only:
 *  - per device and role, the epoch that the role's tickets carry while they are
 *    current, and the one session a close spared (the caller's own, whose old
 *    epoch stays good for it alone); per process, the epoch of shared-secret
 *    tickets. Closing sessions moves an epoch on, so their tickets stop being
 *    current whether or not gatewayd closes them. Epochs are never reused, so no
 *    ticket of a removed device is current again if it is paired again. They
 *    live in memory only: a restart forgets them, and no ticket of the old
 *    process opens anyway (the ticket key is made per process).
 *  - per gateway link: its serial (bound into its tickets' MAC), how many
 *    sessions it holds, and per device the live, current ones counted per role
 *    and per whether they came with the shared secret, for "connected" in device
 *    lists. O(devices x links), nothing per session.
 */
#ifndef BROKERD_SESSIONS_H
#define BROKERD_SESSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "brokerd/ticket.h"
#include "proto/proto.h"

struct sessions_link;

void sessions_init(void);
void sessions_shutdown(void);

/* A gateway link's page of the book, with a serial never used before. */
struct sessions_link *sessions_link_new(void);
void sessions_link_free(struct sessions_link *bl);
uint64_t sessions_link_serial(const struct sessions_link *bl);
/* The sessions accepted on the link and not reported closed. */
size_t sessions_link_count(const struct sessions_link *bl);

/* Seals into ac->ticket the session admission accepted on the link for ac->conn,
 * and counts it. */
void sessions_accept(struct sessions_link *bl, struct proto_accept *ac);
/* Opens a ticket sent on the link for conn: -1 if it does not open (forged,
 * altered, or another conn's or link's); else 0 and *s, with closing set if the
 * broker has closed the session since. */
int sessions_open(const struct sessions_link *bl, uint64_t conn,
    const uint8_t ticket[PROTO_TICKET_LEN], struct ticket_session *s);
/* gatewayd reports the session of an opened ticket closed: it counts no more. */
void sessions_end(struct sessions_link *bl, const struct ticket_session *s);

/* Closes every session of the device in one of the roles (a ROLE_BIT mask) but
 * except (NULL: none), the caller's own session, which stays current so that the
 * answer to its request arrives. gatewayd is the caller's to tell. */
void sessions_close_device(const char *device_id, unsigned roles,
    const struct ticket_session *except);
/* Closes every session that proved the shared secret. */
void sessions_close_shared(void);
/* Whether the device has a live session on any link that the broker has not
 * closed. */
int sessions_device_connected(const char *device_id);

#endif
