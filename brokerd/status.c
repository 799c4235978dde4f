#include "brokerd/status.h"

#include <unistd.h>

#include "brokerd/broker.h"
#include "brokerd/gwlink.h"
#include "brokerd/pairing.h"
#include "common/clock.h"
#include "proto/pval.h"

void
status_pval(struct pbuf *b, struct broker *br, int local)
{
	struct reg_pending *only;
	size_t links, sessions, pending;

	gwlink_stats(&links, &sessions);
	pending = pairing_pending_count(br->reg, clock_wall_ms(), &only);
	pval_obj_begin(b);
	pval_kv_str(b, "version", CLAWGATE_VERSION);
	pval_kv_int(b, "pid", getpid());
	pval_kv_int(b, "uptimeMs", clock_mono_ms() - br->started_mono_ms);
	if (local) {
		pval_kv_str(b, "stateDir", br->state_dir);
		pval_kv_str(b, "authMode", config_auth_mode_name(br->cfg->auth_mode));
		pval_kv_str(b, "tokenSource", config_secret_source_name(br->cfg->token_source));
		/* Relay mode: gatewayctl relay check looks for the guard on this port. */
		if (br->cfg->relay.port != 0) {
			pval_key(b, "relay");
			pval_obj_begin(b);
			pval_kv_str(b, "upstream", br->cfg->relay_url);
			pval_kv_str(b, "addr", br->cfg->relay.addr);
			pval_kv_int(b, "port", br->cfg->relay.port);
			pval_obj_end(b);
		}
	}
	pval_kv_int(b, "gateways", (int64_t)links);
	pval_kv_int(b, "sessions", (int64_t)sessions);
	pval_kv_int(b, "pending", (int64_t)pending);
	pval_kv_int(b, "paired", (int64_t)br->reg->ndevices);
	pval_obj_end(b);
}
