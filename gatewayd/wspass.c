/*
 * Pass mode (ws_pass): data frames are read from the input and written to the
 * output here (gatewayd/wsframe.h), with wslay's framing rules and limits but
 * without its copies; control frames are fed to wslay one whole frame at a
 * time.
 */
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <wslay/wslay.h>

#include "common/log.h"
#include "gatewayd/fill.h"
#include "gatewayd/ws.h"
#include "gatewayd/ws_priv.h"
#include "gatewayd/wsframe.h"

/* How much one write of libevent's may move on a passing connection: where
 * libevent writes rather than flush.c (through TLS, or a backlog the kernel
 * did not take at once), a 64 KiB message in one system call rather than four
 * (its default is 16 KiB). */
#define WSPASS_IO_MAX (256 * 1024)

/* Pass mode begins at a message boundary: wslay holds no byte of a frame and
 * no fragment of a message, so the next byte of the input starts a frame. */
void
wspass_begin(struct ws *ws)
{
	if (ws->pass_wanted && !ws->in_read && ws->held == 0 && !ws->fragmented)
		ws->pass = 1;
}

/* What a frame header may be on this connection: 0, or the close code that
 * refuses it (wslay's rules, which pass mode keeps). */
static uint16_t
wspass_check(const struct ws *ws, const struct wsframe_head *h, const char **reason)
{
	*reason = "";
	if (h->rsv != 0 || h->masked == ws->client)
		return WSLAY_CODE_PROTOCOL_ERROR;
	if (wsframe_is_control(h->opcode))
		return h->opcode <= WSLAY_PONG && h->fin && h->len <= 125 ? 0 :
		    WSLAY_CODE_PROTOCOL_ERROR;
	if (h->opcode > WSFRAME_BINARY ||
	    (h->opcode == WSFRAME_CONTINUATION) != (ws->fragmented != 0))
		return WSLAY_CODE_PROTOCOL_ERROR;
	if (h->opcode == WSFRAME_BINARY)
		return WSLAY_CODE_UNSUPPORTED_DATA;
	if (h->len > ws->max_message - ws->msg_len)
		return WSLAY_CODE_MESSAGE_TOO_BIG;
	if (h->opcode == WSFRAME_CONTINUATION && ws->fragments >= WS_FRAGMENTS_MAX) {
		*reason = "too many fragments";
		return WSLAY_CODE_MESSAGE_TOO_BIG;
	}
	return 0;
}

/* The fragments of a message are complete: hand it on. */
static int
wspass_deliver(struct ws *ws)
{
	struct evbuffer *msg = ws->msg;
	size_t len = (size_t)ws->msg_len;
	uint8_t empty = 0, *p = &empty;

	ws->msg = NULL;
	ws->msg_len = 0;
	if (len > 0 && (p = evbuffer_pullup(msg, -1)) == NULL) {
		evbuffer_free(msg);
		log_warnx("ws: out of memory joining a fragmented message");
		return -1;
	}
	ws->cb(ws->arg, p, len);
	evbuffer_free(msg);
	return 0;
}

/*
 * A whole data frame is in the input: unmasked in place and handed on from
 * there when it is a message of its own (the usual case: no copy at all), or
 * added to the message it continues.
 */
static int
wspass_data(struct ws *ws, const struct wsframe_head *h)
{
	struct evbuffer *in = bufferevent_get_input(ws->bev);
	size_t total = h->size + (size_t)h->len;
	uint8_t *frame = evbuffer_pullup(in, (ev_ssize_t)total), *payload;
	int r;

	if (frame == NULL) {
		log_warnx("ws: out of memory reading a %zu-byte frame", total);
		return -1;
	}
	payload = frame + h->size;
	if (h->masked)
		wsframe_mask(payload, payload, (size_t)h->len, h->key);
	ws->fragments = h->opcode == WSFRAME_CONTINUATION ? ws->fragments + 1 : 1;
	if (!ws->fragmented && h->fin) {
		ws->cb(ws->arg, payload, (size_t)h->len);
		evbuffer_drain(in, total);
		wsbudget_done(ws);
		return 0;
	}
	if ((ws->msg == NULL && (ws->msg = evbuffer_new()) == NULL) ||
	    evbuffer_add(ws->msg, payload, (size_t)h->len) != 0) {
		log_warnx("ws: out of memory keeping a fragmented message");
		return -1;
	}
	evbuffer_drain(in, total);
	ws->msg_len += h->len;
	ws->fragmented = !h->fin;
	if (!h->fin)
		return 0;
	r = wspass_deliver(ws);
	wsbudget_done(ws);
	return r;
}

/* libevent reads a socket at most 4 KiB at a time (gatewayd/fill.h): a
 * passing connection over a plain socket reads the rest of what is waiting
 * itself, unless libevent's last read was short and found the socket empty. */
static void
wspass_fill(struct ws *ws)
{
	struct evbuffer *in = bufferevent_get_input(ws->bev);

	if (ws->fd >= 0 && evbuffer_get_length(in) >= ws->in_left + FILL_LIBEVENT_READ_MAX)
		fill_read(ws->bev, ws->fd);
}

/* Pass mode's reading: every complete frame in the input, in order. */
int
wspass_read(struct ws *ws)
{
	struct evbuffer *in = bufferevent_get_input(ws->bev);
	uint8_t b[WSFRAME_HEAD_MAX];
	struct wsframe_head h;
	char why[WS_REASON_MAX + 1];
	const char *reason;
	uint16_t code;
	ev_ssize_t n;
	int r;

	wspass_fill(ws);
	while (ws_reading(ws)) {
		ws->in_left = evbuffer_get_length(in);
		if ((n = evbuffer_copyout(in, b, sizeof(b))) <= 0 ||
		    (r = wsframe_head_parse(b, (size_t)n, &h)) == 0)
			return 0;
		code = r < 0 ? WSLAY_CODE_PROTOCOL_ERROR : wspass_check(ws, &h, &reason);
		if (code != 0) {
			ws_refuse(ws_ctx(ws), code, r < 0 ? "" : reason);
			return ws_write(ws);
		}
		/* Room in the budget before the payload is read; 1: wait for it. */
		if (!wsframe_is_control(h.opcode) &&
		    (r = wsbudget_frame(ws, ws->msg_len + h.len, why, sizeof(why))) != 0) {
			if (r == 1)
				return 0;
			ws_refuse(ws_ctx(ws), (uint16_t)r, why);
			return ws_write(ws);
		}
		if (evbuffer_get_length(in) < h.size + h.len)
			return 0;
		if (wsframe_is_control(h.opcode)) {
			ws->feed = h.size + (size_t)h.len;
			r = ws_recv(ws);
		} else {
			r = wspass_data(ws, &h);
		}
		if (r < 0)
			return -1;
	}
	return 0;
}

void
ws_pass(struct ws *ws, evutil_socket_t fd)
{
	ws->pass_wanted = 1;
	ws->fd = fd;
	wspass_begin(ws);
	bufferevent_set_max_single_write(ws->bev, WSPASS_IO_MAX);
}

/* Pass mode's writing: the header, then the payload copied once (masked on
 * the way when our end is the client). */
void
wspass_send(struct ws *ws, const uint8_t *msg, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(ws->bev);
	uint8_t head[WSFRAME_HEAD_MAX], key[4];
	struct evbuffer_iovec v;
	size_t hs;

	if (!ws->client) {
		hs = wsframe_head_build(head, WSFRAME_TEXT, len, NULL);
		if (evbuffer_add(out, head, hs) != 0 || evbuffer_add(out, msg, len) != 0)
			fatalx("out of memory queueing a %zu-byte frame", len);
		return;
	}
	ws_mask_key(key, sizeof(key));
	hs = wsframe_head_build(head, WSFRAME_TEXT, len, key);
	/* One vector: the space is contiguous. */
	if (evbuffer_reserve_space(out, (ev_ssize_t)(hs + len), &v, 1) != 1)
		fatalx("out of memory queueing a %zu-byte frame", len);
	memcpy(v.iov_base, head, hs);
	wsframe_mask((uint8_t *)v.iov_base + hs, msg, len, key);
	v.iov_len = hs + len;
	if (evbuffer_commit_space(out, &v, 1) != 0)
		fatalx("cannot commit a %zu-byte frame to its output buffer", len);
}
