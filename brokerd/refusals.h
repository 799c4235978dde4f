/*
 * The broker's memory of its recent refusals, for gatewayctl doctor: a fixed
 * ring of the last REFUSALS_MAX connects it refused, with who asked (address,
 * locality, client, device) and how it answered (close code and reason, error
 * and details code, the pairing request a refusal created). Fixed-size entries
 * in a fixed ring: a flood of refusals costs no memory, it only pushes out the
 * oldest. Client-chosen text is kept as sent; whoever shows it escapes it.
 */
#ifndef BROKERD_REFUSALS_H
#define BROKERD_REFUSALS_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

#define REFUSALS_MAX 256

struct refusals_entry {
	int64_t at_ms;				/* wall clock */
	char addr[PROTO_ADDR_MAX + 1];		/* the client as gatewayd attributed it */
	uint8_t proxied;			/* it came through a trusted proxy */
	char locality[PROTO_NAME_MAX + 1];
	char client_id[PROTO_NAME_MAX + 1];
	char client_mode[PROTO_NAME_MAX + 1];
	char display_name[PROTO_TEXT_MAX + 1];
	char origin[PROTO_TEXT_MAX + 1];
	char device_id[PROTO_ID_MAX + 1];	/* "" for a device-less client */
	uint16_t close_code;
	char reason[PROTO_REASON_MAX + 1];
	char error_code[PROTO_NAME_MAX + 1];
	char details_code[PROTO_NAME_MAX + 1];	/* details.code, "" if none */
	char request_id[PROTO_ID_MAX + 1];	/* the pairing request, "" if none */
	int64_t retry_after_ms;			/* < 0: the refusal named no wait */
};

/* Remembers that c was refused with r (details: r's details, a pval, or empty)
 * at wall-clock now_ms, pushing out the oldest entry when the ring is full. */
void refusals_record(const struct proto_connect *c, const struct proto_reject *r,
    const struct pbuf *details, int64_t now_ms);
/* How many entries are kept (at most REFUSALS_MAX). */
size_t refusals_count(void);
/* Entry i, 0 the oldest kept, for i < refusals_count(). */
const struct refusals_entry *refusals_get(size_t i);

#endif
