/*
 * RFC 6455 framing through wslay's event API, over a bufferevent that already
 * spoke the HTTP upgrade, on either end (a client's session, or the relay's
 * connection to its upstream). wslay answers pings, checks UTF-8, enforces the
 * message size limit (close 1009) and protocol rules (close 1002); this module
 * refuses binary messages (close 1003) and hands complete text messages on.
 *
 * Pass mode (ws_pass), for the relay: data frames are read and written by
 * wspass.c (gatewayd/wsframe.h) with the same framing rules and limits,
 * but their text is not checked for UTF-8: the far end, which parses it,
 * does. Control frames still go through wslay.
 */
#ifndef GATEWAYD_WS_H
#define GATEWAYD_WS_H

#include <stddef.h>
#include <stdint.h>
#include <event2/util.h>

struct bufferevent;
struct ws;

/* A complete text message; valid only during the call, and the callback's to
 * overwrite (a connect that carried a secret is wiped). The callback may send
 * and close but must not free the ws. */
typedef void (*ws_message_cb)(void *arg, uint8_t *msg, size_t len);

/* The longest close reason clawgate sends: doc/protocol.md §5.1. */
#define WS_REASON_MAX 120
/* Frames one message may be split into; more: close 1009 "too many fragments".
 * wslay keeps a buffer per fragment, so without a bound tiny fragments would
 * cost far more memory than the message size limit says. Real clients do not
 * fragment at all. */
#define WS_FRAGMENTS_MAX 1024

struct ws *ws_new(struct bufferevent *bev, uint64_t max_message, ws_message_cb cb, void *arg);
/* The same for our end of a connection we opened: frames out are masked,
 * frames in must not be. */
struct ws *ws_new_client(struct bufferevent *bev, uint64_t max_message, ws_message_cb cb,
    void *arg);
void ws_free(struct ws *ws);
/* From the next message boundary on (at once, unless a message is half read),
 * frames pass in pass mode. fd: the plain socket under the bufferevent, which
 * wspass.c then reads itself in larger pieces than libevent does; -1 if there is
 * none (TLS in between). */
void ws_pass(struct ws *ws, evutil_socket_t fd);
void ws_set_max_message(struct ws *ws, uint64_t max_message);

/* Handles every complete frame in the bufferevent's input, then writes what
 * that queued (pongs, replies, closes). -1 if the connection is beyond saving
 * (out of memory in wslay): drop it without a close frame. */
int ws_read(struct ws *ws);

/* Queue a text message / a close frame and write it out. A close reason longer
 * than WS_REASON_MAX bytes is cut at a character boundary; after a close,
 * nothing more is read or sent. */
void ws_send_text(struct ws *ws, const void *msg, size_t len);
void ws_close(struct ws *ws, uint16_t code, const char *reason);

/* Whether a close frame has gone out (ours, wslay's, or the reply to the
 * peer's); then *code is the code it carried and *by_peer whether the peer
 * closed first. */
int ws_closed(struct ws *ws, uint16_t *code, int *by_peer);

/* The peer's close: its reason ("" if none) and in *code its code (1005 if
 * none); NULL while no close frame came. */
const char *ws_peer_close(const struct ws *ws, uint16_t *code);

/* Sends a ping (doc/protocol.md §1 keepalive) and says whether a pong (to any
 * ping) arrived since the previous call. */
int ws_ping(struct ws *ws);

/* The large-message budget's deadlines (gatewayd/wsbudget.c): how long a
 * connection waits for room, and the grace of a message holding room before it
 * must keep up the minimum rate. Tests shorten them; the defaults are 30 s and
 * 10 s. */
void ws_budget_times(int64_t wait_ms, int64_t grace_ms);

/* Cuts a reason to at most WS_REASON_MAX bytes at a UTF-8 boundary (in place). */
void ws_reason_cut(char *reason);

#endif
