#include "gatewayd/reconfig.h"

#include <stdint.h>
#include <string.h>

#include "common/ipaddr.h"
#include "common/log.h"
#include "gatewayd/gatewayd.h"
#include "gatewayd/tls.h"

static int
reconfig_absolute(const char *path)
{
	return path[0] == '/';
}

/* Either both paths (absolute) or a generated pair, never both, and nothing
 * without TLS: what brokerd's checked gateway.tls becomes. */
static int
reconfig_tls_ok(const struct proto_br_config *c)
{
	int files = reconfig_absolute(c->tls_cert_path) && reconfig_absolute(c->tls_key_path);
	int generated = c->tls_cert_der[0] != '\0' && c->tls_key_der[0] != '\0';
	int none = c->tls_cert_path[0] == '\0' && c->tls_key_path[0] == '\0' &&
	    c->tls_cert_der[0] == '\0' && c->tls_key_der[0] == '\0';

	if (c->tls_enabled == 0)
		return none;
	if (c->tls_enabled != 1)
		return 0;
	return (files && c->tls_cert_der[0] == '\0' && c->tls_key_der[0] == '\0') ||
	    (generated && c->tls_cert_path[0] == '\0' && c->tls_key_path[0] == '\0');
}

/* Off: all zero (proto_decode zeroes what a value leaves unused). On: a
 * numeric address, the upgrade's Host and an identity, as brokerd checked. */
static int
reconfig_relay_ok(const struct proto_relay *r)
{
	static const struct proto_relay off;
	uint8_t a[16];

	if (r->port == 0)
		return memcmp(r, &off, sizeof(off)) == 0;
	return ipaddr_parse(r->addr, a) == 0 && r->host[0] != '\0' &&
	    r->user_header[0] != '\0' && r->user[0] != '\0' &&
	    ipaddr_parse(r->client_ip_placeholder, a) == 0;
}

const char *
reconfig_check(const struct proto_br_config *c)
{
	if (c->gatewayctl[0] == '\0')
		return "no gatewayctl command";
	if (c->allow_real_ip_fallback > 1)
		return "allow_real_ip_fallback is neither 0 nor 1";
	if (!reconfig_tls_ok(c))
		return "TLS settings that are neither two certificate files nor a generated pair";
	if (!reconfig_relay_ok(&c->relay))
		return "relay settings brokerd does not make";
	return NULL;
}

/*
 * clawgate.relay for the sessions relayed from now on: within relay mode and
 * the upstream port gatewayd started with, which its sandbox was set up for
 * (seccomp admits TCP sockets only in relay mode, Landlock connects to that
 * one port only). Each session reads the settings when it connects upstream.
 */
static void
reconfig_relay(const struct proto_relay *next)
{
	struct proto_relay *now = &gatewayd.settings.relay;
	const char *why = NULL;

	if (memcmp(now, next, sizeof(*now)) == 0)
		return;
	if (now->port == 0)
		why = "relay mode turned on";
	else if (next->port == 0)
		why = "relay mode turned off";
	else if (next->port != now->port)
		why = "another upstream port, which gatewayd's sandbox does not reach";
	if (why != NULL) {
		log_warnx("clawgate.relay changed (%s): gatewayd keeps relaying as it started "
		    "until it restarts: systemctl restart gatewayd", why);
		return;
	}
	*now = *next;
	log_info("clawgate.relay: new sessions go to the upstream at %s port %u (Host %s, "
	    "%s: %s); sessions already relayed keep theirs", now->addr, now->port, now->host,
	    now->user_header, now->user);
}

void
reconfig_config(const struct proto_br_config *c)
{
	struct proto_br_hello *now = &gatewayd.settings;
	struct tls_source tls = { c->tls_enabled, c->tls_cert_path, c->tls_key_path,
	    c->tls_cert_der, c->tls_key_der };

	now->ntrusted_proxies = c->ntrusted_proxies;
	memcpy(now->trusted_proxies, c->trusted_proxies, sizeof(now->trusted_proxies));
	now->allow_real_ip_fallback = c->allow_real_ip_fallback;
	memcpy(now->gatewayctl, c->gatewayctl, sizeof(now->gatewayctl));
	log_info("brokerd reloaded its configuration: %u trusted prox%s, allowRealIpFallback "
	    "%s, for new connections", c->ntrusted_proxies,
	    c->ntrusted_proxies == 1 ? "y" : "ies", c->allow_real_ip_fallback ? "on" : "off");
	tls_reload(&tls);
	reconfig_relay(&c->relay);
}

void
reconfig_hello(const struct proto_br_hello *before)
{
	struct proto_br_hello *now = &gatewayd.settings;
	struct proto_relay next = now->relay;
	struct tls_source tls;

	tls_source_of_hello(&tls, now);
	tls_reload(&tls);
	/* What the upstream is told about the client's scheme follows the
	 * listeners, which stay as they are. */
	now->tls_enabled = before->tls_enabled;
	now->relay = before->relay;
	reconfig_relay(&next);
}
