/*
 * gatewayd links on gateway.sock. Each link carries the hello, then per WebSocket
 * connection ("conn") a challenge, one connect and, once accepted, RPCs, until
 * gatewayd reports the conn closed. Per link the broker keeps the outstanding
 * nonces (bounded, expiring) and the accepted sessions (a few bytes each). Every
 * message is checked against a permit table for the link's and the conn's state;
 * anything undecodable, unknown or out of state drops the whole link.
 */
#ifndef BROKERD_GWLINK_H
#define BROKERD_GWLINK_H

#include <stddef.h>
#include <stdint.h>

#include "brokerd/devproof.h"
#include "brokerd/scopes.h"
#include "proto/proto.h"

struct broker;
struct event_base;

/* What the broker keeps of an accepted connection to authorise its RPCs. */
struct session {
	enum role role;
	uint32_t scope_mask;			/* scopes_mask() of the accepted scopes */
	char device_id[DEVPROOF_ID_LEN + 1];	/* "" for a device-less (unbound) session */
	uint8_t closing;			/* BR_CLOSE sent; gatewayd is closing it */
};

/* Starts serving gatewayd links on a listening socket. */
void gwlink_init(struct event_base *base, int listen_fd, struct broker *br);
/* Closes every link and the listener. */
void gwlink_shutdown(void);

/* Sends an event to every ready link (audience ALL or PAIRING). */
void gwlink_publish(enum proto_audience audience, const char *event, const struct pbuf *payload);
/* Whether the device has a live session on any link. */
int gwlink_device_connected(const char *device_id);
/* Asks gatewayd to close every session of the device in one of the roles (a
 * ROLE_BIT mask) but except (NULL: none), the caller's own session, which stays
 * open so that the answer to its request arrives. */
void gwlink_close_device(const char *device_id, unsigned roles, const struct session *except,
    uint16_t code, const char *reason);
/* Asks gatewayd to close every session that proved the shared secret (it changed). */
void gwlink_close_shared_secret_sessions(uint16_t code, const char *reason);

void gwlink_stats(size_t *links, size_t *sessions);

#endif
