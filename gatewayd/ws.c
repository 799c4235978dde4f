#include "gatewayd/ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <wslay/wslay.h>

#include "common/log.h"
#include "common/xmalloc.h"

struct ws {
	wslay_event_context_ptr ctx;
	struct bufferevent *bev;
	ws_message_cb cb;
	void *arg;
	int in_read;		/* inside wslay_event_recv: writing waits until it returns */
	/* A close asked for while reading. wslay sends queued control frames ahead
	 * of queued messages, so a close queued right behind a res would overtake
	 * it: the close is queued only once the messages are written. */
	int close_pending;
	int pong;		/* a pong arrived since the last ws_ping */
	unsigned fragments;	/* data frames of the message being received */
	uint16_t failed;	/* close code ws_fail wrote itself, 0 if none */
	uint16_t close_code;
	char close_reason[WS_REASON_MAX + 4];	/* room to find the cut */
};

/* wslay pulls frame bytes: whatever the bufferevent has buffered. */
static ssize_t
ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *arg)
{
	struct ws *ws = arg;
	int n = evbuffer_remove(bufferevent_get_input(ws->bev), buf, len);

	if (n <= 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
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

static void
ws_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *m, void *arg)
{
	struct ws *ws = arg;

	/* A message whose last frame broke a limit arrives all the same: the read
	 * side is shut by then, and it is dropped. */
	if (!wslay_event_get_read_enabled(ctx))
		return;
	if (m->opcode == WSLAY_TEXT_FRAME)
		ws->cb(ws->arg, m->msg, m->msg_length);
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
	if (f->opcode & 0x8)
		return;
	if (f->opcode != WSLAY_CONTINUATION_FRAME)
		ws->fragments = 0;
	if (++ws->fragments > WS_FRAGMENTS_MAX)
		ws_refuse(ctx, WSLAY_CODE_MESSAGE_TOO_BIG, "too many fragments");
}

/*
 * wslay refused a frame header (a control frame over 125 bytes or fragmented,
 * a bad length) and queued a close without a code; RFC 6455 wants 1002. That
 * close is never sent: these four bytes are (a server frame is not masked).
 */
static void
ws_fail(struct ws *ws)
{
	static const uint8_t close_1002[] = { 0x88, 0x02, 0x03, 0xea };

	wslay_event_shutdown_write(ws->ctx);
	evbuffer_add(bufferevent_get_output(ws->bev), close_1002, sizeof(close_1002));
	ws->failed = WSLAY_CODE_PROTOCOL_ERROR;
}

static const struct wslay_event_callbacks ws_callbacks = {
	.recv_callback = ws_recv_cb,
	.send_callback = ws_send_cb,
	.on_frame_recv_start_callback = ws_frame_start_cb,
	.on_msg_recv_callback = ws_msg_cb,
};

struct ws *
ws_new(struct bufferevent *bev, uint64_t max_message, ws_message_cb cb, void *arg)
{
	struct ws *ws = xcalloc(1, sizeof(*ws));

	ws->bev = bev;
	ws->cb = cb;
	ws->arg = arg;
	if (wslay_event_context_server_init(&ws->ctx, &ws_callbacks, ws) != 0)
		fatalx("out of memory allocating a WebSocket context");
	ws_set_max_message(ws, max_message);
	return ws;
}

void
ws_free(struct ws *ws)
{
	if (ws == NULL)
		return;
	wslay_event_context_free(ws->ctx);
	free(ws);
}

void
ws_set_max_message(struct ws *ws, uint64_t max_message)
{
	wslay_event_config_set_max_recv_msg_length(ws->ctx, max_message);
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
ws_queue_close(struct ws *ws)
{
	/* NO_MORE_MSG: a close is already queued (e.g. wslay's own); that one wins. */
	wslay_event_queue_close(ws->ctx, ws->close_code, (const uint8_t *)ws->close_reason,
	    strlen(ws->close_reason));
}

int
ws_read(struct ws *ws)
{
	int r;

	ws->in_read = 1;
	r = wslay_event_recv(ws->ctx);
	ws->in_read = 0;
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
	if (ws->close_pending) {
		ws->close_pending = 0;
		ws_queue_close(ws);
		return ws_write(ws);
	}
	return 0;
}

void
ws_send_text(struct ws *ws, const void *msg, size_t len)
{
	struct wslay_event_msg m = { WSLAY_TEXT_FRAME, msg, len };

	/* After a close nothing more may be queued: wslay refuses, as it should. */
	if (wslay_event_queue_msg(ws->ctx, &m) == 0)
		ws_write(ws);
}

int
ws_ping(struct ws *ws)
{
	struct wslay_event_msg m = { WSLAY_PING, NULL, 0 };
	int answered = ws->pong;

	ws->pong = 0;
	if (wslay_event_queue_msg(ws->ctx, &m) == 0)
		ws_write(ws);
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
	if (ws->close_pending)
		return;
	ws->close_code = code;
	snprintf(ws->close_reason, sizeof(ws->close_reason), "%s", reason);
	ws_reason_cut(ws->close_reason);
	wslay_event_shutdown_read(ws->ctx);
	if (ws->in_read) {
		ws->close_pending = 1;
		return;
	}
	ws_queue_close(ws);
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
	if (!wslay_event_get_close_sent(ws->ctx))
		return 0;
	*code = wslay_event_get_status_code_sent(ws->ctx);
	*by_peer = wslay_event_get_close_received(ws->ctx);
	return 1;
}
