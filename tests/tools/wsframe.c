/* The WebSocket frame header of the test tools (see wsframe.h). */
#include "wsframe.h"

size_t
wsframe_len_size(size_t len)
{
	return len < 126 ? 2 : len <= 0xffff ? 4 : 10;
}

size_t
wsframe_header(uint8_t *out, int opcode, size_t len, int masked)
{
	size_t hdr = wsframe_len_size(len);
	uint8_t mbit = masked ? 0x80 : 0;

	out[0] = 0x80 | (uint8_t)opcode;
	if (hdr == 2) {
		out[1] = mbit | (uint8_t)len;
	} else if (hdr == 4) {
		out[1] = mbit | 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
	} else {
		out[1] = mbit | 127;
		for (int i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	}
	return hdr;
}

int
wsframe_parse(const uint8_t *b, size_t avail, int masked, struct wsframe_head *h)
{
	size_t hdr = 2;

	if (avail < 2)
		return 0;
	h->fin = b[0] >> 7;
	h->opcode = b[0] & 0x0f;
	h->len = b[1] & 0x7f;
	if ((b[0] & 0x70) != 0 || !(b[1] & 0x80) != !masked)
		return -1;	/* no extension was agreed; clients mask, servers do not */
	if (h->len == 126) {
		if (avail < 4)
			return 0;
		h->len = (uint64_t)b[2] << 8 | b[3];
		hdr = 4;
	} else if (h->len == 127) {
		if (avail < 10)
			return 0;
		h->len = 0;
		for (int i = 0; i < 8; i++)
			h->len = h->len << 8 | b[2 + i];
		hdr = 10;
	}
	h->size = hdr + (masked ? 4 : 0);
	return 1;
}
