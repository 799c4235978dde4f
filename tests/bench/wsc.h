/* The client side of WebSocket (RFC 6455) as the load generator needs it: the
 * upgrade request and the check of its 101 answer, server frames parsed with an
 * explicit size limit, client frames built masked. No I/O here. */
#ifndef CLAWGATE_BENCH_WSC_H
#define CLAWGATE_BENCH_WSC_H

#include <stddef.h>
#include <stdint.h>

#define WSC_KEY_LEN 24		/* base64 of 16 random bytes */
#define WSC_FRAME_HDR_MAX 14	/* 2 + 8 (length) + 4 (mask) */

enum { WSC_OP_CONT = 0, WSC_OP_TEXT = 1, WSC_OP_BIN = 2, WSC_OP_CLOSE = 8, WSC_OP_PING = 9,
    WSC_OP_PONG = 10 };

/* Writes a fresh Sec-WebSocket-Key into key and the request into buf; returns its
 * length, 0 if buf is too small. */
size_t wsc_upgrade_request(char *buf, size_t bufsz, const char *host, int port,
    char key[WSC_KEY_LEN + 1]);

/* For the response head in buf[0..len): returns the head's length (through the
 * blank line) when complete, 0 when more bytes are needed, -1 when it exceeds max.
 * *status gets the HTTP status and *accept_ok whether Sec-WebSocket-Accept matches key. */
long wsc_upgrade_response(const char *buf, size_t len, size_t max, const char *key,
    int *status, int *accept_ok);

struct wsc_frame {
	int fin;
	int opcode;
	const uint8_t *payload;
	size_t len;		/* payload length */
	size_t size;		/* bytes the frame takes in the buffer */
};

/* Parses one server frame at buf: 1 complete, 0 need more, -1 invalid (masked,
 * reserved bits, oversized control frame, or a payload longer than max). */
int wsc_frame_parse(const uint8_t *buf, size_t len, size_t max, struct wsc_frame *f);

/* Builds a masked client frame with FIN set; returns its size, 0 if out is too small. */
size_t wsc_frame_build(uint8_t *out, size_t outsz, int opcode, const void *payload,
    size_t len);

#endif
