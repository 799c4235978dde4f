/*
 * The device registry: paired device records (a hash table keyed by device id,
 * for O(1) lookups on the connect path) and pending pairing requests, kept in
 * memory and persisted as <state>/registry.json.
 *
 * The file is built by the same record -> pval code that publishes records to
 * clients (REG_PV_FILE adds the private fields) and rendered with pval_to_json,
 * so there is one description of a record. Device tokens are stored only as
 * SHA-256 hashes (the plaintext of a token this process minted stays in its
 * memory, struct reg_token). Changes whose loss in a crash costs at most a client retry
 * (last seen, last used, pending requests) only mark the registry unsaved; they
 * reach the disk with the next real save (an approval, rejection, removal or
 * token issue) or at shutdown (registry_flush).
 */
#ifndef BROKERD_REGISTRY_H
#define BROKERD_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "brokerd/devproof.h"
#include "brokerd/role.h"
#include "brokerd/secret.h"
#include "common/htab.h"
#include "common/random.h"
#include "proto/proto.h"

#define REG_FILE "registry.json"
#define REG_FILE_MAX (64u << 20)
#define REG_PENDING_TTL_MS 300000

enum reg_via { REG_VIA_OWNER, REG_VIA_SILENT };

struct reg_token {
	struct proto_scopes scopes;
	char hash[SECRET_HASH_LEN + 1];	/* "" until a token is first minted */
	int64_t created_at_ms;
	int64_t rotated_at_ms;		/* 0 when absent, likewise below */
	int64_t revoked_at_ms;
	int64_t last_used_at_ms;
	/* The plaintext, in memory only (never in the file): this process minted
	 * it, so a shared-token reconnect can be given it again without a new one
	 * and a registry write. "" after a restart until the next mint. */
	char plain[SECRET_TOKEN_LEN + 1];
};

/* What a device says about itself; pending requests and records both keep it. */
struct reg_client {
	char display_name[PROTO_TEXT_MAX + 1];
	char platform[PROTO_TEXT_MAX + 1];
	char device_family[PROTO_TEXT_MAX + 1];
	char client_id[PROTO_NAME_MAX + 1];
	char client_mode[PROTO_NAME_MAX + 1];
	char browser_origin[PROTO_TEXT_MAX + 1];
	char remote_ip[PROTO_ADDR_MAX + 1];	/* "" for loopback peers (§6.1) */
};

struct reg_device {
	struct htab_node node;
	TAILQ_ENTRY(reg_device) entry;
	char device_id[DEVPROOF_ID_LEN + 1];
	char public_key[DEVPROOF_KEY_LEN + 1];	/* canonical base64url */
	struct reg_client client;
	char operator_label[PROTO_TEXT_MAX + 1];
	enum role role;				/* the role first approved */
	unsigned roles;				/* ROLE_BIT() of every approved role */
	struct proto_scopes scopes;		/* approved, normalised */
	struct reg_token tokens[ROLE_COUNT];	/* one per role in roles */
	enum reg_via approved_via;
	int64_t created_at_ms;
	int64_t approved_at_ms;
	int64_t last_seen_at_ms;		/* 0: never seen since approval */
};

struct reg_pending {
	struct htab_node node;			/* in pending_by_device */
	TAILQ_ENTRY(reg_pending) entry;
	char request_id[UUID_STR_LEN + 1];
	char device_id[DEVPROOF_ID_LEN + 1];
	char public_key[DEVPROOF_KEY_LEN + 1];
	struct reg_client client;
	enum role role;
	unsigned roles;
	struct proto_scopes scopes;		/* as asked for (scopes_merge), not normalised */
	int silent;
	int is_repair;
	int64_t ts_ms;
	int64_t refreshed_at_ms;		/* 0: never refreshed; never published */
};

TAILQ_HEAD(reg_device_q, reg_device);
TAILQ_HEAD(reg_pending_q, reg_pending);

struct registry {
	struct htab by_id;
	struct reg_device_q devices;	/* approval order, for stable files and lists */
	size_t ndevices;
	struct reg_pending_q pending;	/* creation order */
	struct htab pending_by_device;	/* an unknown device's connect looks here */
	size_t npending;
	/* hello-ok's opaque, stable auth.recoveryScope, made once per installation. */
	char recovery_scope[UUID_STR_LEN + 1];
	int dirfd;
	char *dir;			/* the state dir, for messages */
	int unsaved;
};

/* Which fields a record's pval carries. */
enum reg_pv {
	REG_PV_PUBLIC,	/* device.pair.approve, events (§6.1, §6.2) */
	REG_PV_LIST,	/* device.pair.list: public plus "connected" */
	REG_PV_FILE,	/* registry.json: public plus the private fields */
};

void registry_init(struct registry *reg, int dirfd, const char *dir);
void registry_free(struct registry *reg);

/* Loads <dir>/registry.json if it exists (a missing file is an empty registry).
 * -1 with a message naming the file and the problem in err if it cannot be read
 * or is not a valid registry; the file is then left as it is. */
int registry_load(struct registry *reg, char *err, size_t errsz);
/* Atomically writes the whole registry; -1 (logged, retried at the next save or
 * flush) on failure. */
int registry_save(struct registry *reg);
/* Saves if anything changed since the last save. */
int registry_flush(struct registry *reg);
void registry_mark_unsaved(struct registry *reg);

struct reg_device *registry_device_find(const struct registry *reg, const char *device_id);
/* Takes ownership of a malloc'd record whose id is not in the registry yet. */
void registry_device_insert(struct registry *reg, struct reg_device *d);
void registry_device_delete(struct registry *reg, struct reg_device *d);

struct reg_pending *registry_pending_find(const struct registry *reg, const char *request_id);
/* A request of the device (expired or not), or NULL. */
struct reg_pending *registry_pending_of(const struct registry *reg, const char *device_id);
void registry_pending_insert(struct registry *reg, struct reg_pending *p);
void registry_pending_delete(struct registry *reg, struct reg_pending *p);
/* Whether p has outlived its TTL at now_ms. */
int registry_pending_expired(const struct reg_pending *p, int64_t now_ms);

void registry_device_pval(struct pbuf *b, const struct reg_device *d, enum reg_pv mode,
    int connected);
void registry_pending_pval(struct pbuf *b, const struct reg_pending *p, enum reg_pv mode);
/* An array of the role names in a ROLE_BIT mask. */
void registry_roles_pval(struct pbuf *b, unsigned roles);

#endif
