/*
 * A WebSocket client connection, for the relay's link to its upstream: a
 * non-blocking TCP connect to a numeric address, the upgrade (upgrade.c),
 * then RFC 6455 framing as the client end (ws.c). It knows nothing of its
 * user: everything it learns goes to the callbacks. Messages in are limited
 * to the max_message given (the relay passes policy.maxPayload, 25 MiB by
 * default); pings are answered here.
 */
#ifndef GATEWAYD_UPSTREAM_H
#define GATEWAYD_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "gatewayd/upgrade.h"

struct upstream;

struct upstream_cbs {
	/* The 101 came: messages may be sent. */
	void (*open)(void *arg);
	/* A complete text message, valid during the call. */
	void (*message)(void *arg, const uint8_t *msg, size_t len);
	/* Everything sent has been written. */
	void (*drained)(void *arg);
	/* The connection ended: before the upgrade (opened 0: code 0, why says
	 * what failed), or after it (the peer's close code and reason; 1006 and
	 * why when the socket ended without one). The upstream frees itself; the
	 * caller must not use it again. */
	void (*closed)(void *arg, int opened, uint16_t code, const char *reason, const char *why);
};

struct upstream_target {
	const char *addr;	/* numeric IPv4 or IPv6 */
	uint16_t port;
	const char *host;	/* the Host header */
	const struct upgrade_header *headers;
	size_t nheaders;
	uint64_t max_message;
};

/* The socket address of a numeric IPv4 or IPv6 addr and port: its length, or
 * -1 if addr is not numeric. */
int upstream_sockaddr(const char *addr, uint16_t port, struct sockaddr_storage *ss);

/* Starts connecting. NULL with *why set if it cannot even start (a bad
 * address or header, no socket); else callbacks follow. */
struct upstream *upstream_open(const struct upstream_target *t, const struct upstream_cbs *cbs,
    void *arg, const char **why);

/* Sends one text message (the caller has opened it). */
void upstream_send(struct upstream *u, const uint8_t *msg, size_t len);

/* Bytes sent but not written to the socket yet. */
size_t upstream_backlog(const struct upstream *u);

/* Stops or resumes reading (back-pressure). */
void upstream_pause(struct upstream *u, int paused);

/* Ends the connection: a close frame if upgraded, then the socket goes once
 * it is written (or after a linger). No callback runs after this call. */
void upstream_close(struct upstream *u, uint16_t code, const char *reason);

/* At exit, once no session holds one: frees every connection, lingering or not. */
void upstream_free_all(void);

#endif
