#include "brokerd/dashboard.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>

#include "proto/pval.h"

/* "https://[" + an address + "]:65535/#token=" + a token with every byte
 * percent-encoded. */
#define DASHBOARD_URL_MAX (32 + PROTO_ADDR_MAX + 3 * PROTO_TOKEN_MAX)

/* The host a browser on this machine reaches gatewayd at, for URLs: 127.0.0.1
 * when gatewayd listens on it or on every IPv4 address, [::1] likewise for IPv6,
 * else the one address it listens on (in brackets if IPv6). *wildcard tells
 * whether it listens on every address, so that other hosts would use another. */
static void
dashboard_host(const struct config *cfg, char *host, size_t hostsz, int *wildcard)
{
	const char *v4 = NULL, *v6 = NULL, *other = NULL;

	*wildcard = 0;
	for (uint32_t i = 0; i < cfg->nbind; i++) {
		const char *a = cfg->bind[i];
		int any = strcmp(a, "0.0.0.0") == 0 || strcmp(a, "::") == 0;

		*wildcard |= any;
		if (strcmp(a, "127.0.0.1") == 0 || strcmp(a, "0.0.0.0") == 0)
			v4 = v4 ? v4 : "127.0.0.1";
		else if (strcmp(a, "::1") == 0 || strcmp(a, "::") == 0)
			v6 = v6 ? v6 : "[::1]";
		else if (other == NULL)
			other = a;
	}
	if (v4 != NULL || v6 != NULL)
		snprintf(host, hostsz, "%s", v4 != NULL ? v4 : v6);
	else if (other != NULL && strchr(other, ':') != NULL)
		snprintf(host, hostsz, "[%s]", other);
	else
		snprintf(host, hostsz, "%s", other != NULL ? other : "127.0.0.1");
}

/* Appends s to url percent-encoded: all but RFC 3986's unreserved characters,
 * which is what the page's decodeURIComponent undoes. */
static void
dashboard_encode(char *url, size_t urlsz, const char *s)
{
	static const char unreserved[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-._~";
	size_t len = strlen(url);

	for (; *s != '\0' && len + 4 < urlsz; s++) {
		if (strchr(unreserved, *s) != NULL)
			url[len++] = *s;
		else
			len += (size_t)snprintf(url + len, urlsz - len, "%%%02X", (unsigned char)*s);
	}
	url[len] = '\0';
}

static void
dashboard_notes(struct pbuf *b, const struct config *cfg, const char *host, int wildcard,
    size_t gateways)
{
	char note[PROTO_MESSAGE_MAX];

	pval_key(b, "notes");
	pval_arr_begin(b);
	if (cfg->auth_mode == AUTH_MODE_PASSWORD)
		pval_str(b, "gateway.auth.mode is \"password\": a password does not belong in a "
		    "URL (it stays in the browser's history), so this one carries none: open it "
		    "and enter the gateway password (gateway.auth.password or "
		    "OPENCLAW_GATEWAY_PASSWORD) where the page asks for the token.");
	else if (cfg->auth_mode == AUTH_MODE_NONE)
		pval_str(b, "gateway.auth.mode is \"none\": the gateway asks for no token, so the "
		    "URL carries none; a new browser still needs approval (gatewayctl devices list).");
	if (wildcard) {
		snprintf(note, sizeof(note), "gateway.bind listens on every address: the URL uses "
		    "%s, for a browser on this host; from another machine, use this host's "
		    "address in its place.", host);
		pval_str(b, note);
	}
	if (cfg->tls_enabled) {
		snprintf(note, sizeof(note), "gateway.tls is on: the browser checks the "
		    "certificate against %s; if the certificate names this host otherwise, use "
		    "that name in the URL.", host);
		pval_str(b, note);
	}
	if (gateways == 0)
		pval_str(b, "No gatewayd is connected to brokerd: the page loads once gatewayd "
		    "runs (systemctl start gatewayd.socket, or start gatewayd).");
	pval_arr_end(b);
}

void
dashboard_pval(struct pbuf *b, const struct config *cfg, size_t gateways)
{
	char host[PROTO_ADDR_MAX + 3], http_url[DASHBOARD_URL_MAX], ws_url[DASHBOARD_URL_MAX];
	char url[DASHBOARD_URL_MAX], assumes[PROTO_MESSAGE_MAX + PATH_MAX];
	int wildcard, with_token = cfg->auth_mode == AUTH_MODE_TOKEN && cfg->token != NULL;

	dashboard_host(cfg, host, sizeof(host), &wildcard);
	snprintf(http_url, sizeof(http_url), "%s://%s:%u/", cfg->tls_enabled ? "https" : "http",
	    host, (unsigned)cfg->port);
	snprintf(ws_url, sizeof(ws_url), "%s://%s:%u", cfg->tls_enabled ? "wss" : "ws", host,
	    (unsigned)cfg->port);
	snprintf(url, sizeof(url), "%s", http_url);
	if (with_token) {
		snprintf(url + strlen(url), sizeof(url) - strlen(url), "#token=");
		dashboard_encode(url, sizeof(url), cfg->token);
	}
	/* gatewayd may listen elsewhere, and brokerd cannot see where. */
	snprintf(assumes, sizeof(assumes), "The address and port are those of brokerd's "
	    "configuration (%s: gateway.bind, gateway.port, OPENCLAW_GATEWAY_PORT); a gatewayd "
	    "started with --port, or by systemd socket activation (gatewayd.socket), listens "
	    "where it was told instead: then use that port.", cfg->path ? cfg->path : "defaults");
	pval_obj_begin(b);
	pval_kv_str(b, "url", url);
	pval_kv_str(b, "httpUrl", http_url);
	pval_kv_str(b, "wsUrl", ws_url);
	pval_kv_int(b, "port", cfg->port);
	pval_kv_str(b, "authMode", config_auth_mode_name(cfg->auth_mode));
	pval_kv_bool(b, "tokenIncluded", with_token);
	pval_kv_int(b, "gatewaysConnected", (int64_t)gateways);
	dashboard_notes(b, cfg, host, wildcard, gateways);
	pval_kv_str(b, "assumes", assumes);
	pval_obj_end(b);
	OPENSSL_cleanse(url, sizeof(url));
}
