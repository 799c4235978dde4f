/*
 * Fuzz target: the HTTP request head parser, the response it leads to (the
 * health check's too), and the client address attributed from its forwarding
 * headers (as if sent by a trusted proxy). Besides crashes it checks what the
 * session relies on: a finished head lies within the input and the cap, every
 * parse error names a status and a problem, and an attributed client is an
 * address.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gatewayd/http.h"
#include "gatewayd/proxy.h"
#include "gatewayd/ui.h"

static const struct proto_br_hello fuzz_settings = {
	.ntrusted_proxies = 3,
	.trusted_proxies = { "127.0.0.1", "10.0.0.0/8", "fd00::/8" },
	.allow_real_ip_fallback = 1,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Files as gatewayd serves them without gateway.controlUi.root: embedded. */
static int
fuzz_file(const struct http_request *req, struct pbuf *out)
{
	return ui_respond(req->path, out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pbuf out;
	struct http_request req;
	enum http_parse_status st;

	/* The session never hands over more than HTTP_HEAD_MAX bytes. */
	if (size > HTTP_HEAD_MAX)
		size = HTTP_HEAD_MAX;
	st = http_parse(data, size, &req);
	if (st == HTTP_PARSE_MORE)
		return 0;
	if (st == HTTP_PARSE_DONE && (req.head_len == 0 || req.head_len > size))
		abort();
	if (st == HTTP_PARSE_ERROR &&
	    ((req.status != 400 && req.status != 431) || req.problem == NULL))
		abort();
	pbuf_reset(&out);
	if (http_respond(&req, fuzz_file, &out) == HTTP_ACTION_UPGRADE && st != HTTP_PARSE_DONE)
		abort();
	if (out.len == 0)
		abort();
	/* The session answers health checks with http_health instead. */
	if (http_wants_health(&req)) {
		if (st != HTTP_PARSE_DONE)
			abort();
		pbuf_reset(&out);
		http_health(&req, size & 1, &out);
		if (out.len == 0)
			abort();
	}
	if (st == HTTP_PARSE_DONE) {
		char client[PROTO_ADDR_MAX + 1];
		uint8_t bin[16];

		if (proxy_attribute(&fuzz_settings, "127.0.0.1", &req, client) == 0 &&
		    inet_pton(AF_INET, client, bin) != 1 && inet_pton(AF_INET6, client, bin) != 1)
			abort();
	}
	return 0;
}
