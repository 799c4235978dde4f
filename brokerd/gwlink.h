/*
 * gatewayd links on gateway.sock: the transport. Each link carries the hello,
 * then per WebSocket connection ("conn") a challenge, one connect and, once
 * accepted, RPCs, until gatewayd reports the conn closed. Every frame goes
 * through one dispatcher, in this order, before any handler sees it:
 *   1. its header (proto/link.h: size limit, version, no flags);
 *   2. its type: a row of the permit table the link's owner gave gwlink_init,
 *      and the link in the state that row names (before or after the hello);
 *   3. its payload, decoded strictly and whole (proto_decode);
 *   4. what the row says the message needs, resolved and handed to the handler:
 *      a conn not yet challenged, the conn's outstanding challenge (taken out
 *      of the link's nonce table: single use), or a session ticket that opens
 *      for this link and conn (opened, with whether the broker has closed it).
 * Any failure drops the whole link with a log line naming the rule it broke, so
 * no handler can forget a check. A dropped link is freed from a later turn of the
 * event loop, never under a handler that may still use it.
 */
#ifndef BROKERD_GWLINK_H
#define BROKERD_GWLINK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "brokerd/ticket.h"
#include "common/random.h"
#include "proto/proto.h"

struct bufferevent;
struct event_base;
struct gwlink;
struct nonces;
struct sessions_link;

/* The messages gatewayd sends, decoded. Those naming a conn start with it, and
 * those carrying a ticket follow it with the ticket: the dispatcher reads them
 * through ref and sref (a union's common initial sequence). */
union gwlink_msg {
	struct proto_gw_hello hello;
	struct proto_conn_ref ref;
	struct proto_session_ref sref;
	struct proto_connect connect;
	struct proto_rpc rpc;
	struct proto_gw_refused refused;
	struct proto_gw_upstream upstream;
};

/* A link's state: whether its hello has been answered. */
enum gwlink_state { GWLINK_NEW, GWLINK_READY };

/* What a message needs before its handler runs. */
enum gwlink_need {
	GWLINK_NEED_NOTHING,
	GWLINK_NEED_FRESH_CONN,	/* a conn other than 0 with no outstanding challenge */
	GWLINK_NEED_CHALLENGE,	/* the conn's outstanding challenge, taken */
	GWLINK_NEED_TICKET,	/* a ticket that opens for this link and the conn */
};

/* One message as its handler gets it. */
struct gwlink_call {
	struct gwlink *link;
	uint32_t id;			/* the request id, for the answer */
	union gwlink_msg *msg;		/* wiped after the handler */
	struct sessions_link *book;	/* the link's page of the session book */
	/* GWLINK_NEED_CHALLENGE: the conn's nonce, no longer in the table, and
	 * whether it had expired. */
	char nonce[UUID_STR_LEN + 1];
	int nonce_expired;
	/* GWLINK_NEED_TICKET: the session the ticket opened to (closing set if the
	 * broker has closed it). */
	struct ticket_session session;
};

/* A row of the permit table: a message type is handled only on a link in state,
 * with need resolved; the link is in next afterwards. Types not in the table
 * drop the link. */
struct gwlink_permit {
	uint16_t type;
	enum gwlink_state state;
	enum gwlink_state next;
	enum gwlink_need need;
	void (*handler)(struct gwlink_call *call);
};

/* Sets up the transport with the permit table every link is served by. */
void gwlink_init(struct event_base *base, const struct gwlink_permit *permits, size_t npermits);
/* Lets links come from uid (gatewayd's account); root always may, nobody else.
 * Before gwlink_listen. */
void gwlink_allow_uid(uid_t uid);
/* Accepts gatewayd links on a listening socket. */
void gwlink_listen(int listen_fd);
/* Serves a link on a connected bufferevent (the listener's for each gatewayd,
 * or any other stream), which the link owns from now on. */
void gwlink_open(struct bufferevent *bev);
/* Closes every link and the listener. */
void gwlink_shutdown(void);

/* Queues a message on the link (nothing if the link was dropped); a gatewayd
 * that stops reading is dropped rather than buffered for without end. */
void gwlink_send(struct gwlink *l, uint16_t type, uint32_t id, const void *msg);
/* Challenges (nonces.h) in the link's table, within the per-link and global
 * caps: issue is -1 when either is reached (after pruning expired ones); take
 * and forget as nonces_take and nonces_forget. */
int gwlink_challenge_issue(struct gwlink *l, uint64_t conn, int64_t now_mono_ms,
    int64_t expires_mono_ms, char out[UUID_STR_LEN + 1]);
int gwlink_challenge_take(struct gwlink *l, uint64_t conn, int64_t now_mono_ms,
    char out[UUID_STR_LEN + 1], int *expired);
void gwlink_challenge_forget(struct gwlink *l, uint64_t conn);
/* Names the link's gatewayd in log lines by its pid; -1 (the link dropped) if
 * it is a link beyond the workers gatewayd says it runs. */
int gwlink_name(struct gwlink *l, uint32_t pid, uint32_t worker, uint32_t workers);

/* Drops the link for a message its handler found invalid, naming why. */
void gwlink_refuse(struct gwlink *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Takes a token from the link's bucket for one report: -1 (logged once while it
 * lasts) when the link reports faster than brokerd keeps reports. */
int gwlink_report_budget(struct gwlink *l, int64_t now_mono_ms);

/* Sends msg to every ready link (a link still before its hello gets the
 * settings in force with its BR_HELLO). */
void gwlink_push(uint16_t type, const void *msg);
/* Sends an event about device_id to every ready link, for gatewayd to deliver
 * to the sessions of the audience that may hear about that device. */
void gwlink_publish(enum proto_audience audience, const char *device_id, const char *event,
    const struct pbuf *payload);
/* Closes (sessions_close_device) and asks gatewayd to close every session of the
 * device in one of the roles (a ROLE_BIT mask) but except (NULL: none), the
 * caller's own session, which stays open so that the answer to its request
 * arrives; the broker refuses the RPCs of the others from now on, whether
 * gatewayd closes them or not. */
void gwlink_close_device(const char *device_id, unsigned roles, const struct ticket_session *except,
    uint16_t code, const char *reason);
/* Likewise for every session that proved the shared secret (it changed). */
void gwlink_close_shared_secret_sessions(uint16_t code, const char *reason);

/* The ready links and the sessions they hold. */
void gwlink_stats(size_t *links, size_t *sessions);

#endif
