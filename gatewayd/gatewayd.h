/* What every gatewayd module shares: one event loop, and the settings the
 * broker sent in BR_HELLO (the only configuration gatewayd ever sees). */
#ifndef GATEWAYD_GATEWAYD_H
#define GATEWAYD_GATEWAYD_H

#include <stdint.h>

#include "proto/proto.h"

struct event_base;

struct gateway {
	struct event_base *base;
	struct proto_br_hello settings;
	int64_t started_ms;	/* monotonic, for hello-ok snapshot.uptimeMs */
};

extern struct gateway gw;

#endif
