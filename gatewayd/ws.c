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
#include "gatewayd/ws_priv.h"

/* wslay pulls frame bytes: whatever the bufferevent has buffered. */
static ssize_t
ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *arg)
{
	struct ws *ws = arg;
	int n;

	/* Waiting for room in the budget: wslay reads on where it stopped. */
	if (ws->paused) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
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

	if (m->opcode == WSLAY_TEXT_FRAME || m->opcode == WSLAY_BINARY_FRAME)
		wsbudget_done(ws);
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
void
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
	char why[WS_REASON_MAX + 1];
	int code;

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
	if (f->opcode != WSLAY_CONTINUATION_FRAME) {
		ws->fragments = 0;
		ws->announced = 0;
	}
	ws->announced = f->payload_length > UINT64_MAX - ws->announced ? UINT64_MAX :
	    ws->announced + f->payload_length;
	if (++ws->fragments > WS_FRAGMENTS_MAX)
		ws_refuse(ctx, WSLAY_CODE_MESSAGE_TOO_BIG, "too many fragments");
	else if ((code = wsbudget_frame(ws, ws->announced, why, sizeof(why))) > 1)
		ws_refuse(ctx, (uint16_t)code, why);
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
void
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
	wsbudget_init(ws);
	return ws;
}

struct ws *
ws_new_client(struct bufferevent *bev, uint64_t max_message, ws_message_cb cb, void *arg)
{
	struct ws *ws = ws_new(bev, max_message, cb, arg);

	ws->client = 1;
	/* The upstream is the admin's own server, not a client: its messages
	 * do not wait for room. */
	ws->budgeted = 0;
	return ws;
}

void
ws_free(struct ws *ws)
{
	if (ws == NULL)
		return;
	wsbudget_free(ws);
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
wslay_event_context_ptr
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

int
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
int
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
int
ws_reading(const struct ws *ws)
{
	return ws->failed == 0 && ws->close_pending == NULL &&
	    (ws->ctx == NULL || wslay_event_get_read_enabled(ws->ctx));
}

int
ws_read(struct ws *ws)
{
	int r;

	if (wsbudget_read(ws))
		return 0;
	if (ws->pass) {
		r = wspass_read(ws);
	} else {
		r = ws_recv(ws);
		wspass_begin(ws);
	}
	if (!ws_reading(ws))
		wsbudget_done(ws);
	if (r == 0)
		ws_release(ws);
	return r;
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

void
ws_send_text(struct ws *ws, const void *msg, size_t len)
{
	/* Straight into the output unless wslay has frames queued, which must
	 * go first (it writes them as soon as it is not reading). */
	if (ws->pass && !ws->in_read &&
	    (ws->ctx == NULL || wslay_event_get_queued_msg_count(ws->ctx) == 0)) {
		if (!ws_sending_done(ws))
			wspass_send(ws, msg, len);
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
	wsbudget_done(ws);
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
