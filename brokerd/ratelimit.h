/*
 * Failed-authentication rate limiting (doc/protocol.md §4.6): a sliding window of
 * failures per key (which keys a connect counts under: brokerd/authrate.h),
 * 10 in 60 s lock the key for 5 minutes, a success resets it. At most
 * RATELIMIT_MAX_KEYS keys are tracked; beyond that the least recently used one
 * is forgotten, so memory is bounded whatever clients send.
 */
#ifndef BROKERD_RATELIMIT_H
#define BROKERD_RATELIMIT_H

#include <stdint.h>

#define RATELIMIT_MAX_ATTEMPTS 10
#define RATELIMIT_WINDOW_MS 60000
#define RATELIMIT_LOCKOUT_MS 300000
#define RATELIMIT_MAX_KEYS 10000

struct ratelimit;

struct ratelimit *ratelimit_new(void);
void ratelimit_free(struct ratelimit *rl);

/* Milliseconds until key may try again, 0 if it may now. */
int64_t ratelimit_locked(struct ratelimit *rl, const char *key, int64_t now_ms);
/* Records a failure; returns what ratelimit_locked would return afterwards. */
int64_t ratelimit_fail(struct ratelimit *rl, const char *key, int64_t now_ms);
/* Records a failure for a key that is never locked (loopback, §4.6); returns the
 * failures within the window, this one included. */
unsigned ratelimit_note(struct ratelimit *rl, const char *key, int64_t now_ms);
/* A success: the key starts afresh. */
void ratelimit_reset(struct ratelimit *rl, const char *key);

#endif
