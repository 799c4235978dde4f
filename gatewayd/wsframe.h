/*
 * RFC 6455 §5.2 frame headers and masking, as pure functions: the pass-through
 * path (wspass.c) reads and writes frames with these instead of wslay, so that a
 * relayed frame's payload is touched once each way (unmasked in place, masked
 * while copied out) rather than copied and masked byte by byte.
 */
#ifndef GATEWAYD_WSFRAME_H
#define GATEWAYD_WSFRAME_H

#include <stddef.h>
#include <stdint.h>

/* 2 bytes, 8 of extended length, 4 of masking key. */
#define WSFRAME_HEAD_MAX 14

#define WSFRAME_CONTINUATION 0x0
#define WSFRAME_TEXT 0x1
#define WSFRAME_BINARY 0x2

struct wsframe_head {
	uint64_t len;		/* payload length */
	uint8_t size;		/* header length: 2 to 14 */
	uint8_t fin;
	uint8_t rsv;		/* the three RSV bits, as they stand in the first byte */
	uint8_t opcode;
	uint8_t masked;
	uint8_t key[4];
};

/*
 * Parses the header at the start of b[0..n). 1 when complete (h filled), 0 when
 * more bytes are needed, -1 when the length is not in its shortest encoding or
 * has the 64-bit form's top bit set (RFC 6455 §5.2). Opcode, RSV and mask are
 * returned as they are: what is acceptable depends on the connection.
 */
int wsframe_head_parse(const uint8_t *b, size_t n, struct wsframe_head *h);

/* Writes a final frame's header (masked with key, unless key is NULL) into
 * out[WSFRAME_HEAD_MAX]; returns its length. */
size_t wsframe_head_build(uint8_t *out, uint8_t opcode, uint64_t len, const uint8_t *key);

/* dst[i] = src[i] ^ key[i % 4]; dst may be src (unmasking in place). */
void wsframe_mask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4]);

/* Whether an opcode is a control frame's (RFC 6455 §5.5). */
static inline int
wsframe_is_control(uint8_t opcode)
{
	return (opcode & 0x8) != 0;
}

#endif
