/* What every gatewayd module shares: one event loop, and the settings the
 * broker sent in BR_HELLO (the only configuration gatewayd ever sees). */
#ifndef GATEWAYD_GATEWAYD_H
#define GATEWAYD_GATEWAYD_H

#include <stdint.h>

#include "proto/proto.h"

struct event_base;

struct gatewayd {
	struct event_base *base;
	struct proto_br_hello settings;
	int64_t started_ms;	/* monotonic, for hello-ok snapshot.uptimeMs */
	unsigned workers;	/* --workers: processes sharing the port */
	unsigned worker;	/* this one's index, 0..workers-1 */
	int test_echo;		/* --test-echo: every upgrade is an echo (tests only): */
};

enum gatewayd_echo {
	GATEWAYD_ECHO = 1,	/* through wslay, as sessions read frames */
	GATEWAYD_ECHO_PASS,	/* through ws_pass, as the relay passes them */
};

extern struct gatewayd gatewayd;

/* Whether gatewayd relays sessions to an upstream (clawgate.relay, on or off
 * as the first BR_HELLO said until gatewayd restarts: reconfig.h). */
static inline int
relay_mode(void)
{
	return gatewayd.settings.relay.port != 0;
}

/* What gatewayd (supervisor and workers alike) logs when a SIGHUP comes: it has
 * no reload, and its settings come from brokerd. */
#define GATEWAYD_SIGHUP_IGNORED "SIGHUP ignored: gatewayd has no reload of its own, its " \
	"settings come from brokerd: reload brokerd (systemctl reload brokerd), which " \
	"sends gatewayd what can change at once and logs what needs a restart " \
	"(systemctl restart brokerd gatewayd)"

#endif
