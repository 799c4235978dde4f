/*
 * Pairing policy (PROTOCOL.md §4.5, §6.1-§6.3): pending requests (create, refresh,
 * replace, supersede; 5-minute TTL pruned lazily on every call), and approve,
 * reject, remove and list. The RPC handlers, the control socket and silent
 * approval all go through these functions; each caller only renders the outcome.
 */
#ifndef BROKERD_PAIRING_H
#define BROKERD_PAIRING_H

#include <stddef.h>
#include <stdint.h>

#include "brokerd/registry.h"
#include "brokerd/scopes.h"
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

/* Who acts: a bound session may manage only its own device unless it holds
 * operator.admin; an unbound one (device-less admin CLI, control socket) all. */
struct pairing_actor {
	const char *device_id;	/* "" when unbound */
	uint32_t scope_mask;
};

/* The control socket and silent approval act as the owner: unbound, admin. */
extern const struct pairing_actor pairing_owner;

enum pairing_status {
	PAIRING_OK,
	PAIRING_UNKNOWN,		/* no such (unexpired) request, or no such device */
	PAIRING_DENIED,			/* a bound caller acting on another device */
	PAIRING_MISSING_SCOPE,		/* the caller does not cover what is requested */
	PAIRING_TOO_MANY_SCOPES,	/* the merged scopes would not fit a record */
};

/* What a connect that needs pairing asks for. */
struct pairing_ask {
	const char *device_id;
	const char *public_key;		/* canonical */
	struct reg_client client;
	enum role role;
	struct proto_scopes scopes;	/* as asked for, cleaned by scopes_merge */
	int is_repair;
	int silent;			/* this connect qualifies for silent approval */
};

/* Creates, refreshes or replaces the device's pending request (§6.1). *created
 * says whether it is new (the caller announces new ones). NULL when a new request
 * is needed but PAIRING_PENDING_MAX are pending. */
struct reg_pending *pairing_request(struct registry *reg, const struct pairing_ask *ask,
    int64_t now_ms, int *created);
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

/* {"pending":[...],"paired":[...]} as the actor may see it. */
void pairing_list_pval(struct pbuf *b, struct registry *reg, const struct pairing_actor *actor,
    int64_t now_ms);
/* The number of live pending requests; *only is the request if there is exactly one. */
size_t pairing_pending_count(struct registry *reg, int64_t now_ms, struct reg_pending **only);

#endif
