#include "gatewayd/upgrade.h"

#include <string.h>
#include <strings.h>

#include "gatewayd/http.h"

static int
upgrade_token_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!http_is_tchar((uint8_t)*s))
			return 0;
	return 1;
}

/* Empty values are fine ("x-openclaw-scopes: " grants no scope). */
static int
upgrade_value_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (!http_is_vchar((uint8_t)*s))
			return 0;
	return 1;
}

static void
upgrade_add_line(struct pbuf *out, const char *name, const char *value)
{
	pbuf_add(out, name, strlen(name));
	pbuf_add(out, ": ", 2);
	pbuf_add(out, value, strlen(value));
	pbuf_add(out, "\r\n", 2);
}

int
upgrade_request(struct pbuf *out, const char *host, const char *key,
    const struct upgrade_header *h, size_t n)
{
	static const char head[] = "GET / HTTP/1.1\r\n";

	if (*host == '\0' || !upgrade_value_ok(host) || *key == '\0' || !upgrade_value_ok(key))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!upgrade_token_ok(h[i].name) || !upgrade_value_ok(h[i].value))
			return -1;
	pbuf_add(out, head, sizeof(head) - 1);
	upgrade_add_line(out, "Host", host);
	upgrade_add_line(out, "Upgrade", "websocket");
	upgrade_add_line(out, "Connection", "Upgrade");
	upgrade_add_line(out, "Sec-WebSocket-Key", key);
	upgrade_add_line(out, "Sec-WebSocket-Version", "13");
	for (size_t i = 0; i < n; i++)
		upgrade_add_line(out, h[i].name, h[i].value);
	pbuf_add(out, "\r\n", 2);
	return 0;
}

static enum upgrade_status
upgrade_fail(struct upgrade_response *r, const char *problem)
{
	r->problem = problem;
	return UPGRADE_ERROR;
}

/* The head's length including the blank line, 0 if there is none yet. */
static size_t
upgrade_head_len(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i + 3 < len; i++)
		if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' &&
		    buf[i + 3] == '\n')
			return i + 4;
	return 0;
}

/* "HTTP/1.1 DDD[ reason]" */
static int
upgrade_status_line(const uint8_t *l, size_t len)
{
	static const char v[] = "HTTP/1.1 ";
	size_t vl = sizeof(v) - 1;
	int status = 0;

	if (len < vl + 3 || memcmp(l, v, vl) != 0)
		return 0;
	for (size_t i = vl; i < vl + 3; i++) {
		if (l[i] < '0' || l[i] > '9')
			return 0;
		status = status * 10 + (l[i] - '0');
	}
	if (len > vl + 3 && l[vl + 3] != ' ')
		return 0;
	for (size_t i = vl + 3; i < len; i++)
		if (!http_is_vchar(l[i]))
			return 0;
	return status >= 100 ? status : 0;
}

struct upgrade_seen {
	uint8_t upgrade, connection, accept;
};

static int
upgrade_name_is(const uint8_t *name, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp((const char *)name, want, len) == 0;
}

/* One header line; -1 with r->problem set if it refuses the upgrade. */
static int
upgrade_header(const uint8_t *l, size_t len, const char *accept, struct upgrade_seen *seen,
    struct upgrade_response *r)
{
	size_t nlen = 0, vs, ve;

	while (nlen < len && http_is_tchar(l[nlen]))
		nlen++;
	if (nlen == 0 || nlen == len || l[nlen] != ':')
		return upgrade_fail(r, "malformed header line"), -1;
	for (size_t i = nlen + 1; i < len; i++)
		if (!http_is_vchar(l[i]))
			return upgrade_fail(r, "header value with a control character"), -1;
	vs = nlen + 1;
	ve = len;
	while (vs < ve && (l[vs] == ' ' || l[vs] == '\t'))
		vs++;
	while (ve > vs && (l[ve - 1] == ' ' || l[ve - 1] == '\t'))
		ve--;
	if (upgrade_name_is(l, nlen, "upgrade")) {
		seen->upgrade |= http_list_has(l + vs, ve - vs, "websocket");
	} else if (upgrade_name_is(l, nlen, "connection")) {
		seen->connection |= http_list_has(l + vs, ve - vs, "upgrade");
	} else if (upgrade_name_is(l, nlen, "sec-websocket-accept")) {
		if (seen->accept || ve - vs != strlen(accept) ||
		    memcmp(l + vs, accept, ve - vs) != 0)
			return upgrade_fail(r, "wrong Sec-WebSocket-Accept"), -1;
		seen->accept = 1;
	} else if (upgrade_name_is(l, nlen, "sec-websocket-extensions") ||
	    upgrade_name_is(l, nlen, "sec-websocket-protocol")) {
		return upgrade_fail(r, "an extension or subprotocol nobody asked for"), -1;
	}
	return 0;
}

enum upgrade_status
upgrade_parse(const uint8_t *buf, size_t len, const char *accept, struct upgrade_response *r)
{
	struct upgrade_seen seen = { 0, 0, 0 };
	size_t head, pos, nlines = 0;

	memset(r, 0, sizeof(*r));
	if (len > UPGRADE_HEAD_MAX)
		len = UPGRADE_HEAD_MAX;
	if ((head = upgrade_head_len(buf, len)) == 0)
		return len == UPGRADE_HEAD_MAX ? upgrade_fail(r, "answer head too long") :
		    UPGRADE_MORE;
	/* Lines end in CRLF; a lone CR or LF inside one is refused below. */
	for (pos = 0; pos < head - 2; nlines++) {
		const uint8_t *l = buf + pos;
		const uint8_t *end = memchr(l, '\n', head - pos);
		size_t llen = (size_t)(end - l);

		if (llen == 0 || l[llen - 1] != '\r' || memchr(l, '\r', llen - 1) != NULL)
			return upgrade_fail(r, "line not ended by CRLF");
		llen--;
		if (nlines == 0) {
			if ((r->status = upgrade_status_line(l, llen)) == 0)
				return upgrade_fail(r, "malformed status line");
			if (r->status != 101)
				return upgrade_fail(r, "answered without switching protocols");
		} else if (nlines > UPGRADE_HEADERS_MAX) {
			return upgrade_fail(r, "too many header lines");
		} else if (upgrade_header(l, llen, accept, &seen, r) < 0) {
			return UPGRADE_ERROR;
		}
		pos += llen + 2;
	}
	if (!seen.upgrade || !seen.connection)
		return upgrade_fail(r, "no Upgrade: websocket and Connection: upgrade");
	if (!seen.accept)
		return upgrade_fail(r, "no Sec-WebSocket-Accept");
	r->head_len = head;
	return UPGRADE_OK;
}
