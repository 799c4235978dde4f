/*
 * Pairing policy (doc/protocol.md §4.5, §6.1-§6.3, §7.1): pending requests (create,
 * refresh, replace, supersede; 5-minute TTL pruned lazily on every call; a global
 * cap and a per-address rate), approve, reject, remove, rename, list, and device
 * token rotation and revocation. The RPC handlers, the control socket and silent
 * approval all go through these functions; each caller only renders the outcome.
 * Every decision is appended to the audit log here, with the actor's "who".
 */
#ifndef BROKERD_PAIRING_H
#define BROKERD_PAIRING_H

#include <stddef.h>
#include <stdint.h>

#include "brokerd/registry.h"
#include "brokerd/role.h"
#include "brokerd/secret.h"
#include "proto/proto.h"

/*
 * Pending requests are capped: each costs memory and a place in registry.json,
 * and creating one needs only the shared secret. When the cap is reached (after
 * pruning expired requests) a connect that would create a new request is refused
 * with UNAVAILABLE/1013 "too many pending pairing requests" and retryable:true:
 * no request id is handed out that the admin could never see, and the client may
 * retry once the admin has worked through the list. Refreshing an existing
 * request is always possible.
 */
#define PAIRING_PENDING_MAX 1024
/*
 * New requests (not refreshes) per peer address: a burst of PAIRING_RATE_BURST,
 * then one per PAIRING_RATE_INTERVAL_MS. Without it one address holding the
 * shared secret could fill the global cap in a second and lock out every other
 * device; with it, it takes 1024 / 10 per minute = about 100 minutes of steady
 * effort, while requests expire after 5. Refused: UNAVAILABLE/1013 "too many new
 * pairing requests from this address", retryable with retryAfterMs.
 */
#define PAIRING_RATE_BURST 10
#define PAIRING_RATE_INTERVAL_MS 6000

struct ticket_session;

/* Who acts: a bound session may manage only its own device unless it holds
 * operator.admin; an unbound one (device-less admin CLI, control socket) all. */
struct pairing_actor {
	const char *device_id;		/* "" when unbound */
	uint32_t scope_mask;
	const char *who;		/* for the audit log: "uid 0", "device <id>", ... */
	const struct ticket_session *session;	/* the caller's own session, or NULL */
};

/* Silent approval acts as the owner: unbound, admin. The control socket acts
 * with the same rights and names its client's uid as who. */
extern const struct pairing_actor pairing_owner;
#define PAIRING_OWNER_MASK 0xffffffffu

enum pairing_status {
	PAIRING_OK,
	PAIRING_UNKNOWN,		/* no such (unexpired) request, or no such device */
	PAIRING_DENIED,			/* a bound caller acting on another device */
	PAIRING_MISSING_SCOPE,		/* the caller does not cover what is requested */
	PAIRING_TOO_MANY_SCOPES,	/* the merged scopes would not fit a record */
	PAIRING_FULL,			/* PAIRING_PENDING_MAX requests are pending */
	PAIRING_RATE_LIMITED,		/* this address creates requests too fast */
	PAIRING_NO_ROLE,		/* the device has no approved token for that role */
	PAIRING_LABEL_REQUIRED,		/* a rename to an empty (after trimming) label */
};

/*
 * What pairing decisions do beyond the registry and the audit log, reported
 * through these calls (brokerd wires them to the gateway links; unit tests
 * record them): announcing pairing events, closing a device's sessions, and
 * asking whether a device is connected, for device lists.
 */
struct pairing_effects {
	/* Sends a device.pair.* event about device_id to the sessions of that
	 * audience that may hear about that device. */
	void (*publish)(enum proto_audience audience, const char *device_id, const char *event,
	    const struct pbuf *payload);
	/* Closes every session of the device in one of the roles (a ROLE_BIT mask)
	 * but except (NULL: none), the caller's own, with that close code and reason. */
	void (*close_device)(const char *device_id, unsigned roles, const struct ticket_session *except,
	    uint16_t code, const char *reason);
	/* Whether the device has a live session that has not been closed. */
	int (*device_connected)(const char *device_id);
};

/* Sets up the per-address rate table (the only state of its own) and the
 * effects, which must outlive the module; pairing_shutdown frees the table. */
void pairing_init(const struct pairing_effects *effects);
void pairing_shutdown(void);

/* What a connect that needs pairing asks for. */
struct pairing_ask {
	const char *peer_ip;		/* the rate is per budget key (common/ipaddr.h) */
	const char *device_id;
	const char *public_key;		/* canonical */
	struct reg_client client;
	enum role role;
	struct proto_scopes scopes;	/* as asked for, cleaned by scopes_merge */
	int is_repair;
	int silent;			/* this connect qualifies for silent approval */
};

/* Creates, refreshes or replaces the device's pending request (§6.1) into *out.
 * *created says whether it is new (the caller announces new ones). PAIRING_FULL or
 * PAIRING_RATE_LIMITED (with *retry_after_ms) when a new one is needed but may
 * not be created now. */
enum pairing_status pairing_request(struct registry *reg, const struct pairing_ask *ask,
    int64_t now_ms, struct reg_pending **out, int *created, int64_t *retry_after_ms);
/* What pairing_request would refuse for a device that has no record, creating
 * nothing and spending no token: PAIRING_OK if it has a pending request or a new
 * one may be created now, else PAIRING_FULL or PAIRING_RATE_LIMITED with *retry_after_ms. */
enum pairing_status pairing_refuses_new(struct registry *reg, const char *device_id,
    const char *peer_ip, int64_t now_ms, int64_t *retry_after_ms);
/* Broadcasts device.pair.requested for a new, not silently approved request. */
void pairing_announce(const struct reg_pending *p);

/* Approves request_id: creates or widens the device record and its per-role token
 * entries (tokens are minted when the device next connects), saves, broadcasts
 * device.pair.resolved. *missing names the scope the actor lacks. */
enum pairing_status pairing_approve(struct registry *reg, const char *request_id,
    const struct pairing_actor *actor, enum reg_via via, int64_t now_ms,
    struct reg_device **out, const char **missing);
/* Rejects request_id; its device id is copied to device_id. */
enum pairing_status pairing_reject(struct registry *reg, const char *request_id,
    const struct pairing_actor *actor, int64_t now_ms, char device_id[DEVPROOF_ID_LEN + 1]);
/* Removes a paired device, its tokens and pending requests, and closes its
 * sessions with 1008 "device removed". */
enum pairing_status pairing_remove(struct registry *reg, const char *device_id,
    const struct pairing_actor *actor, int64_t now_ms);

/* Sets a paired device's operatorLabel to label, trimmed, copied to out;
 * saves, audits and broadcasts device.pair.changed unless the label was that
 * already. */
enum pairing_status pairing_rename(struct registry *reg, const char *device_id,
    const char *label, const struct pairing_actor *actor, int64_t now_ms,
    char out[PROTO_TEXT_MAX + 1]);

/* What a token rotation produced. token is the new plaintext, for delivery in
 * band only when in_band (the caller is bound to that device); wipe it after. */
struct pairing_rotation {
	struct proto_scopes scopes;
	int64_t rotated_at_ms;
	int in_band;
	char token[SECRET_TOKEN_LEN + 1];
};

/* §6.3 rotate: mints a new token for the device's role with scopes (NULL: the
 * current token's), which must lie within the approved scopes and the actor's
 * (*missing names the first one that does not); role_name other than operator
 * needs operator.admin. Closes the other sessions of that device and role. */
enum pairing_status pairing_token_rotate(struct registry *reg, const char *device_id,
    const char *role_name, const struct proto_scopes *scopes,
    const struct pairing_actor *actor, int64_t now_ms, struct pairing_rotation *out,
    const char **missing);
/* §6.3 revoke: marks the role's token revoked at now_ms (it no longer
 * authenticates) and closes the other sessions of that device and role. */
enum pairing_status pairing_token_revoke(struct registry *reg, const char *device_id,
    const char *role_name, const struct pairing_actor *actor, int64_t now_ms,
    const char **missing);

/* {"pending":[...],"paired":[...]} as the actor may see it. */
void pairing_list_pval(struct pbuf *b, struct registry *reg, const struct pairing_actor *actor,
    int64_t now_ms);
/* The number of live pending requests; *only is the request if there is exactly one. */
size_t pairing_pending_count(struct registry *reg, int64_t now_ms, struct reg_pending **only);

#endif
