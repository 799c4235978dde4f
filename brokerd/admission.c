#include "brokerd/admission.h"

#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>

#include "brokerd/authrate.h"
#include "brokerd/broker.h"
#include "brokerd/devproof.h"
#include "brokerd/devtoken.h"
#include "brokerd/locality.h"
#include "brokerd/origin.h"
#include "brokerd/pairing.h"
#include "brokerd/refusal.h"
#include "brokerd/role.h"
#include "brokerd/scopes.h"
#include "brokerd/secret.h"
#include "common/random.h"
#include "proto/pval.h"

#define ADM_PROTOCOL 4
/* How long a client refused for a full pairing queue should wait. */
#define ADM_PAIRING_QUEUE_RETRY_MS 30000

/* Copies between same-sized fields of proto and registry structs. */
#define FIELD_COPY(dst, src)                                                 \
	do {                                                                 \
		_Static_assert(sizeof(dst) == sizeof(src), "field sizes differ"); \
		memcpy((dst), (src), sizeof(dst));                           \
	} while (0)

/* One connect being decided. */
struct adm {
	struct broker *br;
	const struct proto_connect *c;
	struct admission *a;
	const char *nonce;
	int64_t now;
	enum role role;
	int browser;			/* Control UI or webchat */
	enum locality loc;
	enum refusal_auth auth;
	const char *method;		/* set once auth is REFUSAL_AUTH_OK */
	int shared_ok;			/* proved the shared token or password */
	int offered;			/* sent a non-empty shared secret */
	int from_token;			/* the compared secret came in auth.token */
	int shared_wrong;		/* the offered shared secret was compared and wrong */
	char key[DEVPROOF_KEY_LEN + 1];	/* canonical key, once the proof passed */
	uint32_t delay_ms;		/* §4.6 loopback back-off for a refusal */
};

/* The refusal's fields and details buffer, for the refusal_* calls. */
#define ADM_REFUSAL(x) &(x)->a->reject, &(x)->a->details

static int
client_is(const struct proto_connect *c, const char *id)
{
	return strcmp(c->client_id, id) == 0;
}

static void
adm_accept(struct adm *x, const struct proto_scopes *scopes, const char *device_id,
    const char *minted)
{
	struct proto_accept *ac = &x->a->accept;
	uint32_t mask = scopes_mask(scopes);

	x->a->accepted = 1;
	ac->conn = x->c->conn;
	snprintf(ac->role, sizeof(ac->role), "%s", role_name(x->role));
	ac->scopes = *scopes;
	snprintf(ac->method, sizeof(ac->method), "%s", x->method);
	snprintf(ac->device_id, sizeof(ac->device_id), "%s", device_id);
	if (minted != NULL) {
		snprintf(ac->device_token, sizeof(ac->device_token), "%s", minted);
		ac->issued_at_ms = x->now;
	}
	snprintf(ac->recovery_scope, sizeof(ac->recovery_scope), "%s", x->br->reg->recovery_scope);
	if (x->role == ROLE_OPERATOR && scopes_mask_allows(mask, SCOPE_PAIRING)) {
		ac->flags |= PROTO_ACCEPT_PAIRING_EVENTS;
		/* Events reach as far as device.pair.list does (§7.1): a bound session
		 * without operator.admin hears only about its own device. */
		if (device_id[0] == '\0' || scopes_mask_allows(mask, SCOPE_ADMIN))
			ac->flags |= PROTO_ACCEPT_PAIRING_ALL;
	}
	if (device_id[0] != '\0')
		ac->flags |= PROTO_ACCEPT_RECOVERY_MIGRATION;
}

/* A locked scope refuses before its credential is even compared (-1). */
static int
adm_rate_locked(struct adm *x, enum authrate_scope scope)
{
	int64_t wait = authrate_locked(x->br->rl, x->c, scope, x->now);

	if (wait == 0)
		return 0;
	refusal_rate_limited(ADM_REFUSAL(x), wait);
	return -1;
}

/* §4.1 step 6 for modes token, password and none (trusted-proxy is refused at
 * start-up). Token mode compares auth.token, or auth.password when auth.token is
 * absent; password mode the other way round. -1 if refused (rate limited). */
static int
adm_shared_secret(struct adm *x)
{
	const struct proto_connect *c = x->c;
	const struct config *cfg = x->br->cfg;
	int pw = cfg->auth_mode == AUTH_MODE_PASSWORD;
	const char *secret = pw ? cfg->password : cfg->token;
	const char *cand = NULL;
	enum refusal_auth base = pw ? REFUSAL_AUTH_PASSWORD_MISSING : REFUSAL_AUTH_TOKEN_MISSING;

	if (cfg->auth_mode == AUTH_MODE_NONE) {
		x->auth = REFUSAL_AUTH_OK;
		x->method = "none";
		return 0;
	}
	if (c->auth_present & (pw ? PROTO_AUTH_PASSWORD : PROTO_AUTH_TOKEN)) {
		cand = pw ? c->password : c->token;
		x->from_token = !pw;
	} else if (c->auth_present & (pw ? PROTO_AUTH_TOKEN : PROTO_AUTH_PASSWORD)) {
		cand = pw ? c->token : c->password;
		x->from_token = pw;
	}
	x->offered = cand != NULL && cand[0] != '\0';
	if (x->offered && secret != NULL && adm_rate_locked(x, AUTHRATE_SHARED_SECRET) < 0)
		return -1;
	if (secret == NULL)
		x->auth = base + REFUSAL_AUTH_NOT_CONFIGURED;
	else if (!x->offered)
		x->auth = base + REFUSAL_AUTH_MISSING;
	else if (!secret_equal(secret, cand)) {
		x->auth = base + REFUSAL_AUTH_MISMATCH;
		x->shared_wrong = 1;
	} else {
		x->auth = REFUSAL_AUTH_OK;
		x->method = pw ? "password" : "token";
		x->shared_ok = 1;
		authrate_succeeded(x->br->rl, x->c);
	}
	return 0;
}

/* Whose configuration the hint of a shared-secret refusal speaks of. */
static enum refusal_hint
adm_hint(const struct adm *x)
{
	if (strcmp(x->c->client_mode, "cli") == 0)
		return x->loc == LOCALITY_DIRECT_LOCAL ? REFUSAL_HINT_LOCAL_CLI :
		    REFUSAL_HINT_REMOTE_CLI;
	return x->browser ? REFUSAL_HINT_UI : REFUSAL_HINT_OTHER;
}

/*
 * Counts the wrong credentials of a connect whose authentication has failed for
 * good: the shared secret if it was wrong, the device token if one was sent
 * and wrong. A correct device token with too wide scopes is no guess and does
 * not count. -1 if the answer is then AUTH_RATE_LIMITED (a locked Origin).
 */
static int
adm_rate_failed(struct adm *x)
{
	unsigned scopes = 0;
	int64_t wait;

	if (x->shared_wrong && x->auth != REFUSAL_AUTH_SCOPE_MISMATCH)
		scopes |= AUTHRATE_SCOPE_BIT(AUTHRATE_SHARED_SECRET);
	if (x->auth == REFUSAL_AUTH_DEVICE_TOKEN_MISMATCH)
		scopes |= AUTHRATE_SCOPE_BIT(AUTHRATE_DEVICE_TOKEN);
	if (scopes == 0)
		return 0;
	if ((wait = authrate_failed(x->br->rl, x->c, scopes, x->now, &x->delay_ms)) == 0)
		return 0;
	refusal_rate_limited(ADM_REFUSAL(x), wait);
	return -1;
}

/* §4.1 step 10. */
static void
adm_unauthorized(struct adm *x)
{
	/* A device that sent the shared secret in auth.token and no device token may
	 * have a device token stored: tell it to retry with that. */
	int retry = x->auth == REFUSAL_AUTH_TOKEN_MISMATCH && x->c->has_device && x->from_token &&
	    !(x->c->auth_present & PROTO_AUTH_DEVICE_TOKEN);

	refusal_unauthorized(ADM_REFUSAL(x), x->auth, adm_hint(x),
	    x->br->cfg->auth_mode == AUTH_MODE_PASSWORD, retry);
}

/* §4.1 step 7: no device block. */
static void
adm_deviceless(struct adm *x)
{
	static const struct proto_scopes no_scopes;
	const struct proto_connect *c = x->c;
	int ok = x->auth == REFUSAL_AUTH_OK;
	int no_origin = c->origin[0] == '\0';
	int local = x->loc == LOCALITY_DIRECT_LOCAL;
	int admin_cli;

	if (!ok && adm_rate_failed(x) < 0)
		return;
	/* OpenClaw's own backend client on this host keeps its scopes (§4.4). */
	if (client_is(c, "gateway-client") && strcmp(c->client_mode, "backend") == 0 && local &&
	    ok && no_origin) {
		adm_accept(x, &c->scopes, "", NULL);
		return;
	}
	if (client_is(c, "openclaw-control-ui") || client_is(c, "openclaw-tui")) {
		refusal_invalid(ADM_REFUSAL(x), "control ui requires device identity (use HTTPS or "
		    "localhost secure context)", "CONTROL_UI_DEVICE_IDENTITY_REQUIRED", NULL);
		return;
	}
	if (x->role == ROLE_OPERATOR && ok) {
		/* §4.4: only the admin CLI on this host keeps its requested scopes; any
		 * other device-less operator gets none. */
		admin_cli = client_is(c, "cli") && strcmp(c->client_mode, "cli") == 0 &&
		    x->shared_ok && no_origin && local;
		adm_accept(x, admin_cli ? &c->scopes : &no_scopes, "", NULL);
		return;
	}
	if (!ok && x->offered) {
		adm_unauthorized(x);
		return;
	}
	refusal_identity_required(ADM_REFUSAL(x));
}

/* §4.1 step 9: the shared secret failed but the device is present (d: its
 * record, if any). The candidate is auth.deviceToken, else auth.token (bootstrap
 * tokens, i.e. setup codes, are not supported and are ignored). -1 if refused
 * (rate limited). */
static int
adm_device_credential(struct adm *x, struct reg_device *d)
{
	const struct proto_connect *c = x->c;
	const char *cand;
	int explicit;
	enum devtoken_result r;

	if ((c->auth_present & PROTO_AUTH_DEVICE_TOKEN) && c->device_token[0] != '\0') {
		cand = c->device_token;
		explicit = 1;
	} else if ((c->auth_present & PROTO_AUTH_TOKEN) && c->token[0] != '\0') {
		cand = c->token;
		explicit = 0;
	} else {
		return 0;
	}
	if (adm_rate_locked(x, AUTHRATE_DEVICE_TOKEN) < 0)
		return -1;
	r = d != NULL ? devtoken_verify(x->br->reg, d, x->role, cand, &c->scopes, x->now) :
	    DEVTOKEN_MISMATCH;
	if (r == DEVTOKEN_OK) {
		x->auth = REFUSAL_AUTH_OK;
		x->method = "device-token";
	} else if (r == DEVTOKEN_SCOPE_MISMATCH) {
		x->auth = REFUSAL_AUTH_SCOPE_MISMATCH;
	} else if (explicit) {
		x->auth = REFUSAL_AUTH_DEVICE_TOKEN_MISMATCH;
	}
	/* A shared secret that is not a device token either keeps its own failure. */
	return 0;
}

/* Whether a platform or device family changed since approval (§4.5), compared
 * in the v3 normal form. */
static int
adm_norm_differs(const char *now, const char *pinned)
{
	char a[PROTO_TEXT_MAX + 1], b[PROTO_TEXT_MAX + 1];

	devproof_norm(now, a, sizeof(a));
	devproof_norm(pinned, b, sizeof(b));
	return strcmp(a, b) != 0;
}

/* §4.5: whether a device whose proof passed is admitted as paired (0), or must
 * be approved first (-1, with *why). The record's key is the presented one: both
 * hash to the device id, which the proof and registry_load check. */
static int
adm_paired(const struct adm *x, const struct reg_device *d, enum refusal_pair *why)
{
	if (d == NULL)
		*why = REFUSAL_PAIR_NOT_PAIRED;
	else if (adm_norm_differs(x->c->client_platform, d->client.platform) ||
	    adm_norm_differs(x->c->client_device_family, d->client.device_family))
		*why = REFUSAL_PAIR_METADATA_UPGRADE;
	else if (!(d->roles & ROLE_BIT(x->role)))
		*why = REFUSAL_PAIR_ROLE_UPGRADE;
	else if (x->c->scopes.n > 0 && !scopes_covers(&d->scopes, &x->c->scopes, NULL))
		*why = REFUSAL_PAIR_SCOPE_UPGRADE;
	else
		return 0;
	return -1;
}

/*
 * §4.5 step 2: whether this connect may be approved silently (the pending
 * request's own silent flag is AND-ed in by pairing_request). §4.5 also allows
 * scope-upgrade only for none/token/password sessions; a device-token session
 * never gets here with a scope-upgrade, because step 9 already required its
 * token, which lies within the approved scopes, to cover the requested ones.
 */
static int
adm_silent(const struct adm *x, const struct reg_device *d, enum refusal_pair why)
{
	if (!x->br->cfg->auto_approve_local || x->loc == LOCALITY_REMOTE)
		return 0;
	if (x->c->origin[0] != '\0' && !x->browser)
		return 0;
	if (why == REFUSAL_PAIR_METADATA_UPGRADE && (x->browser || x->loc != LOCALITY_DIRECT_LOCAL))
		return 0;
	return d == NULL || x->role == ROLE_OPERATOR;
}

static void
adm_client(const struct adm *x, struct reg_client *cl)
{
	const struct proto_connect *c = x->c;

	memset(cl, 0, sizeof(*cl));
	FIELD_COPY(cl->display_name, c->client_display_name);
	FIELD_COPY(cl->platform, c->client_platform);
	FIELD_COPY(cl->device_family, c->client_device_family);
	FIELD_COPY(cl->client_id, c->client_id);
	FIELD_COPY(cl->client_mode, c->client_mode);
	if (x->browser)
		FIELD_COPY(cl->browser_origin, c->origin);
	/* §6.1: remoteIp only for non-loopback clients. */
	if (!locality_ip_loopback(c->peer_ip))
		FIELD_COPY(cl->remote_ip, c->peer_ip);
}

/* A new pairing request may not be created now (st: PAIRING_FULL or
 * PAIRING_RATE_LIMITED). The refusal is held, like §4.6's back-off, for as long as
 * the address has to wait anyway (at most AUTHRATE_BACKOFF_MAX_MS): a client cannot
 * turn refusals into a storm faster than the per-address pre-auth socket cap
 * allows, which keeps the CPU for the devices that are paired. The hold ends at a
 * random point in its second half, so that a storm's sockets, refused together,
 * do not all come back together. */
static void
adm_pairing_refused(struct adm *x, enum pairing_status st, int64_t retry_after_ms)
{
	int rate = st == PAIRING_RATE_LIMITED;
	int64_t wait_ms = rate ? retry_after_ms : ADM_PAIRING_QUEUE_RETRY_MS;
	uint32_t hold, r;

	refusal_pairing_limited(&x->a->reject, rate, wait_ms);
	hold = (uint32_t)(wait_ms < AUTHRATE_BACKOFF_MAX_MS ? wait_ms : AUTHRATE_BACKOFF_MAX_MS);
	random_bytes((uint8_t *)&r, sizeof(r));
	x->delay_ms = hold - r % (hold / 2 + 1);
}

/* §4.5 "when pairing is required". Returns the record if the request was approved
 * silently, else NULL with the rejection set. */
static struct reg_device *
adm_pair_request(struct adm *x, struct reg_device *d, enum refusal_pair why)
{
	struct pairing_ask ask;
	struct reg_pending *p;
	struct reg_device *approved;
	const char *missing;
	enum pairing_status st;
	int64_t retry_after;
	int created;

	memset(&ask, 0, sizeof(ask));
	ask.peer_ip = x->c->peer_ip;
	/* Cannot fail: cleaning never yields more scopes than were sent. */
	scopes_merge(&ask.scopes, &x->c->scopes);
	ask.device_id = x->c->device_id;
	ask.public_key = x->key;
	adm_client(x, &ask.client);
	ask.role = x->role;
	ask.is_repair = d != NULL;
	ask.silent = adm_silent(x, d, why);
	if ((st = pairing_request(x->br->reg, &ask, x->now, &p, &created, &retry_after)) !=
	    PAIRING_OK) {
		adm_pairing_refused(x, st, retry_after);
		return NULL;
	}
	/* Only a merged scope set too large to store can stop an owner's approval;
	 * the request then waits for the admin like any other. */
	if (p->silent && pairing_approve(x->br->reg, p->request_id, &pairing_owner,
	    REG_VIA_SILENT, x->now, &approved, &missing) == PAIRING_OK)
		return approved;
	if (created)
		pairing_announce(p);
	refusal_pairing_required(ADM_REFUSAL(x), x->c, x->role, x->browser, p->request_id, d, why);
	return NULL;
}

/* §4.1 steps 8-12 for a connect with a device block. */
static void
adm_device(struct adm *x)
{
	const struct proto_connect *c = x->c;
	char minted[SECRET_TOKEN_LEN + 1];
	enum devproof_result proof;
	struct reg_client seen;
	struct reg_device *d;
	enum refusal_pair why;
	enum pairing_status st;
	int64_t retry_after, last_used = 0;

	/* A device without a record that proved the shared secret can only end in a
	 * pairing request. If none may be created now, the answer is that refusal
	 * whatever the proof: say it before paying for the signature check, the one
	 * expensive step an unknown-device storm would otherwise buy at will. */
	d = registry_device_find(x->br->reg, c->device_id);
	if (x->shared_ok && d == NULL &&
	    (st = pairing_refuses_new(x->br->reg, c->device_id, c->peer_ip, x->now,
	    &retry_after)) != PAIRING_OK) {
		adm_pairing_refused(x, st, retry_after);
		return;
	}
	/* Every credential is decided before the proof: a connect that is
	 * unauthorized whatever its signature says (no secret, a wrong one, an
	 * unknown device) is refused without paying for the signature check, and
	 * its wrong credentials are counted. A client whose proof is good gets the
	 * same answer either way. */
	if (d != NULL)
		last_used = d->tokens[x->role].last_used_at_ms;
	if (x->auth != REFUSAL_AUTH_OK && adm_device_credential(x, d) < 0)
		return;
	if (x->auth != REFUSAL_AUTH_OK) {
		if (adm_rate_failed(x) == 0)
			adm_unauthorized(x);
		return;
	}
	if ((proof = devproof_check(c, x->nonce, x->now, x->key)) != DEVPROOF_OK) {
		/* The device token was right, but this is not the device. */
		if (d != NULL)
			d->tokens[x->role].last_used_at_ms = last_used;
		refusal_device_proof(ADM_REFUSAL(x), proof);
		return;
	}
	if (strcmp(x->method, "device-token") == 0)
		authrate_succeeded(x->br->rl, c);
	if (adm_paired(x, d, &why) < 0 && (d = adm_pair_request(x, d, why)) == NULL)
		return;
	/* Admitted: remember how the device was last seen, without a disk write.
	 * Platform and device family stay as pinned at approval. */
	adm_client(x, &seen);
	if (seen.display_name[0] != '\0')
		FIELD_COPY(d->client.display_name, seen.display_name);
	FIELD_COPY(d->client.remote_ip, seen.remote_ip);
	d->last_seen_at_ms = x->now;
	registry_mark_unsaved(x->br->reg);
	/* §4.1 step 12 and doc/design.md §1: a device on its token gets none; one that
	 * came with the shared secret gets the token this process last minted for it
	 * (no write), or, as only the hash is on disk, a fresh one, saved first. */
	if (strcmp(x->method, "device-token") == 0) {
		adm_accept(x, &c->scopes, d->device_id, NULL);
		return;
	}
	if (devtoken_current(d, x->role, minted) < 0) {
		devtoken_issue(d, x->role, x->now, minted);
		registry_save(x->br->reg);
	}
	adm_accept(x, &c->scopes, d->device_id, minted);
	OPENSSL_cleanse(minted, sizeof(minted));
}

static void
adm_run(struct adm *x)
{
	const struct proto_connect *c = x->c;
	int role;

	/* Step 2, readiness: the broker answers only once its state is loaded and
	 * exits rather than drains, so it is always ready when it decides. */
	if (c->min_protocol > ADM_PROTOCOL || c->max_protocol < ADM_PROTOCOL) {
		refusal_protocol_mismatch(ADM_REFUSAL(x), c, ADM_PROTOCOL);
		return;
	}
	if ((role = role_parse(c->role[0] != '\0' ? c->role : "operator")) < 0) {
		refusal_invalid(ADM_REFUSAL(x), "invalid role", NULL, NULL);
		return;
	}
	x->role = (enum role)role;
	/* In relay mode the session would be carried to an upstream that admits
	 * no node without its own device identity: refused here, plainly. */
	if (x->role == ROLE_NODE && x->br->cfg->relay.port != 0) {
		refusal_invalid(ADM_REFUSAL(x), "nodes connect to the upstream OpenClaw gateway "
		    "directly, not through clawgate's relay", NULL, NULL);
		return;
	}
	x->browser = client_is(c, "openclaw-control-ui") || client_is(c, "webchat-ui") ||
	    client_is(c, "webchat") || strcmp(c->client_mode, "webchat") == 0;
	/* Step 5, §4.7. "Local" as the locality rules see it before any secret
	 * is checked, so that the Docker-NAT browser (browser_container_local)
	 * passes like a direct one. */
	if ((x->browser || c->origin[0] != '\0') &&
	    !origin_allowed(x->br->cfg, c->origin, c->host, locality_of(c, x->browser, 1))) {
		refusal_invalid(ADM_REFUSAL(x), "origin not allowed (open the Control UI from the "
		    "gateway host or allow it in gateway.controlUi.allowedOrigins)",
		    "CONTROL_UI_ORIGIN_NOT_ALLOWED", "origin not allowed");
		return;
	}
	if (adm_shared_secret(x) < 0)
		return;
	x->loc = locality_of(c, x->browser, x->shared_ok);
	if (c->has_device)
		adm_device(x);
	else
		adm_deviceless(x);
}

void
admission_decide(struct broker *br, const struct proto_connect *c, const char *nonce,
    int64_t now_ms, struct admission *a)
{
	struct adm x;
	const char *loc;

	memset(a, 0, sizeof(*a));
	pbuf_init(&a->details);
	memset(&x, 0, sizeof(x));
	x.br = br;
	x.c = c;
	x.a = a;
	x.nonce = nonce;
	x.now = now_ms;
	adm_run(&x);
	/* Recomputed rather than taken from x.loc, which early refusals never
	 * reach: for them nothing was proven (shared_ok is 0) and that is right. */
	loc = locality_name(locality_of(c, x.browser, x.shared_ok));
	snprintf(a->accept.locality, sizeof(a->accept.locality), "%s", loc);
	snprintf(a->reject.locality, sizeof(a->reject.locality), "%s", loc);
	if (!a->accepted) {
		a->reject.conn = c->conn;
		if (a->details.len > 0)
			a->reject.error.details = proto_blob_of(&a->details);
		a->reject.delay_ms = x.delay_ms;
	}
}

void
admission_free(struct admission *a)
{
	OPENSSL_cleanse(a->accept.device_token, sizeof(a->accept.device_token));
	pbuf_free(&a->details);
}
