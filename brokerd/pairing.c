#include "brokerd/pairing.h"

#include <stdlib.h>
#include <string.h>

#include "brokerd/addrrate.h"
#include "brokerd/audit.h"
#include "brokerd/devtoken.h"
#include "brokerd/role.h"
#include "brokerd/scopes.h"
#include "common/ipaddr.h"
#include "common/log.h"
#include "common/random.h"
#include "common/xmalloc.h"
#include "proto/pval.h"

const struct pairing_actor pairing_owner = { "", PAIRING_OWNER_MASK,
	"auto-approval (local device)", NULL };

static const struct pairing_effects *pairing_fx;
/* New pending requests per peer address (not saved: a restart forgets it). */
static struct addrrate pairing_rate;
/* When expired requests were last dropped (pairing_prune). */
static int64_t pairing_pruned_ms;
/* The connect path scans for expired requests only when the queue is full, and
 * then at most this often: a storm at the cap must not pay a scan per socket. */
#define PAIRING_PRUNE_EVERY_MS 1000

/* A storm is refused once per socket: the log says so once per second and kind,
 * with the number of refusals the line stands for. */
struct pairing_hush {
	int64_t last_ms;
	unsigned quiet;		/* refusals not logged since last_ms */
};
static struct pairing_hush pairing_hush_full, pairing_hush_rate;

void
pairing_init(const struct pairing_effects *effects)
{
	pairing_fx = effects;
	addrrate_init(&pairing_rate, PAIRING_RATE_BURST, PAIRING_RATE_INTERVAL_MS);
}

void
pairing_shutdown(void)
{
	addrrate_free(&pairing_rate);
}

static int
pairing_actor_admin(const struct pairing_actor *a)
{
	return scopes_mask_allows(a->scope_mask, SCOPE_ADMIN);
}

/* Whether the actor may act on device_id at all (§7.1 bound callers). */
static int
pairing_actor_reaches(const struct pairing_actor *a, const char *device_id)
{
	return a->device_id[0] == '\0' || pairing_actor_admin(a) ||
	    strcmp(a->device_id, device_id) == 0;
}

static void
pairing_prune(struct registry *reg, int64_t now_ms)
{
	struct reg_pending *p, *next;

	/* Expired requests simply vanish; the file keeps them until the next save. */
	pairing_pruned_ms = now_ms;
	for (p = TAILQ_FIRST(&reg->pending); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (registry_pending_expired(p, now_ms))
			registry_pending_delete(reg, p);
	}
}

static void
pairing_resolved(const char *request_id, const char *device_id, const char *decision,
    int64_t now_ms)
{
	struct pbuf b;

	pbuf_init(&b);
	pval_obj_begin(&b);
	pval_kv_str(&b, "requestId", request_id);
	pval_kv_str(&b, "deviceId", device_id);
	pval_kv_str(&b, "decision", decision);
	pval_kv_int(&b, "ts", now_ms);
	pval_obj_end(&b);
	pairing_fx->publish(PROTO_AUDIENCE_PAIRING, device_id, "device.pair.resolved", &b);
	pbuf_free(&b);
}

void
pairing_announce(const struct reg_pending *p)
{
	struct pbuf b;

	pbuf_init(&b);
	registry_pending_pval(&b, p, REG_PV_PUBLIC);
	pairing_fx->publish(PROTO_AUDIENCE_PAIRING, p->device_id, "device.pair.requested", &b);
	pbuf_free(&b);
}

/* The device's live request, or NULL; an expired one found goes (the connect
 * path does not prune every time). */
static struct reg_pending *
pairing_live_of(struct registry *reg, const char *device_id, int64_t now_ms)
{
	struct reg_pending *p = registry_pending_of(reg, device_id);

	if (p != NULL && registry_pending_expired(p, now_ms)) {
		registry_pending_delete(reg, p);
		return NULL;
	}
	return p;
}

/* Whether to log a refusal now: 1 with *quiet set to the refusals it stands for
 * besides itself, or 0 (counted). */
static int
pairing_hush_log(struct pairing_hush *h, int64_t now_ms, unsigned *quiet)
{
	if (h->last_ms != 0 && now_ms >= h->last_ms && now_ms - h->last_ms < 1000) {
		h->quiet++;
		return 0;
	}
	*quiet = h->quiet;
	h->quiet = 0;
	h->last_ms = now_ms;
	return 1;
}

/* Deletes every pending request of a device, announcing each as rejected if asked
 * (superseded requests are; those of a removed device simply go). */
static void
pairing_drop_pending_of(struct registry *reg, const char *device_id, int announce,
    int64_t now_ms)
{
	struct reg_pending *p;

	while ((p = registry_pending_of(reg, device_id)) != NULL) {
		if (announce)
			pairing_resolved(p->request_id, p->device_id, "rejected", now_ms);
		registry_pending_delete(reg, p);
	}
}

/* Whether one more request (replacing one of the device's if replacing) may be
 * created now from peer_ip: the global cap, then the budget of the address's
 * budget key (all loopback addresses one, IPv6 per /64), whose token is spent if
 * take. */
static enum pairing_status
pairing_admit_new(struct registry *reg, const char *device_id, const char *peer_ip,
    int replacing, int take, int64_t now_ms, int64_t *retry_after_ms)
{
	size_t others = reg->npending - (replacing != 0);
	char budget[IPADDR_BUDGET_KEY_MAX];
	const char *key = peer_ip;
	uint8_t a[16];
	unsigned quiet;
	int limited;

	if (others >= PAIRING_PENDING_MAX && (now_ms < pairing_pruned_ms ||
	    now_ms - pairing_pruned_ms >= PAIRING_PRUNE_EVERY_MS)) {
		pairing_prune(reg, now_ms);
		others = reg->npending - (replacing != 0);
	}
	if (others >= PAIRING_PENDING_MAX) {
		if (pairing_hush_log(&pairing_hush_full, now_ms, &quiet))
			log_warnx("pairing: %d requests are pending, the limit; refusing a new "
			    "request from device %.12s (and %u more since the last such line): "
			    "approve or reject some (gatewayctl devices list)", PAIRING_PENDING_MAX,
			    device_id, quiet);
		return PAIRING_FULL;
	}
	if (ipaddr_parse(peer_ip, a) == 0) {
		ipaddr_budget_key(a, budget);
		key = budget;
	}
	/* Checked after the global cap, so a full queue does not eat the tokens. */
	limited = take ? addrrate_take(&pairing_rate, key, now_ms, retry_after_ms) :
	    addrrate_peek(&pairing_rate, key, now_ms, retry_after_ms);
	if (limited < 0) {
		if (pairing_hush_log(&pairing_hush_rate, now_ms, &quiet))
			log_warnx("pairing: %s creates pairing requests faster than %d per %d s; "
			    "refusing one from device %.12s (and %u more, from any address, since "
			    "the last such line)", key, PAIRING_RATE_BURST,
			    PAIRING_RATE_BURST * PAIRING_RATE_INTERVAL_MS / 1000, device_id, quiet);
		return PAIRING_RATE_LIMITED;
	}
	return PAIRING_OK;
}

enum pairing_status
pairing_refuses_new(struct registry *reg, const char *device_id, const char *peer_ip,
    int64_t now_ms, int64_t *retry_after_ms)
{
	if (pairing_live_of(reg, device_id, now_ms) != NULL)
		return PAIRING_OK;
	return pairing_admit_new(reg, device_id, peer_ip, 0, 0, now_ms, retry_after_ms);
}

enum pairing_status
pairing_request(struct registry *reg, const struct pairing_ask *ask, int64_t now_ms,
    struct reg_pending **out, int *created, int64_t *retry_after_ms)
{
	struct reg_pending *old, *p;
	enum pairing_status st;

	/* One live request per device (§6.1): this function keeps it so. */
	old = pairing_live_of(reg, ask->device_id, now_ms);
	if (old != NULL && strcmp(old->public_key, ask->public_key) == 0 &&
	    (old->roles & ROLE_BIT(ask->role)) && scopes_covers(&old->scopes, &ask->scopes, NULL)) {
		/* Refresh: same id and ts, so a retrying client keeps its request alive. */
		old->refreshed_at_ms = now_ms;
		old->client = ask->client;
		old->is_repair |= ask->is_repair;
		old->silent &= ask->silent;
		registry_mark_unsaved(reg);
		*created = 0;
		*out = old;
		return PAIRING_OK;
	}
	if ((st = pairing_admit_new(reg, ask->device_id, ask->peer_ip, old != NULL, 1, now_ms,
	    retry_after_ms)) != PAIRING_OK)
		return st;
	p = xcalloc(1, sizeof(*p));
	random_uuid4(p->request_id);
	memcpy(p->device_id, ask->device_id, sizeof(p->device_id));
	memcpy(p->public_key, ask->public_key, sizeof(p->public_key));
	p->client = ask->client;
	p->role = ask->role;
	p->roles = ROLE_BIT(ask->role);
	p->scopes = ask->scopes;
	p->silent = ask->silent;
	p->is_repair = ask->is_repair;
	p->ts_ms = now_ms;
	/* Replace: the new request asks for everything the superseded one did. If the
	 * union does not fit, the new request asks for its own scopes only. */
	if (old != NULL) {
		p->roles |= old->roles;
		scopes_merge(&p->scopes, &old->scopes);
	}
	pairing_drop_pending_of(reg, ask->device_id, 1, now_ms);
	registry_pending_insert(reg, p);
	/* Requests live 5 minutes and clients retry, so a crash that loses one costs a
	 * retry; writing the whole registry for each one would let a flood of pairing
	 * connects cost a disk write apiece. It is saved with the next real save. */
	registry_mark_unsaved(reg);
	*created = 1;
	*out = p;
	return PAIRING_OK;
}

/* The part of a request's scopes a role's token carries (§6.3): operator.* for
 * the operator role, the others for other roles. */
static void
pairing_role_scopes(const struct proto_scopes *all, enum role role, struct proto_scopes *out)
{
	out->n = 0;
	for (uint32_t i = 0; i < all->n; i++)
		if ((strncmp(all->v[i], "operator.", 9) == 0) == (role == ROLE_OPERATOR))
			memcpy(out->v[out->n++], all->v[i], sizeof(out->v[0]));
}

/* Widens d's approval by p (a fresh d is all zeros): roles, scopes and one token
 * entry per role, merged with what was approved before. The token itself is
 * minted when the device next connects (doc/design.md §1). -1, d untouched, if a
 * merged set would not fit. */
static int
pairing_grant(struct reg_device *d, const struct reg_pending *p, int64_t now_ms)
{
	struct proto_scopes merged = d->scopes, tok[ROLE_COUNT], part;

	if (scopes_union(&merged, &p->scopes) < 0)
		return -1;
	for (int r = 0; r < ROLE_COUNT; r++) {
		if (!(p->roles & ROLE_BIT(r)))
			continue;
		tok[r] = d->tokens[r].scopes;
		pairing_role_scopes(&p->scopes, (enum role)r, &part);
		if (scopes_union(&tok[r], &part) < 0)
			return -1;
	}
	d->scopes = merged;
	for (int r = 0; r < ROLE_COUNT; r++) {
		if (!(p->roles & ROLE_BIT(r)))
			continue;
		if (!(d->roles & ROLE_BIT(r)))
			d->tokens[r].created_at_ms = now_ms;
		d->tokens[r].scopes = tok[r];
	}
	d->roles |= p->roles;
	return 0;
}

/* The first requested scope the actor does not cover, or NULL. Operator scopes
 * follow implication; anything else, and any non-operator role, needs
 * operator.admin (§7.1). */
static const char *
pairing_uncovered(const struct pairing_actor *a, const struct proto_scopes *scopes,
    unsigned roles)
{
	int admin = pairing_actor_admin(a);

	for (uint32_t i = 0; i < scopes->n; i++) {
		const char *s = scopes->v[i];

		if (strncmp(s, "operator.", 9) == 0 ? !scopes_mask_allows(a->scope_mask, s) : !admin)
			return s;
	}
	if ((roles & ~ROLE_BIT(ROLE_OPERATOR)) && !admin)
		return SCOPE_ADMIN;
	return NULL;
}

enum pairing_status
pairing_approve(struct registry *reg, const char *request_id, const struct pairing_actor *actor,
    enum reg_via via, int64_t now_ms, struct reg_device **out, const char **missing)
{
	struct reg_pending *p;
	struct reg_device *d;
	char rid[UUID_STR_LEN + 1];
	const char *role;
	int fresh;

	pairing_prune(reg, now_ms);
	if ((p = registry_pending_find(reg, request_id)) == NULL)
		return PAIRING_UNKNOWN;
	if (!pairing_actor_reaches(actor, p->device_id))
		return PAIRING_DENIED;
	if ((*missing = pairing_uncovered(actor, &p->scopes, p->roles)) != NULL)
		return PAIRING_MISSING_SCOPE;
	d = registry_device_find(reg, p->device_id);
	if ((fresh = d == NULL)) {
		d = xcalloc(1, sizeof(*d));
		memcpy(d->device_id, p->device_id, sizeof(d->device_id));
		memcpy(d->public_key, p->public_key, sizeof(d->public_key));
		d->role = p->role;
		d->created_at_ms = now_ms;
	}
	if (pairing_grant(d, p, now_ms) < 0) {
		if (fresh)
			free(d);
		return PAIRING_TOO_MANY_SCOPES;
	}
	/* Pins platform and device family: a later change is a metadata-upgrade. */
	d->client = p->client;
	d->approved_via = via;
	d->approved_at_ms = now_ms;
	if (fresh)
		registry_device_insert(reg, d);
	memcpy(rid, p->request_id, sizeof(rid));
	role = role_name(p->role);
	pairing_drop_pending_of(reg, d->device_id, 0, now_ms);
	registry_save(reg);
	log_info("pairing: approved device %s (request %s, %s)", d->device_id, rid,
	    via == REG_VIA_SILENT ? "silently, local" : "by the owner");
	audit_record("approve", d->device_id, rid, role, actor->who, now_ms);
	pairing_resolved(rid, d->device_id, "approved", now_ms);
	*out = d;
	return PAIRING_OK;
}

enum pairing_status
pairing_reject(struct registry *reg, const char *request_id, const struct pairing_actor *actor,
    int64_t now_ms, char device_id[DEVPROOF_ID_LEN + 1])
{
	struct reg_pending *p;
	char rid[UUID_STR_LEN + 1];
	const char *role;

	pairing_prune(reg, now_ms);
	if ((p = registry_pending_find(reg, request_id)) == NULL)
		return PAIRING_UNKNOWN;
	if (!pairing_actor_reaches(actor, p->device_id))
		return PAIRING_DENIED;
	memcpy(rid, p->request_id, sizeof(rid));
	memcpy(device_id, p->device_id, DEVPROOF_ID_LEN + 1);
	role = role_name(p->role);
	registry_pending_delete(reg, p);
	registry_save(reg);
	log_info("pairing: rejected request %s of device %s", rid, device_id);
	audit_record("reject", device_id, rid, role, actor->who, now_ms);
	pairing_resolved(rid, device_id, "rejected", now_ms);
	return PAIRING_OK;
}

enum pairing_status
pairing_remove(struct registry *reg, const char *device_id, const struct pairing_actor *actor,
    int64_t now_ms)
{
	struct reg_device *d;
	char id[DEVPROOF_ID_LEN + 1];

	pairing_prune(reg, now_ms);
	if ((d = registry_device_find(reg, device_id)) == NULL)
		return PAIRING_UNKNOWN;
	if (!pairing_actor_reaches(actor, d->device_id))
		return PAIRING_DENIED;
	memcpy(id, d->device_id, sizeof(id));
	pairing_drop_pending_of(reg, id, 0, now_ms);
	registry_device_delete(reg, d);
	registry_save(reg);
	log_info("pairing: removed device %s", id);
	audit_record("remove", id, "", "", actor->who, now_ms);
	pairing_fx->close_device(id, ~0u, NULL, PROTO_CLOSE_POLICY, "device removed");
	return PAIRING_OK;
}

enum pairing_status
pairing_rename(struct registry *reg, const char *device_id, const char *label,
    const struct pairing_actor *actor, int64_t now_ms, char out[PROTO_TEXT_MAX + 1])
{
	struct reg_device *d;
	struct pbuf b;
	size_t start, end;

	if ((d = registry_device_find(reg, device_id)) == NULL)
		return PAIRING_UNKNOWN;
	if (!pairing_actor_reaches(actor, d->device_id))
		return PAIRING_DENIED;
	/* Trim ASCII white space; the label is valid UTF-8 without control characters
	 * (its proto field says so), so only spaces can remain at either end. */
	for (start = 0; label[start] == ' '; start++)
		;
	for (end = strlen(label); end > start && label[end - 1] == ' '; end--)
		;
	if (end == start)
		return PAIRING_LABEL_REQUIRED;
	memcpy(out, label + start, end - start);
	out[end - start] = '\0';
	/* The same label again changes nothing: no write, no audit line, no event. */
	if (strcmp(d->operator_label, out) == 0)
		return PAIRING_OK;
	memcpy(d->operator_label, out, end - start + 1);
	registry_save(reg);
	log_info("pairing: renamed device %s", d->device_id);
	audit_record("rename", d->device_id, "", "", actor->who, now_ms);
	pbuf_init(&b);
	pval_obj_begin(&b);
	pval_obj_end(&b);
	pairing_fx->publish(PROTO_AUDIENCE_PAIRING, d->device_id, "device.pair.changed", &b);
	pbuf_free(&b);
	return PAIRING_OK;
}

/* The checks rotate and revoke share (§7.1): the device, the actor's reach, the
 * role, and operator.admin for a role other than operator. The token's scopes
 * are each caller's to check. */
static enum pairing_status
pairing_token_target(struct registry *reg, const char *device_id, const char *role_name,
    const struct pairing_actor *actor, struct reg_device **d, enum role *role,
    const char **missing)
{
	static const struct proto_scopes none;
	int r;

	if ((*d = registry_device_find(reg, device_id)) == NULL)
		return PAIRING_UNKNOWN;
	if (!pairing_actor_reaches(actor, (*d)->device_id))
		return PAIRING_DENIED;
	if ((r = role_parse(role_name)) < 0 || !((*d)->roles & ROLE_BIT(r)))
		return PAIRING_NO_ROLE;
	*role = (enum role)r;
	if ((*missing = pairing_uncovered(actor, &none, ROLE_BIT(r))) != NULL)
		return PAIRING_MISSING_SCOPE;
	return PAIRING_OK;
}

enum pairing_status
pairing_token_rotate(struct registry *reg, const char *device_id, const char *role_name,
    const struct proto_scopes *scopes, const struct pairing_actor *actor, int64_t now_ms,
    struct pairing_rotation *out, const char **missing)
{
	struct reg_device *d;
	struct reg_token *t;
	enum pairing_status st;
	enum role role;

	*missing = NULL;
	memset(out, 0, sizeof(*out));
	if ((st = pairing_token_target(reg, device_id, role_name, actor, &d, &role,
	    missing)) != PAIRING_OK)
		return st;
	t = &d->tokens[role];
	if (scopes == NULL)
		out->scopes = t->scopes;
	else if (scopes_normalize(&out->scopes, scopes) < 0)
		return PAIRING_TOO_MANY_SCOPES;
	/* Bounded by what was approved and by what the caller holds (§6.3). */
	if (!scopes_covers(&d->scopes, &out->scopes, missing))
		return PAIRING_DENIED;
	if ((*missing = pairing_uncovered(actor, &out->scopes, ROLE_BIT(role))) != NULL)
		return PAIRING_MISSING_SCOPE;
	devtoken_issue(d, role, now_ms, out->token);
	t->scopes = out->scopes;
	t->rotated_at_ms = now_ms;
	out->rotated_at_ms = now_ms;
	out->in_band = strcmp(actor->device_id, d->device_id) == 0;
	registry_save(reg);
	log_info("pairing: rotated the %s token of device %s", role_name, d->device_id);
	audit_record("rotate", d->device_id, "", role_name, actor->who, now_ms);
	pairing_fx->close_device(d->device_id, ROLE_BIT(role), actor->session, PROTO_CLOSE_POLICY,
	    "device token rotated");
	return PAIRING_OK;
}

enum pairing_status
pairing_token_revoke(struct registry *reg, const char *device_id, const char *role_name,
    const struct pairing_actor *actor, int64_t now_ms, const char **missing)
{
	struct reg_device *d;
	enum pairing_status st;
	enum role role;

	*missing = NULL;
	if ((st = pairing_token_target(reg, device_id, role_name, actor, &d, &role,
	    missing)) != PAIRING_OK)
		return st;
	/* Taking a token away is bounded like handing one out. */
	if ((*missing = pairing_uncovered(actor, &d->tokens[role].scopes, 0)) != NULL)
		return PAIRING_MISSING_SCOPE;
	devtoken_revoke(d, role, now_ms);
	registry_save(reg);
	log_info("pairing: revoked the %s token of device %s", role_name, d->device_id);
	audit_record("revoke", d->device_id, "", role_name, actor->who, now_ms);
	pairing_fx->close_device(d->device_id, ROLE_BIT(role), actor->session, PROTO_CLOSE_POLICY,
	    "device token revoked");
	return PAIRING_OK;
}

void
pairing_list_pval(struct pbuf *b, struct registry *reg, const struct pairing_actor *actor,
    int64_t now_ms)
{
	struct reg_pending *p;
	struct reg_device *d;

	pairing_prune(reg, now_ms);
	pval_obj_begin(b);
	pval_key(b, "pending");
	pval_arr_begin(b);
	TAILQ_FOREACH(p, &reg->pending, entry)
		if (pairing_actor_reaches(actor, p->device_id))
			registry_pending_pval(b, p, REG_PV_PUBLIC);
	pval_arr_end(b);
	pval_key(b, "paired");
	pval_arr_begin(b);
	TAILQ_FOREACH(d, &reg->devices, entry)
		if (pairing_actor_reaches(actor, d->device_id))
			registry_device_pval(b, d, REG_PV_LIST,
			    pairing_fx->device_connected(d->device_id));
	pval_arr_end(b);
	pval_obj_end(b);
}

size_t
pairing_pending_count(struct registry *reg, int64_t now_ms, struct reg_pending **only)
{
	pairing_prune(reg, now_ms);
	*only = reg->npending == 1 ? TAILQ_FIRST(&reg->pending) : NULL;
	return reg->npending;
}
