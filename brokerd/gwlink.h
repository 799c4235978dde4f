/*
 * gatewayd links on gateway.sock. Each link carries the hello, then per WebSocket
 * connection ("conn") a challenge, one connect and, once accepted, RPCs, until
 * gatewayd reports the conn closed. Per link the broker keeps the outstanding
 * nonces (bounded, expiring) and, per device, counts of its live sessions; of an
 * accepted session it keeps nothing: gatewayd holds its ticket (ticket.h) and
 * sends it with each RPC. Every message is checked against a permit table for
 * the link's state, and each ticket for its link and conn; anything
 * undecodable, unknown, out of state or forged drops the whole link.
 */
#ifndef BROKERD_GWLINK_H
#define BROKERD_GWLINK_H

#include <stddef.h>
#include <stdint.h>

#include "brokerd/ticket.h"
#include "proto/proto.h"

struct broker;
struct event_base;

/* Starts serving gatewayd links on a listening socket. */
void gwlink_init(struct event_base *base, int listen_fd, struct broker *br);
/* Closes every link and the listener. */
void gwlink_shutdown(void);

/* Sends an event to every ready link (audience ALL or PAIRING). */
void gwlink_publish(enum proto_audience audience, const char *event, const struct pbuf *payload);
/* Asks gatewayd to close every session of the device in one of the roles (a
 * ROLE_BIT mask) but except (NULL: none), the caller's own session, which stays
 * open so that the answer to its request arrives; the broker refuses the RPCs
 * of the others from now on, whether gatewayd closes them or not. */
void gwlink_close_device(const char *device_id, unsigned roles, const struct session *except,
    uint16_t code, const char *reason);
/* Likewise for every session that proved the shared secret (it changed). */
void gwlink_close_shared_secret_sessions(uint16_t code, const char *reason);

void gwlink_stats(size_t *links, size_t *sessions);

#endif
