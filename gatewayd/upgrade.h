/*
 * The client side of a WebSocket upgrade (RFC 6455 §4.1), for the relay's
 * connection to its upstream: the request head, and a strict parser of the
 * answer. Both pure, so that unit tests and a fuzz target drive them.
 *
 * Limits of the answer: UPGRADE_HEAD_MAX bytes up to and including the blank
 * line, UPGRADE_HEADERS_MAX header lines, CRLF line ends only, no folded
 * lines, no bytes a field value may not hold. Only "HTTP/1.1 101" with
 * Upgrade: websocket, Connection: upgrade and exactly the Sec-WebSocket-Accept
 * the key asks for is an upgrade; an extension or subprotocol (none was asked
 * for) refuses it.
 */
#ifndef GATEWAYD_UPGRADE_H
#define GATEWAYD_UPGRADE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/pbuf.h"

#define UPGRADE_HEAD_MAX 8192
#define UPGRADE_HEADERS_MAX 64

struct upgrade_header {
	const char *name;
	const char *value;
};

/* Appends the request head for GET / with Host host, the key (24 base64
 * characters) and the caller's headers, in that order. -1 (nothing appended)
 * if a name is not a token, a value holds a byte a field value may not (a
 * line break would smuggle a header in), or host or key is empty. */
int upgrade_request(struct pbuf *out, const char *host, const char *key,
    const struct upgrade_header *h, size_t n);

enum upgrade_status { UPGRADE_MORE, UPGRADE_OK, UPGRADE_ERROR };

struct upgrade_response {
	size_t head_len;	/* UPGRADE_OK: bytes of the head; frames follow */
	int status;		/* the status code, 0 if the status line is unreadable */
	const char *problem;	/* UPGRADE_ERROR: what was wrong */
};

/* Parses the answer at the start of buf[0..len); accept is what
 * Sec-WebSocket-Accept must say. MORE: no blank line yet. */
enum upgrade_status upgrade_parse(const uint8_t *buf, size_t len, const char *accept,
    struct upgrade_response *r);

#endif
