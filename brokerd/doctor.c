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
doctor_fix_other(char *out, size_t n, const struct doctor_ctx *x, const struct refusals_entry *e)
{
	snprintf(out, n, "read the reason above and brokerd's log (journalctl -u brokerd) "
	    "around that time");
}

/* Refusal kinds, matched on details.code (a trailing '*' matches a prefix), else
 * on the error code; the first row that matches explains. */
static const struct {
	const char *code;
	int by_error;		/* code is the error's, not the details' */
	const char *kind;
	const char *cause;
	doctor_fix_fn *fix;
} doctor_kinds[] = {
	{ "PAIRING_REQUIRED", 0, "pairing-required", "the device is not approved for what it "
	    "asks: a new device, or a role, scope or metadata upgrade", doctor_fix_pairing },
	{ "AUTH_TOKEN_MISSING", 0, "token-missing", "the client sent no shared token",
	    doctor_fix_secret },
	{ "AUTH_TOKEN_MISMATCH", 0, "token-mismatch", "the client sent a shared token that is "
	    "not this gateway's (an old one, or another gateway's)", doctor_fix_secret },
	{ "AUTH_PASSWORD_MISSING", 0, "password-missing", "the client sent no password",
	    doctor_fix_secret },
	{ "AUTH_PASSWORD_MISMATCH", 0, "password-mismatch", "the client sent a wrong password",
	    doctor_fix_secret },
	{ "AUTH_*_NOT_CONFIGURED", 0, "secret-not-configured", "", doctor_fix_not_configured },
	{ "AUTH_DEVICE_TOKEN_MISMATCH", 0, "stale-device-token", "the device offered a device "
	    "token this gateway does not hold for it: the device was removed or its token "
	    "rotated or revoked, or the client kept an old token after a reinstall or cleared "
	    "browser data", doctor_fix_stale },
	{ "AUTH_SCOPE_MISMATCH", 0, "scope-mismatch", "the device's token does not cover the "
	    "scopes it asked for", doctor_fix_scope },
	{ "AUTH_RATE_LIMITED", 0, "rate-limited", "too many failed authentication attempts "
	    "from this address", doctor_fix_rate },
	{ "CONTROL_UI_ORIGIN_NOT_ALLOWED", 0, "origin-not-allowed", "the Control UI was opened "
	    "from a web origin this gateway does not allow", doctor_fix_origin },
	{ "CONTROL_UI_DEVICE_IDENTITY_REQUIRED", 0, "control-ui-insecure-context", "the Control "
	    "UI came without a device identity: browsers give it one only in a secure context "
	    "(https://, or http://localhost), so it was opened over plain http at another "
	    "address", doctor_fix_insecure },
	{ "DEVICE_IDENTITY_REQUIRED", 0, "device-identity-required", "a client without a device "
	    "identity came without the shared secret", doctor_fix_identity },
	{ "DEVICE_AUTH_*", 0, "device-proof-failed", "the device's signed proof failed",
	    doctor_fix_proof },
	{ "PROTOCOL_MISMATCH", 0, "protocol-mismatch", "the client speaks another protocol "
	    "version", doctor_fix_protocol },
	{ "UNAVAILABLE", 1, "pairing-limited", "no new pairing request could be made: too many "
	    "from this address, or too many pending", doctor_fix_pair_limit },
	{ "", 1, "other", "", doctor_fix_other },
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

static size_t
doctor_kind(const struct refusals_entry *e)
{
	size_t i, n = sizeof(doctor_kinds) / sizeof(doctor_kinds[0]);

	for (i = 0; i + 1 < n; i++)
		if (doctor_code_matches(doctor_kinds[i].code, doctor_kinds[i].by_error ?
		    e->error_code : e->details_code))
			break;
	return i;
}

static void
doctor_problem(struct pbuf *b, const struct doctor_ctx *x, const struct refusals_entry *e,
    size_t kind, size_t count, int64_t first_ms)
{
	char fix[DOCTOR_TEXT_MAX];

	doctor_kinds[kind].fix(fix, sizeof(fix), x, e);
	pval_obj_begin(b);
	pval_kv_str(b, "kind", doctor_kinds[kind].kind);
	pval_kv_int(b, "count", (int64_t)count);
	pval_kv_int(b, "firstAtMs", first_ms);
	pval_kv_int(b, "lastAtMs", e->at_ms);
	pval_kv_str(b, "address", e->addr);
	pval_kv_bool(b, "viaProxy", e->proxied);
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
		groups[g].count++;
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
	pval_kv_int(b, "refusalsKept", (int64_t)refusals_count());
	pval_kv_int(b, "refusalsCapacity", REFUSALS_MAX);
	doctor_problems(b, &x, device_id);
	doctor_install(b, &x);
	pval_obj_end(b);
}
