/* clawgate-loadgen: a load generator that speaks the real OpenClaw handshake
 * (doc/protocol.md §2-§3) to any gateway on loopback — clawgate or OpenClaw itself —
 * and reports connects/s, latency percentiles and failures by close code.
 *
 * What a connection does is the --kind:
 *   device    a paired device reconnecting with its device token (keys file), signed v3
 *   operator  a device-less loopback CLI operator on the shared token
 *   unknown   a fresh device identity on the shared token: a pairing-required storm
 *   pair      creates --count identities, requests pairing, approves every request over
 *             device.pair.approve from a device-less admin session, connects once more
 *             to receive each device token, and writes the keys file
 *   ready     retries an operator connect until hello-ok; prints when (CLOCK_MONOTONIC)
 * How connections arrive: closed loop (--concurrency in flight, the default), open loop
 * (--rate per second, latency counted from the scheduled start so a slow server cannot
 * hide its queue: no coordinated omission), or --idle (hold --count sessions open,
 * report once all are up, keep them until stdin closes or --hold seconds pass).
 * --workers forks processes (the fd limit is per process); --sources binds the client
 * sockets to K addresses from --first-source on (127.0.0.2, 127.0.0.3, ... by default),
 * so that a storm and the paired devices need not share addresses. Every run is bounded by the hard caps below.
 * The report is one JSON line on stdout. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <yajl/yajl_tree.h>

#include "common/log.h"
#include "common/random.h"
#include "common/xmalloc.h"
#include "devkey.h"
#include "wsc.h"

/* Hard caps: a mistyped option cannot turn the tool into an unbounded storm. */
#define LG_MAX_COUNT 1000000
#define LG_MAX_CONCURRENCY 8192
#define LG_MAX_IDLE 40000
#define LG_MAX_RATE 50000.0
#define LG_MAX_DURATION_S 300.0
#define LG_MAX_HOLD_S 900.0
#define LG_MAX_WORKERS 16
#define LG_MAX_SOURCES 250
#define LG_MAX_DEVICES 100000
#define LG_CONN_TIMEOUT_NS (20LL * 1000000000)	/* > the 15 s handshake timeout */
#define LG_DRAIN_NS (25LL * 1000000000)		/* wait for in-flight after --duration */
#define LG_READY_TIMEOUT_NS (120LL * 1000000000)
#define LG_MAX_HEAD 16384
#define LG_MAX_MSG (8 << 20)	/* OpenClaw's hello-ok carries a snapshot; be generous */
#define LG_MAX_ERRS 32
#define LG_APPROVE_WINDOW 16
#define LG_SCOPES_CSV "operator.read"
#define LG_SCOPES_JSON "\"operator.read\""
#define LG_ADMIN_SCOPES_JSON "\"operator.admin\",\"operator.pairing\",\"operator.read\""

enum lg_kind { KIND_DEVICE, KIND_OPERATOR, KIND_UNKNOWN, KIND_PAIR, KIND_READY };
/* The pair kind runs three jobs one after the other. */
enum lg_job { JOB_DEVICE, JOB_OPERATOR, JOB_UNKNOWN, JOB_PAIR_REQUEST, JOB_PAIR_ADMIN,
    JOB_PAIR_TOKEN };
enum lg_state { CS_FREE, CS_CONNECTING, CS_UPGRADE, CS_CHALLENGE, CS_CONNECT_SENT, CS_OPEN };

struct lg_opts {
	const char *host;
	int port;
	enum lg_kind kind;
	const char *token;
	const char *keys_path;
	long count;
	int concurrency;
	double rate;		/* 0: closed loop */
	double duration;
	int idle;
	double hold;
	int workers;
	int sources;
	uint32_t first_source;	/* host order */
};

struct lg_conn {
	int fd;
	enum lg_state state;
	int64_t t_sched;	/* latency origin, ns */
	int64_t deadline;
	struct devkey *key;	/* NULL: device-less */
	struct devkey own;	/* a fresh identity (unknown devices) */
	int got_res;
	uint8_t *rbuf;
	size_t rlen, rcap;
	char wskey[WSC_KEY_LEN + 1];
};

struct lg_err {
	char name[32];
	long n;
};

/* What one process measured; workers send it to the parent through a pipe. */
struct lg_result {
	long started, ok, rejected, open, nlat;
	double elapsed;		/* s, from the first start to the last outcome */
	int nerr;
	struct lg_err err[LG_MAX_ERRS];
};

struct lg {
	const struct lg_opts *o;
	enum lg_job job;
	int ep, tfd;
	struct lg_conn *conns;
	int nconns, *freelist, nfree;
	long count, first_index, stride;	/* this worker's connections: first + k*stride */
	double rate;
	int inflight;		/* handshakes not yet decided */
	struct devkey *keys;
	size_t nkeys;
	char **request_ids;	/* pair: per key, the pending request to approve */
	long approve_next, approve_done, approve_failed;
	int64_t t0, t_last, t_ready;
	struct lg_result r;
	uint32_t *lat;
	long latcap;
};

static char lg_msg[LG_MAX_MSG + 1];	/* a NUL-terminated copy of the message parsed */

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Counts a failure by name; past LG_MAX_ERRS - 1 names the rest go to "other". */
static void
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
static void
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
static int
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

static void
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

static void
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

static void
lg_start(struct lg *g, int64_t t_sched)
{
	long k = g->r.started++, gidx = g->first_index + k * g->stride;
	struct lg_conn *c = &g->conns[g->freelist[--g->nfree]];
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)g->o->port) };
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN };
	int one = 1;

	memset(c, 0, sizeof(*c));
	c->t_sched = t_sched;
	c->deadline = now_ns() + LG_CONN_TIMEOUT_NS;
	c->state = CS_CONNECTING;
	g->inflight++;
	switch (g->job) {
	case JOB_DEVICE:
	case JOB_PAIR_REQUEST:
	case JOB_PAIR_TOKEN:
		c->key = &g->keys[gidx % (long)g->nkeys];
		break;
	case JOB_UNKNOWN:
		devkey_generate(&c->own);
		c->key = &c->own;
		break;
	case JOB_OPERATOR:
	case JOB_PAIR_ADMIN:
		break;
	}
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		c->fd = -1;
		lg_count_err(&g->r, "socket", 1);
		g->inflight--;
		g->freelist[g->nfree++] = (int)(c - g->conns);
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (g->o->sources > 0) {
		struct sockaddr_in src = { .sin_family = AF_INET };

		src.sin_addr.s_addr = htonl(g->o->first_source + (uint32_t)(gidx % g->o->sources));
		/* Leave the port to connect(), so the 4-tuple, not the source port alone,
		 * must be unique. */
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(c->fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
			lg_finish(g, c, "bind");
			return;
		}
	}
	inet_pton(AF_INET, g->o->host, &sa.sin_addr);
	ev.data.ptr = c;
	if (epoll_ctl(g->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0)
		fatal("epoll_ctl");
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS) {
		char name[32];

		snprintf(name, sizeof(name), "connect:%s", strerrorname_np(errno) ?
		    strerrorname_np(errno) : "?");
		lg_finish(g, c, name);
	}
}

static void
lg_expire(struct lg *g, int64_t now, int all)
{
	for (int i = 0; i < g->nconns; i++) {
		struct lg_conn *c = &g->conns[i];

		if (c->state != CS_FREE && c->state != CS_OPEN && (all || now > c->deadline))
			lg_finish(g, c, "timeout");
	}
}

static void
lg_arm_timer(struct lg *g, int64_t when)
{
	struct itimerspec its = { .it_value = { when / 1000000000, when % 1000000000 } };

	if (when <= 0)
		its.it_value.tv_nsec = 1;	/* zero would disarm it */
	timerfd_settime(g->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* The event loop of one process: starts this worker's connections as the arrival
 * mode says and runs them to their outcome. Returns once all are decided (with
 * --idle: once all are up; lg_hold keeps them). */
static void
lg_run(struct lg *g)
{
	const struct lg_opts *o = g->o;
	int slots = o->idle && g->job != JOB_PAIR_ADMIN ? (int)g->count : o->concurrency;
	double interval = g->rate > 0 ? 1e9 / g->rate : 0;
	int64_t stop_start, stop_all, last_scan = 0;
	struct epoll_event evs[256];

	g->ep = epoll_create1(EPOLL_CLOEXEC);
	g->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (g->ep < 0 || g->tfd < 0)
		fatal("epoll/timerfd");
	struct epoll_event tev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(g->ep, EPOLL_CTL_ADD, g->tfd, &tev);
	g->nconns = slots;
	g->conns = xcalloc((size_t)slots, sizeof(*g->conns));
	g->freelist = xcalloc((size_t)slots, sizeof(*g->freelist));
	for (int i = 0; i < slots; i++)
		g->freelist[g->nfree++] = slots - 1 - i;
	g->t0 = g->t_last = now_ns();
	stop_start = g->t0 + (int64_t)(o->duration * 1e9);
	stop_all = stop_start + LG_DRAIN_NS;
	for (;;) {
		int64_t now = now_ns(), next_due = 0;
		int n, timeout = 20;

		while (g->r.started < g->count && now < stop_start && g->nfree > 0 &&
		    (o->idle ? g->inflight < o->concurrency : 1)) {
			if (interval > 0) {
				int64_t due = g->t0 + (int64_t)(interval * (double)g->r.started);

				if (due > now) {
					next_due = due;
					break;
				}
				lg_start(g, due);
			} else if (!o->idle && g->inflight >= o->concurrency)
				break;
			else
				lg_start(g, now);
		}
		/* The admin session stays open (not in flight) while it approves. */
		if (g->inflight == 0 && (g->r.started == g->count || now >= stop_start) &&
		    (g->job != JOB_PAIR_ADMIN || g->r.open == 0))
			break;
		if (now >= stop_all) {
			lg_expire(g, now, 1);
			break;
		}
		if (next_due > 0)
			lg_arm_timer(g, next_due);
		n = epoll_wait(g->ep, evs, 256, timeout);
		if (n < 0 && errno != EINTR)
			fatal("epoll_wait");
		for (int i = 0; i < n; i++) {
			struct lg_conn *c = evs[i].data.ptr;
			uint64_t ticks;

			if (c == NULL) {
				if (read(g->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
					fatal("timerfd read");
				continue;
			}
			if (c->state == CS_FREE)
				continue;	/* finished earlier in this batch */
			if (c->state == CS_CONNECTING)
				lg_on_connected(g, c);
			else
				lg_on_readable(g, c);
		}
		now = now_ns();
		if (now - last_scan > 100000000) {
			lg_expire(g, now, 0);
			last_scan = now;
		}
	}
	g->r.elapsed = (double)(g->t_last - g->t0) / 1e9;
}

/* --idle: keeps the open sessions (answering pings, reading ticks) until stdin
 * reaches EOF or --hold seconds pass. */
static void
lg_hold(struct lg *g)
{
	int64_t end = now_ns() + (int64_t)(g->o->hold * 1e9);
	struct epoll_event evs[256], sev = { .events = EPOLLIN, .data.ptr = g };
	long before = g->r.open;
	int use_stdin = epoll_ctl(g->ep, EPOLL_CTL_ADD, STDIN_FILENO, &sev) == 0;

	while (now_ns() < end) {
		int n = epoll_wait(g->ep, evs, 256, 200);

		for (int i = 0; i < n; i++) {
			struct lg_conn *c = evs[i].data.ptr;
			char buf[256];
			uint64_t ticks;

			if (c == NULL) {
				if (read(g->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
					fatal("timerfd read");
			} else if ((void *)c == (void *)g) {
				if (read(STDIN_FILENO, buf, sizeof(buf)) <= 0)
					end = 0;
			} else if (c->state == CS_OPEN)
				lg_on_readable(g, c);
		}
	}
	if (!use_stdin)
		log_info("held %ld sessions for %.0f s", before, g->o->hold);
	if (g->r.open != before)
		log_warnx("%ld of %ld idle sessions were closed by the server while held",
		    before - g->r.open, before);
}

static int
lg_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double
lg_pct(const uint32_t *lat, long n, double p)
{
	long i;

	if (n == 0)
		return 0;
	i = (long)(p * (double)n);
	if (i >= n)
		i = n - 1;
	return lat[i] / 1000.0;
}

static const char *
lg_kind_name(enum lg_kind k)
{
	static const char *names[] = { "device", "operator", "unknown", "pair", "ready" };

	return names[k];
}

/* client_cpu < 0: not known (idle workers are still running). */
static void
lg_report(const struct lg_opts *o, struct lg_result *r, uint32_t *lat, double client_cpu)
{
	double el = r->elapsed > 0 ? r->elapsed : 1e-9;

	qsort(lat, (size_t)r->nlat, sizeof(*lat), lg_cmp_u32);
	printf("{\"kind\":\"%s\",\"arrival\":\"%s\",\"rate\":%.0f,\"concurrency\":%d,"
	    "\"workers\":%d,\"sources\":%d,\"count\":%ld,\"started\":%ld,\"ok\":%ld,"
	    "\"rejected\":%ld,\"open\":%ld,\"elapsed_s\":%.4f,\"ok_per_s\":%.1f,"
	    "\"decided_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,"
	    "\"max_ms\":%.3f,\"client_cpu_s\":%.3f,\"errors\":{", lg_kind_name(o->kind),
	    o->idle ? "idle" : o->rate > 0 ? "open" : "closed", o->rate, o->concurrency,
	    o->workers, o->sources, o->count, r->started, r->ok, r->rejected, r->open,
	    r->elapsed, (double)r->ok / el, (double)(r->ok + r->rejected) / el,
	    lg_pct(lat, r->nlat, 0.50), lg_pct(lat, r->nlat, 0.99), lg_pct(lat, r->nlat, 0.999),
	    r->nlat ? lat[r->nlat - 1] / 1000.0 : 0, client_cpu);
	for (int i = 0; i < r->nerr; i++)
		printf("%s\"%s\":%ld", i ? "," : "", r->err[i].name, r->err[i].n);
	printf("}}\n");
	fflush(stdout);
}

static void
lg_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fatal("loadgen: worker result pipe");
		p += n;
		len -= (size_t)n;
	}
}

static int
lg_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
lg_init(struct lg *g, const struct lg_opts *o, enum lg_job job, long count)
{
	memset(g, 0, sizeof(*g));
	g->o = o;
	g->job = job;
	g->count = count;
	g->stride = 1;
	g->rate = o->rate;
}

static void
lg_free(struct lg *g)
{
	for (int i = 0; i < g->nconns; i++)
		if (g->conns[i].state != CS_FREE)
			lg_finish(g, &g->conns[i], NULL);
	close(g->ep);
	close(g->tfd);
	free(g->conns);
	free(g->freelist);
	free(g->lat);
}

/* Runs a bench kind in --workers processes and prints the merged report. */
static int
lg_bench(const struct lg_opts *o, enum lg_job job, struct devkey *keys, size_t nkeys)
{
	struct lg_result total = { 0 };
	uint32_t *lat = NULL;
	pid_t pids[LG_MAX_WORKERS];
	int fds[LG_MAX_WORKERS], status, rc = 0;

	for (int w = 0; w < o->workers; w++) {
		int p[2];

		if (pipe(p) != 0)
			fatal("pipe");
		fflush(NULL);
		if ((pids[w] = fork()) < 0)
			fatal("fork");
		if (pids[w] == 0) {
			struct lg g;

			close(p[0]);
			lg_init(&g, o, job, o->count / o->workers + (w < o->count % o->workers));
			g.first_index = w;
			g.stride = o->workers;
			g.rate = o->rate / o->workers;
			g.keys = keys;
			g.nkeys = nkeys;
			lg_run(&g);
			lg_write_all(p[1], &g.r, sizeof(g.r));
			lg_write_all(p[1], g.lat, (size_t)g.r.nlat * sizeof(*g.lat));
			close(p[1]);
			if (o->idle)
				lg_hold(&g);
			_exit(0);
		}
		close(p[1]);
		fds[w] = p[0];
	}
	for (int w = 0; w < o->workers; w++) {
		struct lg_result r;

		if (lg_read_all(fds[w], &r, sizeof(r)) != 0 || r.nlat < 0 || r.nlat > LG_MAX_COUNT)
			fatalx("loadgen: worker %d died before reporting", w);
		lat = xrealloc(lat, (size_t)(total.nlat + r.nlat + 1) * sizeof(*lat));
		if (lg_read_all(fds[w], lat + total.nlat, (size_t)r.nlat * sizeof(*lat)) != 0)
			fatalx("loadgen: worker %d died while reporting", w);
		close(fds[w]);
		total.started += r.started;
		total.ok += r.ok;
		total.rejected += r.rejected;
		total.open += r.open;
		total.nlat += r.nlat;
		if (r.elapsed > total.elapsed)
			total.elapsed = r.elapsed;
		for (int i = 0; i < r.nerr; i++)
			lg_count_err(&total, r.err[i].name, r.err[i].n);
	}
	/* Idle workers keep their sessions after reporting: report first, then wait.
	 * Others are done: wait first, so that their CPU time can be reported (it shows
	 * whether the client, not the server, was the bottleneck). */
	if (o->idle)
		lg_report(o, &total, lat, -1);
	for (int w = 0; w < o->workers; w++)
		if (waitpid(pids[w], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			rc = 1;
	if (!o->idle) {
		struct rusage ru;

		getrusage(RUSAGE_CHILDREN, &ru);
		lg_report(o, &total, lat, (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	}
	free(lat);
	return rc;
}

/* --kind pair: see the top of the file. */
static int
lg_pair(const struct lg_opts *o)
{
	struct devkey *keys = xcalloc((size_t)o->count, sizeof(*keys));
	char **ids = xcalloc((size_t)o->count, sizeof(*ids));
	struct lg g;
	size_t paired = 0;
	long requested = 0;

	for (long i = 0; i < o->count; i++)
		devkey_generate(&keys[i]);

	lg_init(&g, o, JOB_PAIR_REQUEST, o->count);
	g.keys = keys;
	g.nkeys = (size_t)o->count;
	g.request_ids = ids;
	lg_run(&g);
	lg_free(&g);
	for (long i = 0; i < o->count; i++)
		requested += ids[i] != NULL;

	lg_init(&g, o, JOB_PAIR_ADMIN, 1);
	g.keys = keys;
	g.nkeys = (size_t)o->count;
	g.request_ids = ids;
	lg_run(&g);
	if (g.r.ok != 1)
		fatalx("pair: the admin session (device-less operator with the shared token) "
		    "was refused; check --token and --port");
	if (g.approve_failed > 0 || g.approve_done != o->count)
		log_warnx("pair: %ld of %ld approvals failed", g.approve_failed +
		    (o->count - g.approve_done), requested);
	lg_free(&g);

	lg_init(&g, o, JOB_PAIR_TOKEN, o->count);
	g.keys = keys;
	g.nkeys = (size_t)o->count;
	lg_run(&g);
	lg_free(&g);

	/* Keep only the devices that hold a token, in order. */
	for (long i = 0; i < o->count; i++) {
		if (keys[i].token[0] == '\0') {
			devkey_clear(&keys[i]);
			continue;
		}
		if ((size_t)i != paired)
			keys[paired] = keys[i];
		paired++;
	}
	if (paired == 0)
		fatalx("pair: no device received a device token (requests: %ld); is "
		    "autoApproveLocal off and the shared token right?", requested);
	devkey_save(o->keys_path, keys, paired);
	printf("{\"kind\":\"pair\",\"count\":%ld,\"requested\":%ld,\"paired\":%zu}\n", o->count,
	    requested, paired);
	for (long i = 0; i < o->count; i++)
		free(ids[i]);
	free(ids);
	for (size_t i = 0; i < paired; i++)
		devkey_clear(&keys[i]);
	free(keys);
	return paired == (size_t)o->count ? 0 : 1;
}

/* --kind ready: one operator connect at a time until hello-ok. */
static int
lg_ready(const struct lg_opts *o)
{
	int64_t end = now_ns() + LG_READY_TIMEOUT_NS;
	struct timespec pause = { 0, 1000000 };
	struct lg g;

	while (now_ns() < end) {
		lg_init(&g, o, JOB_OPERATOR, 1);
		lg_run(&g);
		lg_free(&g);
		if (g.r.ok == 1) {
			printf("{\"kind\":\"ready\",\"ready_mono_ns\":%lld}\n", (long long)g.t_ready);
			return 0;
		}
		nanosleep(&pause, NULL);
	}
	log_warnx("ready: no hello-ok within %lld s", LG_READY_TIMEOUT_NS / 1000000000);
	return 1;
}

static void
lg_usage(void)
{
	fprintf(stderr,
	    "usage: clawgate-loadgen --port N --kind device|operator|unknown|pair|ready\n"
	    "         [--token T] [--keys FILE] [--count N] [--concurrency C] [--rate R]\n"
	    "         [--duration S] [--idle [--hold S]] [--workers W] [--sources K]\n"
	    "         [--first-source 127.x.y.z]\n"
	    "  device: paired devices reconnect with their device token (--keys from --kind pair)\n"
	    "  operator: device-less loopback operators with the shared --token\n"
	    "  unknown: new devices with the shared --token (pairing-required storm)\n"
	    "  pair: creates and pairs --count devices, writes --keys\n"
	    "  ready: retries until a connect succeeds; prints the CLOCK_MONOTONIC time\n");
	exit(2);
}

/* A loopback IPv4 address (host order) with room for LG_MAX_SOURCES after it:
 * network tests stay on 127.0.0.0/8. */
static uint32_t
lg_loopback(const char *s, const char *opt)
{
	struct in_addr a;
	uint32_t h;

	if (inet_pton(AF_INET, s, &a) != 1 || ((h = ntohl(a.s_addr)) >> 24) != 127 ||
	    h > 0x7fffffffu - LG_MAX_SOURCES)
		fatalx("%s: want an address in 127.0.0.0/8 (not within %d of its end), "
		    "got \"%s\"", opt, LG_MAX_SOURCES, s);
	return h;
}

static double
lg_num(const char *s, const char *opt, double min, double max)
{
	char *end;
	double v = strtod(s, &end);

	if (*s == '\0' || *end != '\0' || !(v >= min && v <= max)) {
		fprintf(stderr, "clawgate-loadgen: %s wants a number in [%g, %g], got \"%s\"\n",
		    opt, min, max, s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' }, { "port", required_argument, NULL, 'p' },
		{ "kind", required_argument, NULL, 'k' }, { "token", required_argument, NULL, 't' },
		{ "keys", required_argument, NULL, 'K' }, { "count", required_argument, NULL, 'n' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' }, { "idle", no_argument, NULL, 'i' },
		{ "hold", required_argument, NULL, 'h' },
		{ "workers", required_argument, NULL, 'w' },
		{ "sources", required_argument, NULL, 's' },
		{ "first-source", required_argument, NULL, 'S' }, { NULL, 0, NULL, 0 } };
	struct lg_opts o = { .host = "127.0.0.1", .kind = KIND_OPERATOR, .count = 1000,
	    .concurrency = 32, .duration = 60, .hold = 60, .workers = 1,
	    .first_source = 0x7f000002u };
	struct devkey *keys = NULL;
	size_t nkeys = 0;
	int ch, kind_set = 0;
	enum lg_job job;

	log_init("clawgate-loadgen", LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'H': o.host = optarg; break;
		case 'p': o.port = (int)lg_num(optarg, "--port", 1, 65535); break;
		case 'k':
			kind_set = 1;
			for (o.kind = KIND_DEVICE; o.kind <= KIND_READY; o.kind++)
				if (strcmp(optarg, lg_kind_name(o.kind)) == 0)
					break;
			if (o.kind > KIND_READY)
				lg_usage();
			break;
		case 't': o.token = optarg; break;
		case 'K': o.keys_path = optarg; break;
		case 'n': o.count = (long)lg_num(optarg, "--count", 1, LG_MAX_COUNT); break;
		case 'c': o.concurrency = (int)lg_num(optarg, "--concurrency", 1,
		    LG_MAX_CONCURRENCY); break;
		case 'r': o.rate = lg_num(optarg, "--rate", 1, LG_MAX_RATE); break;
		case 'd': o.duration = lg_num(optarg, "--duration", 0.1, LG_MAX_DURATION_S); break;
		case 'i': o.idle = 1; break;
		case 'h': o.hold = lg_num(optarg, "--hold", 0, LG_MAX_HOLD_S); break;
		case 'w': o.workers = (int)lg_num(optarg, "--workers", 1, LG_MAX_WORKERS); break;
		case 's': o.sources = (int)lg_num(optarg, "--sources", 0, LG_MAX_SOURCES); break;
		case 'S': o.first_source = lg_loopback(optarg, "--first-source"); break;
		default: lg_usage();
		}
	}
	if (optind != argc || o.port == 0 || !kind_set)
		lg_usage();
	{
		struct in_addr a;

		/* Loopback only: this tool must never load someone else's host. */
		if (inet_pton(AF_INET, o.host, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127)
			fatalx("--host must be an IPv4 loopback address (127.x.y.z), got %s", o.host);
	}
	if (o.kind != KIND_DEVICE && (o.token == NULL || !lg_safe(o.token, 512)))
		fatalx("--kind %s needs --token with the gateway's shared token (base64url "
		    "characters)", lg_kind_name(o.kind));
	if (o.idle && (o.count > LG_MAX_IDLE || o.rate > 0 || o.kind == KIND_PAIR ||
	    o.kind == KIND_READY))
		fatalx("--idle holds at most %d sessions of kind device or operator, without "
		    "--rate", LG_MAX_IDLE);
	if (o.idle && o.count / o.workers > 19000)
		fatalx("--idle: %ld sessions in %d workers exceed the per-process fd limit; "
		    "add --workers", o.count, o.workers);
	switch (o.kind) {
	case KIND_PAIR:
		if (o.keys_path == NULL || o.count > LG_MAX_DEVICES)
			fatalx("--kind pair needs --keys FILE and --count <= %d", LG_MAX_DEVICES);
		return lg_pair(&o);
	case KIND_READY:
		return lg_ready(&o);
	case KIND_DEVICE:
		if (o.keys_path == NULL)
			fatalx("--kind device needs --keys FILE (create it with --kind pair)");
		keys = xcalloc(LG_MAX_DEVICES, sizeof(*keys));
		if ((nkeys = devkey_load(o.keys_path, keys, LG_MAX_DEVICES)) == 0)
			fatalx("%s holds no device; create it with --kind pair", o.keys_path);
		job = JOB_DEVICE;
		break;
	case KIND_UNKNOWN:
		job = JOB_UNKNOWN;
		break;
	default:
		job = JOB_OPERATOR;
		break;
	}
	ch = lg_bench(&o, job, keys, nkeys);
	for (size_t i = 0; i < nkeys; i++)
		devkey_clear(&keys[i]);
	free(keys);
	return ch;
}
