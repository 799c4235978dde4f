/*
 * What the session files share, and nothing else includes. A session goes
 * through phases, each in a file of its own:
 *   session.c    the connection: socket, timers, WebSocket reads, close and free
 *   fdbudget.c   the descriptors of accepted sockets: per-address budget before
 *                the upgrade, the reserve near the open-file limit
 *   front.c      the front door: the HTTP request head -> an upgrade, a Control
 *                UI file, /healthz or a refusal; forwarding headers; the
 *                per-address limit on unauthenticated sockets
 *   admit.c      the handshake: challenge, connect frame, brokerd's verdict,
 *                hello-ok
 *   authed.c     the authenticated session: request frames, results, events
 *                fanned out, ticks, pings, brokerd's closes
 *   relay.c      relay mode: the admitted session carried to the upstream
 *                OpenClaw gateway (upstream.c), frames relayed both ways
 *   accesslog.c  the admission and rejection log lines
 */
#ifndef GATEWAYD_SESSION_PRIV_H
#define GATEWAYD_SESSION_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <event2/util.h>

#include "common/defer.h"
#include "gatewayd/brokerlink.h"
#include "gatewayd/flush.h"
#include "gatewayd/render.h"
#include "gatewayd/staticfiles.h"
#include "proto/proto.h"

struct http_request;

enum session_state {
	SESSION_HTTP,		/* reading the request head */
	SESSION_CHALLENGE,	/* upgraded, GW_CHALLENGE sent, no nonce yet */
	SESSION_CHALLENGED,	/* connect.challenge sent, waiting for the connect */
	SESSION_CONNECTING,	/* GW_CONNECT sent, waiting for the verdict */
	SESSION_AUTHED,		/* hello-ok sent */
	SESSION_ECHO,		/* --test-echo: text messages come back */
	SESSION_CLOSING,	/* close sent (or HTTP answered): flushing, then gone */
};

/* A frame received before the verdict, kept to be handled after it. */
struct session_frame {
	struct session_frame *next;
	size_t len;
	uint8_t data[];
};

/* A refusal brokerd asked to hold back (doc/protocol.md §4.6: a wrong secret from
 * loopback is answered late, never locked out); sent when the timer fires. */
struct session_verdict {
	uint16_t code;
	char reason[PROTO_REASON_MAX + 1];
	size_t len;			/* the res frame, 0: none */
	uint8_t res[];
};

/* What a session needs only until its verdict: freed at hello-ok so that an
 * idle authenticated session costs little. A relayed session keeps it (and
 * queues the client's frames in it) until the upstream's hello-ok. */
struct session_pre {
	char origin[PROTO_TEXT_MAX + 1];
	char host[PROTO_TEXT_MAX + 1];
	uint8_t proxy_headers;
	char connect_id[PROTO_ID_MAX + 1];
	/* for the admission or rejection log line */
	char client_id[PROTO_NAME_MAX + 1];
	char client_mode[PROTO_NAME_MAX + 1];
	char device_id[PROTO_ID_MAX + 1];
	struct session_frame *queue, **queue_tail;
	unsigned nqueued;
	struct session_verdict *verdict;
	/* relay mode: the connect for the upstream, without device and auth */
	uint8_t *upstream_connect;
	size_t upstream_connect_len;
};

/* What an authenticated session keeps (authed.c). */
struct session_authed {
	TAILQ_ENTRY(session) entry;		/* on authed.c's list */
	uint64_t seq;				/* events sent since hello-ok */
	uint8_t pairing_events;			/* PROTO_ACCEPT_PAIRING_EVENTS */
	uint8_t pairing_all;			/* PROTO_ACCEPT_PAIRING_ALL */
	uint8_t pinged;				/* a keepalive ping went out */
	uint8_t forbidden;			/* requests brokerd refused FORBIDDEN */
	/* From BR_ACCEPT: brokerd keeps nothing per session, so each request
	 * carries this and so does the report that the session ended. */
	uint8_t ticket[PROTO_TICKET_LEN];
};

struct session {
	TAILQ_ENTRY(session) entry;		/* every live session (session.c) */
	TAILQ_ENTRY(session) front_entry;	/* while s->front (fdbudget.c) */
	struct defer_entry dead;		/* freed from a fresh loop pass */
	struct bufferevent *bev;
	struct flush flush;			/* bev's writes */
	struct ws *ws;				/* from the upgrade on */
	struct session_pre *pre;		/* from the upgrade to the verdict */
	struct session_authed authed;		/* from hello-ok on */
	struct relay *relay;			/* relay mode: from brokerd's accept on */
	struct staticfiles_body body;		/* a Control UI file still being sent */
	/* The handshake deadline, then the closing linger; an authenticated
	 * session has none (the shared tick serves them all). */
	struct event *timer;
	uint64_t conn;				/* nonzero while the broker knows it */
	enum session_state state;
	uint8_t shut;				/* shutdown(SHUT_WR) done */
	uint8_t preauth;			/* counted by preauth_acquire */
	uint8_t front;				/* counted by fdbudget_admit */
	uint8_t head_begun;			/* a byte of the request head came */
	int64_t accepted_ms;			/* monotonic */
	char peer[PROTO_ADDR_MAX + 1];		/* the client (proxy.c attributes it) */
	char via[PROTO_ADDR_MAX + 8];		/* "direct" or "proxy:<TCP peer>" */
};

/* session.c */
#define SESSION_LINGER_MS 2000	/* how long a closing socket may take to finish */
void session_timer_set(struct session *s, void (*cb)(evutil_socket_t, short, void *),
    uint32_t ms);
/* (Re)arms the deadline of an upgraded session not authenticated yet: its
 * handshake must be done within handshake_timeout_ms from now. */
void session_deadline(struct session *s);
/* The first bytes of the request head are in: the rest must follow soon. */
void session_head_begun(struct session *s);
/* The retryable UNAVAILABLE answer to request id, with that message. */
void session_send_retryable(struct session *s, const char *id, const char *message);
/* Sends one text frame; a peer that does not read is closed 1008. */
void session_send(struct session *s, const uint8_t *data, size_t len);
void session_send_rendered(struct session *s, const struct render_out *out);
/* The retryable UNAVAILABLE answer to request id while brokerd is away. */
void session_send_unavailable(struct session *s, const char *id);
/* Sends the close frame (if upgraded) and lets the socket drain: the session
 * ends once the peer closed too, or after a linger. */
void session_close(struct session *s, uint16_t code, const char *reason);
/* The same without a close frame: the HTTP answer is out, or the ws closed. */
void session_closing(struct session *s);
/* A closing session is dropped if it has not finished ms from now. */
void session_linger(struct session *s, uint32_t ms);
/* A refused handshake: its log line, then the close. */
void session_reject(struct session *s, uint16_t code, const char *reason, const char *why);
/* Ends the session at once, without a close frame; its memory goes from a
 * fresh pass of the event loop, so callers up the stack may still read it. */
void session_destroy(struct session *s);
/* The upgrade is out: frames are read from now on, messages up to max_message. */
void session_ws_start(struct session *s, uint64_t max_message);
/* Frames in the input buffer, through ws.c (after an upgrade with data behind it). */
void session_read_ws(struct session *s);
void session_check_drained(struct session *s);
void session_preauth_release(struct session *s);
void session_pre_free(struct session *s);
/* The session a broker message names, NULL if it is gone. */
struct session *session_find(uint64_t conn);
/* Logs a broker message the session's state cannot take; returns -1. */
int session_out_of_state(const struct session *s, const char *what);

/* front.c */
void front_read(struct session *s);
/* The output is down to its low watermark: more of a file, if one is sent. */
void front_drained(struct session *s);
void front_free(void);

/* admit.c */
#define ADMIT_PENDING_MAX 15	/* frames queued behind the connect; one more: 1008 */
/* Keeps a frame that came before the session can take it. */
void admit_queue(struct session *s, const uint8_t *msg, size_t len, unsigned limit);
void admit_start(struct session *s, const struct http_request *req);
/* msg is wiped once a connect in it was read (its token or password). */
void admit_message(struct session *s, uint8_t *msg, size_t len);
/* brokerd went away in the middle of this session's handshake. */
void admit_broker_lost(struct session *s);
int admit_on_challenge(const union brokerlink_msg *m);
int admit_on_accept(const union brokerlink_msg *m);
int admit_on_reject(const union brokerlink_msg *m);

/* authed.c */
void authed_init(void);
void authed_free(void);
/* hello-ok is out: the session is authenticated with brokerd's accept. */
void authed_begin(struct session *s, const struct proto_accept *m);
/* The session leaves the authenticated list (closing or gone). */
void authed_end(struct session *s);
void authed_message(struct session *s, const uint8_t *msg, size_t len);
/* brokerd is back: the sessions the old one admitted are closed. */
void authed_broker_back(void);
int authed_on_rpc_result(const union brokerlink_msg *m);
int authed_on_event(const union brokerlink_msg *m);
int authed_on_close(const union brokerlink_msg *m);

/* relay.c */
/* Whether the session's upstream said hello and frames pass. */
int relay_open(const struct session *s);
/* A valid connect frame: its copy for the upstream goes to s->pre. */
int relay_keep_connect(struct session *s, const uint8_t *msg, size_t len);
/* brokerd accepted: the upstream's hello, not clawgate's, follows. */
void relay_accept(struct session *s, const struct proto_accept *m);
void relay_message(struct session *s, const uint8_t *msg, size_t len);
/* The client's backlog is written. */
void relay_client_drained(struct session *s);
/* The session ends: so does its upstream connection, with clawgate's close
 * to the client (reason NULL: the client's own, if any, else 1000). */
void relay_end(struct session *s, uint16_t code, const char *reason);

/* accesslog.c */
/* The one line of each refused handshake; locality and pairing come from the
 * broker's verdict, NULL when gatewayd refused by itself. */
void accesslog_reject(const struct session *s, uint16_t code, const char *reason,
    const char *why, const char *locality, const char *pairing);
void accesslog_admit(const struct session *s, const struct proto_accept *m);

#endif
