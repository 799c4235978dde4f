#include "brokerd/status.h"

#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include "brokerd/broker.h"
#include "brokerd/gwlink.h"
#include "brokerd/pairing.h"
#include "brokerd/tlscert.h"
#include "common/clock.h"
#include "proto/pval.h"

/* Which certificate gatewayd serves; the fingerprint of the one brokerd
 * generated, for people to compare with what their browser shows. */
static void
status_tls(struct pbuf *b, const struct broker *br)
{
	const struct config *cfg = br->cfg;
	char path[PATH_MAX];

	pval_key(b, "tls");
	pval_obj_begin(b);
	if (cfg->tls_auto) {
		pval_kv_str(b, "source", "generated");
		snprintf(path, sizeof(path), "%s/%s", br->state_dir, TLSCERT_CERT_FILE);
		pval_kv_str(b, "certPath", path);
		pval_kv_str(b, "fingerprintSha256", cfg->tls_fingerprint);
		pval_kv_str(b, "notAfter", cfg->tls_not_after);
	} else {
		pval_kv_str(b, "source", "files");
		pval_kv_str(b, "certPath", cfg->tls_cert_path);
	}
	pval_obj_end(b);
}

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
		if (br->cfg->tls_enabled)
			status_tls(b, br);
		/* Relay mode: gatewayctl relay check looks for the guard on this port. */
		if (br->cfg->relay.port != 0) {
			pval_key(b, "relay");
			pval_obj_begin(b);
			pval_kv_str(b, "upstream", br->cfg->relay_url);
			pval_kv_str(b, "addr", br->cfg->relay.addr);
			pval_kv_int(b, "port", br->cfg->relay.port);
			pval_kv_str(b, "guard", config_relay_guard_name(br->cfg->relay_guard));
			pval_obj_end(b);
		}
	}
	pval_kv_int(b, "gateways", (int64_t)links);
	pval_kv_int(b, "sessions", (int64_t)sessions);
	pval_kv_int(b, "pending", (int64_t)pending);
	pval_kv_int(b, "paired", (int64_t)br->reg->ndevices);
	pval_obj_end(b);
}
