#include "brokerd/reload.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "brokerd/broker.h"
#include "brokerd/config.h"
#include "brokerd/gwlink.h"
#include "brokerd/problem.h"
#include "common/log.h"
#include "common/xmalloc.h"

static struct {
	char *config_path;
	char *control_socket;
	int socket_is_default;
} reload_ctx;

/* What a changed key does. */
enum reload_how {
	RELOAD_APPLY,		/* brokerd uses it from the next decision on */
	RELOAD_GATEWAY,		/* the same, and gatewayd gets it in BR_CONFIG */
	RELOAD_RESTART_BROKERD,	/* only brokerd's start reads it */
	RELOAD_RESTART_BOTH,	/* gatewayd set itself up with it too */
};

/* A key: up to two members of struct config (a count and its list), compared
 * byte for byte (config_load zeroes the struct first, so equal settings are
 * equal bytes). */
struct reload_key {
	const char *name;
	enum reload_how how;
	const char *effect;	/* RELOAD_APPLY / RELOAD_GATEWAY: what it applies to */
	size_t off[2], size[2];
};

#define M(f) offsetof(struct config, f)
#define S(f) sizeof(((struct config *)0)->f)
#define KEY1(n, h, e, f) { n, h, e, { M(f), 0 }, { S(f), 0 } }
#define KEY2(n, h, e, f, g) { n, h, e, { M(f), M(g) }, { S(f), S(g) } }

/* The environment is the one brokerd started with, so the settings only
 * OPENCLAW_* variables make (handshake timeout, pre-auth sockets) cannot change. */
static const struct reload_key reload_keys[] = {
	KEY2("gateway.controlUi.allowedOrigins", RELOAD_APPLY, "applies to new connects",
	    nallowed_origins, allowed_origins),
	KEY1("gateway.controlUi.dangerouslyAllowHostHeaderOriginFallback", RELOAD_APPLY,
	    "applies to new connects", origin_host_fallback),
	KEY1("gateway.nodes.pairing.autoApproveLocal", RELOAD_APPLY,
	    "applies to new connects", auto_approve_local),
	KEY1("clawgate.pairing.decisions", RELOAD_APPLY, "applies to new calls",
	    decisions_control_socket),
	KEY2("gateway.trustedProxies", RELOAD_GATEWAY, "applies to new connections",
	    ntrusted_proxies, trusted_proxies),
	KEY1("gateway.allowRealIpFallback", RELOAD_GATEWAY, "applies to new connections",
	    allow_real_ip_fallback),
	KEY1("clawgate.gatewayctl", RELOAD_GATEWAY, "the Control UI shows it from now on",
	    gatewayctl),
	KEY1("gateway.port", RELOAD_RESTART_BOTH, NULL, port),
	KEY2("gateway.bind", RELOAD_RESTART_BOTH, NULL, nbind, bind),
	KEY1("gateway.tls.enabled", RELOAD_RESTART_BOTH, NULL, tls_enabled),
	KEY1("gateway.tls.certPath", RELOAD_RESTART_BOTH, NULL, tls_cert_path),
	KEY1("gateway.tls.keyPath", RELOAD_RESTART_BOTH, NULL, tls_key_path),
	KEY1("gateway.controlUi.root", RELOAD_RESTART_BOTH, NULL, ui_root),
	KEY2("clawgate.relay", RELOAD_RESTART_BOTH, NULL, relay, relay_url),
	KEY1("gateway.auth.mode", RELOAD_RESTART_BROKERD, NULL, auth_mode),
};

void
reload_init(const char *config_path, const char *control_socket, int socket_is_default)
{
	reload_ctx.config_path = config_path != NULL ? xstrdup(config_path) : NULL;
	reload_ctx.control_socket = xstrdup(control_socket);
	reload_ctx.socket_is_default = socket_is_default;
}

void
reload_free(void)
{
	free(reload_ctx.config_path);
	free(reload_ctx.control_socket);
	memset(&reload_ctx, 0, sizeof(reload_ctx));
}

static int
reload_differs(const struct reload_key *k, const struct config *a, const struct config *b)
{
	for (int i = 0; i < 2; i++)
		if (k->size[i] != 0 && memcmp((const char *)a + k->off[i],
		    (const char *)b + k->off[i], k->size[i]) != 0)
			return 1;
	return 0;
}

static void
reload_copy(const struct reload_key *k, struct config *to, const struct config *from)
{
	for (int i = 0; i < 2; i++)
		if (k->size[i] != 0)
			memcpy((char *)to + k->off[i], (const char *)from + k->off[i], k->size[i]);
}

/* Whether a secret configured (in the file or the environment) changed: one
 * that came from the state directory stays unless one is configured now. */
static int
reload_secret_differs(const char *now, enum secret_source src, const char *next)
{
	if (src != SECRET_SOURCE_CONFIG && src != SECRET_SOURCE_ENV)
		return next != NULL;
	return next == NULL || strcmp(now, next) != 0;
}

static void
reload_needs_restart(const char *key, enum reload_how how)
{
	log_warnx("reload: %s changed: restart %s (systemctl restart %s) for it to take "
	    "effect; the running value stays in use until then", key,
	    how == RELOAD_RESTART_BOTH ? "brokerd and gatewayd" : "brokerd",
	    how == RELOAD_RESTART_BOTH ? "brokerd gatewayd" : "brokerd");
}

/* gatewayd's share of what was applied. */
static void
reload_tell_gateways(const struct config *cfg)
{
	struct proto_br_config m;

	memset(&m, 0, sizeof(m));
	m.ntrusted_proxies = cfg->ntrusted_proxies;
	memcpy(m.trusted_proxies, cfg->trusted_proxies, sizeof(m.trusted_proxies));
	m.allow_real_ip_fallback = (uint8_t)cfg->allow_real_ip_fallback;
	memcpy(m.gatewayctl, cfg->gatewayctl, sizeof(m.gatewayctl));
	gwlink_push(PROTO_BR_CONFIG, &m);
}

void
reload_run(struct broker *br)
{
	struct config *cfg = br->cfg, next;
	unsigned applied = 0, waiting = 0, gateway = 0;
	int n;

	log_info("reload: reading the configuration again");
	if ((n = config_load(&next, reload_ctx.config_path)) > 0) {
		log_warnx("reload: %d problem%s in the configuration (above): kept the running "
		    "configuration, nothing changed; fix %s (check with: brokerd --check-config), "
		    "then reload again (systemctl reload brokerd)", n, n == 1 ? "" : "s",
		    n == 1 ? "it" : "them");
		config_free(&next);
		return;
	}
	config_gatewayctl_default(&next, reload_ctx.control_socket, reload_ctx.socket_is_default);
	for (size_t i = 0; i < sizeof(reload_keys) / sizeof(reload_keys[0]); i++) {
		const struct reload_key *k = &reload_keys[i];

		if (!reload_differs(k, cfg, &next))
			continue;
		if (k->how == RELOAD_RESTART_BROKERD || k->how == RELOAD_RESTART_BOTH) {
			reload_needs_restart(k->name, k->how);
			waiting++;
			continue;
		}
		reload_copy(k, cfg, &next);
		log_info("reload: %s changed: %s", k->name, k->effect);
		applied++;
		gateway += k->how == RELOAD_GATEWAY;
	}
	/* brokerd owns the secrets, but a new one would have to end the sessions
	 * that proved the old one: that is what a restart does. */
	if (reload_secret_differs(cfg->token, cfg->token_source, next.token)) {
		reload_needs_restart("gateway.auth.token", RELOAD_RESTART_BROKERD);
		waiting++;
	}
	if (reload_secret_differs(cfg->password, cfg->password_source, next.password)) {
		reload_needs_restart("gateway.auth.password", RELOAD_RESTART_BROKERD);
		waiting++;
	}
	if (gateway > 0)
		reload_tell_gateways(cfg);
	config_free(&next);
	if (applied == 0 && waiting == 0)
		log_info("reload: the configuration has not changed");
	else
		log_info("reload: %u change%s applied, %u waiting for a restart; every session "
		    "stays", applied, applied == 1 ? "" : "s", waiting);
}
