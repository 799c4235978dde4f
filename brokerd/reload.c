#include "brokerd/reload.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brokerd/broker.h"
#include "brokerd/config.h"
#include "brokerd/gwlink.h"
#include "brokerd/problem.h"
#include "brokerd/tlscert.h"
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
	RELOAD_SKIP,		/* another key's line says what the change does */
};

/* For a key whose change gatewayd applies only within what it set itself up
 * with at start: the how of this change (the key's own, RELOAD_SKIP, or
 * RELOAD_RESTART_BOTH with why it needs one in *why). */
typedef enum reload_how (*reload_judge)(const struct config *now, const struct config *next,
    const char **why);

/* A key: up to two members of struct config (a count and its list), compared
 * byte for byte (config_load zeroes the struct first, so equal settings are
 * equal bytes). */
struct reload_key {
	const char *name;
	enum reload_how how;
	const char *effect;	/* RELOAD_APPLY / RELOAD_GATEWAY: what it applies to */
	size_t off[2], size[2];
	reload_judge judge;	/* NULL: how, always */
};

#define M(f) offsetof(struct config, f)
#define S(f) sizeof(((struct config *)0)->f)
#define KEY1(n, h, e, f) { n, h, e, { M(f), 0 }, { S(f), 0 }, NULL }
#define KEY2(n, h, e, f, g) { n, h, e, { M(f), M(g) }, { S(f), S(g) }, NULL }
#define KEY1J(n, h, e, f, j) { n, h, e, { M(f), 0 }, { S(f), 0 }, j }
#define KEY2J(n, h, e, f, g, j) { n, h, e, { M(f), M(g) }, { S(f), S(g) }, j }

/* gateway.tls.autoGenerate, as tls_auto: whether the generated pair or
 * certPath and keyPath serve. TLS turned on or off is gateway.tls.enabled's
 * line; switching between the two sources needs gatewayd's start. */
static enum reload_how
reload_judge_tls_source(const struct config *now, const struct config *next, const char **why)
{
	if (now->tls_enabled != next->tls_enabled)
		return RELOAD_SKIP;
	*why = next->tls_auto ? "from certPath and keyPath to the generated certificate" :
	    "from the generated certificate to certPath and keyPath";
	return RELOAD_RESTART_BOTH;
}

/* certPath, keyPath: gatewayd loads other files for new connections, unless
 * TLS or its source changed (those keys' lines say so). */
static enum reload_how
reload_judge_tls_files(const struct config *now, const struct config *next, const char **why)
{
	if (now->tls_enabled != next->tls_enabled || now->tls_auto != next->tls_auto)
		return RELOAD_SKIP;
	return RELOAD_GATEWAY;
}

/* clawgate.relay: gatewayd's sandbox admits TCP sockets only in relay mode,
 * and connects to the upstream port it started with only. */
static enum reload_how
reload_judge_relay(const struct config *now, const struct config *next, const char **why)
{
	if (now->relay.port == 0)
		*why = "relay mode turned on: gatewayd's sandbox admits TCP sockets to the "
		    "upstream only in relay mode";
	else if (next->relay.port == 0)
		*why = "relay mode turned off";
	else if (now->relay.port != next->relay.port)
		*why = "the upstream's port: gatewayd's sandbox connects to the port it started "
		    "with only";
	else
		return RELOAD_GATEWAY;
	return RELOAD_RESTART_BOTH;
}

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
	KEY1J("gateway.tls.autoGenerate", RELOAD_RESTART_BOTH, NULL, tls_auto,
	    reload_judge_tls_source),
	KEY1J("gateway.tls.certPath", RELOAD_GATEWAY, "gatewayd loads it for new connections",
	    tls_cert_path, reload_judge_tls_files),
	KEY1J("gateway.tls.keyPath", RELOAD_GATEWAY, "gatewayd loads it for new connections",
	    tls_key_path, reload_judge_tls_files),
	KEY1("gateway.controlUi.root", RELOAD_RESTART_BOTH, NULL, ui_root),
	KEY2J("clawgate.relay", RELOAD_GATEWAY, "applies to the sessions relayed from now on",
	    relay, relay_url, reload_judge_relay),
	KEY1("clawgate.relay.guard", RELOAD_APPLY, "gatewayctl relay check and doctor report "
	    "it from now on", relay_guard),
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
reload_needs_restart(const char *key, enum reload_how how, const char *why)
{
	log_warnx("reload: %s changed%s%s%s: restart %s (systemctl restart %s) for it to take "
	    "effect; the running value stays in use until then", key, why != NULL ? " (" : "",
	    why != NULL ? why : "", why != NULL ? ")" : "",
	    how == RELOAD_RESTART_BOTH ? "brokerd and gatewayd" : "brokerd",
	    how == RELOAD_RESTART_BOTH ? "brokerd gatewayd" : "brokerd");
}

/*
 * The certificate new connections get, while TLS and its source stay as they
 * are (gateway.tls.enabled and autoGenerate's lines say otherwise): gatewayd
 * reads certPath and keyPath again itself, as the account it runs as (brokerd,
 * confined to its state dir, cannot read them); the generated pair is read
 * again here from the state dir, where an admin may have replaced it. Returns
 * 1 if gatewayd has to be told, and counts a new generated pair in *applied.
 */
static int
reload_tls(struct broker *br, struct config *next, unsigned *applied)
{
	struct config *cfg = br->cfg;
	size_t problems = problem_count();
	char *swap;

	if (!cfg->tls_enabled || cfg->tls_enabled != next->tls_enabled ||
	    cfg->tls_auto != next->tls_auto)
		return 0;
	if (!cfg->tls_auto) {
		log_info("reload: gatewayd loads the certificate %s and the key %s again for new "
		    "connections, also if they were replaced in place; its log says which "
		    "certificate it serves (journalctl -u gatewayd)", cfg->tls_cert_path,
		    cfg->tls_key_path);
		return 1;
	}
	tlscert_read(next, br->state_fd, br->state_dir);
	if (next->tls_cert_der == NULL) {
		if (problem_count() != problems)
			log_warnx("reload: kept the running self-signed certificate (SHA-256 "
			    "fingerprint %s) for new connections: fix the problem above, then "
			    "reload again (systemctl reload brokerd)", cfg->tls_fingerprint);
		else
			log_warnx("reload: %s/%s and %s/%s are gone: kept the running self-signed "
			    "certificate (SHA-256 fingerprint %s) for new connections; put them "
			    "back, or restart brokerd to have a new pair generated (systemctl "
			    "restart brokerd)", br->state_dir, TLSCERT_CERT_FILE, br->state_dir,
			    TLSCERT_KEY_FILE, cfg->tls_fingerprint);
		return 0;
	}
	if (strcmp(next->tls_fingerprint, cfg->tls_fingerprint) == 0 &&
	    strcmp(next->tls_key_der, cfg->tls_key_der) == 0)
		return 0;
	/* The running pair goes with next (config_free wipes the key). */
	swap = cfg->tls_cert_der, cfg->tls_cert_der = next->tls_cert_der,
	    next->tls_cert_der = swap;
	swap = cfg->tls_key_der, cfg->tls_key_der = next->tls_key_der, next->tls_key_der = swap;
	memcpy(cfg->tls_fingerprint, next->tls_fingerprint, sizeof(cfg->tls_fingerprint));
	memcpy(cfg->tls_not_after, next->tls_not_after, sizeof(cfg->tls_not_after));
	log_info("reload: the self-signed certificate %s/%s changed: new connections get it "
	    "(SHA-256 fingerprint %s, valid until %s); sessions keep theirs", br->state_dir,
	    TLSCERT_CERT_FILE, cfg->tls_fingerprint, cfg->tls_not_after);
	(*applied)++;
	return 1;
}

/* gatewayd's share of the running configuration after a reload. */
static void
reload_tell_gateways(const struct config *cfg)
{
	struct proto_br_config m;

	memset(&m, 0, sizeof(m));
	m.ntrusted_proxies = cfg->ntrusted_proxies;
	memcpy(m.trusted_proxies, cfg->trusted_proxies, sizeof(m.trusted_proxies));
	m.allow_real_ip_fallback = (uint8_t)cfg->allow_real_ip_fallback;
	memcpy(m.gatewayctl, cfg->gatewayctl, sizeof(m.gatewayctl));
	m.tls_enabled = (uint8_t)cfg->tls_enabled;
	if (cfg->tls_auto) {
		snprintf(m.tls_cert_der, sizeof(m.tls_cert_der), "%s", cfg->tls_cert_der);
		snprintf(m.tls_key_der, sizeof(m.tls_key_der), "%s", cfg->tls_key_der);
	} else {
		memcpy(m.tls_cert_path, cfg->tls_cert_path, sizeof(m.tls_cert_path));
		memcpy(m.tls_key_path, cfg->tls_key_path, sizeof(m.tls_key_path));
	}
	m.relay = cfg->relay;
	gwlink_push(PROTO_BR_CONFIG, &m);
	explicit_bzero(m.tls_key_der, sizeof(m.tls_key_der));
}

void
reload_run(struct broker *br)
{
	struct config *cfg = br->cfg, next;
	unsigned applied = 0, waiting = 0, gateway = 0;
	const char *why;
	enum reload_how how;
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
		why = NULL;
		how = k->judge != NULL ? k->judge(cfg, &next, &why) : k->how;
		if (how == RELOAD_SKIP)
			continue;
		if (how == RELOAD_RESTART_BROKERD || how == RELOAD_RESTART_BOTH) {
			reload_needs_restart(k->name, how, why);
			waiting++;
			continue;
		}
		reload_copy(k, cfg, &next);
		log_info("reload: %s changed: %s", k->name, k->effect);
		applied++;
		gateway += how == RELOAD_GATEWAY;
	}
	/* brokerd owns the secrets, but a new one would have to end the sessions
	 * that proved the old one: that is what a restart does. */
	if (reload_secret_differs(cfg->token, cfg->token_source, next.token)) {
		reload_needs_restart("gateway.auth.token", RELOAD_RESTART_BROKERD, NULL);
		waiting++;
	}
	if (reload_secret_differs(cfg->password, cfg->password_source, next.password)) {
		reload_needs_restart("gateway.auth.password", RELOAD_RESTART_BROKERD, NULL);
		waiting++;
	}
	gateway += reload_tls(br, &next, &applied);
	if (gateway > 0)
		reload_tell_gateways(cfg);
	config_free(&next);
	if (applied == 0 && waiting == 0)
		log_info("reload: the configuration has not changed");
	else
		log_info("reload: %u change%s applied, %u waiting for a restart; every session "
		    "stays", applied, applied == 1 ? "" : "s", waiting);
}
