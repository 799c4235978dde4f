/*
 * The one Unix-socket link to brokerd (proto/proto.h): GW_HELLO and BR_HELLO
 * first, then every BR_* message goes to the handler its user registered for
 * that type. The link keeps the discipline of brokerd's side: a message is
 * looked up by type and link state before a byte of it is decoded, and one it
 * has no handler for, or not in this state, is a protocol violation that drops
 * the link (gatewayd then reconnects).
 */
#ifndef GATEWAYD_BROKERLINK_H
#define GATEWAYD_BROKERLINK_H

#include <stddef.h>
#include <stdint.h>

#include "common/sandbox.h"
#include "proto/proto.h"

struct evbuffer;

enum brokerlink_state {
	BROKERLINK_HELLO,	/* GW_HELLO sent, BR_HELLO awaited */
	BROKERLINK_UP,		/* BR_HELLO received: gatewayd.settings hold it */
};

/* A decoded broker message: the member its type names. */
union brokerlink_msg {
	struct proto_br_hello hello;
	struct proto_br_config config;
	struct proto_challenge challenge;
	struct proto_accept accept;
	struct proto_reject reject;
	struct proto_rpc_result rpc_result;
	struct proto_event event;
	struct proto_close close;
};

/* Handles messages of type in state; 0 when handled (or when they name a
 * connection that is gone: a race, not an error), -1 when the message makes no
 * sense now: the handler logs why, and the link is dropped. */
struct brokerlink_handler {
	uint16_t type;
	enum brokerlink_state state;
	int (*fn)(const union brokerlink_msg *m);
};

/* Who uses the link: its messages, and what to do as brokerd comes and goes. */
struct brokerlink_user {
	const struct brokerlink_handler *handlers;
	size_t nhandlers;
	/* BR_HELLO is in and gatewayd.settings hold it: on the first link (first
	 * is 1), and again on each link after a loss. */
	void (*up)(int first);
	/* A link that had said hello went away: brokerd forgot every connection. */
	void (*down)(void);
	/* A BR_CONFIG (brokerd reloaded its configuration) is in gatewayd.settings. */
	void (*reconfigured)(void);
};

/* Registers who the link's messages go to; user stays the caller's,
 * unchanged, for as long as the link is used. */
void brokerlink_init(const struct brokerlink_user *user);

/* Starts the dialer (gatewayd/dialer.h; it runs as user), connects to
 * <socket_dir>/gateway.sock through it, retrying every 250 ms for up to 10 s
 * (nothing else can happen before), and sends GW_HELLO. */
void brokerlink_open(const char *socket_dir, const struct sandbox_user *user);

/* Every complete frame in `in` through the table: 0, or -1 when brokerd broke
 * the protocol (logged; the caller drops the link). The link's reader, callable
 * on any buffer. */
int brokerlink_input(struct evbuffer *in);

/* Queues one GW_* message. -1 if it does not fit its layout (a bug: nothing is
 * sent). Without a link, or before its BR_HELLO, messages are dropped: the
 * broker forgets a gateway's connections with its link. */
int brokerlink_send(uint16_t type, const void *msg);

void brokerlink_close(void);

/* Whether brokerd answers now. When the link is lost, gatewayd keeps serving
 * and reconnects by itself (the user's down and up). */
int brokerlink_available(void);

#endif
