/*
 * Challenges brokerd issued ahead of need. Asking brokerd for a connection's
 * nonce when its upgrade arrives costs a round trip to the broker per connect,
 * in latency and in two process wake-ups. gatewayd keeps a few challenges in
 * hand instead, each for a conn id it has not used yet: an upgrade takes one and
 * sends connect.challenge at once, and the request for its replacement travels
 * with the link's other traffic. brokerd still issues every nonce, binds it to
 * its conn and consumes it once; the pool only moves the request earlier.
 *
 * A challenge is handed out only while young enough that brokerd keeps its nonce
 * for the whole handshake (brokerd: handshake timeout + 5 s from issue); older
 * ones are given back with GW_CLOSED.
 */
#ifndef GATEWAYD_CHALLENGES_H
#define GATEWAYD_CHALLENGES_H

#include "proto/proto.h"

/* A challenge for a new connection into *out (its conn is now the caller's),
 * and a replacement asked for: 0, or -1 if none is in hand (the caller asks
 * brokerd itself, as for the first connections after start or a quiet spell). */
int challenges_take(struct proto_challenge *out);
/* A BR_CHALLENGE or BR_REJECT for conn: 1 if it answered one of the pool's
 * requests (and is taken care of), 0 if it is a session's. */
int challenges_on_challenge(const struct proto_challenge *m);
int challenges_on_reject(uint64_t conn);
/* The broker link went away: everything in hand belonged to it. */
void challenges_reset(void);

#endif
