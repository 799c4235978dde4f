#include "proto/pbuf.h"

#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"

void
pbuf_init(struct pbuf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void
pbuf_free(struct pbuf *b)
{
	free(b->data);
	pbuf_init(b);
}

void
pbuf_reset(struct pbuf *b)
{
	b->len = 0;
}

void
pbuf_add(struct pbuf *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + len)
			cap *= 2;
		b->data = xrealloc(b->data, cap);
		b->cap = cap;
	}
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
}
