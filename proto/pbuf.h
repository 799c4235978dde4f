/* A growable byte buffer: what encoders (proto frames, pval trees, HTTP and
 * JSON answers) append to. */
#ifndef CLAWGATE_PBUF_H
#define CLAWGATE_PBUF_H

#include <stddef.h>
#include <stdint.h>

struct pbuf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

void pbuf_init(struct pbuf *b);
void pbuf_free(struct pbuf *b);
/* Empties b and keeps its memory for the next use. */
void pbuf_reset(struct pbuf *b);
void pbuf_add(struct pbuf *b, const void *data, size_t len);

#endif
