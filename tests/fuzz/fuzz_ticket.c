/*
 * Fuzz target: session tickets as a hostile gatewayd sends them back to brokerd
 * (brokerd/ticket.c). No input opens unless brokerd sealed it; whatever session
 * the input describes seals and opens unchanged; and the sealed ticket with one
 * bit flipped (the input picks which) does not open.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "brokerd/ticket.h"
#include "common/codec.h"
#include "common/random.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	struct session s, back;
	uint32_t mask;

	if (!keyed) {
		random_init();
		ticket_init();
		keyed = 1;
	}
	if (size >= PROTO_TICKET_LEN && ticket_open(data, &s) == 0)
		abort();
	if (size < PROTO_TICKET_MAC + 2)
		return 0;
	memset(&s, 0, sizeof(s));
	s.link = take_u64(data);
	s.conn = take_u64(data + 8);
	s.device_epoch = take_u64(data + 16);
	s.shared_epoch = take_u64(data + 24);
	memcpy(&mask, data + 32, sizeof(mask));
	s.scope_mask = mask;
	s.role = (enum role)(data[36] % ROLE_COUNT);
	s.shared_auth = data[37] & 1;
	if (data[37] & 2)
		hex_encode(data + 38, PROTO_TICKET_DEVICE_LEN, s.device_id);
	ticket_seal(&s, t);
	if (ticket_open(t, &back) != 0 || memcmp(&s, &back, sizeof(s)) != 0)
		abort();
	t[data[PROTO_TICKET_MAC] % PROTO_TICKET_LEN] ^=
	    (uint8_t)(1u << (data[PROTO_TICKET_MAC + 1] % 8));
	if (ticket_open(t, &back) == 0)
		abort();
	return 0;
}
