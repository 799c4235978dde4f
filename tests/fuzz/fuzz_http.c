/*
 * Fuzz target: the HTTP request head parser and the response it leads to.
 * Besides crashes it checks what the session relies on: a finished head lies
 * within the input and the cap, and every parse error names a status and a
 * problem.
 */
#include <stdint.h>
#include <stdlib.h>

#include "gatewayd/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	if (http_respond(&req, &out) == HTTP_ACTION_UPGRADE && st != HTTP_PARSE_DONE)
		abort();
	if (out.len == 0)
		abort();
	return 0;
}
