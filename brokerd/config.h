/* brokerd's configuration: OpenClaw's openclaw.json `gateway` section (the keys
 * clawgate uses; configfile.c parses the file and reports the others) plus the
 * OPENCLAW_* environment overrides.
 * Secrets stay here, in the broker; gatewayd gets the rest through BR_HELLO. */
#ifndef BROKERD_CONFIG_H
#define BROKERD_CONFIG_H

#include <stdint.h>

#include "common/certfp.h"
#include "proto/proto.h"

#define CONFIG_DEFAULT_PATH "/etc/clawgate/clawgate.json"
#define CONFIG_DEFAULT_PORT 18789
#define CONFIG_HANDSHAKE_TIMEOUT_MS 15000

enum auth_mode { AUTH_MODE_TOKEN, AUTH_MODE_PASSWORD, AUTH_MODE_NONE };

/* Where a secret came from; the shared token precedence is config > env > the
 * token file in the state dir > generated at first start. */
enum secret_source {
	SECRET_SOURCE_NONE,
	SECRET_SOURCE_CONFIG,
	SECRET_SOURCE_ENV,
	SECRET_SOURCE_FILE,
	SECRET_SOURCE_GENERATED,
};

#define CONFIG_ALLOWED_ORIGINS_MAX 64
#define CONFIG_TLS_DATE_LEN 24	/* "2028-09-06 12:00:00 UTC" */

/* clawgate.relay.guard: where the upstream's port is kept from everyone but
 * gatewayd, so where gatewayctl relay check and doctor look for it. */
enum relay_guard {
	RELAY_GUARD_NFTABLES,	/* this host's table inet clawgate_guard */
	RELAY_GUARD_UPSTREAM,	/* the upstream's own (its container's filter) */
};


struct config {
	char *path;		/* the file read; NULL when the default path was missing */
	uint16_t port;
	uint32_t nbind;
	char bind[PROTO_MAX_BINDS][PROTO_ADDR_MAX + 1];
	uint32_t handshake_timeout_ms;
	uint32_t max_preauth_per_ip;	/* OPENCLAW_MAX_PREAUTH_CONNECTIONS_PER_IP, default 32 */
	enum auth_mode auth_mode;
	char *token;		/* NULL until configured or loaded */
	enum secret_source token_source;
	char *password;
	enum secret_source password_source;
	int auto_approve_local;	/* clawgate's default is 0, OpenClaw's 1 */
	/* clawgate.pairing.decisions "control-socket": approving, rejecting and
	 * removing devices and rotating or revoking their tokens only through
	 * gatewayctl, never over the gateway (which a compromised gatewayd could
	 * ride on a passing admin's session). Default "gateway", as OpenClaw. */
	int decisions_control_socket;
	/* gateway.controlUi.allowedOrigins, lower-cased (doc/protocol.md §4.7) */
	char allowed_origins[CONFIG_ALLOWED_ORIGINS_MAX][PROTO_TEXT_MAX + 1];
	uint32_t nallowed_origins;
	int origin_host_fallback;	/* ...dangerouslyAllowHostHeaderOriginFallback */
	/* gateway.trustedProxies (checked "addr" or "addr/prefix") and
	 * gateway.allowRealIpFallback: gatewayd applies them (§4.2) */
	uint32_t ntrusted_proxies;
	char trusted_proxies[PROTO_MAX_PROXIES][PROTO_ADDR_MAX + 1];
	int allow_real_ip_fallback;
	/* gateway.tls: gatewayd reads certificate and key (doc/design.md §4),
	 * unless tls_auto (enabled without certPath and keyPath, autoGenerate not
	 * false): then brokerd keeps a self-signed pair in its state dir
	 * (tlscert.h) and hands it to gatewayd over the link. */
	int tls_enabled;
	char tls_cert_path[PROTO_TEXT_MAX + 1];
	char tls_key_path[PROTO_TEXT_MAX + 1];
	int tls_auto;
	char *tls_cert_der;	/* base64 of the DER, once loaded or generated */
	char *tls_key_der;	/* a secret, like token */
	char tls_fingerprint[CERTFP_LEN + 1];
	char tls_not_after[CONFIG_TLS_DATE_LEN + 1];
	char ui_root[PROTO_PATH_MAX + 1];	/* gateway.controlUi.root; "": the built-in UI */
	/* How an admin runs gatewayctl on this host, as the Control UI shows it:
	 * clawgate.gatewayctl > $CLAWGATE_GATEWAYCTL > config_gatewayctl_default. */
	char gatewayctl[PROTO_COMMAND_MAX + 1];
	/* clawgate.relay, as gatewayd gets it, and the upstream's URL as written */
	struct proto_relay relay;
	char relay_url[PROTO_TEXT_MAX + 1];
	enum relay_guard relay_guard;	/* reported only: gatewayd never gets it */
};

/* Reads path (or the default) and the environment into cfg. Reports each
 * invalid setting (problem_report: the file or variable, the key and the fix)
 * and returns how many there were; with any, cfg must not be used to start. */
int config_load(struct config *cfg, const char *path);
/* Opens the directory of path (or the default) and reads the file through it
 * from now on, so that a broker chrooted to its state directory can re-read
 * it (a reload). Without that directory the path is used as it is. */
void config_pin(const char *path);
void config_unpin(void);
/* Unless the config or the environment named one: the gatewayctl command for a
 * broker whose control socket is control_socket (absolute), given whether that is
 * where gatewayctl looks by default. */
void config_gatewayctl_default(struct config *cfg, const char *control_socket, int is_default);
/* Wipes the secrets and frees what config_load allocated. */
void config_free(struct config *cfg);

const char *config_auth_mode_name(enum auth_mode mode);
const char *config_secret_source_name(enum secret_source src);
/* clawgate.relay.guard's value, as status and doctor report it */
const char *config_relay_guard_name(enum relay_guard guard);

#endif
