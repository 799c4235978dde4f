/* clawgate-loadgen: one connection, from the socket's connect through the
 * WebSocket upgrade, connect.challenge and the signed connect to hello-ok or the
 * close frame (and, for the pair kind's admin session, its approvals). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <yajl/yajl_tree.h>

#include "common/random.h"
#include "common/xmalloc.h"
#include "lg.h"

static char lg_msg[LG_MAX_MSG + 1];	/* a NUL-terminated copy of the message parsed */

void
lg_count_err(struct lg_result *r, const char *name, long n)
{
	int i;

	for (i = 0; i < r->nerr; i++)
		if (strcmp(r->err[i].name, name) == 0)
			break;
	if (i == r->nerr) {
		if (r->nerr >= LG_MAX_ERRS - 1)
			name = "other";
		for (i = 0; i < r->nerr; i++)
			if (strcmp(r->err[i].name, name) == 0)
				break;
		if (i == r->nerr)
			snprintf(r->err[r->nerr++].name, sizeof(r->err[i].name), "%s", name);
	}
	r->err[i].n += n;
}

static void
lg_record_latency(struct lg *g, struct lg_conn *c)
{
	int64_t us = (now_ns() - c->t_sched) / 1000;

	if (g->r.nlat == g->latcap) {
		g->latcap = g->latcap ? g->latcap * 2 : 4096;
		g->lat = xrealloc(g->lat, (size_t)g->latcap * sizeof(*g->lat));
	}
	g->lat[g->r.nlat++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	g->t_last = now_ns();
}

/* Ends a connection. Abortive close (RST): at thousands of connects per second a
 * clean close leaves a TIME_WAIT 4-tuple per connect and loopback runs out of
 * ephemeral ports within a minute; both gateways see the same. */
void
lg_finish(struct lg *g, struct lg_conn *c, const char *err)
{
	struct linger lin = { 1, 0 };

	if (err != NULL)
		lg_count_err(&g->r, err, 1);
	if (c->state != CS_OPEN)
		g->inflight--;
	else
		g->r.open--;
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
	close(c->fd);
	free(c->rbuf);
	if (c->key == &c->own)
		devkey_clear(&c->own);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	g->freelist[g->nfree++] = (int)(c - g->conns);
	g->t_last = now_ns();
}

static int
lg_send(struct lg_conn *c, int opcode, const void *payload, size_t len)
{
	static uint8_t frame[65536];
	size_t n = wsc_frame_build(frame, sizeof(frame), opcode, payload, len);

	/* A fresh loopback socket's send buffer takes a whole frame; a short write
	 * means the peer is not reading, which the run reports as an error. */
	return n != 0 && write(c->fd, frame, n) == (ssize_t)n ? 0 : -1;
}

static int
lg_send_text(struct lg_conn *c, const char *text, size_t len)
{
	return lg_send(c, WSC_OP_TEXT, text, len);
}

/* Strings from the server that go into our JSON unescaped: nonces and request ids
 * are UUIDs, device tokens base64url. */
int
lg_safe(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '-' || s[i] == '_' || s[i] == '.' || (s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
			return 0;
	return 1;
}

static const char *
lg_str(yajl_val root, const char **path)
{
	yajl_val v = yajl_tree_get(root, path, yajl_t_string);

	return v ? YAJL_GET_STRING(v) : NULL;
}

static int
lg_job_admin_scopes(const struct lg *g)
{
	return g->job == JOB_PAIR_ADMIN;
}

/* Sends the connect request for the challenge (nonce, ts), signed v3 like the CLI. */
static int
lg_send_connect(struct lg *g, struct lg_conn *c, const char *nonce, long long ts)
{
	char auth[256], device[512], payload[1024], sig[DEVKEY_SIG_LEN + 1], inst[UUID_STR_LEN + 1];
	char msg[2048];
	const char *slot = g->o->token;
	int n;

	if (g->job == JOB_DEVICE) {
		slot = c->key->token;
		snprintf(auth, sizeof(auth), "\"deviceToken\":\"%s\"", slot);
	} else
		snprintf(auth, sizeof(auth), "\"token\":\"%s\"", slot);
	device[0] = '\0';
	if (c->key != NULL) {
		n = snprintf(payload, sizeof(payload), "v3|%s|cli|cli|operator|%s|%lld|%s|%s|linux|linux",
		    c->key->id, LG_SCOPES_CSV, ts, slot, nonce);
		if (n < 0 || (size_t)n >= sizeof(payload))
			return -1;
		devkey_sign(c->key, payload, (size_t)n, sig);
		snprintf(device, sizeof(device), ",\"device\":{\"id\":\"%s\",\"publicKey\":\"%s\","
		    "\"signature\":\"%s\",\"signedAt\":%lld,\"nonce\":\"%s\"}",
		    c->key->id, c->key->pub, sig, ts, nonce);
	}
	random_uuid4(inst);
	n = snprintf(msg, sizeof(msg), "{\"type\":\"req\",\"id\":\"c1\",\"method\":\"connect\","
	    "\"params\":{\"minProtocol\":4,\"maxProtocol\":4,\"client\":{\"id\":\"cli\","
	    "\"version\":\"2026.9.6\",\"platform\":\"linux\",\"deviceFamily\":\"Linux\","
	    "\"mode\":\"cli\",\"instanceId\":\"%s\"},\"caps\":[],\"auth\":{%s},"
	    "\"role\":\"operator\",\"scopes\":[%s]%s}}", inst, auth,
	    lg_job_admin_scopes(g) ? LG_ADMIN_SCOPES_JSON : LG_SCOPES_JSON, device);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return -1;
	return lg_send_text(c, msg, (size_t)n);
}

/* Admin session: keeps LG_APPROVE_WINDOW device.pair.approve requests in flight;
 * returns nonzero once it finished the session (all approved, or a write failed). */
static int
lg_admin_pump(struct lg *g, struct lg_conn *c)
{
	char msg[512];

	while (g->approve_next < (long)g->nkeys &&
	    g->approve_next - g->approve_done < LG_APPROVE_WINDOW) {
		long i = g->approve_next++;
		int n;

		if (g->request_ids[i] == NULL) {
			g->approve_done++;	/* nothing to approve (already paired, or failed) */
			continue;
		}
		n = snprintf(msg, sizeof(msg), "{\"type\":\"req\",\"id\":\"a%ld\",\"method\":"
		    "\"device.pair.approve\",\"params\":{\"requestId\":\"%s\"}}", i,
		    g->request_ids[i]);
		if (lg_send_text(c, msg, (size_t)n) != 0) {
			lg_finish(g, c, "write");
			return -1;
		}
	}
	if (g->approve_done == (long)g->nkeys) {
		lg_finish(g, c, NULL);
		return 1;
	}
	return 0;
}

static void
lg_on_hello(struct lg *g, struct lg_conn *c, yajl_val root)
{
	static const char *tokpath[] = { "payload", "auth", "deviceToken", NULL };
	const char *tok;

	lg_record_latency(g, c);
	g->r.ok++;
	if (g->t_ready == 0)
		g->t_ready = now_ns();
	if (c->key != NULL && (g->job == JOB_PAIR_REQUEST || g->job == JOB_PAIR_TOKEN) &&
	    (tok = lg_str(root, tokpath)) != NULL && lg_safe(tok, DEVKEY_TOKEN_MAX))
		memcpy(c->key->token, tok, strlen(tok) + 1);
	if (g->job == JOB_PAIR_ADMIN || g->o->idle) {
		c->state = CS_OPEN;
		g->inflight--;
		g->r.open++;
		c->deadline = 0;
		if (g->job == JOB_PAIR_ADMIN)
			lg_admin_pump(g, c);
		return;
	}
	lg_send(c, WSC_OP_CLOSE, "\x03\xe8", 2);	/* 1000: we are done */
	lg_finish(g, c, NULL);
}

/* One text message; returns -1 when the connection was finished. */
static int
lg_on_text(struct lg *g, struct lg_conn *c, const uint8_t *data, size_t len)
{
	static const char *p_type[] = { "type", NULL }, *p_event[] = { "event", NULL },
	    *p_id[] = { "id", NULL }, *p_ok[] = { "ok", NULL },
	    *p_nonce[] = { "payload", "nonce", NULL }, *p_ts[] = { "payload", "ts", NULL },
	    *p_req[] = { "error", "details", "requestId", NULL };
	const char *type, *s;
	yajl_val root, v;
	int rc = 0;

	memcpy(lg_msg, data, len);
	lg_msg[len] = '\0';
	if ((root = yajl_tree_parse(lg_msg, NULL, 0)) == NULL) {
		lg_finish(g, c, "bad-json");
		return -1;
	}
	type = lg_str(root, p_type);
	if (type == NULL)
		type = "";
	if (c->state == CS_CHALLENGE && strcmp(type, "event") == 0 &&
	    (s = lg_str(root, p_event)) != NULL && strcmp(s, "connect.challenge") == 0) {
		const char *nonce = lg_str(root, p_nonce);

		v = yajl_tree_get(root, p_ts, yajl_t_number);
		if (nonce == NULL || !lg_safe(nonce, 64) || v == NULL || !YAJL_IS_INTEGER(v)) {
			lg_finish(g, c, "bad-challenge");
			rc = -1;
		} else if (lg_send_connect(g, c, nonce, YAJL_GET_INTEGER(v)) != 0) {
			lg_finish(g, c, "write");
			rc = -1;
		} else
			c->state = CS_CONNECT_SENT;
	} else if (strcmp(type, "res") == 0 && (s = lg_str(root, p_id)) != NULL) {
		int ok = YAJL_IS_TRUE(yajl_tree_get(root, p_ok, yajl_t_any));

		if (c->state == CS_CONNECT_SENT && strcmp(s, "c1") == 0 && !c->got_res) {
			if (ok) {
				lg_on_hello(g, c, root);
				rc = -1;	/* c was finished or moved on; stop parsing */
			} else {
				/* Decided: the close frame that follows names the code. */
				c->got_res = 1;
				lg_record_latency(g, c);
				g->r.rejected++;
				if (g->job == JOB_PAIR_REQUEST &&
				    (s = lg_str(root, p_req)) != NULL && lg_safe(s, 64))
					g->request_ids[c->key - g->keys] = xstrdup(s);
			}
		} else if (c->state == CS_OPEN && g->job == JOB_PAIR_ADMIN && s[0] == 'a') {
			g->approve_done++;
			if (!ok)
				g->approve_failed++;
			if (lg_admin_pump(g, c) != 0)
				rc = -1;
		}
	}
	yajl_tree_free(root);
	return rc;
}

/* Handles the frames in the buffer; returns -1 when the connection was finished. */
static int
lg_on_frames(struct lg *g, struct lg_conn *c)
{
	size_t off = 0;
	struct wsc_frame f;
	int rc;
	char name[32];

	while ((rc = wsc_frame_parse(c->rbuf + off, c->rlen - off, LG_MAX_MSG, &f)) == 1) {
		off += f.size;
		switch (f.opcode) {
		case WSC_OP_TEXT:
			if (!f.fin) {
				lg_finish(g, c, "fragmented");
				return -1;
			}
			if (lg_on_text(g, c, f.payload, f.len) != 0)
				return -1;
			break;
		case WSC_OP_PING:
			if (lg_send(c, WSC_OP_PONG, f.payload, f.len) != 0) {
				lg_finish(g, c, "write");
				return -1;
			}
			break;
		case WSC_OP_CLOSE: {
			int code = f.len >= 2 ? f.payload[0] << 8 | f.payload[1] : 1005;

			snprintf(name, sizeof(name), "%sclose:%d",
			    c->state == CS_OPEN ? "dropped-" : c->got_res ? "" : "nores-", code);
			lg_finish(g, c, name);
			return -1;
		}
		case WSC_OP_PONG:
			break;
		default:
			lg_finish(g, c, "bad-opcode");
			return -1;
		}
	}
	if (rc < 0) {
		lg_finish(g, c, "bad-frame");
		return -1;
	}
	memmove(c->rbuf, c->rbuf + off, c->rlen - off);
	c->rlen -= off;
	return 0;
}

void
lg_on_readable(struct lg *g, struct lg_conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->rcap - c->rlen < 4096) {
			if (c->rcap >= LG_MAX_MSG + 64) {
				lg_finish(g, c, "too-big");
				return;
			}
			c->rcap = c->rcap ? c->rcap * 2 : 8192;
			c->rbuf = xrealloc(c->rbuf, c->rcap);
		}
		n = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
		if (n == 0) {
			lg_finish(g, c, c->state == CS_OPEN ? "dropped-eof" : c->got_res ?
			    "res+eof" : "eof");
			return;
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			lg_finish(g, c, c->state == CS_OPEN ? "dropped-reset" : "reset");
			return;
		}
		c->rlen += (size_t)n;
		if (c->state == CS_UPGRADE) {
			int status, accept_ok;
			long h = wsc_upgrade_response((char *)c->rbuf, c->rlen, LG_MAX_HEAD,
			    c->wskey, &status, &accept_ok);
			char name[32];

			if (h == 0)
				continue;
			if (h < 0 || status != 101 || !accept_ok) {
				snprintf(name, sizeof(name), "http:%d", h < 0 ? 0 : status);
				lg_finish(g, c, status == 101 ? "bad-accept" : name);
				return;
			}
			memmove(c->rbuf, c->rbuf + h, c->rlen - (size_t)h);
			c->rlen -= (size_t)h;
			c->state = CS_CHALLENGE;
		}
		if (lg_on_frames(g, c) != 0)
			return;
	}
	/* Held sessions give their buffer back: 15,000 of them must stay cheap. */
	if (c->state == CS_OPEN && c->rlen == 0) {
		free(c->rbuf);
		c->rbuf = NULL;
		c->rcap = 0;
	}
}

void
lg_on_connected(struct lg *g, struct lg_conn *c)
{
	char req[512], name[32];
	int err = 0;
	socklen_t len = sizeof(err);
	size_t n;

	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err != 0) {
		snprintf(name, sizeof(name), "connect:%s", strerrorname_np(err) ?
		    strerrorname_np(err) : "?");
		lg_finish(g, c, name);
		return;
	}
	n = wsc_upgrade_request(req, sizeof(req), g->o->host, g->o->port, c->wskey);
	if (n == 0 || write(c->fd, req, n) != (ssize_t)n) {
		lg_finish(g, c, "write");
		return;
	}
	c->state = CS_UPGRADE;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
	epoll_ctl(g->ep, EPOLL_CTL_MOD, c->fd, &ev);
}
