#include "gatewayd/http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "common/log.h"

#define HTTP_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

int
http_is_tchar(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* A field value byte (RFC 9110 §5.5): visible, space, tab or obs-text. */
int
http_is_vchar(uint8_t c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int
http_fail(struct http_request *req, int status, const char *problem)
{
	req->status = status;
	req->problem = problem;
	return -1;
}

int
http_list_has(const uint8_t *v, size_t len, const char *tok)
{
	size_t toklen = strlen(tok), i = 0;

	while (i < len) {
		size_t start, end;

		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		start = i;
		while (i < len && v[i] != ',')
			i++;
		end = i;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (end - start == toklen &&
		    strncasecmp((const char *)v + start, tok, toklen) == 0)
			return 1;
	}
	return 0;
}

static int
http_name_is(const uint8_t *name, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp((const char *)name, want, len) == 0;
}

static int
http_name_has_prefix(const uint8_t *name, size_t len, const char *prefix)
{
	size_t plen = strlen(prefix);

	return len >= plen && strncasecmp((const char *)name, prefix, plen) == 0;
}

/* Host and Origin travel to the broker as TEXT fields: longer or odd values
 * are refused here rather than cut. */
static int
http_copy_text(struct http_request *req, char *dst, size_t size, const uint8_t *v,
    size_t len, const char *problem)
{
	if (dst[0] != '\0')
		return http_fail(req, 400, problem);
	if (len == 0 || !proto_str_ok((const char *)v, len, size - 1, PROTO_CS_TEXT))
		return http_fail(req, 400, problem);
	memcpy(dst, v, len);
	dst[len] = '\0';
	return 0;
}

static int
http_header(struct http_request *req, const uint8_t *name, size_t nlen, const uint8_t *v,
    size_t vlen)
{
	if (http_name_is(name, nlen, "host"))
		return http_copy_text(req, req->host, sizeof(req->host), v, vlen,
		    "one Host header of at most 256 characters is required");
	if (http_name_is(name, nlen, "origin"))
		return http_copy_text(req, req->origin, sizeof(req->origin), v, vlen,
		    "at most one Origin header of at most 256 characters is allowed");
	if (http_name_is(name, nlen, "upgrade")) {
		req->upgrade |= http_list_has(v, vlen, "websocket");
	} else if (http_name_is(name, nlen, "connection")) {
		req->connection_upgrade |= http_list_has(v, vlen, "upgrade");
	} else if (http_name_is(name, nlen, "sec-websocket-version")) {
		if (vlen == 2 && memcmp(v, "13", 2) == 0 && !req->version13)
			req->version13 = 1;
		else
			req->version_other = 1;
	} else if (http_name_is(name, nlen, "sec-websocket-key")) {
		uint8_t raw[16];
		size_t rawlen;

		/* Standard base64 with its padding, as RFC 6455 §4.1 says (24 characters). */
		if (req->key[0] != '\0' || vlen != HTTP_WS_KEY_LEN ||
		    sodium_base642bin(raw, sizeof(raw), (const char *)v, vlen, NULL, &rawlen, NULL,
		    sodium_base64_VARIANT_ORIGINAL) != 0 || rawlen != sizeof(raw))
			return http_fail(req, 400,
			    "Sec-WebSocket-Key must be one base64 encoding of 16 bytes");
		memcpy(req->key, v, vlen);
		req->key[vlen] = '\0';
		req->key_ok = 1;
	} else if (http_name_is(name, nlen, "x-forwarded-for")) {
		size_t have = strlen(req->forwarded_for);

		/* Several headers are one list (RFC 9110 §5.3). */
		if (have + (have ? 1 : 0) + vlen > HTTP_XFF_MAX)
			return http_fail(req, 400, "X-Forwarded-For exceeds 1024 bytes");
		if (have)
			req->forwarded_for[have++] = ',';
		memcpy(req->forwarded_for + have, v, vlen);
		req->forwarded_for[have + vlen] = '\0';
		req->proxy_headers = 1;
	} else if (http_name_is(name, nlen, "x-real-ip")) {
		if (req->real_ip[0] != '\0' || vlen > PROTO_ADDR_MAX)
			return http_fail(req, 400, "one X-Real-IP header of at most 64 bytes is allowed");
		memcpy(req->real_ip, v, vlen);
		req->real_ip[vlen] = '\0';
		req->proxy_headers = 1;
	} else if (http_name_is(name, nlen, "accept-encoding")) {
		req->accept_br |= http_list_has(v, vlen, "br");
		req->accept_gzip |= http_list_has(v, vlen, "gzip");
	} else if (http_name_is(name, nlen, "forwarded") ||
	    http_name_has_prefix(name, nlen, "x-forwarded-") ||
	    http_name_has_prefix(name, nlen, "tailscale-")) {
		req->proxy_headers = 1;
	}
	return 0;
}

/* The path part of an origin-form target, for the file servers (ui.c). */
static void
http_copy_path(struct http_request *req, const uint8_t *target, size_t len)
{
	const uint8_t *q = memchr(target, '?', len);

	if (q != NULL)
		len = (size_t)(q - target);
	if (len <= HTTP_PATH_MAX) {
		memcpy(req->path, target, len);
		req->path[len] = '\0';
	}
}

/* method SP request-target SP HTTP-version, origin-form targets only. */
static int
http_request_line(struct http_request *req, const uint8_t *p, size_t len)
{
	size_t i = 0, start;

	while (i < len && http_is_tchar(p[i]))
		i++;
	if (i == 0 || i == len || p[i] != ' ')
		return http_fail(req, 400, "malformed request line");
	req->is_get = i == 3 && memcmp(p, "GET", 3) == 0;
	req->is_head = i == 4 && memcmp(p, "HEAD", 4) == 0;
	start = ++i;
	while (i < len && p[i] > 0x20 && p[i] < 0x7f)
		i++;
	if (i == start || i == len || p[i] != ' ' || p[start] != '/')
		return http_fail(req, 400, "malformed request target");
	http_copy_path(req, p + start, i - start);
	i++;
	if (len - i != 8 || memcmp(p + i, "HTTP/1.", 7) != 0 ||
	    (p[i + 7] != '0' && p[i + 7] != '1'))
		return http_fail(req, 400, "only HTTP/1.0 and HTTP/1.1 are spoken here");
	req->http11 = p[i + 7] == '1';
	return 0;
}

/* One header line (without its CRLF): name ":" OWS value OWS. */
static int
http_header_line(struct http_request *req, const uint8_t *p, size_t len)
{
	size_t n = 0, v, end = len;

	while (n < len && http_is_tchar(p[n]))
		n++;
	if (n == 0 || n == len || p[n] != ':')
		return http_fail(req, 400, "malformed header line");
	v = n + 1;
	while (v < end && (p[v] == ' ' || p[v] == '\t'))
		v++;
	while (end > v && (p[end - 1] == ' ' || p[end - 1] == '\t'))
		end--;
	for (size_t i = v; i < end; i++)
		if (!http_is_vchar(p[i]))
			return http_fail(req, 400, "control character in a header value");
	return http_header(req, p, n, p + v, end - v);
}

enum http_parse_status
http_parse(const uint8_t *buf, size_t len, struct http_request *req)
{
	size_t scan = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX, pos, nheaders = 0;
	const uint8_t *end = NULL;

	memset(req, 0, sizeof(*req));
	for (size_t i = 3; i < scan; i++) {
		if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' &&
		    buf[i - 3] == '\r') {
			end = buf + i + 1;
			break;
		}
	}
	if (end == NULL) {
		if (len < HTTP_HEAD_MAX)
			return HTTP_PARSE_MORE;
		http_fail(req, 431, "the request head exceeds 8192 bytes");
		return HTTP_PARSE_ERROR;
	}
	req->head_len = (size_t)(end - buf);
	/* Line by line; every line ends in CRLF and a bare CR or LF is malformed. */
	pos = 0;
	for (int first = 1;; first = 0) {
		const uint8_t *line = buf + pos, *cr;
		size_t llen;

		cr = memchr(line, '\r', req->head_len - pos);
		llen = (size_t)(cr - line);
		if (cr[1] != '\n' || memchr(line, '\n', llen) != NULL) {
			http_fail(req, 400, "lines must end in CRLF");
			return HTTP_PARSE_ERROR;
		}
		pos += llen + 2;
		if (llen == 0 && first) {
			http_fail(req, 400, "the request line is empty");
			return HTTP_PARSE_ERROR;
		}
		if (llen == 0)
			break;
		if (first) {
			if (http_request_line(req, line, llen) < 0)
				return HTTP_PARSE_ERROR;
			continue;
		}
		if (++nheaders > HTTP_HEADERS_MAX) {
			http_fail(req, 431, "more than 64 header fields");
			return HTTP_PARSE_ERROR;
		}
		if (line[0] == ' ' || line[0] == '\t') {
			http_fail(req, 400, "folded header lines are obsolete (RFC 9112 §5.2)");
			return HTTP_PARSE_ERROR;
		}
		if (http_header_line(req, line, llen) < 0)
			return HTTP_PARSE_ERROR;
	}
	if (req->host[0] == '\0' && req->http11) {
		http_fail(req, 400, "HTTP/1.1 requires a Host header");
		return HTTP_PARSE_ERROR;
	}
	return HTTP_PARSE_DONE;
}

static const char *
http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 426:
		return "Upgrade Required";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	}
	return "Error";
}

static void
http_add(struct pbuf *out, const char *s)
{
	pbuf_add(out, s, strlen(s));
}

/* A complete response that closes the connection; with_body 0 (HEAD): the
 * head only, Content-Length still that of the body. */
static enum http_action
http_close_with_head(struct pbuf *out, int status, const char *extra_headers, const char *type,
    const char *body, int with_body)
{
	char head[512];

	snprintf(head, sizeof(head),
	    "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Content-Security-Policy: default-src 'none'\r\n"
	    "Connection: close\r\n",
	    status, http_reason(status), type, strlen(body));
	http_add(out, head);
	http_add(out, extra_headers);
	http_add(out, "\r\n");
	if (with_body)
		http_add(out, body);
	return HTTP_ACTION_CLOSE;
}

static enum http_action
http_close_with(struct pbuf *out, int status, const char *extra_headers, const char *type,
    const char *body)
{
	return http_close_with_head(out, status, extra_headers, type, body, 1);
}

static enum http_action
http_error(struct pbuf *out, int status, const char *extra_headers, const char *problem)
{
	char body[256];

	snprintf(body, sizeof(body), "%d %s: %s\n", status, http_reason(status), problem);
	return http_close_with(out, status, extra_headers, "text/plain; charset=utf-8", body);
}

void
http_ws_accept(const char *key, char *out, size_t outsz)
{
	char in[HTTP_WS_KEY_LEN + sizeof(HTTP_WS_GUID)];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;

	snprintf(in, sizeof(in), "%s%s", key, HTTP_WS_GUID);
	if (EVP_Digest(in, strlen(in), md, &mdlen, EVP_sha1(), NULL) != 1)
		fatalx("EVP_Digest(SHA-1) failed: OpenSSL cannot compute the WebSocket accept key");
	if (outsz < sodium_base64_ENCODED_LEN(mdlen, sodium_base64_VARIANT_ORIGINAL))
		fatalx("Sec-WebSocket-Accept does not fit its buffer");
	sodium_bin2base64(out, outsz, md, mdlen, sodium_base64_VARIANT_ORIGINAL);
}

void
http_refuse(int status, const char *problem, struct pbuf *out)
{
	http_error(out, status, "", problem);
}

void
http_refuse_proxy(struct pbuf *out)
{
	http_close_with(out, 403, "", "application/json",
	    "{\"error\":{\"message\":\"Proxy client attribution is required. Add the proxy's "
	    "address to gateway.trustedProxies, or connect without Forwarded, X-Forwarded-*, "
	    "X-Real-IP or tailscale-* headers.\",\"type\":\"proxy_attribution_required\"}}");
}

int
http_wants_health(const struct http_request *req)
{
	return req->status == 0 && (req->is_get || req->is_head) && !req->upgrade &&
	    strcmp(req->path, HTTP_HEALTH_PATH) == 0;
}

void
http_health(const struct http_request *req, int broker_up, struct pbuf *out)
{
	/* Up or down and nothing more: anyone who reaches the port may ask. */
	if (broker_up)
		http_close_with_head(out, 200, "", "text/plain; charset=utf-8", "ok\n",
		    req->is_get);
	else
		http_close_with_head(out, 503, "Retry-After: 1\r\n", "text/plain; charset=utf-8",
		    "unavailable: brokerd is unreachable\n", req->is_get);
}

int
http_wants_upgrade(const struct http_request *req)
{
	return req->status == 0 && req->is_get && req->upgrade && !req->version_other &&
	    req->http11 && req->connection_upgrade && req->version13 && req->key_ok;
}

enum http_action
http_respond(const struct http_request *req, http_file_fn file, struct pbuf *out)
{
	char accept[32], head[256];

	if (req->status != 0)
		return http_error(out, req->status, "", req->problem);
	if (!req->is_get)
		return http_error(out, 405, "Allow: GET\r\n",
		    "this port answers GET (WebSocket upgrades, the Control UI, /healthz) and "
		    "HEAD /healthz only");
	if (!req->upgrade)
		return file(req, out) == 0 ? HTTP_ACTION_CLOSE : http_error(out, 404, "",
		    "nothing here; the Control UI is at / (clawgate's own page also at /clawgate/) "
		    "and WebSocket clients may use any path");
	if (req->version_other)
		return http_error(out, 426, "Sec-WebSocket-Version: 13\r\n",
		    "only WebSocket version 13 (RFC 6455) is supported");
	if (!http_wants_upgrade(req))
		return http_error(out, 400, "",
		    "a WebSocket upgrade needs HTTP/1.1, Connection: Upgrade, "
		    "Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key");
	/* No Sec-WebSocket-Protocol and no Sec-WebSocket-Extensions, ever:
	 * permessage-deflate is declined although clients offer it (doc/protocol.md §1). */
	http_ws_accept(req->key, accept, sizeof(accept));
	snprintf(head, sizeof(head),
	    "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n"
	    "\r\n", accept);
	http_add(out, head);
	return HTTP_ACTION_UPGRADE;
}
