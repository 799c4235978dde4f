#include "brokerd/refusals.h"

#include <stdio.h>
#include <string.h>

static struct {
	struct refusals_entry ring[REFUSALS_MAX];
	size_t next;		/* where the next entry goes */
	size_t n;
} refusals;

static uint32_t
refusals_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
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
	struct refusals_entry *e = &refusals.ring[refusals.next];

	memset(e, 0, sizeof(*e));
	e->at_ms = now_ms;
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
	refusals.next = (refusals.next + 1) % REFUSALS_MAX;
	if (refusals.n < REFUSALS_MAX)
		refusals.n++;
}

size_t
refusals_count(void)
{
	return refusals.n;
}

const struct refusals_entry *
refusals_get(size_t i)
{
	size_t oldest = (refusals.next + REFUSALS_MAX - refusals.n) % REFUSALS_MAX;

	return &refusals.ring[(oldest + i) % REFUSALS_MAX];
}
