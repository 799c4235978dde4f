/* echo-upstream: the WebSocket session after the upgrade (see echo_upstream.c). */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "echo_upstream.h"
#include "jscan.h"
#include "wsframe.h"

/* ---- frames ---- */

/* Appends one unmasked server frame to c->out. */
static void
eu_frame(struct eu_conn *c, int opcode, const void *payload, size_t len)
{
	uint8_t *o;
	size_t hdr = wsframe_len_size(len);

	c->out = eu_grow(c->out, &c->outcap, c->outlen + hdr + len);
	o = c->out + c->outlen;
	wsframe_header(o, opcode, len, 0);
	memcpy(o + hdr, payload, len);
	c->outlen += hdr + len;
}

static int
eu_flush(struct eu_conn *c)
{
	int rc = eu_write_all(c->fd, c->out, c->outlen);

	c->outlen = 0;
	return rc;
}

static void
eu_close(struct eu_conn *c, int code, const char *reason)
{
	uint8_t p[125];
	size_t len = strlen(reason) > 123 ? 123 : strlen(reason);

	p[0] = (uint8_t)(code >> 8);
	p[1] = (uint8_t)code;
	memcpy(p + 2, reason, len);
	eu_frame(c, 8, p, len + 2);
	c->closing = 1;
}

/* A text message: a res of pieces (NULL-terminated list of string, length). */
static void
eu_text(struct eu_conn *c, ...)
{
	size_t len = 0, off = 0;
	const char *s;
	va_list ap;
	char *buf;

	va_start(ap, c);
	while ((s = va_arg(ap, const char *)) != NULL)
		len += va_arg(ap, size_t);
	va_end(ap);
	if ((buf = malloc(len + 1)) == NULL)
		eu_die("out of memory");
	va_start(ap, c);
	while ((s = va_arg(ap, const char *)) != NULL) {
		size_t n = va_arg(ap, size_t);

		memcpy(buf + off, s, n);
		off += n;
	}
	va_end(ap);
	eu_frame(c, 1, buf, len);
	free(buf);
}

#define EU_S(lit) lit, sizeof(lit) - 1
#define EU_SPAN(sp) (sp).p, (sp).len


/* ---- the session ---- */

static void
eu_refuse(struct eu_conn *c, const struct jscan_span *id, const char *error, const char *reason)
{
	eu_text(c, EU_S("{\"type\":\"res\",\"id\":"), EU_SPAN(*id), EU_S(",\"ok\":false,\"error\":"),
	    error, strlen(error), EU_S("}"), NULL);
	eu_close(c, 1008, reason);
}

static void
eu_hello(struct eu_conn *c, const struct jscan_span *id, const struct jscan_span *params)
{
	static const char *const keys[] = { "role", "device" };
	char head[1024], tail[1536], conn_id[37], recovery[44];
	struct jscan_span m[2];
	uint8_t raw[32];
	int admin;

	jscan_object(params->p, params->p + params->len, keys, 2, m);
	if (eu.record != NULL) {
		pthread_mutex_lock(&eu_record_lock);
		fprintf(eu.record, "{\"conn\":%ld,\"connect\":%.*s}\n", c->id, (int)params->len,
		    params->p);
		fflush(eu.record);
		pthread_mutex_unlock(&eu_record_lock);
	}
	if (!c->authorized || jscan_is_string(&m[0], "node")) {
		eu_refuse(c, id, "{\"code\":\"NOT_PAIRED\",\"message\":\"device identity required\","
		    "\"details\":{\"code\":\"DEVICE_IDENTITY_REQUIRED\"}}", "device identity required");
		return;
	}
	if (m[1].p != NULL) {
		eu_refuse(c, id, "{\"code\":\"INVALID_REQUEST\",\"message\":\"device nonce mismatch\"}",
		    "device nonce mismatch");
		return;
	}
	snprintf(c->role, sizeof(c->role), "%.*s", m[0].p && m[0].len < sizeof(c->role) - 2 &&
	    m[0].p[0] == '"' ? (int)m[0].len - 2 : 8, m[0].p && m[0].len < sizeof(c->role) - 2 &&
	    m[0].p[0] == '"' ? m[0].p + 1 : "operator");
	RAND_bytes(raw, sizeof(raw));
	EVP_EncodeBlock((uint8_t *)recovery, raw, 32);	/* 44 chars with one '=' */
	recovery[43] = '\0';
	for (char *p = recovery; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	eu_uuid(conn_id);
	admin = strstr(c->scopes, "\"operator.admin\"") != NULL;
	snprintf(head, sizeof(head), ",\"ok\":true,\"payload\":{\"type\":\"hello-ok\",\"protocol\":4,"
	    "\"server\":{\"version\":\"2026.9.6\",\"buildId\":\"echo-upstream\",\"bootId\":\"%s\","
	    "\"controlUiBuildSource\":\"bundled\",\"connId\":\"%s\"},\"features\":{\"methods\":"
	    "[\"health\",\"status\",\"device.pair.list\",\"device.pair.approve\","
	    "\"device.pair.reject\",\"device.pair.remove\",\"device.pair.rename\","
	    "\"device.token.rotate\",\"device.token.revoke\",\"echo\",\"echo.events\","
	    "\"echo.close\"],\"events\":[\"tick\",\"device.pair.requested\","
	    "\"device.pair.resolved\",\"device.pair.changed\",\"echo.data\"],"
	    "\"capabilities\":[]},", eu_boot_id, conn_id);
	snprintf(tail, sizeof(tail), "\"snapshot\":{\"presence\":[],\"health\":{},\"stateVersion\":"
	    "{\"presence\":0,\"health\":0},\"uptimeMs\":0%s},\"auth\":{\"method\":\"trusted-proxy\","
	    "\"role\":\"%s\",\"scopes\":[%s],\"recoveryScope\":\"%s\"},\"policy\":{\"maxPayload\":%d,"
	    "\"maxBufferedBytes\":52428800,\"tickIntervalMs\":30000}}}",
	    admin ? ",\"authMode\":\"trusted-proxy\"" : "", c->role, c->scopes, recovery, EU_MAX_MSG);
	eu_text(c, EU_S("{\"type\":\"res\",\"id\":"), EU_SPAN(*id), head, strlen(head), tail,
	    strlen(tail), NULL);
	c->admitted = 1;
}

/* count events of size bytes each (the frame's payload; at least the envelope). */
static int
eu_events(struct eu_conn *c, long size, long count)
{
	size_t cap = (size_t)size + 256;
	uint8_t *buf = malloc(cap + 10);
	int rc = 0;

	if (buf == NULL)
		eu_die("out of memory");
	for (long i = 1; i <= count && rc == 0; i++) {
		char pre[128], post[64];
		int np = snprintf(pre, sizeof(pre), "{\"type\":\"event\",\"event\":\"echo.data\","
		    "\"payload\":{\"i\":%ld,\"data\":\"", i);
		int ns = snprintf(post, sizeof(post), "\"},\"seq\":%ld}", i);
		size_t fill = (size_t)size > (size_t)(np + ns) ? (size_t)size - (size_t)(np + ns) : 0;
		size_t len = (size_t)(np + ns) + fill, hdr = wsframe_len_size(len);
		uint8_t *o = buf + 10 - hdr;

		memcpy(buf + 10, pre, (size_t)np);
		memset(buf + 10 + np, 'x', fill);
		memcpy(buf + 10 + np + fill, post, (size_t)ns);
		wsframe_header(o, 1, len, 0);
		rc = eu_write_all(c->fd, o, hdr + len);
	}
	free(buf);
	return rc;
}

/* One text message from the client; -1 ends the connection. */
static int
eu_message(struct eu_conn *c, const char *p, size_t len)
{
	static const char *const keys[] = { "type", "id", "method", "params" };
	static const char *const pkeys[] = { "size", "count", "code", "reason" };
	static const struct jscan_span null_span = { "null", 4 };
	struct jscan_span m[4], a[4];

	if (jscan_object(p, p + len, keys, 4, m) < 0 || !jscan_is_string(&m[0], "req") ||
	    m[1].p == NULL || m[2].p == NULL) {
		eu_close(c, 1008, "invalid request frame");
		return 0;
	}
	if (m[3].p == NULL)
		m[3] = null_span;
	if (!c->admitted) {
		if (!jscan_is_string(&m[2], "connect"))
			eu_refuse(c, &m[1], "{\"code\":\"INVALID_REQUEST\",\"message\":\"invalid "
			    "handshake: first request must be connect\"}", "invalid handshake");
		else
			eu_hello(c, &m[1], &m[3]);
		return 0;
	}
	eu_text(c, EU_S("{\"type\":\"res\",\"id\":"), EU_SPAN(m[1]), EU_S(",\"ok\":true,"
	    "\"payload\":"), EU_SPAN(m[3]), EU_S("}"), NULL);
	if (jscan_is_string(&m[2], "echo.events")) {
		long size, count;

		jscan_object(m[3].p, m[3].p + m[3].len, pkeys, 4, a);
		size = jscan_long(&a[0], EU_MAX_MSG);
		count = jscan_long(&a[1], EU_MAX_EVENTS);
		if (size < 0 || count < 0 || size * count > EU_MAX_EVENT_BYTES)
			return 0;
		if (eu_flush(c) < 0)
			return -1;
		return eu_events(c, size, count);
	}
	if (jscan_is_string(&m[2], "echo.close")) {
		long code;
		char reason[124];

		jscan_object(m[3].p, m[3].p + m[3].len, pkeys, 4, a);
		code = jscan_long(&a[2], 4999);
		snprintf(reason, sizeof(reason), "%.*s", a[3].p && a[3].len >= 2 &&
		    a[3].len < sizeof(reason) ? (int)a[3].len - 2 : 0, a[3].p ? a[3].p + 1 : "");
		eu_close(c, code >= 1000 ? (int)code : 1000, reason);
	}
	return 0;
}

/* Unmasks a word at a time: the echo upstream must not be what a benchmark of
 * 64 KiB messages measures. */
static void
eu_unmask(uint8_t *p, size_t len, const uint8_t mask[4])
{
	uint64_t m8;
	uint32_t m;
	size_t i = 0;

	memcpy(&m, mask, 4);
	m8 = (uint64_t)m << 32 | m;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;

		memcpy(&w, p + i, 8);
		w ^= m8;
		memcpy(p + i, &w, 8);
	}
	for (; i < len; i++)
		p[i] ^= mask[i & 3];
}

/* Handles one complete frame at c->in; returns its size, 0 when incomplete, -1
 * to end the connection. */
static long
eu_frame_in(struct eu_conn *c)
{
	uint8_t *b = c->in, *mask, *pl;
	struct wsframe_head h;
	size_t hdr;
	uint64_t len;
	int op, fin, got;

	if ((got = wsframe_parse(b, c->inlen, 1, &h)) <= 0)
		return got;	/* -1: unmasked, or a reserved bit without an extension */
	fin = h.fin;
	op = h.opcode;
	len = h.len;
	hdr = h.size;
	if (len > EU_MAX_MSG || c->msglen + len > EU_MAX_MSG) {
		eu_close(c, 1009, "message too big");
		return -1;
	}
	if (c->inlen < hdr + len)
		return 0;
	mask = b + hdr - 4;
	pl = b + hdr;
	eu_unmask(pl, (size_t)len, mask);
	if (op == 9) {
		eu_frame(c, 10, pl, (size_t)len);
	} else if (op == 8) {
		if (!c->closing)
			eu_frame(c, 8, pl, len >= 2 ? 2 : 0);
		return -1;
	} else if (op == 1 || op == 0) {
		if (!fin || c->msglen > 0) {
			c->msg = eu_grow(c->msg, &c->msgcap, c->msglen + (size_t)len);
			memcpy(c->msg + c->msglen, pl, (size_t)len);
			c->msglen += (size_t)len;
			if (fin) {
				int rc = eu_message(c, (char *)c->msg, c->msglen);

				c->msglen = 0;
				if (rc < 0)
					return -1;
			}
		} else if (eu_message(c, (char *)pl, (size_t)len) < 0) {
			return -1;
		}
	} else if (op != 10) {
		eu_close(c, 1003, "text frames only");
	}
	return (long)(hdr + len);
}

void *
eu_serve(void *arg)
{
	struct eu_conn *c = arg;
	char challenge[256], nonce[37];
	struct timespec ts;
	int n;

	if (eu_upgrade(c) < 0)
		goto done;
	eu_uuid(nonce);
	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(challenge, sizeof(challenge), "{\"type\":\"event\",\"event\":\"connect.challenge\","
	    "\"payload\":{\"nonce\":\"%s\",\"ts\":%lld,\"capabilities\":[\"model-catalog-snapshot\"]}}",
	    nonce, (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	eu_frame(c, 1, challenge, (size_t)n);
	if (eu_flush(c) < 0)
		goto done;
	for (;;) {
		size_t off = 0;
		long used = 0;
		ssize_t r;

		while (off < c->inlen) {
			uint8_t *save = c->in;

			c->in += off;
			c->inlen -= off;
			used = eu_frame_in(c);
			c->in = save;
			c->inlen += off;
			if (used <= 0)
				break;
			off += (size_t)used;
		}
		if (eu_flush(c) < 0 || used < 0)
			break;
		memmove(c->in, c->in + off, c->inlen - off);
		c->inlen -= off;
		c->in = eu_grow(c->in, &c->incap, c->inlen + 65536);
		r = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		c->inlen += (size_t)r;
	}
done:
	close(c->fd);
	free(c->in);
	free(c->msg);
	free(c->out);
	free(c);
	__atomic_sub_fetch(&eu_live, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

