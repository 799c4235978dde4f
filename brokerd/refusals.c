#include "brokerd/refusals.h"

#include <stdio.h>
#include <string.h>

#include "brokerd/locality.h"

struct refusals_ring {
	struct refusals_entry *v;
	size_t cap;
	size_t next;		/* where the next entry goes */
	size_t n;
};

static struct refusals_entry refusals_own[REFUSALS_MAX];
static struct refusals_entry refusals_gw[REFUSALS_GATEWAY_MAX];
static struct refusals_ring refusals_broker = { refusals_own, REFUSALS_MAX, 0, 0 };
static struct refusals_ring refusals_gateway = { refusals_gw, REFUSALS_GATEWAY_MAX, 0, 0 };
static uint64_t refusals_ndropped;
static struct refusals_upstream refusals_up;

static uint32_t
refusals_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The ring's next slot, cleared, counted in. */
static struct refusals_entry *
refusals_push(struct refusals_ring *r)
{
	struct refusals_entry *e = &r->v[r->next];

	memset(e, 0, sizeof(*e));
	r->next = (r->next + 1) % r->cap;
	if (r->n < r->cap)
		r->n++;
	return e;
}

/* Entry i of a ring, 0 the oldest. */
static const struct refusals_entry *
refusals_at(const struct refusals_ring *r, size_t i)
{
	return &r->v[(r->next + r->cap - r->n + i) % r->cap];
}

/* details.code: every refusal's details object (refusal.c) names its code as
 * its first member, so only that prefix of the pval is read. */
static void
refusals_details_code(const struct pbuf *details, char out[PROTO_NAME_MAX + 1])
{
	static const uint8_t key[] = { '{', 's', 0, 0, 0, 4, 'c', 'o', 'd', 'e', 's' };
	const uint8_t *p = details->data;
	size_t len = details->len, vlen;

	out[0] = '\0';
	if (len < sizeof(key) + 4 || memcmp(p, key, sizeof(key)) != 0)
		return;
	vlen = refusals_be32(p + sizeof(key));
	if (vlen > PROTO_NAME_MAX || vlen > len - sizeof(key) - 4)
		return;
	memcpy(out, p + sizeof(key) + 4, vlen);
	out[vlen] = '\0';
}

void
refusals_record(const struct proto_connect *c, const struct proto_reject *r,
    const struct pbuf *details, int64_t now_ms)
{
	struct refusals_entry *e = refusals_push(&refusals_broker);

	e->at_ms = now_ms;
	e->count = 1;
	snprintf(e->addr, sizeof(e->addr), "%s", c->peer_ip);
	e->proxied = c->proxy_headers != 0;
	snprintf(e->locality, sizeof(e->locality), "%s", r->locality);
	snprintf(e->client_id, sizeof(e->client_id), "%s", c->client_id);
	snprintf(e->client_mode, sizeof(e->client_mode), "%s", c->client_mode);
	snprintf(e->display_name, sizeof(e->display_name), "%s", c->client_display_name);
	snprintf(e->origin, sizeof(e->origin), "%s", c->origin);
	if (c->has_device)
		snprintf(e->device_id, sizeof(e->device_id), "%s", c->device_id);
	e->close_code = r->close_code;
	snprintf(e->reason, sizeof(e->reason), "%s", r->close_reason);
	if (r->has_error)
		snprintf(e->error_code, sizeof(e->error_code), "%s", r->error.code);
	refusals_details_code(details, e->details_code);
	snprintf(e->request_id, sizeof(e->request_id), "%s", r->pairing_request_id);
	e->retry_after_ms = r->has_error ? r->error.retry_after_ms : -1;
}

void
refusals_record_gateway(const struct proto_gw_refused *m, int64_t now_ms)
{
	struct refusals_entry *e = refusals_push(&refusals_gateway);

	e->at_ms = now_ms;
	e->by_gateway = 1;
	e->count = m->count;
	snprintf(e->addr, sizeof(e->addr), "%s", m->addr);
	snprintf(e->peer, sizeof(e->peer), "%s", m->peer);
	e->proxied = m->peer[0] != '\0' && strcmp(m->peer, m->addr) != 0;
	/* The network's side of locality: gatewayd's refusals come before any
	 * client could say what it is. */
	snprintf(e->locality, sizeof(e->locality), "%s", locality_ip_loopback(m->addr) ?
	    "loopback" : locality_ip_private_or_loopback(m->addr) ? "private" : "public");
	snprintf(e->client_id, sizeof(e->client_id), "%s", m->client_id);
	snprintf(e->client_mode, sizeof(e->client_mode), "%s", m->client_mode);
	snprintf(e->origin, sizeof(e->origin), "%s", m->origin);
	snprintf(e->device_id, sizeof(e->device_id), "%s", m->device_id);
	e->close_code = m->code;
	snprintf(e->reason, sizeof(e->reason), "%s", m->reason);
	snprintf(e->details_code, sizeof(e->details_code), "%s", m->kind);
	e->retry_after_ms = -1;
}

void
refusals_count_dropped(uint32_t n)
{
	refusals_ndropped += n;
}

uint64_t
refusals_dropped(void)
{
	return refusals_ndropped;
}

void
refusals_upstream_set(const struct proto_gw_upstream *m, int64_t now_ms)
{
	refusals_up.known = 1;
	refusals_up.last = *m;
	refusals_up.reported_ms = now_ms;
}

const struct refusals_upstream *
refusals_upstream(void)
{
	return &refusals_up;
}

size_t
refusals_count(void)
{
	return refusals_broker.n + refusals_gateway.n;
}

size_t
refusals_count_gateway(void)
{
	return refusals_gateway.n;
}

/* Both rings merged by time: walks i entries from the oldest (at most the
 * rings' 320 entries, for a command an admin runs). */
const struct refusals_entry *
refusals_get(size_t i)
{
	size_t a = 0, b = 0;
	const struct refusals_entry *e = NULL;

	for (size_t k = 0; k <= i; k++) {
		if (b >= refusals_gateway.n || (a < refusals_broker.n &&
		    refusals_at(&refusals_broker, a)->at_ms <=
		    refusals_at(&refusals_gateway, b)->at_ms))
			e = refusals_at(&refusals_broker, a++);
		else
			e = refusals_at(&refusals_gateway, b++);
	}
	return e;
}
