/*
 * The HTTP/1.1 side of the gateway port: parse one request head, answer it
 * with the WebSocket upgrade (RFC 6455 §4.2), a file (the caller's), the
 * health check (/healthz) or an error.
 *
 * Hand-written on purpose: Debian 12 packages no C HTTP parser, and libevent
 * 2.1's evhttp cannot hand an upgraded socket over to a WebSocket library. Only
 * the head is read; no request bodies, no keep-alive: every answer but the 101
 * closes the connection.
 */
#ifndef GATEWAYD_HTTP_H
#define GATEWAYD_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "proto/pbuf.h"
#include "proto/proto.h"

#define HTTP_HEAD_MAX 8192	/* request line + headers + blank line; more: 431 */
#define HTTP_HEADERS_MAX 64	/* more: 431 */
#define HTTP_WS_KEY_LEN 24	/* base64 of 16 bytes */
#define HTTP_XFF_MAX 1024	/* X-Forwarded-For, all headers joined; more: 400 */
#define HTTP_PATH_MAX 255	/* a longer target path is kept as "" (no file has one) */

struct http_request {
	size_t head_len;	/* bytes up to and including the blank line */
	int status;		/* parse error: 400 or 431; else 0 */
	const char *problem;	/* what was wrong, for the error page */
	uint8_t is_get;
	uint8_t is_head;	/* HEAD: answered for /healthz only */
	uint8_t http11;
	uint8_t upgrade;	/* Upgrade lists "websocket" */
	uint8_t connection_upgrade;	/* Connection lists "upgrade" */
	uint8_t version13;	/* Sec-WebSocket-Version: 13 */
	uint8_t version_other;	/* a Sec-WebSocket-Version other than 13 */
	uint8_t key_ok;		/* one Sec-WebSocket-Key of 16 base64 bytes */
	uint8_t proxy_headers;	/* Forwarded, X-Forwarded-*, X-Real-IP, tailscale-* */
	uint8_t accept_br;	/* Accept-Encoding lists "br" (staticfiles.c) */
	uint8_t accept_gzip;	/* Accept-Encoding lists "gzip" */
	char key[HTTP_WS_KEY_LEN + 1];
	char origin[PROTO_TEXT_MAX + 1];	/* "" when absent */
	char host[PROTO_TEXT_MAX + 1];	/* "" when absent */
	char forwarded_for[HTTP_XFF_MAX + 1];	/* X-Forwarded-For hops, "" when absent */
	char real_ip[PROTO_ADDR_MAX + 1];	/* X-Real-IP, "" when absent */
	char path[HTTP_PATH_MAX + 1];	/* the target without its query; "" when longer */
};

enum http_parse_status { HTTP_PARSE_MORE, HTTP_PARSE_DONE, HTTP_PARSE_ERROR };

/* Parses the head at the start of buf[0..len). MORE: no blank line yet (and
 * fewer than HTTP_HEAD_MAX bytes); ERROR: req->status and req->problem say why.
 * Pure, so that a fuzz target can call it. */
enum http_parse_status http_parse(const uint8_t *buf, size_t len, struct http_request *req);

enum http_action { HTTP_ACTION_UPGRADE, HTTP_ACTION_CLOSE };

/* The pieces the relay's client side of the upgrade (upgrade.c) shares: a
 * token character and a field-value byte (RFC 9110 §5.6.2, §5.5); whether a
 * comma-separated token list holds tok, case-insensitively; and the
 * Sec-WebSocket-Accept of a key, base64(SHA-1(key GUID)) (RFC 6455 §4.2.2),
 * into out[HTTP_WS_ACCEPT_LEN + 1]. */
#define HTTP_WS_ACCEPT_LEN 28
int http_is_tchar(uint8_t c);
int http_is_vchar(uint8_t c);
int http_list_has(const uint8_t *v, size_t len, const char *tok);
void http_ws_accept(const char *key, char *out, size_t outsz);

/* Whether http_respond would upgrade this request: a valid WebSocket handshake. */
int http_wants_upgrade(const struct http_request *req);

/* Appends a refusal with that status and problem text (the body) to out; the
 * connection closes once it is sent. */
void http_refuse(int status, const char *problem, struct pbuf *out);

/* The HTTP 403 of doc/protocol.md §1 for forwarding headers that cannot be trusted. */
void http_refuse_proxy(struct pbuf *out);

/* The health check for load balancers and container runtimes: GET or HEAD of
 * /healthz (any query), not a WebSocket upgrade. */
#define HTTP_HEALTH_PATH "/healthz"
int http_wants_health(const struct http_request *req);

/* Appends the health answer to out (the connection closes once it is sent):
 * 200 "ok" while broker_up (this gatewayd's link to brokerd is established),
 * else 503 saying brokerd is unreachable; no other detail, no body for HEAD. */
void http_health(const struct http_request *req, int broker_up, struct pbuf *out);

/* Serves a plain GET: appends a complete response for req->path to out and
 * returns 0, or returns -1 (nothing appended) when there is no such file. */
typedef int (*http_file_fn)(const struct http_request *req, struct pbuf *out);

/* Appends the response to a parsed request (or to a parse error) to out; a
 * plain GET is file's to answer, or 404. UPGRADE: a 101 was written and the
 * socket now speaks WebSocket; CLOSE: close once it is sent. */
enum http_action http_respond(const struct http_request *req, http_file_fn file,
    struct pbuf *out);

#endif
