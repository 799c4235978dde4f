/*
 * gatewayctl doctor's answer: each distinct recent refusal (refusals.h) with its
 * cause and the exact fix, and what the broker knows of its installation (where
 * the shared secret comes from, the state directory's mode, gatewayd links,
 * listening addresses, TLS, relay mode). The explanations live here, in one
 * table, so that --json and the text gatewayctl prints say the same.
 */
#ifndef BROKERD_DOCTOR_H
#define BROKERD_DOCTOR_H

#include <stdint.h>

#include "proto/proto.h"

struct broker;

/* device_id: only that device's refusals ("" for all). */
void doctor_pval(struct pbuf *b, struct broker *br, const char *device_id, int64_t now_ms);

/* Whether kind is a GW_REFUSED kind doctor explains (gatewayd may send no other). */
int doctor_gateway_kind(const char *kind);

#endif
