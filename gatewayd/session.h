/*
 * Client connections, from the first byte of the HTTP request head to the
 * close: upgrade, challenge, connect, verdict, then requests and events
 * (doc/protocol.md §1-§2, §5). session_priv.h says which file does what.
 */
#ifndef GATEWAYD_SESSION_H
#define GATEWAYD_SESSION_H

#include <stddef.h>
#include <sys/socket.h>

#include "gatewayd/brokerlink.h"

/* After the first BR_HELLO: starts the timers that all authenticated sessions
 * share. */
void session_init(void);

/* A connection the listener accepted; the session owns fd from now on. */
void session_accept(int fd, const struct sockaddr *sa, socklen_t salen);

/* The broker messages about sessions, for the broker link's table. */
extern const struct brokerlink_handler session_broker_handlers[];
extern const size_t session_broker_nhandlers;

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
