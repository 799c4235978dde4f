/*
 * Fuzz target: the frame path. Arbitrary bytes arrive, in chunks whose size
 * the first input byte's low seven bits pick (chopped writes), on the input of
 * a bufferevent that ws.c reads exactly as a session does: through wslay, or
 * when the first byte's top bit is set, in pass mode (ws_pass, from the first
 * byte or, when the second byte's top bit is set too, from after the first
 * chunk, so that the switch lands anywhere in a message); each complete text
 * message goes through the connect parser and is answered, as in the
 * handshake, so replies and closes interleave with reading.
 */
#include <stdint.h>
#include <stdlib.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "gatewayd/handshake.h"
#include "gatewayd/ws.h"

#define FUZZ_MAX_MESSAGE 65536	/* the pre-auth limit of admit.c */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The ws being driven: its callback argument must exist before it does. */
static struct ws *fuzz_ws;

static void
fuzz_message_cb(void *arg, uint8_t *msg, size_t len)
{
	static struct handshake_result hs;
	struct ws *ws = fuzz_ws;

	if (handshake_parse(msg, len, &hs) == 0)
		ws_send_text(ws, msg, len);
	else
		ws_close(ws, PROTO_CLOSE_POLICY, hs.error);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct event_base *base;
	struct bufferevent *bev;
	struct ws *ws;
	size_t chunk, off = 0;
	int pass;

	if (size == 0)
		return 0;
	if (base == NULL && (base = event_base_new()) == NULL)
		abort();
	/* No socket: nothing is ever written, output just accumulates. */
	if ((bev = bufferevent_socket_new(base, -1, 0)) == NULL)
		abort();
	ws = fuzz_ws = ws_new(bev, FUZZ_MAX_MESSAGE, fuzz_message_cb, NULL);
	chunk = (size_t)(data[0] & 0x7f) + 1;
	pass = data[0] & 0x80 ? (size > 1 && (data[1] & 0x80) ? 2 : 1) : 0;
	data++;
	size--;
	if (pass == 1)
		ws_pass(ws, -1);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;

		evbuffer_add(bufferevent_get_input(bev), data + off, n);
		off += n;
		if (ws_read(ws) < 0)
			break;
		if (pass == 2)
			ws_pass(ws, -1);
	}
	ws_free(ws);
	fuzz_ws = NULL;
	bufferevent_free(bev);
	/* libevent finishes freeing a bufferevent from the loop: run it once. */
	event_base_loop(base, EVLOOP_NONBLOCK);
	return 0;
}
