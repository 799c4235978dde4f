/*
 * Fuzz target: request frames after hello-ok. A forwarded request must always
 * be encodable as GW_RPC (authed.c would answer "internal error" otherwise).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gatewayd/rpcreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rpc_result r;
	static struct pbuf out;

	if (rpc_parse(data, size, &r) == 0) {
		if (r.outcome != RPC_FORWARD)
			abort();
		pbuf_reset(&out);
		if (proto_encode(&out, PROTO_GW_RPC, 1, &r.rpc) < 0)
			abort();
		return 0;
	}
	if (memchr(r.error, '\0', sizeof(r.error)) == NULL)
		abort();
	return 0;
}
