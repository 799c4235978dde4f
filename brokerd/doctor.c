#include "brokerd/doctor.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "brokerd/broker.h"
#include "brokerd/gwlink.h"
#include "brokerd/locality.h"
#include "brokerd/refusals.h"
#include "brokerd/secret.h"
#include "common/devcode.h"
#include "proto/pval.h"

#define DOCTOR_TEXT_MAX 1024

/* What an explanation may draw on besides the refusal itself. */
struct doctor_ctx {
	const struct broker *br;
	const char *ctl;		/* how an admin runs gatewayctl here */
	const char *config;		/* the config file, or a phrase for none */
	char secret_where[DOCTOR_TEXT_MAX];
};

typedef void doctor_fix_fn(char *out, size_t n, const struct doctor_ctx *x,
    const struct refusals_entry *e);

static void
doctor_fix_pairing(char *out, size_t n, const struct doctor_ctx *x, const struct refusals_entry *e)
{
	char code[DEVCODE_LEN + 1];

	devcode_format(code, e->device_id);
	if (e->request_id[0] != '\0')
		snprintf(out, n, "if the device shows verification code %s, approve it "
		    "with: %s devices approve %s (see the request first with: %s devices list); "
		    "or refuse it with: %s devices reject %s", code, x->ctl, e->request_id, x->ctl,
		    x->ctl, e->request_id);
	else
		snprintf(out, n, "see the device's request with: %s devices list, then approve it "
		    "with: %s devices approve <requestId>", x->ctl, x->ctl);
}

static void
doctor_fix_secret(char *out, size_t n, const struct doctor_ctx *x, const struct refusals_entry *e)
{
	snprintf(out, n, "the shared secret is %s; give it to the client: paste it in the "
	    "Control UI's settings, or open the URL that `%s dashboard` prints (it carries "
	    "#token=...), or pass --token (--password) to the CLI", x->secret_where, x->ctl);
}

static void
doctor_fix_not_configured(char *out, size_t n, const struct doctor_ctx *x,
    const struct refusals_entry *e)
{
	snprintf(out, n, "this gateway has no shared secret of the kind the client sent: set "
	    "gateway.auth.mode and gateway.auth.token (or gateway.auth.password) in %s and "
	    "restart brokerd", x->config);
}

static void
doctor_fix_stale(char *out, size_t n, const struct doctor_ctx *x, const struct refusals_entry *e)
{
	snprintf(out, n, "remove the device and pair it again: %s devices remove %s; then "
	    "connect the client with the shared token (%s) and approve its new request with: "
	    "%s devices approve <requestId>", x->ctl, e->device_id, x->secret_where, x->ctl);
}

static void
doctor_fix_scope(char *out, size_t n, const struct doctor_ctx *x, const struct refusals_entry *e)
{
	snprintf(out, n, "connect the client with the shared token so that it asks for the "
	    "scope upgrade, and approve it (%s devices list, %s devices approve <requestId>); "
	    "or re-pair: %s devices remove %s", x->ctl, x->ctl, x->ctl, e->device_id);
}

static void
doctor_fix_rate(char *out, size_t n, const struct doctor_ctx *x, const struct refusals_entry *e)
{
	char when[32] = "later";
	time_t t = (time_t)((e->at_ms + (e->retry_after_ms > 0 ? e->retry_after_ms : 0)) / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	snprintf(out, n, "it lifts at %s; meanwhile fix the secret the client sends (the "
	    "shared secret is %s)%s", when, x->secret_where, locality_ip_private_or_loopback(
	    e->addr) ? "; if that address is a reverse proxy's or Docker's NAT gateway rather "
	    "than the client's, list it in gateway.trustedProxies so that clients are told "
	    "apart" : "");
}

static void
doctor_fix_origin(char *out, size_t n, const struct doctor_ctx *x, const struct refusals_entry *e)
{
	snprintf(out, n, "open the Control UI from the gateway's own address, or add \"%s\" to "
	    "gateway.controlUi.allowedOrigins in %s and reload brokerd (systemctl reload "
	    "brokerd)", e->origin[0] != '\0' ? e->origin : "<origin>", x->config);
}

static void
doctor_fix_insecure(char *out, size_t n, const struct doctor_ctx *x, const struct refusals_entry *e)
{
	const struct config *cfg = x->br->cfg;

	if (cfg->tls_enabled)
		snprintf(out, n, "open the Control UI over https://, not http:// (TLS is on), or "
		    "at http://localhost:%u through an SSH tunnel", (unsigned)cfg->port);
	else
		snprintf(out, n, "turn on TLS: set gateway.tls.enabled to true in %s (with "
		    "gateway.tls.autoGenerate brokerd makes the certificate), restart, and open "
		    "https://<host>:%u; or reach it at http://localhost:%u through an SSH tunnel",
		    x->config, (unsigned)cfg->port, (unsigned)cfg->port);
}

static void
doctor_fix_identity(char *out, size_t n, const struct doctor_ctx *x, const struct refusals_entry *e)
{
	snprintf(out, n, "a client without a device identity needs the shared secret, which is "
	    "%s: give it to the client (--token, or the Control UI's settings)", x->secret_where);
}

static void
doctor_fix_proof(char *out, size_t n, const struct doctor_ctx *x, const struct refusals_entry *e)
{
	snprintf(out, n, "check the client's clock (a signature too old or from the future is "
	    "refused); if it persists, clear the client's device identity and pair it again "
	    "(%s devices approve <requestId> once it asks)", x->ctl);
}

static void
doctor_fix_protocol(char *out, size_t n, const struct doctor_ctx *x, const struct refusals_entry *e)
{
	snprintf(out, n, "update the client (or clawgate): this gateway speaks protocol 4");
}

static void
doctor_fix_pair_limit(char *out, size_t n, const struct doctor_ctx *x,
    const struct refusals_entry *e)
{
	snprintf(out, n, "approve or reject the pending requests (%s devices list), then let "
	    "the client retry", x->ctl);
}

static void
doctor_fix_proxy_untrusted(char *out, size_t n, const struct doctor_ctx *x,
    const struct refusals_entry *e)
{
	snprintf(out, n, "if %s is your reverse proxy, or Docker's NAT gateway in front of a "
	    "published port, add \"%s\" to gateway.trustedProxies in %s, then systemctl reload "
	    "brokerd; if it is not, the client itself sent X-Forwarded-For, X-Real-IP or "
	    "Forwarded: connect it without them", e->addr, e->addr, x->config);
}

static void
doctor_fix_proxy_no_client(char *out, size_t n, const struct doctor_ctx *x,
    const struct refusals_entry *e)
{
	snprintf(out, n, "make the proxy at %s append the client's address to "
	    "X-Forwarded-For (nginx: proxy_set_header X-Forwarded-For "
	    "$proxy_add_x_forwarded_for;); a proxy that sends only X-Real-IP needs "
	    "gateway.allowRealIpFallback set to true in %s, then systemctl reload brokerd",
	    e->addr, x->config);
}

static void
doctor_fix_preauth(char *out, size_t n, const struct doctor_ctx *x,
    const struct refusals_entry *e)
{
	snprintf(out, n, "if many clients share %s (a NAT, or a proxy not in "
	    "gateway.trustedProxies), list the proxy in gateway.trustedProxies in %s and "
	    "systemctl reload brokerd; if one client needs more, raise "
	    "OPENCLAW_MAX_PREAUTH_CONNECTIONS_PER_IP in brokerd's environment (now %u) and "
	    "restart brokerd; otherwise something at that address opens sockets without "
	    "authenticating", e->addr, x->config, (unsigned)x->br->cfg->max_preauth_per_ip);
}

static void
doctor_fix_bad_upgrade(char *out, size_t n, const struct doctor_ctx *x,
    const struct refusals_entry *e)
{
	snprintf(out, n, "a reverse proxy in front must pass the WebSocket upgrade (nginx: "
	    "proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header "
	    "Connection \"upgrade\";); without one, update the client: it must send HTTP/1.1, "
	    "Connection: Upgrade, Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key");
}

static void
doctor_fix_timeout(char *out, size_t n, const struct doctor_ctx *x,
    const struct refusals_entry *e)
{
	snprintf(out, n, "a client on a slow link needs more time: raise "
	    "OPENCLAW_HANDSHAKE_TIMEOUT_MS in brokerd's environment (now %u) and restart "
	    "brokerd; a client that never sends a connect is no OpenClaw client: check what "
	    "connects from %s", (unsigned)x->br->cfg->handshake_timeout_ms, e->addr);
}

static void
doctor_fix_bad_connect(char *out, size_t n, const struct doctor_ctx *x,
    const struct refusals_entry *e)
{
	snprintf(out, n, "the reason says what was wrong: update the client to one that speaks "
	    "OpenClaw's gateway protocol 4, or point it at the right port");
}

static void
doctor_fix_other(char *out, size_t n, const struct doctor_ctx *x, const struct refusals_entry *e)
{
	snprintf(out, n, "read the reason above and brokerd's log (journalctl -u brokerd) "
	    "around that time");
}

/* What a row's code is matched against. */
enum doctor_match {
	DOCTOR_BY_DETAILS,	/* brokerd's refusal: details.code */
	DOCTOR_BY_ERROR,	/* brokerd's refusal: the error's code */
	DOCTOR_BY_GATEWAY,	/* gatewayd's own refusal (GW_REFUSED): its kind */
};

/* Refusal kinds, matched on details.code (a trailing '*' matches a prefix), the
 * error code, or gatewayd's kind; the first row that matches explains. */
static const struct {
	const char *code;
	enum doctor_match by;
	const char *kind;
	const char *cause;
	doctor_fix_fn *fix;
} doctor_kinds[] = {
	{ "PAIRING_REQUIRED", DOCTOR_BY_DETAILS,
	    "pairing-required", "the device is not approved for what it "
	    "asks: a new device, or a role, scope or metadata upgrade", doctor_fix_pairing },
	{ "AUTH_TOKEN_MISSING", DOCTOR_BY_DETAILS,
	    "token-missing", "the client sent no shared token",
	    doctor_fix_secret },
	{ "AUTH_TOKEN_MISMATCH", DOCTOR_BY_DETAILS,
	    "token-mismatch", "the client sent a shared token that is "
	    "not this gateway's (an old one, or another gateway's)", doctor_fix_secret },
	{ "AUTH_PASSWORD_MISSING", DOCTOR_BY_DETAILS,
	    "password-missing", "the client sent no password",
	    doctor_fix_secret },
	{ "AUTH_PASSWORD_MISMATCH", DOCTOR_BY_DETAILS,
	    "password-mismatch", "the client sent a wrong password",
	    doctor_fix_secret },
	{ "AUTH_*_NOT_CONFIGURED", DOCTOR_BY_DETAILS,
	    "secret-not-configured", "", doctor_fix_not_configured },
	{ "AUTH_DEVICE_TOKEN_MISMATCH", DOCTOR_BY_DETAILS,
	    "stale-device-token", "the device offered a device "
	    "token this gateway does not hold for it: the device was removed or its token "
	    "rotated or revoked, or the client kept an old token after a reinstall or cleared "
	    "browser data", doctor_fix_stale },
	{ "AUTH_SCOPE_MISMATCH", DOCTOR_BY_DETAILS,
	    "scope-mismatch", "the device's token does not cover the "
	    "scopes it asked for", doctor_fix_scope },
	{ "AUTH_RATE_LIMITED", DOCTOR_BY_DETAILS,
	    "rate-limited", "too many failed authentication attempts "
	    "from this address", doctor_fix_rate },
	{ "CONTROL_UI_ORIGIN_NOT_ALLOWED", DOCTOR_BY_DETAILS,
	    "origin-not-allowed", "the Control UI was opened "
	    "from a web origin this gateway does not allow", doctor_fix_origin },
	{ "CONTROL_UI_DEVICE_IDENTITY_REQUIRED", DOCTOR_BY_DETAILS,
	    "control-ui-insecure-context", "the Control "
	    "UI came without a device identity: browsers give it one only in a secure context "
	    "(https://, or http://localhost), so it was opened over plain http at another "
	    "address", doctor_fix_insecure },
	{ "DEVICE_IDENTITY_REQUIRED", DOCTOR_BY_DETAILS,
	    "device-identity-required", "a client without a device "
	    "identity came without the shared secret", doctor_fix_identity },
	{ "DEVICE_AUTH_*", DOCTOR_BY_DETAILS,
	    "device-proof-failed", "the device's signed proof failed",
	    doctor_fix_proof },
	{ "PROTOCOL_MISMATCH", DOCTOR_BY_DETAILS,
	    "protocol-mismatch", "the client speaks another protocol "
	    "version", doctor_fix_protocol },
	{ PROTO_GWREF_PROXY_UNTRUSTED, DOCTOR_BY_GATEWAY,
	    "untrusted-proxy-headers", "forwarding headers "
	    "(X-Forwarded-For, X-Real-IP, Forwarded) came from an address that is not in "
	    "gateway.trustedProxies: a reverse proxy or Docker's NAT gateway clawgate was not "
	    "told about, or a client sending them itself; gatewayd refused the upgrade (HTTP "
	    "403)", doctor_fix_proxy_untrusted },
	{ PROTO_GWREF_PROXY_NO_CLIENT, DOCTOR_BY_GATEWAY,
	    "proxy-named-no-client", "a trusted proxy's "
	    "forwarding headers named no client address: X-Forwarded-For missing, unparseable, "
	    "or only loopback and trusted proxies; gatewayd refused the upgrade (HTTP 403)",
	    doctor_fix_proxy_no_client },
	{ PROTO_GWREF_PREAUTH_LIMIT, DOCTOR_BY_GATEWAY,
	    "too-many-unauthenticated", "the address held as many "
	    "unauthenticated WebSocket sockets as it may; gatewayd refused another upgrade "
	    "(HTTP 503)", doctor_fix_preauth },
	{ PROTO_GWREF_BAD_UPGRADE, DOCTOR_BY_GATEWAY,
	    "bad-websocket-upgrade", "a WebSocket upgrade request "
	    "that is not RFC 6455's (often a reverse proxy that drops the Upgrade and "
	    "Connection headers or speaks HTTP/1.0 upstream); gatewayd answered with an HTTP "
	    "error", doctor_fix_bad_upgrade },
	{ PROTO_GWREF_HANDSHAKE_TIMEOUT, DOCTOR_BY_GATEWAY,
	    "handshake-timeout", "the client opened a "
	    "WebSocket but sent no connect request within the handshake timeout",
	    doctor_fix_timeout },
	{ PROTO_GWREF_BAD_CONNECT, DOCTOR_BY_GATEWAY,
	    "invalid-connect", "the client's first message was not "
	    "a valid OpenClaw connect request", doctor_fix_bad_connect },
	{ "UNAVAILABLE", DOCTOR_BY_ERROR,
	    "pairing-limited", "no new pairing request could be made: too many "
	    "from this address, or too many pending", doctor_fix_pair_limit },
	{ "", DOCTOR_BY_ERROR, "other", "", doctor_fix_other },
};

static int
doctor_code_matches(const char *pattern, const char *code)
{
	const char *star = strchr(pattern, '*');

	if (star == NULL)
		return strcmp(pattern, code) == 0;
	return strncmp(pattern, code, (size_t)(star - pattern)) == 0 &&
	    strlen(code) >= strlen(star + 1) &&
	    strcmp(code + strlen(code) - strlen(star + 1), star + 1) == 0;
}

#define DOCTOR_NKINDS (sizeof(doctor_kinds) / sizeof(doctor_kinds[0]))

static int
doctor_row_matches(size_t i, const struct refusals_entry *e)
{
	switch (doctor_kinds[i].by) {
	case DOCTOR_BY_DETAILS:
		return !e->by_gateway && doctor_code_matches(doctor_kinds[i].code,
		    e->details_code);
	case DOCTOR_BY_ERROR:
		return !e->by_gateway && doctor_code_matches(doctor_kinds[i].code,
		    e->error_code);
	case DOCTOR_BY_GATEWAY:
		return e->by_gateway && strcmp(doctor_kinds[i].code, e->details_code) == 0;
	}
	return 0;
}

static size_t
doctor_kind(const struct refusals_entry *e)
{
	size_t i;

	for (i = 0; i + 1 < DOCTOR_NKINDS; i++)
		if (doctor_row_matches(i, e))
			break;
	return i;
}

int
doctor_gateway_kind(const char *kind)
{
	for (size_t i = 0; i < DOCTOR_NKINDS; i++)
		if (doctor_kinds[i].by == DOCTOR_BY_GATEWAY && strcmp(doctor_kinds[i].code,
		    kind) == 0)
			return 1;
	return 0;
}

/* A pairing refusal whose device was approved since, and asks for nothing more:
 * worth showing (it explains what the client saw), not worth acting on. */
static int
doctor_resolved(const struct doctor_ctx *x, size_t kind, const struct refusals_entry *e)
{
	return doctor_kinds[kind].fix == doctor_fix_pairing && e->device_id[0] != '\0' &&
	    registry_device_find(x->br->reg, e->device_id) != NULL &&
	    registry_pending_of(x->br->reg, e->device_id) == NULL;
}

static void
doctor_problem(struct pbuf *b, const struct doctor_ctx *x, const struct refusals_entry *e,
    size_t kind, size_t count, int64_t first_ms)
{
	char fix[DOCTOR_TEXT_MAX];
	int resolved = doctor_resolved(x, kind, e);

	if (resolved)
		snprintf(fix, sizeof(fix), "nothing left to do: the device is paired now and has "
		    "no open request");
	else
		doctor_kinds[kind].fix(fix, sizeof(fix), x, e);
	pval_obj_begin(b);
	pval_kv_str(b, "kind", doctor_kinds[kind].kind);
	pval_kv_bool(b, "resolved", resolved);
	pval_kv_int(b, "count", (int64_t)count);
	pval_kv_int(b, "firstAtMs", first_ms);
	pval_kv_int(b, "lastAtMs", e->at_ms);
	pval_kv_str(b, "address", e->addr);
	pval_kv_bool(b, "viaProxy", e->proxied);
	pval_kv_bool(b, "byGatewayd", e->by_gateway);
	pval_kv_str(b, "peer", e->peer);
	pval_kv_str(b, "locality", e->locality);
	pval_kv_str(b, "clientId", e->client_id);
	pval_kv_str(b, "clientMode", e->client_mode);
	pval_kv_str(b, "displayName", e->display_name);
	pval_kv_str(b, "origin", e->origin);
	pval_kv_str(b, "deviceId", e->device_id);
	pval_kv_int(b, "closeCode", e->close_code);
	pval_kv_str(b, "reason", e->reason);
	pval_kv_str(b, "errorCode", e->error_code);
	pval_kv_str(b, "detailsCode", e->details_code);
	pval_kv_str(b, "requestId", e->request_id);
	if (e->retry_after_ms >= 0)
		pval_kv_int(b, "liftsAtMs", e->at_ms + e->retry_after_ms);
	pval_kv_str(b, "cause", doctor_kinds[kind].cause[0] != '\0' ? doctor_kinds[kind].cause :
	    e->reason);
	pval_kv_str(b, "fix", fix);
	pval_obj_end(b);
}

/* One problem per kind, device and address, newest first, with how often it
 * happened and when first within what is kept. */
static void
doctor_problems(struct pbuf *b, const struct doctor_ctx *x, const char *device_id)
{
	static struct {
		const struct refusals_entry *e;		/* the newest */
		size_t kind, count;
		int64_t first_ms;
	} groups[REFUSALS_MAX];
	size_t ngroups = 0, g, n = refusals_count();

	for (size_t i = n; i-- > 0;) {
		const struct refusals_entry *e = refusals_get(i);
		size_t kind = doctor_kind(e);

		if (device_id[0] != '\0' && strcmp(e->device_id, device_id) != 0)
			continue;
		for (g = 0; g < ngroups; g++)
			if (groups[g].kind == kind && strcmp(groups[g].e->device_id,
			    e->device_id) == 0 && strcmp(groups[g].e->addr, e->addr) == 0)
				break;
		if (g == ngroups) {
			groups[ngroups].e = e;
			groups[ngroups].kind = kind;
			groups[ngroups].count = 0;
			ngroups++;
		}
		groups[g].count += e->count;
		groups[g].first_ms = e->at_ms;
	}
	pval_key(b, "problems");
	pval_arr_begin(b);
	for (g = 0; g < ngroups; g++)
		doctor_problem(b, x, groups[g].e, groups[g].kind, groups[g].count,
		    groups[g].first_ms);
	pval_arr_end(b);
}

/* Where the secret in force comes from, as a person finds it. */
static void
doctor_secret_where(struct doctor_ctx *x)
{
	const struct config *cfg = x->br->cfg;
	int pw = cfg->auth_mode == AUTH_MODE_PASSWORD;
	enum secret_source src = pw ? cfg->password_source : cfg->token_source;

	switch (src) {
	case SECRET_SOURCE_CONFIG:
		snprintf(x->secret_where, sizeof(x->secret_where), "gateway.auth.%s in %s",
		    pw ? "password" : "token", x->config);
		break;
	case SECRET_SOURCE_ENV:
		snprintf(x->secret_where, sizeof(x->secret_where), "%s in brokerd's environment",
		    pw ? "OPENCLAW_GATEWAY_PASSWORD" : "OPENCLAW_GATEWAY_TOKEN");
		break;
	case SECRET_SOURCE_FILE:
	case SECRET_SOURCE_GENERATED:
		snprintf(x->secret_where, sizeof(x->secret_where), "in %s/%s (print it with: %s "
		    "dashboard)", x->br->state_dir, SECRET_TOKEN_FILE, x->ctl);
		break;
	default:
		snprintf(x->secret_where, sizeof(x->secret_where), "not set (gateway.auth.mode is "
		    "%s)", config_auth_mode_name(cfg->auth_mode));
		break;
	}
}

/* The relay upstream as gatewayd last found it (brokerd has no network). */
static void
doctor_upstream(struct pbuf *b)
{
	const struct refusals_upstream *u = refusals_upstream();

	pval_key(b, "upstreamState");
	pval_obj_begin(b);
	pval_kv_bool(b, "known", u->known);
	if (u->known) {
		pval_kv_bool(b, "reachable", u->last.reachable);
		pval_kv_int(b, "atMs", u->last.at_ms);
		pval_kv_int(b, "lastOkMs", u->last.last_ok_ms);
		pval_kv_str(b, "error", u->last.error);
		pval_kv_int(b, "reportedAtMs", u->reported_ms);
	}
	pval_obj_end(b);
}

static void
doctor_install(struct pbuf *b, const struct doctor_ctx *x)
{
	const struct broker *br = x->br;
	const struct config *cfg = br->cfg;
	struct stat st;
	size_t links, sessions;
	char mode[8] = "?";

	gwlink_stats(&links, &sessions);
	pval_key(b, "install");
	pval_obj_begin(b);
	/* brokerd runs, so the configuration it runs with passed its checks. */
	pval_kv_str(b, "config", x->config);
	pval_kv_str(b, "authMode", config_auth_mode_name(cfg->auth_mode));
	pval_kv_str(b, "secretSource", config_secret_source_name(cfg->auth_mode ==
	    AUTH_MODE_PASSWORD ? cfg->password_source : cfg->token_source));
	pval_kv_str(b, "secretWhere", x->secret_where);
	pval_kv_str(b, "stateDir", br->state_dir);
	if (fstat(br->state_fd, &st) == 0)
		snprintf(mode, sizeof(mode), "%04o", (unsigned)(st.st_mode & 07777));
	pval_kv_str(b, "stateDirMode", mode);
	pval_kv_bool(b, "stateDirPrivate", mode[0] != '?' && (st.st_mode & 077) == 0);
	pval_kv_int(b, "gateways", (int64_t)links);
	pval_key(b, "bind");
	pval_arr_begin(b);
	for (uint32_t i = 0; i < cfg->nbind; i++)
		pval_str(b, cfg->bind[i]);
	pval_arr_end(b);
	pval_kv_int(b, "port", cfg->port);
	pval_kv_bool(b, "tls", cfg->tls_enabled);
	if (cfg->tls_enabled && cfg->tls_auto)
		pval_kv_str(b, "tlsFingerprintSha256", cfg->tls_fingerprint);
	pval_kv_int(b, "trustedProxies", cfg->ntrusted_proxies);
	/* The shape of gatewayctl status's, which gatewayctl relay check reads. */
	if (cfg->relay.port != 0) {
		pval_key(b, "relay");
		pval_obj_begin(b);
		pval_kv_str(b, "upstream", cfg->relay_url);
		pval_kv_str(b, "addr", cfg->relay.addr);
		pval_kv_int(b, "port", cfg->relay.port);
		pval_kv_str(b, "guard", config_relay_guard_name(cfg->relay_guard));
		doctor_upstream(b);
		pval_obj_end(b);
	}
	pval_obj_end(b);
}

void
doctor_pval(struct pbuf *b, struct broker *br, const char *device_id, int64_t now_ms)
{
	struct doctor_ctx x;

	memset(&x, 0, sizeof(x));
	x.br = br;
	x.ctl = br->cfg->gatewayctl;
	x.config = br->cfg->path != NULL ? br->cfg->path : "the config file (none was read)";
	doctor_secret_where(&x);
	pval_obj_begin(b);
	pval_kv_int(b, "nowMs", now_ms);
	pval_kv_str(b, "deviceId", device_id);
	pval_kv_int(b, "refusalsKept", (int64_t)(refusals_count() - refusals_count_gateway()));
	pval_kv_int(b, "refusalsCapacity", REFUSALS_MAX);
	pval_kv_int(b, "gatewayReportsKept", (int64_t)refusals_count_gateway());
	pval_kv_int(b, "gatewayReportsCapacity", REFUSALS_GATEWAY_MAX);
	pval_kv_int(b, "gatewayReportsDropped", (int64_t)refusals_dropped());
	doctor_problems(b, &x, device_id);
	doctor_install(b, &x);
	pval_obj_end(b);
}
