/*
 * Fuzz target: session tickets as a hostile gatewayd sends them back to brokerd
 * (brokerd/ticket.c). No input opens unless brokerd sealed it; whatever session
 * the input describes seals and opens unchanged; and the sealed ticket with one
 * bit flipped, or presented for another conn (the input picks which), does not
 * open.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "brokerd/role.h"
#include "brokerd/ticket.h"
#include "common/random.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Input: a ticket's bytes, then u64 link, u64 conn (native order), then two
 * bytes choosing the bit to flip. */
#define FUZZ_TICKET_INPUT (PROTO_TICKET_LEN + 18)

static uint64_t
take_u64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int keyed;
	uint8_t t[PROTO_TICKET_LEN];
	struct ticket_session s, back;
	uint32_t mask;
	size_t bit;

	if (!keyed) {
		random_init();
		ticket_init();
		keyed = 1;
	}
	if (size < FUZZ_TICKET_INPUT)
		return 0;
	memset(&s, 0, sizeof(s));
	s.link = take_u64(data + PROTO_TICKET_LEN);
	s.conn = take_u64(data + PROTO_TICKET_LEN + 8);
	if (ticket_open(data, s.link, s.conn, &back) == 0)
		abort();
	s.device_epoch = take_u64(data);
	s.shared_epoch = take_u64(data + 8);
	memcpy(&mask, data + 16, sizeof(mask));
	s.scope_mask = mask;
	s.role = (enum role)(data[PROTO_TICKET_ROLE] % ROLE_COUNT);
	s.shared_auth = data[PROTO_TICKET_FLAGS] & 1;
	if (data[PROTO_TICKET_FLAGS] & 2)
		sodium_bin2hex(s.device_id, sizeof(s.device_id), data + PROTO_TICKET_DEVICE,
		    PROTO_TICKET_DEVICE_LEN);
	ticket_seal(&s, t);
	if (ticket_open(t, s.link, s.conn, &back) != 0 || memcmp(&s, &back, sizeof(s)) != 0)
		abort();
	if (ticket_open(t, s.link, s.conn + 1, &back) == 0)
		abort();
	bit = (size_t)(data[PROTO_TICKET_LEN + 16] << 8 | data[PROTO_TICKET_LEN + 17]) %
	    (PROTO_TICKET_LEN * 8);
	t[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	if (ticket_open(t, s.link, s.conn, &back) == 0)
		abort();
	return 0;
}
