/*
 * What ws.c and its pass mode (wspass.c) share: the state of one WebSocket
 * and the steps of wslay's path that pass mode calls for control frames.
 * Nothing outside these two files includes this.
 */
#ifndef GATEWAYD_WS_PRIV_H
#define GATEWAYD_WS_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <event2/util.h>
#include <wslay/wslay.h>

#include "gatewayd/msgbudget.h"

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
	/* ws.h's ws_message_cb (not included here: ws.c includes both) */
	void (*cb)(void *arg, uint8_t *msg, size_t len);
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
	/* The large-message budget (gatewayd/msgbudget.h): a server's end
	 * reserves for a message over MSGBUDGET_SMALL bytes before reading it. */
	uint8_t budgeted;
	uint8_t paused;		/* waiting for room: nothing more is read */
	uint16_t budget_close;	/* the close a budget deadline decided, 0 if none */
	uint64_t reserved;	/* bytes of the budget the message being read holds */
	uint64_t announced;	/* wslay's path: payload its frames announced so far */
	int64_t budget_since;	/* when the reservation began (the wait not counted) */
	int64_t wait_since;
	struct event *budget_timer;	/* the wait's deadline, or the holder's */
	struct msgbudget_wait budget_wait;
};

/* ws.c: the context, made when bytes arrive or a frame must go out. */
wslay_event_context_ptr ws_ctx(struct ws *ws);
/* Queues a close at once, ahead of anything wslay would queue for the frame
 * being read. */
void ws_refuse(wslay_event_context_ptr ctx, uint16_t code, const char *reason);
/* Runs wslay over what it may take of the input, then writes what it queued. */
int ws_recv(struct ws *ws);
/* Writes what wslay queued (unless inside wslay_event_recv). */
int ws_write(struct ws *ws);
/* Whether frames are still read: no close came or went, nothing failed. */
int ws_reading(const struct ws *ws);
/* A client's masking key. */
void ws_mask_key(uint8_t *buf, size_t len);

/* wsbudget.c: the large-message budget of a server's end. */
void wsbudget_init(struct ws *ws);
/* A data frame's header announced the message to be total bytes so far: 0 to
 * read on, 1 to wait for room in the budget (reading is paused until then), or
 * the close code that refuses the message, with its reason in reason[size]. */
int wsbudget_frame(struct ws *ws, uint64_t total, char *reason, size_t size);
/* The message is complete, or no more is read: its budget is free again. */
void wsbudget_done(struct ws *ws);
/* Before a read: 1 if nothing is to be read (waiting for room, or closed for
 * the budget's sake just now), else 0. */
int wsbudget_read(struct ws *ws);
void wsbudget_free(struct ws *ws);

/* wspass.c: pass mode's steps. */
/* Pass mode begins when ws_pass was called and a message boundary is reached. */
void wspass_begin(struct ws *ws);
/* Every complete frame in the input, in order. */
int wspass_read(struct ws *ws);
/* One text frame straight into the output. */
void wspass_send(struct ws *ws, const uint8_t *msg, size_t len);

#endif
