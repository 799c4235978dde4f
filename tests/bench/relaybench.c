/* clawgate-relaybench: the client of the relay benchmark (tests/bench/run-relay).
 * It speaks to an OpenClaw-shaped gateway on 127.0.0.1:PORT (the echo upstream
 * directly, through nginx, or through gatewayd's relay: the same bytes for all
 * three), completes the connect handshake, then:
 *   --mode connect  COUNT handshakes one after the other: p50/p99 ms from socket()
 *                   to the connect's res;
 *   --mode echo     one session, COUNT echo requests of SIZE bytes with WINDOW in
 *                   flight: requests/s and p50/p99 ms per request (WINDOW 1: the
 *                   round-trip latency);
 *   --mode idle     COUNT sessions opened, then {"open":N} printed and held until
 *                   stdin closes (at most --hold seconds).
 * --token T goes into the connect's auth (the upstream ignores it); with
 * --upstream-headers the upgrade carries the trusted-proxy headers a relay would
 * add (for the direct and nginx runs, where nobody else adds them).
 * Prints one JSON line. Every run is bounded in count and time. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/random.h"
#include "tests/tools/tt_io.h"
#include "tests/tools/wsframe.h"
#include "wsc.h"

#define RB_MAX_COUNT 1000000
#define RB_MAX_IDLE 20000
#define RB_MAX_WINDOW 256
#define RB_MAX_SIZE (25 << 20)
#define RB_MAX_MSG (32 << 20)
#define RB_MAX_SECONDS 300.0
#define RB_HS_TIMEOUT_NS (10LL * 1000000000)

enum rb_mode { RB_CONNECT, RB_ECHO, RB_IDLE };

static struct {
	int port, upstream_headers, window;
	enum rb_mode mode;
	const char *token;
	long count, size;
	double seconds, hold;
} o = { 0, 0, 1, RB_ECHO, "", 100, 1024, 60.0, 120.0 };

struct rb_conn {
	int fd;
	uint8_t *buf, *msg;
	size_t off, len, cap, msglen, msgcap;	/* buf[off, len): not parsed yet */
};

static void
rb_die(const char *what)
{
	fprintf(stderr, "clawgate-relaybench: %s\n", what);
	exit(1);
}

static void *
rb_grow(void *p, size_t *cap, size_t need)
{
	if ((p = tt_grow(p, cap, need, 65536)) == NULL)
		rb_die("out of memory");
	return p;
}

/* The socket is non-blocking: a peer that stops reading fails the write at the
 * deadline. */
static int
rb_write_all(struct rb_conn *c, const void *buf, size_t len, int64_t deadline)
{
	return tt_write_all(c->fd, buf, len, deadline);
}

/* The masking key of every frame (random per run): not secret on loopback, and
 * one key lets the sender patch a prepared, masked frame instead of masking each. */
static uint8_t rb_mask[4];

static void
rb_mask_bytes(uint8_t *p, size_t len, size_t phase)
{
	for (size_t i = 0; i < len; i++)
		p[i] ^= rb_mask[(phase + i) & 3];
}

/* A masked client frame's header; the payload is to be masked with rb_mask. */
static size_t
rb_frame_header(uint8_t *out, int opcode, size_t len)
{
	size_t hdr = wsframe_header(out, opcode, len, 1);

	memcpy(out + hdr, rb_mask, 4);
	return hdr + 4;
}

static int
rb_send_text(struct rb_conn *c, const char *text, size_t len, int64_t deadline)
{
	uint8_t f[WSC_FRAME_HDR_MAX + 1024];
	size_t h = rb_frame_header(f, WSC_OP_TEXT, len);

	if (len > sizeof(f) - h)
		return -1;
	memcpy(f + h, text, len);
	rb_mask_bytes(f + h, len, 0);
	return rb_write_all(c, f, h + len, deadline);
}

/* Reads what the socket has (waiting until the deadline for something). */
static int
rb_fill(struct rb_conn *c, int64_t deadline)
{
	ssize_t n;

	memmove(c->buf, c->buf + c->off, c->len - c->off);
	c->len -= c->off;
	c->off = 0;
	c->buf = rb_grow(c->buf, &c->cap, c->len + 65536);
	for (;;) {
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
		if (n > 0) {
			c->len += (size_t)n;
			return 0;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			return -1;
		if (!tt_wait(c->fd, POLLIN, deadline))
			return -1;
	}
}

/* The next complete text message already in the buffer: 1 with *msg and *len set
 * (valid until the next rb_fill), 0 when more bytes are needed, -1 on a close or
 * an invalid frame. Pings are answered. */
static int
rb_next(struct rb_conn *c, const uint8_t **msg, size_t *len, int64_t deadline)
{
	struct wsc_frame f;
	int rc;

	while ((rc = wsc_frame_parse(c->buf + c->off, c->len - c->off, RB_MAX_MSG, &f)) == 1) {
		uint8_t pong[WSC_FRAME_HDR_MAX + 125];

		c->off += f.size;
		if (f.opcode == WSC_OP_CLOSE)
			return -1;
		if (f.opcode == WSC_OP_PING) {
			size_t n = wsc_frame_build(pong, sizeof(pong), WSC_OP_PONG, f.payload, f.len);

			if (rb_write_all(c, pong, n, deadline) < 0)
				return -1;
		} else if (f.opcode == WSC_OP_TEXT && f.fin && c->msglen == 0) {
			*msg = f.payload;
			*len = f.len;
			return 1;
		} else if (f.opcode == WSC_OP_TEXT || f.opcode == WSC_OP_CONT) {
			c->msg = rb_grow(c->msg, &c->msgcap, c->msglen + f.len);
			memcpy(c->msg + c->msglen, f.payload, f.len);
			c->msglen += f.len;
			if (f.fin) {
				*msg = c->msg;
				*len = c->msglen;
				c->msglen = 0;
				return 1;
			}
		}
	}
	return rc;
}

static int
rb_recv(struct rb_conn *c, const uint8_t **msg, size_t *len, int64_t deadline)
{
	int rc;

	while ((rc = rb_next(c, msg, len, deadline)) == 0)
		if (rb_fill(c, deadline) < 0)
			return -1;
	return rc;
}

static int
rb_starts(const uint8_t *msg, size_t len, const char *prefix)
{
	return len >= strlen(prefix) && memcmp(msg, prefix, strlen(prefix)) == 0;
}

static void
rb_close(struct rb_conn *c)
{
	close(c->fd);
	free(c->buf);
	free(c->msg);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Connects and completes the handshake; NULL or what failed. */
static const char *
rb_open(struct rb_conn *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)o.port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int64_t deadline = tt_now() + RB_HS_TIMEOUT_NS;
	char req[1024], key[WSC_KEY_LEN + 1], inst[UUID_STR_LEN + 1], creq[1024];
	const uint8_t *msg;
	size_t len, n;
	int one = 1, status, accept_ok;
	long head;

	memset(c, 0, sizeof(*c));
	if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return "socket";
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return "connect";
	if (fcntl(c->fd, F_SETFL, O_NONBLOCK) < 0)
		return "fcntl";
	n = wsc_upgrade_request(req, sizeof(req), "127.0.0.1", o.port, key);
	if (o.upstream_headers && n > 2)
		n = n - 2 + (size_t)snprintf(req + n - 2, sizeof(req) - n + 2, "x-clawgate-user: "
		    "clawgate\r\nx-clawgate-relay: 1\r\nX-Forwarded-For: 192.0.2.1\r\n\r\n");
	if (rb_write_all(c, req, n, deadline) < 0)
		return "write upgrade";
	while ((head = wsc_upgrade_response((char *)c->buf, c->len, 16384, key, &status,
	    &accept_ok)) == 0)
		if (rb_fill(c, deadline) < 0)
			return "upgrade response";
	if (head < 0 || status != 101 || !accept_ok)
		return "upgrade refused";
	c->off = (size_t)head;
	if (rb_recv(c, &msg, &len, deadline) != 1 ||
	    memmem(msg, len, "\"connect.challenge\"", 19) == NULL)
		return "challenge";
	random_uuid4(inst);
	n = (size_t)snprintf(creq, sizeof(creq), "{\"type\":\"req\",\"id\":\"c1\",\"method\":"
	    "\"connect\",\"params\":{\"minProtocol\":4,\"maxProtocol\":4,\"client\":{\"id\":\"cli\","
	    "\"version\":\"2026.9.6\",\"platform\":\"linux\",\"mode\":\"cli\",\"instanceId\":"
	    "\"%s\"},\"caps\":[],\"auth\":{\"token\":\"%s\"},\"role\":\"operator\",\"scopes\":"
	    "[\"operator.read\",\"operator.write\"]}}", inst, o.token);
	if (rb_send_text(c, creq, n, deadline) < 0)
		return "write connect";
	for (;;) {
		if (rb_recv(c, &msg, &len, deadline) != 1)
			return "connect res";
		if (!rb_starts(msg, len, "{\"type\":\"res\""))
			continue;	/* events before the res */
		return memmem(msg, len, "\"ok\":true", 9) != NULL ? NULL : "connect refused";
	}
}

static int
rb_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static double
rb_pct(int64_t *v, long n, double p)
{
	if (n == 0)
		return -1;
	return v[(long)(p * (double)(n - 1))] / 1e6;
}

static void
rb_connects(void)
{
	int64_t *lat = calloc((size_t)o.count, sizeof(*lat)), end = tt_now() +
	    (int64_t)(o.seconds * 1e9), t0 = tt_now();
	const char *err = NULL;
	struct rb_conn c;
	long n = 0;

	if (lat == NULL)
		rb_die("out of memory");
	while (n < o.count && tt_now() < end) {
		int64_t t = tt_now();

		err = rb_open(&c);
		if (err == NULL)
			lat[n++] = tt_now() - t;
		rb_close(&c);
		if (err != NULL)
			break;
	}
	qsort(lat, (size_t)n, sizeof(*lat), rb_cmp);
	printf("{\"mode\":\"connect\",\"ok\":%ld,\"error\":\"%s\",\"elapsed_s\":%.3f,"
	    "\"p50_ms\":%.4f,\"p99_ms\":%.4f}\n", n, err ? err : "", (tt_now() - t0) / 1e9,
	    rb_pct(lat, n, 0.5), rb_pct(lat, n, 0.99));
	free(lat);
}

/* The request frame: {"type":"req","id":"r%09ld","method":"echo","params":{"data":"x.."}}
 * padded to o.size bytes of payload; the id digits are patched per request. */
static uint8_t *
rb_request_frame(size_t *flen, size_t *id_at)
{
	static const char pre[] = "{\"type\":\"req\",\"id\":\"r000000000\",\"method\":\"echo\","
	    "\"params\":{\"data\":\"", post[] = "\"}}";
	size_t fixed = sizeof(pre) - 1 + sizeof(post) - 1;
	size_t len = (size_t)o.size > fixed ? (size_t)o.size : fixed, h;
	uint8_t *f = malloc(len + WSC_FRAME_HDR_MAX);

	if (f == NULL)
		rb_die("out of memory");
	h = rb_frame_header(f, WSC_OP_TEXT, len);
	memcpy(f + h, pre, sizeof(pre) - 1);
	memset(f + h + sizeof(pre) - 1, 'x', len - fixed);
	memcpy(f + h + len - (sizeof(post) - 1), post, sizeof(post) - 1);
	rb_mask_bytes(f + h, len, 0);
	*flen = h + len;
	*id_at = h + 21;	/* the digits after "r" */
	return f;
}

static void
rb_echo(void)
{
	int64_t *lat = calloc((size_t)o.count, sizeof(*lat)), *sent_at, end, t0;
	size_t flen, id_at, woff = 0;
	uint8_t *frame = rb_request_frame(&flen, &id_at);
	long sent = 0, done = 0;
	const char *err = NULL;
	struct rb_conn c;

	sent_at = calloc((size_t)o.count, sizeof(*sent_at));
	if (lat == NULL || sent_at == NULL)
		rb_die("out of memory");
	if ((err = rb_open(&c)) != NULL)
		goto out;
	t0 = tt_now();
	end = t0 + (int64_t)(o.seconds * 1e9);
	while (done < o.count && err == NULL) {
		struct pollfd p = { .fd = c.fd, .events = POLLIN };
		const uint8_t *msg;
		size_t len;
		int rc;

		if (woff == 0 && sent < o.count && sent - done < o.window) {
			char id[24];

			snprintf(id, sizeof(id), "%09ld", sent);
			rb_mask_bytes((uint8_t *)id, 9, 21);
			memcpy(frame + id_at, id, 9);
			sent_at[sent++] = tt_now();
			woff = flen;
		}
		while (woff > 0) {
			ssize_t n = send(c.fd, frame + flen - woff, woff, MSG_NOSIGNAL | MSG_DONTWAIT);

			if (n <= 0)
				break;
			woff -= (size_t)n;
		}
		if (woff == 0 && sent < o.count && sent - done < o.window)
			continue;
		p.events |= woff > 0 ? POLLOUT : 0;
		if (tt_now() > end) {
			err = "timeout";
			break;
		}
		if (poll(&p, 1, 1000) <= 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (rb_fill(&c, end) < 0) {
			err = "read";
			break;
		}
		while ((rc = rb_next(&c, &msg, &len, end)) == 1) {
			long id;

			if (!rb_starts(msg, len, "{\"type\":\"res\",\"id\":\"r"))
				continue;
			id = len > 30 ? strtol((const char *)msg + 21, NULL, 10) : -1;
			if (id < 0 || id >= sent || done >= o.count) {
				err = "a res for no request sent";
				break;
			}
			lat[done++] = tt_now() - sent_at[id];
		}
		if (rc < 0 && err == NULL)
			err = "closed";
	}
	{
		double el = (tt_now() - t0) / 1e9;

		qsort(lat, (size_t)done, sizeof(*lat), rb_cmp);
		printf("{\"mode\":\"echo\",\"size\":%zu,\"window\":%d,\"ok\":%ld,\"error\":\"%s\","
		    "\"elapsed_s\":%.4f,\"per_s\":%.1f,\"p50_ms\":%.4f,\"p99_ms\":%.4f}\n",
		    flen - (id_at - 21), o.window, done, err ? err : "", el, done / el,
		    rb_pct(lat, done, 0.5), rb_pct(lat, done, 0.99));
	}
	rb_close(&c);
	free(frame);
	free(lat);
	free(sent_at);
	return;
out:
	printf("{\"mode\":\"echo\",\"ok\":0,\"error\":\"%s\"}\n", err);
	rb_close(&c);
	free(frame);
	free(lat);
	free(sent_at);
}

static void
rb_idle(void)
{
	struct rb_conn *cs = calloc((size_t)o.count, sizeof(*cs));
	const char *err = NULL;
	long n = 0;
	char b[64];

	if (cs == NULL)
		rb_die("out of memory");
	while (n < o.count && (err = rb_open(&cs[n])) == NULL) {
		/* Each session keeps only its socket: the client's memory is not measured. */
		free(cs[n].buf);
		cs[n].buf = NULL;
		cs[n].cap = cs[n].len = 0;
		n++;
	}
	printf("{\"mode\":\"idle\",\"open\":%ld,\"error\":\"%s\"}\n", n, err ? err : "");
	fflush(stdout);
	if (tt_wait(STDIN_FILENO, POLLIN, tt_now() + (int64_t)(o.hold * 1e9)))
		(void)!read(STDIN_FILENO, b, sizeof(b));
	for (long i = 0; i <= n && i < o.count; i++)
		if (cs[i].fd > 0)
			rb_close(&cs[i]);
	free(cs);
}

/* The options, as the head comment describes them. */
static const char rb_usage[] = "clawgate-relaybench --port N --mode connect|echo|idle "
    "[--count N] [--size BYTES] [--window N] [--token T] [--upstream-headers] "
    "[--seconds S] [--hold S]";
static const struct option rb_options[] = {
	{ "port", required_argument, NULL, 'p' }, { "mode", required_argument, NULL, 'm' },
	{ "count", required_argument, NULL, 'n' }, { "size", required_argument, NULL, 's' },
	{ "window", required_argument, NULL, 'w' }, { "token", required_argument, NULL, 't' },
	{ "upstream-headers", no_argument, NULL, 'u' },
	{ "seconds", required_argument, NULL, 'S' }, { "hold", required_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 } };

int
main(int argc, char **argv)
{
	struct rlimit rl;
	int opt;

	while ((opt = getopt_long(argc, argv, "", rb_options, NULL)) != -1) {
		switch (opt) {
		case 'p': o.port = atoi(optarg); break;
		case 'm':
			o.mode = strcmp(optarg, "connect") == 0 ? RB_CONNECT :
			    strcmp(optarg, "idle") == 0 ? RB_IDLE : RB_ECHO;
			if (o.mode == RB_ECHO && strcmp(optarg, "echo") != 0)
				tt_usage(rb_usage);
			break;
		case 'n': o.count = atol(optarg); break;
		case 's': o.size = atol(optarg); break;
		case 'w': o.window = atoi(optarg); break;
		case 't': o.token = optarg; break;
		case 'u': o.upstream_headers = 1; break;
		case 'S': o.seconds = atof(optarg); break;
		case 'h': o.hold = atof(optarg); break;
		default: tt_usage(rb_usage);
		}
	}
	if (optind != argc || o.port < 1 || o.port > 65535 || o.count < 1 ||
	    o.count > (o.mode == RB_IDLE ? RB_MAX_IDLE : RB_MAX_COUNT) || o.size < 0 ||
	    o.size > RB_MAX_SIZE || o.window < 1 || o.window > RB_MAX_WINDOW ||
	    !(o.seconds > 0 && o.seconds <= RB_MAX_SECONDS) || !(o.hold >= 0 && o.hold <= 900) ||
	    strlen(o.token) > 256 || strpbrk(o.token, "\"\\") != NULL)
		tt_usage(rb_usage);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);	/* a write to a closed socket fails instead */
	random_init();
	random_bytes(rb_mask, sizeof(rb_mask));
	if (o.mode == RB_CONNECT)
		rb_connects();
	else if (o.mode == RB_ECHO)
		rb_echo();
	else
		rb_idle();
	return 0;
}
