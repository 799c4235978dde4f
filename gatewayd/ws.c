#include "gatewayd/ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <wslay/wslay.h>

#include "common/log.h"
#include "common/random.h"
#include "common/xmalloc.h"
#include "gatewayd/fill.h"
#include "gatewayd/wsframe.h"

/* How much one write of libevent's may move on a passing connection: where
 * libevent writes rather than flush.c (through TLS, or a backlog the kernel
 * did not take at once), a 64 KiB message in one system call rather than four
 * (its default is 16 KiB). */
#define WS_PASS_IO_MAX (256 * 1024)

/*
 * A wslay context carries two fixed frame buffers (about 8.5 KiB), so a ws
 * holds one only while it is needed: from the first byte that arrives or frame
 * that must go out until the connection is back at a message boundary with
 * nothing half-read and nothing queued (ws_release). An idle authenticated
 * session thus costs only this struct. A closing ws keeps its context: it
 * remembers what was sent and received.
 */
struct ws {
	wslay_event_context_ptr ctx;	/* NULL while idle */
	struct bufferevent *bev;
	ws_message_cb cb;
	void *arg;
	uint64_t max_message;
	/* Bytes wslay took from the input that are not part of a frame it has
	 * finished: a partial header, or a frame whose payload is still coming.
	 * wslay keeps them in its context, which must live while any are. */
	uint64_t held;
	uint64_t frame_len;	/* header and payload of the frame being read */
	unsigned fragments;	/* data frames of the message being received */
	uint8_t in_read;	/* inside wslay_event_recv: writing waits until it returns */
	uint8_t fragmented;	/* a message's last frame is still to come */
	uint8_t pong;		/* a pong arrived since the last ws_ping */
	uint16_t failed;	/* close code ws_fail wrote itself, 0 if none */
	uint16_t close_code;
	uint8_t client;		/* our end is the client: frames out are masked */
	char *peer_reason;	/* the reason of the peer's close, once it came */
	/* A close asked for while reading (NULL: none). wslay sends queued
	 * control frames ahead of queued messages, so a close queued right behind
	 * a res would overtake it: the close is queued only once the messages are
	 * written. */
	char *close_pending;
	/* Pass mode (ws_pass): data frames are read and written here, wslay
	 * sees only control frames, one whole frame at a time (feed). */
	uint8_t pass_wanted;	/* ws_pass was called */
	uint8_t pass;		/* ... and wslay held nothing of a message then */
	evutil_socket_t fd;	/* the plain socket under bev (ws_pass_fill), or -1 */
	size_t in_left;		/* input bytes left after the previous read */
	size_t feed;		/* bytes of the control frame wslay may still take */
	uint64_t msg_len;	/* payload of the fragmented message so far */
	struct evbuffer *msg;	/* its fragments, unmasked */
};

/* wslay pulls frame bytes: whatever the bufferevent has buffered. */
static ssize_t
ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *arg)
{
	struct ws *ws = arg;
	int n;

	if (ws->pass && len > ws->feed)
		len = ws->feed;
	n = len == 0 ? 0 : evbuffer_remove(bufferevent_get_input(ws->bev), buf, len);
	if (n <= 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	ws->held += (uint64_t)n;
	if (ws->pass)
		ws->feed -= (size_t)n;
	return n;
}

/* wslay pushes frame bytes: the output evbuffer takes everything, so a send
 * never blocks; the session bounds the backlog (policy.maxBufferedBytes). */
static ssize_t
ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *arg)
{
	struct ws *ws = arg;

	if (evbuffer_add(bufferevent_get_output(ws->bev), data, len) != 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)len;
}

/* A close frame's reason (after its two-byte code), NUL-terminated and cut
 * like ours (a control frame's payload is at most 125 bytes anyway). */
static char *
ws_reason_dup(const uint8_t *payload, size_t len)
{
	size_t n = len > 2 ? len - 2 : 0;
	char *r = xmalloc(n + 1);

	if (n > 0)
		memcpy(r, payload + 2, n);
	r[n] = '\0';
	ws_reason_cut(r);
	return r;
}

static void
ws_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *m, void *arg)
{
	struct ws *ws = arg;

	/* The peer's close shuts the read side before it arrives here. */
	if (m->opcode == WSLAY_CONNECTION_CLOSE && ws->peer_reason == NULL)
		ws->peer_reason = ws_reason_dup(m->msg, m->msg_length);
	/* A message whose last frame broke a limit arrives all the same: the read
	 * side is shut by then, and it is dropped. */
	if (!wslay_event_get_read_enabled(ctx))
		return;
	/* wslay's own heap buffer, const only in its interface. */
	if (m->opcode == WSLAY_TEXT_FRAME)
		ws->cb(ws->arg, (uint8_t *)m->msg, m->msg_length);
	else if (m->opcode == WSLAY_BINARY_FRAME)
		ws_close(ws, WSLAY_CODE_UNSUPPORTED_DATA, "");
	else if (m->opcode == WSLAY_PONG)
		ws->pong = 1;
	/* Pings are answered by wslay, closes are echoed by wslay (ws_closed tells
	 * the session). */
}

/* Queues a close at once, ahead of anything wslay would queue for the frame
 * being read: for protocol violations, where no reply is owed first. */
static void
ws_refuse(wslay_event_context_ptr ctx, uint16_t code, const char *reason)
{
	wslay_event_queue_close(ctx, code, (const uint8_t *)reason, strlen(reason));
	wslay_event_shutdown_read(ctx);
}

/* What wslay lets pass: a close frame with a 1-byte payload (RFC 6455 §5.5.1
 * wants 0 or at least 2), and a message split into too many frames. */
static void
ws_frame_start_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_frame_recv_start_arg *f,
    void *arg)
{
	struct ws *ws = arg;

	if (f->opcode == WSLAY_CONNECTION_CLOSE && f->payload_length == 1) {
		ws_refuse(ctx, WSLAY_CODE_PROTOCOL_ERROR, "");
		return;
	}
	/* wslay accepts only the shortest length encoding, only masked frames
	 * from a client and only unmasked ones from a server: the header's size
	 * follows from the length. */
	ws->frame_len = 2 + (ws->client ? 0 : 4) + f->payload_length +
	    (f->payload_length < 126 ? 0 : f->payload_length < 65536 ? 2 : 8);
	if (f->opcode & 0x8)
		return;
	ws->fragmented = !f->fin;
	if (f->opcode != WSLAY_CONTINUATION_FRAME)
		ws->fragments = 0;
	if (++ws->fragments > WS_FRAGMENTS_MAX)
		ws_refuse(ctx, WSLAY_CODE_MESSAGE_TOO_BIG, "too many fragments");
}

/* A frame is complete: wslay holds none of its bytes any more. */
static void
ws_frame_end_cb(wslay_event_context_ptr ctx, void *arg)
{
	struct ws *ws = arg;

	ws->held -= ws->frame_len;
	ws->frame_len = 0;
}

/*
 * wslay refused a frame header (a control frame over 125 bytes or fragmented,
 * a bad length) and queued a close without a code; RFC 6455 wants 1002. That
 * close is never sent: these bytes are (a server frame is not masked; a
 * client's is, and a zero key masks a constant payload as well as any).
 */
static void
ws_fail(struct ws *ws)
{
	static const uint8_t close_1002[] = { 0x88, 0x02, 0x03, 0xea };
	static const uint8_t close_1002_masked[] = { 0x88, 0x82, 0, 0, 0, 0, 0x03, 0xea };

	wslay_event_shutdown_write(ws->ctx);
	if (ws->client)
		evbuffer_add(bufferevent_get_output(ws->bev), close_1002_masked,
		    sizeof(close_1002_masked));
	else
		evbuffer_add(bufferevent_get_output(ws->bev), close_1002, sizeof(close_1002));
	ws->failed = WSLAY_CODE_PROTOCOL_ERROR;
}

/* The masking keys of a client's frames (RFC 6455 §5.3: unpredictable), from
 * the CSPRNG a pool at a time: one call per frame would cost more than masking
 * a small frame. */
static void
ws_mask_key(uint8_t *buf, size_t len)
{
	static uint8_t pool[512];
	static size_t used = sizeof(pool);

	for (size_t i = 0; i < len; i++) {
		if (used == sizeof(pool)) {
			random_bytes(pool, sizeof(pool));
			used = 0;
		}
		buf[i] = pool[used++];
	}
}

static int
ws_genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *arg)
{
	ws_mask_key(buf, len);
	return 0;
}

static const struct wslay_event_callbacks ws_callbacks = {
	.recv_callback = ws_recv_cb,
	.send_callback = ws_send_cb,
	.genmask_callback = ws_genmask_cb,
	.on_frame_recv_start_callback = ws_frame_start_cb,
	.on_frame_recv_end_callback = ws_frame_end_cb,
	.on_msg_recv_callback = ws_msg_cb,
};

struct ws *
ws_new(struct bufferevent *bev, uint64_t max_message, ws_message_cb cb, void *arg)
{
	struct ws *ws = xcalloc(1, sizeof(*ws));

	ws->bev = bev;
	ws->cb = cb;
	ws->arg = arg;
	ws->max_message = max_message;
	ws->fd = -1;
	return ws;
}

struct ws *
ws_new_client(struct bufferevent *bev, uint64_t max_message, ws_message_cb cb, void *arg)
{
	struct ws *ws = ws_new(bev, max_message, cb, arg);

	ws->client = 1;
	return ws;
}

void
ws_free(struct ws *ws)
{
	if (ws == NULL)
		return;
	wslay_event_context_free(ws->ctx);
	if (ws->msg != NULL)
		evbuffer_free(ws->msg);
	free(ws->close_pending);
	free(ws->peer_reason);
	free(ws);
}

void
ws_set_max_message(struct ws *ws, uint64_t max_message)
{
	ws->max_message = max_message;
	if (ws->ctx != NULL)
		wslay_event_config_set_max_recv_msg_length(ws->ctx, max_message);
}

/* The context, made when bytes arrive or a frame must go out. */
static wslay_event_context_ptr
ws_ctx(struct ws *ws)
{
	if (ws->ctx == NULL) {
		if ((ws->client ? wslay_event_context_client_init(&ws->ctx, &ws_callbacks, ws) :
		    wslay_event_context_server_init(&ws->ctx, &ws_callbacks, ws)) != 0)
			fatalx("out of memory allocating a WebSocket context");
		wslay_event_config_set_max_recv_msg_length(ws->ctx, ws->max_message);
	}
	return ws->ctx;
}

/*
 * Frees the context once it holds nothing a fresh one would not: no byte of
 * an unfinished frame, no message whose last fragment is still to come, no
 * frame queued for sending, no close asked for, sent or received.
 */
static void
ws_release(struct ws *ws)
{
	wslay_event_context_ptr ctx = ws->ctx;

	if (ctx == NULL || ws->in_read || ws->held != 0 || ws->fragmented ||
	    ws->close_pending != NULL || ws->failed != 0)
		return;
	if (!wslay_event_get_read_enabled(ctx) || !wslay_event_get_write_enabled(ctx) ||
	    wslay_event_want_write(ctx) || wslay_event_get_queued_msg_count(ctx) != 0 ||
	    wslay_event_get_close_received(ctx) || wslay_event_get_close_sent(ctx))
		return;
	wslay_event_context_free(ctx);
	ws->ctx = NULL;
}

static int
ws_write(struct ws *ws)
{
	int r;

	if (ws->in_read)
		return 0;
	if ((r = wslay_event_send(ws->ctx)) != 0) {
		log_warnx("ws: cannot queue frames for sending (wslay error %d)", r);
		return -1;
	}
	return 0;
}

static void
ws_queue_close(struct ws *ws, const char *reason)
{
	/* NO_MORE_MSG: a close is already queued (e.g. wslay's own); that one wins. */
	wslay_event_queue_close(ws_ctx(ws), ws->close_code, (const uint8_t *)reason,
	    strlen(reason));
}

/* Runs wslay over what it may take of the input (in pass mode: the control
 * frame it is fed), then writes what that queued. */
static int
ws_recv(struct ws *ws)
{
	int r;

	ws->in_read = 1;
	r = wslay_event_recv(ws_ctx(ws));
	ws->in_read = 0;
	ws->feed = 0;
	/* Our callbacks never fail, so a callback failure is wslay's frame
	 * parser refusing a header; anything else is out of memory. */
	if (r == WSLAY_ERR_CALLBACK_FAILURE) {
		ws_fail(ws);
		return 0;
	}
	if (r != 0) {
		log_warnx("ws: cannot process frames (wslay error %d)", r);
		return -1;
	}
	if (ws_write(ws) < 0)
		return -1;
	if (ws->close_pending != NULL) {
		ws_queue_close(ws, ws->close_pending);
		free(ws->close_pending);
		ws->close_pending = NULL;
		return ws_write(ws);
	}
	return 0;
}

/* Whether frames are still read: no close came or went, nothing failed. */
static int
ws_reading(const struct ws *ws)
{
	return ws->failed == 0 && ws->close_pending == NULL &&
	    (ws->ctx == NULL || wslay_event_get_read_enabled(ws->ctx));
}

/* Pass mode begins at a message boundary: wslay holds no byte of a frame and
 * no fragment of a message, so the next byte of the input starts a frame. */
static void
ws_pass_begin(struct ws *ws)
{
	if (ws->pass_wanted && !ws->in_read && ws->held == 0 && !ws->fragmented)
		ws->pass = 1;
}

/* What a frame header may be on this connection: 0, or the close code that
 * refuses it (wslay's rules, which pass mode keeps). */
static uint16_t
ws_pass_check(const struct ws *ws, const struct wsframe_head *h, const char **reason)
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
ws_pass_deliver(struct ws *ws)
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
ws_pass_data(struct ws *ws, const struct wsframe_head *h)
{
	struct evbuffer *in = bufferevent_get_input(ws->bev);
	size_t total = h->size + (size_t)h->len;
	uint8_t *frame = evbuffer_pullup(in, (ev_ssize_t)total), *payload;

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
	return h->fin ? ws_pass_deliver(ws) : 0;
}

/* libevent reads a socket at most 4 KiB at a time (gatewayd/fill.h): a
 * passing connection over a plain socket reads the rest of what is waiting
 * itself, unless libevent's last read was short and found the socket empty. */
static void
ws_pass_fill(struct ws *ws)
{
	struct evbuffer *in = bufferevent_get_input(ws->bev);

	if (ws->fd >= 0 && evbuffer_get_length(in) >= ws->in_left + FILL_LIBEVENT_READ_MAX)
		fill_read(ws->bev, ws->fd);
}

/* Pass mode's reading: every complete frame in the input, in order. */
static int
ws_pass_read(struct ws *ws)
{
	struct evbuffer *in = bufferevent_get_input(ws->bev);
	uint8_t b[WSFRAME_HEAD_MAX];
	struct wsframe_head h;
	const char *reason;
	uint16_t code;
	ev_ssize_t n;
	int r;

	ws_pass_fill(ws);
	while (ws_reading(ws)) {
		ws->in_left = evbuffer_get_length(in);
		if ((n = evbuffer_copyout(in, b, sizeof(b))) <= 0 ||
		    (r = wsframe_head_parse(b, (size_t)n, &h)) == 0)
			return 0;
		code = r < 0 ? WSLAY_CODE_PROTOCOL_ERROR : ws_pass_check(ws, &h, &reason);
		if (code != 0) {
			ws_refuse(ws_ctx(ws), code, r < 0 ? "" : reason);
			return ws_write(ws);
		}
		if (evbuffer_get_length(in) < h.size + h.len)
			return 0;
		if (wsframe_is_control(h.opcode)) {
			ws->feed = h.size + (size_t)h.len;
			r = ws_recv(ws);
		} else {
			r = ws_pass_data(ws, &h);
		}
		if (r < 0)
			return -1;
	}
	return 0;
}

int
ws_read(struct ws *ws)
{
	int r;

	if (ws->pass) {
		r = ws_pass_read(ws);
	} else {
		r = ws_recv(ws);
		ws_pass_begin(ws);
	}
	if (r == 0)
		ws_release(ws);
	return r;
}

void
ws_pass(struct ws *ws, evutil_socket_t fd)
{
	ws->pass_wanted = 1;
	ws->fd = fd;
	ws_pass_begin(ws);
	bufferevent_set_max_single_write(ws->bev, WS_PASS_IO_MAX);
}

/* Queues one frame and writes it out (a closed ws refuses: wslay's NO_MORE_MSG). */
static void
ws_send(struct ws *ws, uint8_t opcode, const void *msg, size_t len)
{
	struct wslay_event_msg m = { opcode, msg, len };

	if (wslay_event_queue_msg(ws_ctx(ws), &m) == 0)
		ws_write(ws);
	ws_release(ws);
}

/* Whether a close went or is on its way: then nothing more is sent. */
static int
ws_sending_done(const struct ws *ws)
{
	return ws->failed != 0 || ws->close_pending != NULL || (ws->ctx != NULL &&
	    (!wslay_event_get_write_enabled(ws->ctx) || wslay_event_get_close_sent(ws->ctx)));
}

/* Pass mode's writing: the header, then the payload copied once (masked on
 * the way when our end is the client). */
static void
ws_pass_send(struct ws *ws, const uint8_t *msg, size_t len)
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

void
ws_send_text(struct ws *ws, const void *msg, size_t len)
{
	/* Straight into the output unless wslay has frames queued, which must
	 * go first (it writes them as soon as it is not reading). */
	if (ws->pass && !ws->in_read &&
	    (ws->ctx == NULL || wslay_event_get_queued_msg_count(ws->ctx) == 0)) {
		if (!ws_sending_done(ws))
			ws_pass_send(ws, msg, len);
		return;
	}
	ws_send(ws, WSLAY_TEXT_FRAME, msg, len);
}

int
ws_ping(struct ws *ws)
{
	int answered = ws->pong;

	ws->pong = 0;
	ws_send(ws, WSLAY_PING, NULL, 0);
	return answered;
}

void
ws_reason_cut(char *reason)
{
	size_t len = strlen(reason);

	if (len <= WS_REASON_MAX)
		return;
	len = WS_REASON_MAX;
	/* Back off continuation bytes so that the cut falls before a character. */
	while (len > 0 && ((unsigned char)reason[len] & 0xc0) == 0x80)
		len--;
	reason[len] = '\0';
}

void
ws_close(struct ws *ws, uint16_t code, const char *reason)
{
	char cut[WS_REASON_MAX + 4];	/* room to find the cut */

	if (ws->close_pending != NULL)
		return;
	ws->close_code = code;
	snprintf(cut, sizeof(cut), "%s", reason);
	ws_reason_cut(cut);
	wslay_event_shutdown_read(ws_ctx(ws));
	if (ws->in_read) {
		ws->close_pending = xstrdup(cut);
		return;
	}
	ws_queue_close(ws, cut);
	ws_write(ws);
}

int
ws_closed(struct ws *ws, uint16_t *code, int *by_peer)
{
	if (ws->failed != 0) {
		*code = ws->failed;
		*by_peer = 0;
		return 1;
	}
	if (ws->ctx == NULL || !wslay_event_get_close_sent(ws->ctx))
		return 0;
	*code = wslay_event_get_status_code_sent(ws->ctx);
	*by_peer = wslay_event_get_close_received(ws->ctx);
	return 1;
}

const char *
ws_peer_close(const struct ws *ws, uint16_t *code)
{
	if (ws->ctx == NULL || !wslay_event_get_close_received(ws->ctx))
		return NULL;
	*code = wslay_event_get_status_code_received(ws->ctx);
	return ws->peer_reason != NULL ? ws->peer_reason : "";
}
