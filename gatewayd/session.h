/*
 * One client connection, from the first byte of its HTTP request head to the
 * close: upgrade, challenge, connect, verdict, then requests and events
 * (doc/protocol.md §1-§2, §5).
 */
#ifndef GATEWAYD_SESSION_H
#define GATEWAYD_SESSION_H

#include <sys/socket.h>

#include "proto/proto.h"

/* After BR_HELLO: starts the tick that all authenticated sessions share. */
void session_init(void);

/* A connection the listener accepted; the session owns fd from now on. */
void session_accept(int fd, const struct sockaddr *sa, socklen_t salen);

/* Broker messages for the session they name. 0 when handled or when the
 * connection is already gone (a race, not an error); -1 when the message makes
 * no sense in the session's state: the broker broke the protocol. */
int session_broker_challenge(const struct proto_challenge *m);
int session_broker_accept(const struct proto_accept *m);
int session_broker_reject(const struct proto_reject *m);
int session_broker_rpc_result(const struct proto_rpc_result *m);
int session_broker_event(const struct proto_event *m);
int session_broker_close(const struct proto_close *m);

/* brokerd went away: it forgot every connection. Authenticated sessions stay
 * (their requests get UNAVAILABLE), handshakes in progress and new ones are
 * refused UNAVAILABLE, close 1013. */
void session_broker_lost(void);
/* brokerd is back: the sessions the old one admitted are closed 1012. */
void session_broker_back(void);

/* Closes every session 1012 "service restart" (doc/protocol.md §1); done() runs
 * once the last one is gone. */
void session_shutdown(void (*done)(void));

/* At exit: frees whatever is left without ceremony. */
void session_free_all(void);

#endif
