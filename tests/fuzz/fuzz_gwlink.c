/*
 * Fuzz target: gateway.sock as a hostile gatewayd writes it. The input is a
 * stream of frames (header and payload) fed to one gateway link, with no socket:
 * the link runs on one end of an in-memory bufferevent pair, so every frame goes
 * through the same path as on the real socket: the header check, the permit
 * table, proto_decode (with pval_check for blobs), the resolution of what the
 * message needs, and the handlers (admission, RPCs). Checked:
 *  - every answer brokerd sends is a whole, decodable broker message of this
 *    protocol version, and none carries the shared token;
 *  - a link that broke a rule is dropped (its end of the pair goes), and one
 *    that did not goes when gatewayd's end closes: no link outlives an input.
 * A GW_RPC or GW_SESSION_CLOSED whose ticket is all zeros gets the conn and
 * ticket of the last session the broker accepted on this input, so that RPCs
 * of real sessions are reached too (tickets cannot be forged).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "brokerd/broker.h"
#include "brokerd/gwlink.h"
#include "brokerd/gwserve.h"
#include "brokerd/pairing.h"
#include "brokerd/ratelimit.h"
#include "brokerd/rpclimit.h"
#include "brokerd/sessions.h"
#include "common/log.h"
#include "common/random.h"

#define FUZZ_TOKEN "fuzz-shared-token-0123456789"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct event_base *fuzz_base;
static char fuzz_dir[64];

/* What the broker accepted last on the current input, for the ticket splice. */
static struct {
	int have;
	uint64_t conn;
	uint8_t ticket[PROTO_TICKET_LEN];
} fuzz_last;

union fuzz_answer {
	struct proto_br_hello hello;
	struct proto_challenge challenge;
	struct proto_accept accept;
	struct proto_reject reject;
	struct proto_rpc_result result;
	struct proto_event event;
	struct proto_close close;
	struct proto_br_config config;
};

static const struct pairing_effects fuzz_effects = {
	.publish = gwlink_publish,
	.close_device = gwlink_close_device,
	.device_connected = sessions_device_connected,
};

static void
fuzz_cleanup(void)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", fuzz_dir, REG_FILE);
	unlink(path);
	rmdir(fuzz_dir);
}

static void
fuzz_setup(void)
{
	static struct config cfg;
	static struct registry reg;
	static struct broker br;
	static char token[] = FUZZ_TOKEN;
	int fd;

	log_init("fuzz_gwlink", LOG_LEVEL_ERROR);
	random_init();
	ticket_init();
	snprintf(fuzz_dir, sizeof(fuzz_dir), "/tmp/clawgate-fuzz-gwlink.XXXXXX");
	if (mkdtemp(fuzz_dir) == NULL || (fd = open(fuzz_dir, O_RDONLY | O_DIRECTORY)) < 0)
		abort();
	atexit(fuzz_cleanup);
	cfg.auth_mode = AUTH_MODE_TOKEN;
	cfg.token = token;
	cfg.handshake_timeout_ms = 10000;
	registry_init(&reg, fd, fuzz_dir);
	br.cfg = &cfg;
	br.reg = &reg;
	br.rl = ratelimit_new();
	br.rpclimit = rpclimit_new();
	br.state_dir = fuzz_dir;
	br.state_fd = fd;
	pairing_init(&fuzz_effects);
	sessions_init();
	if ((fuzz_base = event_base_new()) == NULL)
		abort();
	gwserve_init(fuzz_base, &br);
}

/* gatewayd's end: every answer must be a whole broker message. */
static void
fuzz_answers(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	static union fuzz_answer m;
	struct proto_hdr hdr;
	uint8_t *p;
	size_t avail;

	while ((avail = evbuffer_get_length(in)) >= PROTO_HDR_LEN) {
		p = evbuffer_pullup(in, PROTO_HDR_LEN);
		if (proto_hdr_parse(p, avail, PROTO_MAX_PAYLOAD, &hdr) != PROTO_FRAME_OK ||
		    hdr.version != PROTO_VERSION)
			abort();
		if (avail < PROTO_HDR_LEN + (size_t)hdr.len)
			return;
		p = evbuffer_pullup(in, (ssize_t)(PROTO_HDR_LEN + hdr.len));
		if ((hdr.type >> 8) != 0x02 && (hdr.type >> 8) != 0x03)
			abort();
		if (proto_decode(hdr.type, p + PROTO_HDR_LEN, hdr.len, &m, sizeof(m)) < 0)
			abort();
		if (memmem(p, PROTO_HDR_LEN + hdr.len, FUZZ_TOKEN, strlen(FUZZ_TOKEN)) != NULL)
			abort();
		if (hdr.type == PROTO_BR_ACCEPT) {
			fuzz_last.have = 1;
			fuzz_last.conn = m.accept.conn;
			memcpy(fuzz_last.ticket, m.accept.ticket, PROTO_TICKET_LEN);
		}
		evbuffer_drain(in, PROTO_HDR_LEN + hdr.len);
	}
}

/* Puts the last accepted session's conn and ticket into a GW_RPC or
 * GW_SESSION_CLOSED frame whose ticket is all zeros. */
static void
fuzz_splice(uint8_t *frame, size_t len)
{
	static const uint8_t zeros[PROTO_TICKET_LEN];
	uint16_t type = (uint16_t)(frame[4] << 8 | frame[5]);
	uint8_t *payload = frame + PROTO_HDR_LEN;

	if (!fuzz_last.have || (type != PROTO_GW_RPC && type != PROTO_GW_SESSION_CLOSED) ||
	    len < PROTO_HDR_LEN + 8 + PROTO_TICKET_LEN ||
	    memcmp(payload + 8, zeros, PROTO_TICKET_LEN) != 0)
		return;
	proto_put_u64(payload, fuzz_last.conn);
	memcpy(payload + 8, fuzz_last.ticket, PROTO_TICKET_LEN);
}

/* Whether the link went (its end of the pair was freed). */
static int
fuzz_link_gone(struct bufferevent *peer)
{
	event_base_loop(fuzz_base, EVLOOP_NONBLOCK);
	return bufferevent_pair_get_partner(peer) == NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bufferevent *pair[2];
	static uint8_t frame[PROTO_HDR_LEN + PROTO_MAX_REQUEST + 1];
	size_t off = 0, n;

	if (fuzz_base == NULL)
		fuzz_setup();
	memset(&fuzz_last, 0, sizeof(fuzz_last));
	if (bufferevent_pair_new(fuzz_base, 0, pair) < 0)
		abort();
	gwlink_open(pair[0]);
	bufferevent_setcb(pair[1], fuzz_answers, NULL, NULL, NULL);
	bufferevent_enable(pair[1], EV_READ | EV_WRITE);
	/* Frame by frame, so that a splice can use the answers so far. */
	while (off < size && !fuzz_link_gone(pair[1])) {
		n = size - off;
		if (n >= PROTO_HDR_LEN) {
			uint32_t len = proto_get_u32(data + off);

			if (len <= PROTO_MAX_REQUEST && n >= PROTO_HDR_LEN + (size_t)len)
				n = PROTO_HDR_LEN + len;
		}
		memcpy(frame, data + off, n < sizeof(frame) ? n : sizeof(frame));
		if (n <= sizeof(frame))
			fuzz_splice(frame, n);
		bufferevent_write(pair[1], n <= sizeof(frame) ? frame : data + off, n);
		off += n;
	}
	/* Whatever is left, gatewayd closes the link now: it must go. */
	if (!fuzz_link_gone(pair[1])) {
		bufferevent_trigger_event(pair[0], BEV_EVENT_EOF, 0);
		if (!fuzz_link_gone(pair[1]))
			abort();
	}
	bufferevent_free(pair[1]);
	return 0;
}
