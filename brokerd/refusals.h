/*
 * The broker's memory of its recent refusals, for gatewayctl doctor: a fixed
 * ring of the last REFUSALS_MAX connects it refused, with who asked (address,
 * locality, client, device) and how it answered (close code and reason, error
 * and details code, the pairing request a refusal created). Fixed-size entries
 * in a fixed ring: a flood of refusals costs no memory, it only pushes out the
 * oldest. Client-chosen text is kept as sent; whoever shows it escapes it.
 *
 * What gatewayd refused on its own (GW_REFUSED) goes to a second, smaller ring,
 * so that however much a gatewayd reports it never pushes out brokerd's own
 * refusals; the two are read as one, oldest first. The relay upstream's state
 * as gatewayd last reported it is kept here too.
 */
#ifndef BROKERD_REFUSALS_H
#define BROKERD_REFUSALS_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

#define REFUSALS_MAX 256
#define REFUSALS_GATEWAY_MAX 64

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
	uint8_t by_gateway;			/* gatewayd refused it alone (GW_REFUSED) */
	char peer[PROTO_ADDR_MAX + 1];		/* gatewayd's: the TCP peer, "" if addr */
	uint32_t count;				/* occurrences it stands for (1, or gatewayd's) */
};

/* The relay upstream as gatewayd last reported it. */
struct refusals_upstream {
	int known;				/* a report came since brokerd started */
	struct proto_gw_upstream last;
	int64_t reported_ms;			/* brokerd's wall clock at the report */
};

/* Remembers that c was refused with r (details: r's details, a pval, or empty)
 * at wall-clock now_ms, pushing out the oldest entry when the ring is full. */
void refusals_record(const struct proto_connect *c, const struct proto_reject *r,
    const struct pbuf *details, int64_t now_ms);
/* Remembers gatewayd's report m (checked by the caller) at wall-clock now_ms, in
 * the ring of gatewayd's reports. */
void refusals_record_gateway(const struct proto_gw_refused *m, int64_t now_ms);
/* Counts a report that was not kept (over the link's rate). */
void refusals_count_dropped(uint32_t n);
/* Reports not kept, since brokerd started. */
uint64_t refusals_dropped(void);
/* The relay upstream: set from a GW_UPSTREAM, read for gatewayctl doctor. */
void refusals_upstream_set(const struct proto_gw_upstream *m, int64_t now_ms);
const struct refusals_upstream *refusals_upstream(void);
/* How many entries are kept (at most REFUSALS_MAX + REFUSALS_GATEWAY_MAX). */
size_t refusals_count(void);
/* How many of them gatewayd reported. */
size_t refusals_count_gateway(void);
/* Entry i of both rings by time, 0 the oldest kept, for i < refusals_count(). */
const struct refusals_entry *refusals_get(size_t i);

#endif
