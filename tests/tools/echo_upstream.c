/* echo-upstream: a loopback stand-in for the OpenClaw gateway that relay mode
 * carries sessions to, fast enough to measure a relay against (one thread per
 * connection, blocking I/O, no JSON tree). It speaks the upstream's side as
 * doc/relay.md records it:
 *   - the upgrade: 403 when X-Forwarded-For names no client but loopback
 *     addresses; each request's headers appended to --record FILE as a JSON line
 *     {"conn":N,"headers":[[name,value],...]};
 *   - connect.challenge (with capabilities), then the connect: refused
 *     NOT_PAIRED "device identity required" (close 1008) without the identity
 *     header, a required header or X-Forwarded-For, or for role "node"; refused
 *     "device nonce mismatch" when it carries `device`; else a hello-ok with
 *     auth.method "trusted-proxy" and the ceiling's scopes filtered by
 *     x-openclaw-scopes. The connect's params go to --record as
 *     {"conn":N,"connect":PARAMS};
 *   - after hello: "echo.events" {size,count} answers, then sends count events
 *     "echo.data" of size bytes each (seq 1..count); "echo.close" {code,reason}
 *     closes with that code; any other request is answered ok with its params as
 *     the payload. Pings are answered; messages over 25 MiB close 1009.
 * Prints "port N" once it listens on 127.0.0.1, or the loopback address --addr
 * names (--port 0: a free port). */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "echo_upstream.h"
#include "tt_io.h"

static const char *const eu_ceiling[] = { "operator.admin", "operator.read",
	"operator.write", "operator.approvals", "operator.questions", "operator.pairing",
	"operator.talk", "operator.talk.secrets" };

struct eu_config eu = { "x-clawgate-user", "clawgate", { "x-clawgate-relay" }, 1, 4096, NULL };

pthread_mutex_t eu_record_lock = PTHREAD_MUTEX_INITIALIZER;
static long eu_next_id;
int eu_live;
char eu_boot_id[37];

void
eu_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("echo-upstream: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

void *
eu_grow(void *p, size_t *cap, size_t need)
{
	if ((p = tt_grow(p, cap, need, 4096)) == NULL)
		eu_die("out of memory (%zu bytes)", need);
	return p;
}

void
eu_uuid(char out[37])
{
	uint8_t b[16];

	RAND_bytes(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	    b[13], b[14], b[15]);
}

int
eu_write_all(int fd, const void *buf, size_t len)
{
	return tt_write_all(fd, buf, len, 0);
}

/* ---- the upgrade ---- */

struct eu_header {
	const char *name, *value;
	size_t nlen, vlen;
};

static const struct eu_header *
eu_find(const struct eu_header *h, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (h[i].nlen == strlen(name) && strncasecmp(h[i].name, name, h[i].nlen) == 0)
			return &h[i];
	return NULL;
}

static void
eu_json_string(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void
eu_record_headers(long id, const struct eu_header *h, int n)
{
	if (eu.record == NULL)
		return;
	pthread_mutex_lock(&eu_record_lock);
	fprintf(eu.record, "{\"conn\":%ld,\"headers\":[", id);
	for (int i = 0; i < n; i++) {
		fputs(i ? ",[" : "[", eu.record);
		eu_json_string(eu.record, h[i].name, h[i].nlen);
		fputc(',', eu.record);
		eu_json_string(eu.record, h[i].value, h[i].vlen);
		fputc(']', eu.record);
	}
	fputs("]}\n", eu.record);
	fflush(eu.record);
	pthread_mutex_unlock(&eu_record_lock);
}

/* The client address X-Forwarded-For names: its right-most entry that is not the
 * trusted proxy 127.0.0.1. 0 when there is none or it is loopback (the upstream
 * answers 403), 1 when there is one, -1 without the header. */
static int
eu_forwarded_client(const struct eu_header *xff)
{
	const char *p, *start;
	size_t len;

	if (xff == NULL)
		return -1;
	p = xff->value + xff->vlen;
	while (p > xff->value) {
		const char *e = p;

		while (p > xff->value && p[-1] != ',')
			p--;
		start = p;
		while (start < e && *start == ' ')
			start++;
		while (e > start && e[-1] == ' ')
			e--;
		len = (size_t)(e - start);
		if (p > xff->value)
			p--;	/* the comma */
		if (len == 9 && memcmp(start, "127.0.0.1", 9) == 0)
			continue;
		return !((len >= 4 && memcmp(start, "127.", 4) == 0) ||
		    (len == 3 && memcmp(start, "::1", 3) == 0) || len == 0);
	}
	return 0;
}

static int
eu_nonblank(const struct eu_header *h)
{
	for (size_t i = 0; h != NULL && i < h->vlen; i++)
		if (h->value[i] != ' ' && h->value[i] != '\t')
			return 1;
	return 0;
}

/* The ceiling filtered by x-openclaw-scopes (absent: the whole ceiling). */
static void
eu_scopes(struct eu_conn *c, const struct eu_header *h)
{
	size_t off = 0;

	for (size_t i = 0; i < sizeof(eu_ceiling) / sizeof(*eu_ceiling); i++) {
		int keep = h == NULL;

		for (const char *p = h ? h->value : NULL; p != NULL && p < h->value + h->vlen;) {
			const char *e = memchr(p, ',', (size_t)(h->value + h->vlen - p));
			const char *s = p, *t = e ? e : h->value + h->vlen;

			while (s < t && *s == ' ')
				s++;
			while (t > s && t[-1] == ' ')
				t--;
			if ((size_t)(t - s) == strlen(eu_ceiling[i]) &&
			    memcmp(s, eu_ceiling[i], (size_t)(t - s)) == 0)
				keep = 1;
			p = e ? e + 1 : NULL;
		}
		if (keep)
			off += (size_t)snprintf(c->scopes + off, sizeof(c->scopes) - off, "%s\"%s\"",
			    off ? "," : "", eu_ceiling[i]);
	}
}

/* Reads and answers the upgrade request; 0 when the WebSocket is open. */
int
eu_upgrade(struct eu_conn *c)
{
	static const char forbidden[] = "{\"error\":{\"message\":\"Proxy client attribution is "
	    "required.\",\"type\":\"proxy_attribution_required\"}}";
	struct eu_header h[EU_MAX_HEADERS];
	char head[EU_MAX_HEAD + 1], resp[512], cat[128], accept[64], *end = NULL, *line;
	uint8_t digest[SHA_DIGEST_LENGTH];
	const struct eu_header *key, *xff;
	size_t len = 0;
	int n = 0, client;

	while (end == NULL) {
		ssize_t r = recv(c->fd, head + len, EU_MAX_HEAD - len, 0);

		if (r <= 0)
			return -1;
		len += (size_t)r;
		head[len] = '\0';
		end = strstr(head, "\r\n\r\n");
		if (end == NULL && len == EU_MAX_HEAD)
			return -1;
	}
	/* Bytes after the head (a client frame sent early) stay for the frame reader. */
	c->in = eu_grow(c->in, &c->incap, len);
	c->inlen = len - (size_t)(end + 4 - head);
	memcpy(c->in, end + 4, c->inlen);
	*end = '\0';
	if (strncmp(head, "GET ", 4) != 0 || (line = strstr(head, "\r\n")) == NULL)
		return -1;
	while (line != NULL && n < EU_MAX_HEADERS) {
		char *name = line + 2, *colon, *next = strstr(name, "\r\n"), *v, *ve;

		ve = next ? next : end;
		if ((colon = memchr(name, ':', (size_t)(ve - name))) == NULL)
			return -1;
		for (v = colon + 1; v < ve && (*v == ' ' || *v == '\t'); v++)
			;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		h[n++] = (struct eu_header){ name, v, (size_t)(colon - name), (size_t)(ve - v) };
		line = next;
	}
	eu_record_headers(c->id, h, n);
	xff = eu_find(h, n, "x-forwarded-for");
	if ((client = eu_forwarded_client(xff)) == 0) {
		n = snprintf(resp, sizeof(resp), "HTTP/1.1 403 Forbidden\r\nContent-Type: "
		    "application/json\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s",
		    strlen(forbidden), forbidden);
		eu_write_all(c->fd, resp, (size_t)n);
		return -1;
	}
	key = eu_find(h, n, "sec-websocket-key");
	if (key == NULL || key->vlen != 24 || eu_find(h, n, "upgrade") == NULL) {
		static const char bad[] = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\n"
		    "Content-Length: 0\r\n\r\n";

		eu_write_all(c->fd, bad, sizeof(bad) - 1);
		return -1;
	}
	c->authorized = client == 1;
	{
		const struct eu_header *u = eu_find(h, n, eu.user_header);

		if (u == NULL || u->vlen != strlen(eu.user) || memcmp(u->value, eu.user, u->vlen))
			c->authorized = 0;
	}
	for (int i = 0; i < eu.nrequired; i++)
		if (!eu_nonblank(eu_find(h, n, eu.required[i])))
			c->authorized = 0;
	eu_scopes(c, eu_find(h, n, "x-openclaw-scopes"));
	snprintf(cat, sizeof(cat), "%.*s%s", (int)key->vlen, key->value, EU_GUID);
	SHA1((const uint8_t *)cat, strlen(cat), digest);
	EVP_EncodeBlock((uint8_t *)accept, digest, sizeof(digest));
	n = snprintf(resp, sizeof(resp), "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
	return eu_write_all(c->fd, resp, (size_t)n);
}

static void
eu_on_term(int sig)
{
	(void)sig;
	_exit(0);
}

/* The options, as the head comment describes them. */
static const char eu_usage[] = "echo-upstream [--addr 127.X.Y.Z] [--port N] [--record FILE] [--user-header NAME] "
    "[--user NAME] [--required NAME]... [--max-conns N]";
static const struct option eu_options[] = {
	{ "port", required_argument, NULL, 'p' }, { "record", required_argument, NULL, 'r' },
	{ "user-header", required_argument, NULL, 'H' }, { "user", required_argument, NULL, 'u' },
	{ "required", required_argument, NULL, 'R' },
	{ "max-conns", required_argument, NULL, 'm' }, { "addr", required_argument, NULL, 'a' },
	{ NULL, 0, NULL, 0 } };

int
main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t salen = sizeof(sa);
	int opt, lfd, one = 1, nreq = 0;
	pthread_attr_t attr;

	while ((opt = getopt_long(argc, argv, "", eu_options, NULL)) != -1) {
		switch (opt) {
		case 'p': sa.sin_port = htons((uint16_t)atoi(optarg)); break;
		case 'a':
			/* Loopback only: a test upstream is never reachable from elsewhere. */
			if (inet_pton(AF_INET, optarg, &sa.sin_addr) != 1 ||
			    (ntohl(sa.sin_addr.s_addr) >> 24) != 127)
				eu_die("--addr wants a 127.0.0.0/8 address, not %s", optarg);
			break;
		case 'r':
			if ((eu.record = fopen(optarg, "a")) == NULL)
				eu_die("cannot open %s: %s", optarg, strerror(errno));
			break;
		case 'H': eu.user_header = optarg; break;
		case 'u': eu.user = optarg; break;
		case 'R':
			if (nreq == EU_MAX_REQUIRED)
				eu_die("at most %d --required headers", EU_MAX_REQUIRED);
			eu.required[nreq++] = optarg;
			eu.nrequired = nreq;
			break;
		case 'm': eu.max_conns = atoi(optarg); break;
		default: tt_usage(eu_usage);
		}
	}
	if (optind != argc || eu.max_conns < 1 || eu.max_conns > 65536)
		tt_usage(eu_usage);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, eu_on_term);
	signal(SIGINT, eu_on_term);
	eu_uuid(eu_boot_id);
	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		eu_die("socket: %s", strerror(errno));
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4096) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &salen) < 0)
		eu_die("cannot listen on port %d: %s", ntohs(sa.sin_port), strerror(errno));
	printf("port %d\n", ntohs(sa.sin_port));
	fflush(stdout);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 << 10);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		struct eu_conn *c;
		pthread_t t;

		if (fd < 0) {
			if (errno != EINTR)
				usleep(10000);	/* out of descriptors: let sessions end */
			continue;
		}
		if (__atomic_add_fetch(&eu_live, 1, __ATOMIC_SEQ_CST) > eu.max_conns) {
			__atomic_sub_fetch(&eu_live, 1, __ATOMIC_SEQ_CST);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if ((c = calloc(1, sizeof(*c))) == NULL)
			eu_die("out of memory");
		c->fd = fd;
		c->id = ++eu_next_id;
		if (pthread_create(&t, &attr, eu_serve, c) != 0) {
			close(fd);
			free(c);
			__atomic_sub_fetch(&eu_live, 1, __ATOMIC_SEQ_CST);
		}
	}
}
