/*
 * Which failed-authentication counters (brokerd/ratelimit.h, doc/protocol.md §4.6)
 * a connect is counted under, and what they do to it:
 *
 * - A remote client (any peer but a direct loopback one) counts under
 *   "<scope>:<address key>", the scope being shared-secret or device-token, the
 *   key common/ipaddr's budget key (IPv6 per /64). 10 failures in 60 s lock that
 *   scope for 5 minutes: the credential is not even compared meanwhile.
 * - A direct loopback client is never locked: each wrong credential's answer
 *   waits 250 ms x 2^(n-1), at most 5 s, n counted under one key for every
 *   loopback address, with or without an Origin.
 * - A direct loopback client with an Origin also counts under that origin. Its
 *   lock only changes the answer to a wrong credential (AUTH_RATE_LIMITED, which
 *   tells a Control UI with a stale token to stop retrying): the Origin is the
 *   client's to choose, so it never refuses a correct credential, and remote
 *   clients never count under it.
 *
 * A proved credential resets every key of the client.
 */
#ifndef BROKERD_AUTHRATE_H
#define BROKERD_AUTHRATE_H

#include <stdint.h>

#include "proto/proto.h"

struct ratelimit;

enum authrate_scope {
	AUTHRATE_SHARED_SECRET,
	AUTHRATE_DEVICE_TOKEN,
};
#define AUTHRATE_SCOPE_BIT(s) (1u << (s))

/* Loopback back-off: the first wrong answer waits this long, each next one
 * twice as long, up to AUTHRATE_BACKOFF_MAX_MS. */
#define AUTHRATE_BACKOFF_BASE_MS 250
#define AUTHRATE_BACKOFF_MAX_MS 5000

/* Milliseconds until c may have a credential of scope compared, 0 if now. */
int64_t authrate_locked(struct ratelimit *rl, const struct proto_connect *c,
    enum authrate_scope scope, int64_t now_ms);
/* Records that the credentials of the scopes (AUTHRATE_SCOPE_BIT mask, not 0)
 * c offered were wrong. Sets *delay_ms to how long the refusal is held (0 for a
 * remote client). Returns the milliseconds c's Origin was already locked for,
 * in which case the answer is AUTH_RATE_LIMITED; else 0. */
int64_t authrate_failed(struct ratelimit *rl, const struct proto_connect *c, unsigned scopes,
    int64_t now_ms, uint32_t *delay_ms);
/* c proved a credential: all its keys start afresh. */
void authrate_succeeded(struct ratelimit *rl, const struct proto_connect *c);

#endif
