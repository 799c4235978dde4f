/*
 * Fuzz target: gatewayd's broker link from brokerd's side. The input is a
 * stream of frames (16-byte header + payload), fed to brokerlink_input, the
 * entry point the link's reader uses, with the table gatewayd registers
 * (session_broker_handlers): header and version checks, the lookup by type and
 * link state before any decoding, the decode into the union of broker messages,
 * and the handlers: the challenge pool's and the sessions' lookups, event
 * audiences and renderings, close targets, a reload's settings (BR_CONFIG). No socket: the link is in the state
 * its BR_HELLO leaves (a BR_HELLO that gatewayd cannot use ends it by design,
 * so the hello is the target's own); what gatewayd would send is dropped.
 * Every input starts from that same state.
 */
#include <stdint.h>
#include <stdlib.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "common/log.h"
#include "gatewayd/brokerlink.h"
#include "gatewayd/challenges.h"
#include "gatewayd/gatewayd.h"
#include "gatewayd/session.h"
#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_up(int first)
{
}

static void
fuzz_down(void)
{
}

static void
fuzz_reconfigured(void)
{
}

/* Settings a brokerd sends: what brokerlink's check accepts. */
static void
fuzz_hello(struct pbuf *b)
{
	struct proto_br_hello h = {
		.port = 18789, .nbind = 1, .bind = { "127.0.0.1" }, .tick_interval_ms = 30000,
		.handshake_timeout_ms = 10000, .max_payload = 1 << 20, .max_buffered = 1 << 20,
		.max_preauth_per_ip = 32, .version = "fuzz", .gatewayctl = "gatewayctl",
	};

	if (proto_encode(b, PROTO_BR_HELLO, 0, &h) < 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct brokerlink_user user;
	static struct pbuf hello;
	static struct evbuffer *in;

	if (in == NULL) {
		log_init("fuzz_brokerlink", LOG_LEVEL_ERROR);
		if ((in = evbuffer_new()) == NULL || (gatewayd.base = event_base_new()) == NULL)
			abort();
		user.handlers = session_broker_handlers;
		user.nhandlers = session_broker_nhandlers;
		user.up = fuzz_up;
		user.down = fuzz_down;
		user.reconfigured = fuzz_reconfigured;
		brokerlink_init(&user);
		fuzz_hello(&hello);
	}
	evbuffer_add(in, hello.data, hello.len);
	if (brokerlink_input(in) < 0 || !brokerlink_available())
		abort();
	evbuffer_add(in, data, size);
	brokerlink_input(in);
	evbuffer_drain(in, evbuffer_get_length(in));
	/* As the link's loss would: back to the state before the hello. */
	brokerlink_close();
	challenges_reset();
	return 0;
}
