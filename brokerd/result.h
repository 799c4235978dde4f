/* The answers of pairing operations (doc/protocol.md §7.1 result shapes), one
 * builder each, shared by the RPC handlers and the control socket. */
#ifndef CLAWGATE_RESULT_H
#define CLAWGATE_RESULT_H

#include <stdint.h>

#include "brokerd/pairing.h"
#include "brokerd/registry.h"
#include "proto/proto.h"

void result_approved(struct pbuf *b, const char *request_id, const struct reg_device *d);
void result_rejected(struct pbuf *b, const char *request_id, const char *device_id);
void result_removed(struct pbuf *b, const char *device_id);
void result_renamed(struct pbuf *b, const char *device_id, const char *label);
/* The new token is in the answer only when delivered in band (to the device itself). */
void result_rotated(struct pbuf *b, const char *device_id, const char *role,
    const struct pairing_rotation *rot);
void result_revoked(struct pbuf *b, const char *device_id, const char *role,
    int64_t revoked_at_ms);

#endif
