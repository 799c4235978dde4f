/*
 * Session tickets (brokerd/ticket.c): what is sealed opens unchanged, and a
 * compromised gatewayd cannot make the broker open anything else: every single
 * bit flipped anywhere, a ticket of zeros, a ticket presented for another link
 * or conn, and a ticket sealed under another key (another broker process) are
 * all refused. gatewayd's view of role, flags and
 * device (proto.h offsets) matches what was sealed.
 */
#include <stdlib.h>
#include <string.h>

#include "brokerd/role.h"
#include "brokerd/ticket.h"
#include "common/random.h"
#include "testutil.h"

#define DEVICE "b07bd0de084e691f2f117025ec5e181bb2042b00577a86088f5ead1ee6904cac"

static void
sample(struct ticket_session *s, int bound)
{
	memset(s, 0, sizeof(*s));
	s->link = 0x0102030405060708ULL;
	s->conn = UINT64_MAX;
	s->role = bound ? ROLE_NODE : ROLE_OPERATOR;
	s->scope_mask = 0x80000001u;
	s->shared_auth = 1;
	s->device_epoch = bound ? 77 : 0;
	s->shared_epoch = 5;
	if (bound)
		snprintf(s->device_id, sizeof(s->device_id), "%s", DEVICE);
}

static void
test_roundtrip(void)
{
	uint8_t t[PROTO_TICKET_LEN];
	struct ticket_session in, out;

	for (int bound = 0; bound < 2; bound++) {
		sample(&in, bound);
		ticket_seal(&in, t);
		CHECK_INT_EQ(ticket_open(t, in.link, in.conn, &out), 0);
		CHECK(memcmp(&in, &out, sizeof(in)) == 0);
		CHECK_INT_EQ(t[PROTO_TICKET_ROLE], bound ? PROTO_ROLE_NODE : PROTO_ROLE_OPERATOR);
		CHECK_INT_EQ(t[PROTO_TICKET_FLAGS], PROTO_TICKET_SHARED |
		    (bound ? PROTO_TICKET_BOUND : 0));
		CHECK_INT_EQ(t[PROTO_TICKET_DEVICE], bound ? 0xb0 : 0);
		CHECK_INT_EQ(t[PROTO_TICKET_MAC - 1], bound ? 0xac : 0);
	}
}

static void
test_every_bit_flip_is_refused(void)
{
	uint8_t t[PROTO_TICKET_LEN];
	struct ticket_session in, out;

	sample(&in, 1);
	ticket_seal(&in, t);
	for (size_t i = 0; i < PROTO_TICKET_LEN * 8; i++) {
		t[i / 8] ^= (uint8_t)(1u << (i % 8));
		testutil_check(ticket_open(t, in.link, in.conn, &out) == -1, __FILE__, __LINE__,
		    "bit %zu flipped is refused", i);
		t[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	CHECK_INT_EQ(ticket_open(t, in.link, in.conn, &out), 0);
	/* The same bytes for any other link or conn. */
	for (int bit = 0; bit < 64; bit++) {
		testutil_check(ticket_open(t, in.link ^ (1ULL << bit), in.conn, &out) == -1,
		    __FILE__, __LINE__, "link bit %d flipped is refused", bit);
		testutil_check(ticket_open(t, in.link, in.conn ^ (1ULL << bit), &out) == -1,
		    __FILE__, __LINE__, "conn bit %d flipped is refused", bit);
	}
	memset(t, 0, sizeof(t));
	CHECK_INT_EQ(ticket_open(t, in.link, in.conn, &out), -1);
}

static void
test_another_key_is_refused(void)
{
	uint8_t t[PROTO_TICKET_LEN];
	struct ticket_session in, out;

	sample(&in, 0);
	ticket_seal(&in, t);
	/* A new key: what a restarted broker has. */
	ticket_shutdown();
	ticket_init();
	CHECK_INT_EQ(ticket_open(t, in.link, in.conn, &out), -1);
	ticket_seal(&in, t);
	CHECK_INT_EQ(ticket_open(t, in.link, in.conn, &out), 0);
}

int
main(void)
{
	random_init();
	ticket_init();
	TEST_RUN(test_roundtrip);
	TEST_RUN(test_every_bit_flip_is_refused);
	TEST_RUN(test_another_key_is_refused);
	ticket_shutdown();
	return test_exit();
}
