/* The broker's process-wide state, handed to the modules that serve gatewayd
 * links and the control socket. */
#ifndef BROKERD_BROKER_H
#define BROKERD_BROKER_H

#include <stdint.h>

#include "brokerd/config.h"
#include "brokerd/registry.h"

struct broker {
	struct config *cfg;		/* includes the shared secret in use */
	struct registry *reg;
	const char *state_dir;
	int state_fd;
	int64_t started_mono_ms;
	struct ratelimit *rl;		/* failed authentication, §4.6 */
	struct rpclimit *rpclimit;	/* changing calls over the gateway */
};

#endif
