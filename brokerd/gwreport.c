#include "brokerd/gwreport.h"

#include <string.h>

#include "brokerd/broker.h"
#include "brokerd/doctor.h"
#include "brokerd/gwlink.h"
#include "brokerd/refusals.h"
#include "common/clock.h"
#include "common/ipaddr.h"
#include "common/log.h"

/* A coalesced report stands for at most this many refusals (gatewayd sends
 * one every few seconds per kind and address). */
#define GWREPORT_COUNT_MAX 1000000

static struct broker *gwreport_br;

void
gwreport_init(struct broker *br)
{
	gwreport_br = br;
}

static int
gwreport_addr_ok(const char *s)
{
	uint8_t a[16];

	return ipaddr_parse(s, a) == 0;
}

/* Why the report cannot be true, or NULL. */
static const char *
gwreport_refused_bad(const struct proto_gw_refused *m)
{
	if (!doctor_gateway_kind(m->kind))
		return "an unknown kind";
	if (!gwreport_addr_ok(m->addr))
		return "an address that is not one";
	if (m->peer[0] != '\0' && !gwreport_addr_ok(m->peer))
		return "a peer address that is not one";
	if (!(m->code >= 400 && m->code <= 599) && !(m->code >= 1000 && m->code <= 4999))
		return "a code that is neither an HTTP error status nor a WebSocket close code";
	if (m->count == 0 || m->count > GWREPORT_COUNT_MAX)
		return "a count of 0 or over a million";
	return NULL;
}

void
gwreport_refused(struct gwlink_call *call)
{
	const struct proto_gw_refused *m = &call->msg->refused;
	const char *bad = gwreport_refused_bad(m);

	if (bad != NULL) {
		gwlink_refuse(call->link, "GW_REFUSED with %s", bad);
		return;
	}
	if (gwlink_report_budget(call->link, clock_mono_ms()) < 0) {
		refusals_count_dropped(m->count);
		return;
	}
	refusals_record_gateway(m, clock_wall_ms());
}

void
gwreport_upstream(struct gwlink_call *call)
{
	const struct proto_gw_upstream *m = &call->msg->upstream;
	const struct refusals_upstream *was = refusals_upstream();
	const char *bad = NULL;

	if (gwreport_br->cfg->relay.port == 0)
		bad = "relay mode off (clawgate.relay is not set)";
	else if (m->reachable > 1 || m->at_ms <= 0 || m->last_ok_ms < 0 ||
	    m->last_ok_ms > m->at_ms)
		bad = "a flag or times that cannot be";
	else if ((m->reachable != 0) != (m->error[0] == '\0'))
		bad = "an error that does not go with its state";
	if (bad != NULL) {
		gwlink_refuse(call->link, "GW_UPSTREAM with %s", bad);
		return;
	}
	if (gwlink_report_budget(call->link, clock_mono_ms()) < 0) {
		refusals_count_dropped(1);
		return;
	}
	if (!was->known || was->last.reachable != m->reachable) {
		if (m->reachable)
			log_info("relay: gatewayd reports the upstream gateway %s reachable",
			    gwreport_br->cfg->relay_url);
		else
			log_warnx("relay: gatewayd reports the upstream gateway %s unreachable "
			    "(see gatewayctl doctor)", gwreport_br->cfg->relay_url);
	}
	refusals_upstream_set(m, clock_wall_ms());
}
