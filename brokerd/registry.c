#include "brokerd/registry.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <yajl/yajl_tree.h>

#include "brokerd/fileio.h"
#include "brokerd/jtree.h"
#include "brokerd/role.h"
#include "brokerd/scopes.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "proto/pval.h"

#define REG_VERSION 1

static const char *const via_names[] = { "owner", "silent" };

void
registry_init(struct registry *reg, int dirfd, const char *dir)
{
	memset(reg, 0, sizeof(*reg));
	htab_init(&reg->by_id);
	htab_init(&reg->pending_by_device);
	TAILQ_INIT(&reg->devices);
	TAILQ_INIT(&reg->pending);
	random_uuid4(reg->recovery_scope);
	reg->dirfd = dirfd;
	reg->dir = xstrdup(dir);
}

void
registry_free(struct registry *reg)
{
	struct reg_device *d;
	struct reg_pending *p;

	while ((d = TAILQ_FIRST(&reg->devices)) != NULL)
		registry_device_delete(reg, d);
	while ((p = TAILQ_FIRST(&reg->pending)) != NULL)
		registry_pending_delete(reg, p);
	htab_free(&reg->by_id);
	htab_free(&reg->pending_by_device);
	free(reg->dir);
}

void
registry_mark_unsaved(struct registry *reg)
{
	reg->unsaved = 1;
}

/* ---- lookups ---- */

static int
reg_device_match(const struct htab_node *n, const void *key)
{
	const struct reg_device *d = (const struct reg_device *)n;

	return strcmp(d->device_id, key) == 0;
}

struct reg_device *
registry_device_find(const struct registry *reg, const char *device_id)
{
	return (struct reg_device *)htab_lookup(&reg->by_id, htab_hash_str(device_id),
	    reg_device_match, device_id);
}

void
registry_device_insert(struct registry *reg, struct reg_device *d)
{
	htab_insert(&reg->by_id, &d->node, htab_hash_str(d->device_id));
	TAILQ_INSERT_TAIL(&reg->devices, d, entry);
	reg->ndevices++;
}

void
registry_device_delete(struct registry *reg, struct reg_device *d)
{
	htab_remove(&reg->by_id, &d->node);
	TAILQ_REMOVE(&reg->devices, d, entry);
	reg->ndevices--;
	OPENSSL_cleanse(d, sizeof(*d));		/* the tokens' plaintext */
	free(d);
}

/* Pending requests are few (pairing caps them); by request id they are looked up
 * only by an admin approving or rejecting, where a list suffices. By device id
 * every unknown device's connect looks, so that goes through a table. */
struct reg_pending *
registry_pending_find(const struct registry *reg, const char *request_id)
{
	struct reg_pending *p;

	TAILQ_FOREACH(p, &reg->pending, entry)
		if (strcmp(p->request_id, request_id) == 0)
			return p;
	return NULL;
}

static int
reg_pending_match(const struct htab_node *n, const void *key)
{
	return strcmp(((const struct reg_pending *)n)->device_id, key) == 0;
}

struct reg_pending *
registry_pending_of(const struct registry *reg, const char *device_id)
{
	return (struct reg_pending *)htab_lookup(&reg->pending_by_device,
	    htab_hash_str(device_id), reg_pending_match, device_id);
}

void
registry_pending_insert(struct registry *reg, struct reg_pending *p)
{
	htab_insert(&reg->pending_by_device, &p->node, htab_hash_str(p->device_id));
	TAILQ_INSERT_TAIL(&reg->pending, p, entry);
	reg->npending++;
}

void
registry_pending_delete(struct registry *reg, struct reg_pending *p)
{
	htab_remove(&reg->pending_by_device, &p->node);
	TAILQ_REMOVE(&reg->pending, p, entry);
	reg->npending--;
	free(p);
}

int
registry_pending_expired(const struct reg_pending *p, int64_t now_ms)
{
	int64_t last = p->refreshed_at_ms ? p->refreshed_at_ms : p->ts_ms;

	return now_ms - last > REG_PENDING_TTL_MS;
}

/* ---- records as pval: one description for clients and for the file ---- */

static void
reg_kv_time_opt(struct pbuf *b, const char *key, int64_t ms)
{
	if (ms != 0)
		pval_kv_int(b, key, ms);
}

static void
reg_client_pval(struct pbuf *b, const struct reg_client *c)
{
	pval_kv_str_opt(b, "displayName", c->display_name);
	pval_kv_str_opt(b, "platform", c->platform);
	pval_kv_str_opt(b, "deviceFamily", c->device_family);
	pval_kv_str_opt(b, "clientId", c->client_id);
	pval_kv_str_opt(b, "clientMode", c->client_mode);
	pval_kv_str_opt(b, "browserOrigin", c->browser_origin);
	pval_kv_str_opt(b, "remoteIp", c->remote_ip);
}

void
registry_roles_pval(struct pbuf *b, unsigned roles)
{
	pval_arr_begin(b);
	for (int r = 0; r < ROLE_COUNT; r++)
		if (roles & ROLE_BIT(r))
			pval_str(b, role_name((enum role)r));
	pval_arr_end(b);
}

void
registry_device_pval(struct pbuf *b, const struct reg_device *d, enum reg_pv mode,
    int connected)
{
	pval_obj_begin(b);
	pval_kv_str(b, "deviceId", d->device_id);
	pval_kv_str(b, "publicKey", d->public_key);
	reg_client_pval(b, &d->client);
	pval_kv_str_opt(b, "operatorLabel", d->operator_label);
	pval_kv_str(b, "role", role_name(d->role));
	pval_key(b, "roles");
	registry_roles_pval(b, d->roles);
	proto_kv_scopes(b, "scopes", &d->scopes);
	pval_key(b, "tokens");
	pval_arr_begin(b);
	for (int r = 0; r < ROLE_COUNT; r++) {
		const struct reg_token *t = &d->tokens[r];

		if (!(d->roles & ROLE_BIT(r)))
			continue;
		pval_obj_begin(b);
		pval_kv_str(b, "role", role_name((enum role)r));
		proto_kv_scopes(b, "scopes", &t->scopes);
		if (mode == REG_PV_FILE)
			pval_kv_str_opt(b, "tokenHash", t->hash);
		pval_kv_int(b, "createdAtMs", t->created_at_ms);
		reg_kv_time_opt(b, "rotatedAtMs", t->rotated_at_ms);
		reg_kv_time_opt(b, "revokedAtMs", t->revoked_at_ms);
		reg_kv_time_opt(b, "lastUsedAtMs", t->last_used_at_ms);
		pval_obj_end(b);
	}
	pval_arr_end(b);
	pval_kv_str(b, "approvedVia", via_names[d->approved_via]);
	pval_kv_int(b, "createdAtMs", d->created_at_ms);
	pval_kv_int(b, "approvedAtMs", d->approved_at_ms);
	reg_kv_time_opt(b, "lastSeenAtMs", d->last_seen_at_ms);
	if (mode == REG_PV_LIST)
		pval_kv_bool(b, "connected", connected);
	pval_obj_end(b);
}

void
registry_pending_pval(struct pbuf *b, const struct reg_pending *p, enum reg_pv mode)
{
	pval_obj_begin(b);
	pval_kv_str(b, "requestId", p->request_id);
	pval_kv_str(b, "deviceId", p->device_id);
	pval_kv_str(b, "publicKey", p->public_key);
	reg_client_pval(b, &p->client);
	pval_kv_str(b, "role", role_name(p->role));
	pval_key(b, "roles");
	registry_roles_pval(b, p->roles);
	proto_kv_scopes(b, "scopes", &p->scopes);
	pval_kv_bool(b, "silent", p->silent);
	pval_kv_bool(b, "isRepair", p->is_repair);
	pval_kv_int(b, "ts", p->ts_ms);
	if (mode == REG_PV_FILE)
		reg_kv_time_opt(b, "refreshedAtMs", p->refreshed_at_ms);
	pval_obj_end(b);
}

/* ---- saving ---- */

int
registry_save(struct registry *reg)
{
	struct pbuf b;
	struct reg_device *d;
	struct reg_pending *p;
	char *json;
	int rc = -1;

	pbuf_init(&b);
	pval_obj_begin(&b);
	pval_kv_int(&b, "version", REG_VERSION);
	pval_kv_str(&b, "recoveryScope", reg->recovery_scope);
	pval_key(&b, "paired");
	pval_arr_begin(&b);
	TAILQ_FOREACH(d, &reg->devices, entry)
		registry_device_pval(&b, d, REG_PV_FILE, 0);
	pval_arr_end(&b);
	pval_key(&b, "pending");
	pval_arr_begin(&b);
	TAILQ_FOREACH(p, &reg->pending, entry)
		registry_pending_pval(&b, p, REG_PV_FILE);
	pval_arr_end(&b);
	pval_obj_end(&b);
	json = pval_to_json_string(b.data, b.len, 1);
	pbuf_free(&b);
	if (json == NULL)
		fatalx("registry: a record does not render as JSON (a bug: every string in "
		    "it was checked on the way in)");
	if (fileio_write_atomic(reg->dirfd, REG_FILE, json, strlen(json), 0600) < 0)
		log_warn("cannot save %s/%s (changes stay in memory and are retried at the "
		    "next save; check the state directory)", reg->dir, REG_FILE);
	else
		rc = 0;
	free(json);
	reg->unsaved = rc < 0;
	return rc;
}

int
registry_flush(struct registry *reg)
{
	return reg->unsaved ? registry_save(reg) : 0;
}

/* ---- loading: the file is ours, but a broken one must be reported, not used ---- */

struct reg_rd {
	char *err;
	size_t errsz;
	const char *file;
	const char *list;	/* "paired" or "pending", or NULL at the top level */
	size_t idx;
};

static int __attribute__((format(printf, 2, 3)))
rd_fail(struct reg_rd *rd, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rd->list != NULL)
		snprintf(rd->err, rd->errsz, "%s: %s[%zu]: %s", rd->file, rd->list, rd->idx, msg);
	else
		snprintf(rd->err, rd->errsz, "%s: %s", rd->file, msg);
	return -1;
}

/* The member key of obj if it is of kind; else NULL, failing with what it must be
 * (whether it is absent or of another kind). */
static yajl_val
rd_member(struct reg_rd *rd, yajl_val obj, const char *key, enum jtree_kind kind)
{
	yajl_val v = jtree_get(obj, key);

	if (jtree_is(v, kind))
		return v;
	rd_fail(rd, "%s must be %s", key, jtree_kind_name(kind));
	return NULL;
}

/* A string member into dst; an absent optional one becomes "". */
static int
rd_text(struct reg_rd *rd, yajl_val obj, const char *key, char *dst, size_t dstsz,
    int required)
{
	yajl_val v = jtree_get(obj, key);
	const char *s;

	dst[0] = '\0';
	if (v == NULL)
		return required ? rd_fail(rd, "%s is missing", key) : 0;
	if (rd_member(rd, obj, key, JTREE_STRING) == NULL)
		return -1;
	s = YAJL_GET_STRING(v);
	if (!proto_str_ok(s, strlen(s), dstsz - 1, PROTO_CS_TEXT))
		return rd_fail(rd, "%s is longer than %zu bytes or has control characters", key,
		    dstsz - 1);
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

/* A millisecond time; an absent optional one becomes 0. */
static int
rd_time(struct reg_rd *rd, yajl_val obj, const char *key, int64_t *out, int required)
{
	yajl_val v = jtree_get(obj, key);

	*out = 0;
	if (v == NULL)
		return required ? rd_fail(rd, "%s is missing", key) : 0;
	if (!jtree_is(v, JTREE_INT) || YAJL_GET_INTEGER(v) < 0)
		return rd_fail(rd, "%s must be a non-negative integer (ms)", key);
	*out = YAJL_GET_INTEGER(v);
	return 0;
}

static int
rd_bool(struct reg_rd *rd, yajl_val obj, const char *key, int *out)
{
	yajl_val v = rd_member(rd, obj, key, JTREE_BOOL);

	if (v == NULL)
		return -1;
	*out = YAJL_IS_TRUE(v);
	return 0;
}

/* A scope array, normalised for approved sets, else cleaned like a request's. */
static int
rd_scopes(struct reg_rd *rd, yajl_val obj, const char *key, int normalise,
    struct proto_scopes *out)
{
	yajl_val a = rd_member(rd, obj, key, JTREE_ARRAY);
	struct proto_scopes s;

	if (a == NULL)
		return -1;
	if (a->u.array.len > PROTO_MAX_SCOPES)
		return rd_fail(rd, "%s has more than %d entries", key, PROTO_MAX_SCOPES);
	s.n = 0;
	for (size_t i = 0; i < a->u.array.len; i++) {
		const char *str = jtree_str_at(a, i, NULL);

		if (str == NULL || !proto_str_ok(str, strlen(str), PROTO_NAME_MAX, PROTO_CS_TEXT))
			return rd_fail(rd, "%s[%zu] must be a scope name of at most %d bytes", key,
			    i, PROTO_NAME_MAX);
		memcpy(s.v[s.n++], str, strlen(str) + 1);
	}
	if (!normalise) {
		memset(out, 0, sizeof(*out));
		return scopes_merge(out, &s);	/* never more than were read */
	}
	if (scopes_normalize(out, &s) < 0)
		return rd_fail(rd, "%s has more than %d scopes with the implied ones", key,
		    PROTO_MAX_SCOPES);
	return 0;
}

static int
rd_role(struct reg_rd *rd, yajl_val obj, const char *key, enum role *out)
{
	char name[PROTO_NAME_MAX + 1];
	int r;

	if (rd_text(rd, obj, key, name, sizeof(name), 1) < 0)
		return -1;
	if ((r = role_parse(name)) < 0)
		return rd_fail(rd, "%s \"%s\" is not operator or node", key, name);
	*out = (enum role)r;
	return 0;
}

/* role and roles[], with role among roles. */
static int
rd_roles(struct reg_rd *rd, yajl_val obj, enum role *role, unsigned *roles)
{
	yajl_val a = rd_member(rd, obj, "roles", JTREE_ARRAY);

	if (a == NULL || rd_role(rd, obj, "role", role) < 0)
		return -1;
	*roles = 0;
	for (size_t i = 0; i < a->u.array.len; i++) {
		const char *s = jtree_str_at(a, i, NULL);
		int r = s != NULL ? role_parse(s) : -1;

		if (r < 0)
			return rd_fail(rd, "roles[%zu] is not operator or node", i);
		*roles |= ROLE_BIT(r);
	}
	if (!(*roles & ROLE_BIT(*role)))
		return rd_fail(rd, "role %s is not among roles", role_name(*role));
	return 0;
}

static int
rd_is_hex(const char *s, size_t len)
{
	if (strlen(s) != len)
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

/* deviceId and publicKey, which must belong together. */
static int
rd_identity(struct reg_rd *rd, yajl_val obj, char id[DEVPROOF_ID_LEN + 1],
    char key[DEVPROOF_KEY_LEN + 1])
{
	char text[PROTO_KEY_MAX + 1], derived[DEVPROOF_ID_LEN + 1];
	uint8_t raw[DEVPROOF_KEY_BYTES];

	if (rd_text(rd, obj, "deviceId", id, DEVPROOF_ID_LEN + 1, 1) < 0 ||
	    rd_text(rd, obj, "publicKey", text, sizeof(text), 1) < 0)
		return -1;
	if (!rd_is_hex(id, DEVPROOF_ID_LEN))
		return rd_fail(rd, "deviceId must be 64 lower-case hex digits");
	if (devproof_key_decode(text, raw, key) < 0)
		return rd_fail(rd, "publicKey is not a base64url Ed25519 key of 32 bytes");
	devproof_device_id(raw, derived);
	if (strcmp(derived, id) != 0)
		return rd_fail(rd, "deviceId is not the SHA-256 of publicKey");
	return 0;
}

static int
rd_client(struct reg_rd *rd, yajl_val obj, struct reg_client *c)
{
	return rd_text(rd, obj, "displayName", c->display_name, sizeof(c->display_name), 0) ||
	    rd_text(rd, obj, "platform", c->platform, sizeof(c->platform), 0) ||
	    rd_text(rd, obj, "deviceFamily", c->device_family, sizeof(c->device_family), 0) ||
	    rd_text(rd, obj, "clientId", c->client_id, sizeof(c->client_id), 0) ||
	    rd_text(rd, obj, "clientMode", c->client_mode, sizeof(c->client_mode), 0) ||
	    rd_text(rd, obj, "browserOrigin", c->browser_origin, sizeof(c->browser_origin), 0) ||
	    rd_text(rd, obj, "remoteIp", c->remote_ip, sizeof(c->remote_ip), 0) ? -1 : 0;
}

static int
rd_tokens(struct reg_rd *rd, yajl_val obj, struct reg_device *d)
{
	yajl_val a = rd_member(rd, obj, "tokens", JTREE_ARRAY);
	unsigned seen = 0;

	if (a == NULL)
		return -1;
	for (size_t i = 0; i < a->u.array.len; i++) {
		yajl_val t = a->u.array.values[i];
		enum role r = ROLE_OPERATOR;	/* set by rd_role; -O3 cannot see that */
		struct reg_token *tok;

		if (!YAJL_IS_OBJECT(t))
			return rd_fail(rd, "tokens[%zu] must be an object", i);
		if (rd_role(rd, t, "role", &r) < 0)
			return -1;
		if (!(d->roles & ROLE_BIT(r)) || (seen & ROLE_BIT(r)))
			return rd_fail(rd, "tokens[%zu]: role %s is not approved or repeats", i,
			    role_name(r));
		seen |= ROLE_BIT(r);
		tok = &d->tokens[r];
		if (rd_scopes(rd, t, "scopes", 1, &tok->scopes) < 0 ||
		    rd_text(rd, t, "tokenHash", tok->hash, sizeof(tok->hash), 0) < 0 ||
		    rd_time(rd, t, "createdAtMs", &tok->created_at_ms, 1) < 0 ||
		    rd_time(rd, t, "rotatedAtMs", &tok->rotated_at_ms, 0) < 0 ||
		    rd_time(rd, t, "revokedAtMs", &tok->revoked_at_ms, 0) < 0 ||
		    rd_time(rd, t, "lastUsedAtMs", &tok->last_used_at_ms, 0) < 0)
			return -1;
		if (tok->hash[0] != '\0' && !rd_is_hex(tok->hash, SECRET_HASH_LEN))
			return rd_fail(rd, "tokens[%zu].tokenHash must be 64 lower-case hex digits",
			    i);
	}
	if (seen != d->roles)
		return rd_fail(rd, "tokens must hold one entry per approved role");
	return 0;
}

static int
rd_device(struct reg_rd *rd, struct registry *reg, yajl_val obj)
{
	struct reg_device *d = xcalloc(1, sizeof(*d));
	char via[PROTO_NAME_MAX + 1];

	if (!YAJL_IS_OBJECT(obj)) {
		rd_fail(rd, "must be an object");
		goto fail;
	}
	if (rd_identity(rd, obj, d->device_id, d->public_key) < 0 ||
	    rd_client(rd, obj, &d->client) < 0 ||
	    rd_text(rd, obj, "operatorLabel", d->operator_label, sizeof(d->operator_label),
	    0) < 0 ||
	    rd_roles(rd, obj, &d->role, &d->roles) < 0 ||
	    rd_scopes(rd, obj, "scopes", 1, &d->scopes) < 0 ||
	    rd_tokens(rd, obj, d) < 0 ||
	    rd_text(rd, obj, "approvedVia", via, sizeof(via), 1) < 0 ||
	    rd_time(rd, obj, "createdAtMs", &d->created_at_ms, 1) < 0 ||
	    rd_time(rd, obj, "approvedAtMs", &d->approved_at_ms, 1) < 0 ||
	    rd_time(rd, obj, "lastSeenAtMs", &d->last_seen_at_ms, 0) < 0)
		goto fail;
	if (strcmp(via, via_names[REG_VIA_OWNER]) == 0)
		d->approved_via = REG_VIA_OWNER;
	else if (strcmp(via, via_names[REG_VIA_SILENT]) == 0)
		d->approved_via = REG_VIA_SILENT;
	else {
		rd_fail(rd, "approvedVia \"%s\" is not owner or silent", via);
		goto fail;
	}
	if (registry_device_find(reg, d->device_id) != NULL) {
		rd_fail(rd, "device %s is listed twice", d->device_id);
		goto fail;
	}
	registry_device_insert(reg, d);
	return 0;
fail:
	free(d);
	return -1;
}

static int
rd_pending(struct reg_rd *rd, struct registry *reg, yajl_val obj)
{
	struct reg_pending *p = xcalloc(1, sizeof(*p));

	if (!YAJL_IS_OBJECT(obj)) {
		rd_fail(rd, "must be an object");
		goto fail;
	}
	if (rd_text(rd, obj, "requestId", p->request_id, sizeof(p->request_id), 1) < 0 ||
	    rd_identity(rd, obj, p->device_id, p->public_key) < 0 ||
	    rd_client(rd, obj, &p->client) < 0 ||
	    rd_roles(rd, obj, &p->role, &p->roles) < 0 ||
	    rd_scopes(rd, obj, "scopes", 0, &p->scopes) < 0 ||
	    rd_bool(rd, obj, "silent", &p->silent) < 0 ||
	    rd_bool(rd, obj, "isRepair", &p->is_repair) < 0 ||
	    rd_time(rd, obj, "ts", &p->ts_ms, 1) < 0 ||
	    rd_time(rd, obj, "refreshedAtMs", &p->refreshed_at_ms, 0) < 0)
		goto fail;
	if (!proto_str_ok(p->request_id, strlen(p->request_id), UUID_STR_LEN, PROTO_CS_ATOM) ||
	    p->request_id[0] == '\0') {
		rd_fail(rd, "requestId must be a request id without spaces");
		goto fail;
	}
	if (registry_pending_find(reg, p->request_id) != NULL) {
		rd_fail(rd, "request %s is listed twice", p->request_id);
		goto fail;
	}
	registry_pending_insert(reg, p);
	return 0;
fail:
	free(p);
	return -1;
}

static int
rd_registry(struct reg_rd *rd, struct registry *reg, yajl_val root)
{
	yajl_val v = jtree_get(root, "version");
	yajl_val lists[2];
	static const char *const names[2] = { "paired", "pending" };

	if (!YAJL_IS_OBJECT(root))
		return rd_fail(rd, "the top level must be a JSON object");
	if (!jtree_is(v, JTREE_INT) || YAJL_GET_INTEGER(v) != REG_VERSION)
		return rd_fail(rd, "version must be %d (this file was written by another "
		    "program or a newer clawgate)", REG_VERSION);
	if (rd_text(rd, root, "recoveryScope", reg->recovery_scope,
	    sizeof(reg->recovery_scope), 1) < 0)
		return -1;
	/* It goes to gatewayd verbatim in every BR_ACCEPT, an atom field. */
	if (reg->recovery_scope[0] == '\0' || !proto_str_ok(reg->recovery_scope,
	    strlen(reg->recovery_scope), UUID_STR_LEN, PROTO_CS_ATOM))
		return rd_fail(rd, "recoveryScope must be a non-empty id without spaces");
	if ((lists[0] = rd_member(rd, root, names[0], JTREE_ARRAY)) == NULL ||
	    (lists[1] = rd_member(rd, root, names[1], JTREE_ARRAY)) == NULL)
		return -1;
	for (int l = 0; l < 2; l++) {
		rd->list = names[l];
		for (rd->idx = 0; rd->idx < lists[l]->u.array.len; rd->idx++) {
			yajl_val item = lists[l]->u.array.values[rd->idx];

			if ((l == 0 ? rd_device(rd, reg, item) : rd_pending(rd, reg, item)) < 0)
				return -1;
		}
	}
	return 0;
}

int
registry_load(struct registry *reg, char *err, size_t errsz)
{
	char path[4096], errbuf[256];
	struct reg_rd rd = { err, errsz, path, NULL, 0 };
	size_t len;
	char *text;
	yajl_val root;
	int rc;

	snprintf(path, sizeof(path), "%s/%s", reg->dir, REG_FILE);
	text = fileio_read_state(reg->dirfd, REG_FILE, REG_FILE_MAX, &len);
	if (text == NULL && errno == ENOENT) {
		/* First start: write the file (and its recovery scope) at the next save. */
		reg->unsaved = 1;
		return 0;
	}
	if (text == NULL && errno == ELOOP)
		return rd_fail(&rd, "is a symbolic link, and brokerd follows none in its state "
		    "directory: put the registry file itself in its place (mv it there)");
	if (text == NULL)
		return rd_fail(&rd, "cannot read it: %s", strerror(errno));
	if (strlen(text) != len) {
		free(text);
		return rd_fail(&rd, "contains a NUL byte: it is not a JSON text");
	}
	root = yajl_tree_parse(text, errbuf, sizeof(errbuf));
	free(text);
	if (root == NULL) {
		/* yajl's message spans lines; the first one says what went wrong. */
		errbuf[strcspn(errbuf, "\n")] = '\0';
		return rd_fail(&rd, "not valid JSON: %s", errbuf);
	}
	rc = rd_registry(&rd, reg, root);
	yajl_tree_free(root);
	return rc;
}
