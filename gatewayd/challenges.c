#include "gatewayd/challenges.h"

#include <string.h>

#include "common/clock.h"
#include "gatewayd/brokerlink.h"
#include "gatewayd/conntab.h"

/* Challenges in hand or asked for: enough for a burst of upgrades within one
 * turn of the event loop at a few thousand connects a second; beyond it the
 * sessions ask brokerd themselves, as before. */
#define CHALLENGES_AHEAD 8
/* Handed out only this young: brokerd keeps a nonce for the handshake timeout
 * plus 5 s from issue, and the handshake timeout runs from the upgrade. */
#define CHALLENGES_MAX_AGE_MS 2000

struct challenges_slot {
	uint64_t conn;			/* 0: free */
	int ready;			/* brokerd answered: m holds the challenge */
	int64_t got_mono_ms;
	struct proto_challenge m;
};

static struct challenges_slot challenges_slots[CHALLENGES_AHEAD];

static struct challenges_slot *
challenges_find(uint64_t conn)
{
	if (conn == 0)
		return NULL;
	for (size_t i = 0; i < CHALLENGES_AHEAD; i++)
		if (challenges_slots[i].conn == conn)
			return &challenges_slots[i];
	return NULL;
}

/* Asks brokerd for a challenge into every free slot. */
static void
challenges_refill(void)
{
	struct proto_conn_ref ref;

	if (!brokerlink_available())
		return;
	for (size_t i = 0; i < CHALLENGES_AHEAD; i++) {
		if (challenges_slots[i].conn != 0)
			continue;
		memset(&challenges_slots[i], 0, sizeof(challenges_slots[i]));
		ref.conn = challenges_slots[i].conn = conntab_new_id();
		if (brokerlink_send(PROTO_GW_CHALLENGE, &ref) < 0) {
			challenges_slots[i].conn = 0;
			return;
		}
	}
}

int
challenges_take(struct proto_challenge *out)
{
	int64_t now = clock_mono_ms();
	struct challenges_slot *best = NULL, *c;
	struct proto_conn_ref ref;

	for (size_t i = 0; i < CHALLENGES_AHEAD; i++) {
		c = &challenges_slots[i];
		if (c->conn == 0 || !c->ready)
			continue;
		if (now - c->got_mono_ms > CHALLENGES_MAX_AGE_MS) {
			/* Given back, so brokerd forgets its nonce now. */
			ref.conn = c->conn;
			brokerlink_send(PROTO_GW_CLOSED, &ref);
			c->conn = 0;
		} else if (best == NULL || c->got_mono_ms < best->got_mono_ms) {
			best = c;
		}
	}
	if (best != NULL) {
		*out = best->m;
		best->conn = 0;
	}
	challenges_refill();
	return best != NULL ? 0 : -1;
}

int
challenges_on_challenge(const struct proto_challenge *m)
{
	struct challenges_slot *c = challenges_find(m->conn);

	if (c == NULL || c->ready)
		return 0;
	c->m = *m;
	c->ready = 1;
	c->got_mono_ms = clock_mono_ms();
	return 1;
}

int
challenges_on_reject(uint64_t conn)
{
	struct challenges_slot *c = challenges_find(conn);

	if (c == NULL || c->ready)
		return 0;
	/* brokerd's table is full ("gateway busy"): the slot stays empty until the
	 * next take asks again. */
	c->conn = 0;
	return 1;
}

void
challenges_reset(void)
{
	memset(challenges_slots, 0, sizeof(challenges_slots));
}
