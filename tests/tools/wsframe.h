/* The WebSocket (RFC 6455) frame header as both sides of the test tools write and
 * read it: the echo upstream (server frames out, masked client frames in) and the
 * benchmark clients (masked frames out, server frames in). No I/O here. */
#ifndef CLAWGATE_TEST_WSFRAME_H
#define CLAWGATE_TEST_WSFRAME_H

#include <stddef.h>
#include <stdint.h>

/* The header's size without the masking key: 2, 4 or 10. */
size_t wsframe_len_size(size_t len);

/* Writes a FIN frame's first byte and its payload length (with the MASK bit when
 * masked; the caller appends the 4-byte key); returns wsframe_len_size(len). */
size_t wsframe_header(uint8_t *out, int opcode, size_t len, int masked);

struct wsframe_head {
	int fin, opcode;
	uint64_t len;		/* payload length */
	size_t size;		/* header bytes, the masking key included */
};

/* Reads the header at b[0..avail): 1 complete, 0 more bytes needed, -1 when a
 * reserved bit is set or the MASK bit is not what masked says. */
int wsframe_parse(const uint8_t *b, size_t avail, int masked, struct wsframe_head *h);

#endif
