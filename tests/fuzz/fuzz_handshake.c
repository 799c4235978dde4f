/*
 * Fuzz target: the first WebSocket message, a connect request, parsed into a
 * struct proto_connect. A schema-valid connect must always be encodable for
 * the broker (admit.c answers 1011 otherwise, which would be a parser bug),
 * and the error text that becomes a close reason must be a C string.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gatewayd/handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct handshake_result hs;
	static struct pbuf out;

	if (handshake_parse(data, size, &hs) == 0) {
		if (hs.outcome != HANDSHAKE_CONNECT)
			abort();
		pbuf_reset(&out);
		if (proto_encode(&out, PROTO_GW_CONNECT, 1, &hs.connect) < 0)
			abort();
		return 0;
	}
	if (memchr(hs.error, '\0', sizeof(hs.error)) == NULL ||
	    memchr(hs.id, '\0', sizeof(hs.id)) == NULL)
		abort();
	return 0;
}
