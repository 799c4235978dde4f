#include "gatewayd/wsframe.h"

#include <string.h>

int
wsframe_head_parse(const uint8_t *b, size_t n, struct wsframe_head *h)
{
	uint64_t len;
	size_t size = 2, ext;

	if (n < 2)
		return 0;
	len = b[1] & 0x7f;
	ext = len == 126 ? 2 : len == 127 ? 8 : 0;
	size += ext + ((b[1] & 0x80) ? 4 : 0);
	if (n < size)
		return 0;
	if (ext != 0) {
		len = 0;
		for (size_t i = 0; i < ext; i++)
			len = (len << 8) | b[2 + i];
		if ((ext == 2 && len < 126) || (ext == 8 && (len < 65536 || (len >> 63) != 0)))
			return -1;
	}
	h->len = len;
	h->size = (uint8_t)size;
	h->fin = (b[0] & 0x80) != 0;
	h->rsv = b[0] & 0x70;
	h->opcode = b[0] & 0x0f;
	h->masked = (b[1] & 0x80) != 0;
	if (h->masked)
		memcpy(h->key, b + 2 + ext, 4);
	return 1;
}

size_t
wsframe_head_build(uint8_t *out, uint8_t opcode, uint64_t len, const uint8_t *key)
{
	size_t n = 2;

	out[0] = 0x80 | opcode;
	if (len < 126) {
		out[1] = (uint8_t)len;
	} else if (len < 65536) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		n = 4;
	} else {
		out[1] = 127;
		for (int i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
		n = 10;
	}
	if (key != NULL) {
		out[1] |= 0x80;
		memcpy(out + n, key, 4);
		n += 4;
	}
	return n;
}

void
wsframe_mask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4])
{
	uint8_t k8[8];
	uint64_t k, w;
	size_t i = 0;

	/* Eight bytes at a time: the key repeats every four, so twice over. */
	memcpy(k8, key, 4);
	memcpy(k8 + 4, key, 4);
	memcpy(&k, k8, 8);
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, src + i, 8);
		w ^= k;
		memcpy(dst + i, &w, 8);
	}
	for (; i < len; i++)
		dst[i] = src[i] ^ key[i % 4];
}
