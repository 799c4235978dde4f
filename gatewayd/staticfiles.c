#include "gatewayd/staticfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "gatewayd/csphash.h"

static int staticfiles_dir = -1;
static char staticfiles_version[PROTO_TEXT_MAX + 1];	/* for control-ui-config.json */

static const struct {
	const char *ext;
	const char *type;
} staticfiles_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".map", "application/json" },
	{ ".webmanifest", "application/manifest+json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".jpg", "image/jpeg" },
	{ ".jpeg", "image/jpeg" },
	{ ".gif", "image/gif" },
	{ ".webp", "image/webp" },
	{ ".avif", "image/avif" },
	{ ".ico", "image/x-icon" },
	{ ".woff", "font/woff" },
	{ ".woff2", "font/woff2" },
	{ ".ttf", "font/ttf" },
	{ ".otf", "font/otf" },
	{ ".wasm", "application/wasm" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".mp3", "audio/mpeg" },
	{ ".wav", "audio/wav" },
	{ ".mp4", "video/mp4" },
	{ ".webm", "video/webm" },
};

/* Pages of at most this size are read whole and their inline scripts hashed
 * into the policy (the real UI's index.html has about 25 KB); a larger page is
 * streamed like any file, and its inline scripts are blocked. */
#define STATICFILES_PAGE_MAX (256u * 1024)

/* Scripts only from this origin, inline ones only by their hash (the real UI
 * carries inline bootstrap scripts); connections only to this origin (CSP
 * Level 3: 'self' covers ws: and wss: to it), and data: URLs, which the real UI
 * fetches for its icons. Inline styles stay allowed: the UI sets style
 * attributes, which hashes do not cover. */
#define STATICFILES_CSP_HEAD "default-src 'self'; script-src 'self'"
#define STATICFILES_CSP_TAIL "; style-src 'self' 'unsafe-inline'; " \
	"img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' data:; " \
	"worker-src 'self'; base-uri 'self'; object-src 'none'; frame-ancestors 'none'"

void
staticfiles_open(const char *root, const char *version)
{
	snprintf(staticfiles_version, sizeof(staticfiles_version), "%s", version);
	staticfiles_dir = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (staticfiles_dir < 0)
		fatal("cannot open gateway.controlUi.root \"%s\": make it a directory gatewayd can "
		    "read, or remove the key to serve the built-in Control UI", root);
	log_info("serving the Control UI from %s", root);
}

int
staticfiles_enabled(void)
{
	return staticfiles_dir >= 0;
}

void
staticfiles_close(void)
{
	if (staticfiles_dir >= 0)
		close(staticfiles_dir);
	staticfiles_dir = -1;
}

static const char *
staticfiles_type(const char *name)
{
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot != NULL && i < sizeof(staticfiles_types) /
	    sizeof(staticfiles_types[0]); i++)
		if (strcmp(dot, staticfiles_types[i].ext) == 0)
			return staticfiles_types[i].type;
	return "application/octet-stream";
}

/*
 * The target path as a name relative to the directory, or -1. Only plain
 * segments of [A-Za-z0-9._~-] that do not start with "." pass: no escapes to
 * decode, no "..", no hidden files. The openat2 flags enforce the boundary;
 * this keeps the accepted names boring.
 */
static int
staticfiles_name(const char *path, char *name, size_t size)
{
	size_t len = strlen(path);
	int seg_start = 1;

	if (len == 0 || path[0] != '/' || len >= size)
		return -1;
	for (size_t i = 1; i < len; i++) {
		char c = path[i];

		if (c == '/') {
			if (seg_start)
				return -1;	/* "//" */
			seg_start = 1;
			continue;
		}
		if (seg_start && c == '.')
			return -1;
		seg_start = 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-' || c == '~'))
			return -1;
	}
	/* "/" and "/dir/" name the directory's index.html. */
	if (snprintf(name, size, "%s%s", path + 1, seg_start ? "index.html" : "") >= (int)size)
		return -1;
	return 0;
}

/* Opens name beneath the directory; -1 with errno. Only regular files count. */
static int
staticfiles_openat(const char *name, struct stat *st)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, staticfiles_dir, name, &how, sizeof(how));

	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		errno = ENOENT;
		return -1;
	}
	if ((uint64_t)st->st_size > STATICFILES_FILE_MAX) {
		log_warnx("Control UI file %s has %lld bytes, more than the %u served: not served",
		    name, (long long)st->st_size, STATICFILES_FILE_MAX);
		close(fd);
		errno = EFBIG;
		return -1;
	}
	return fd;
}

int
staticfiles_pump(struct staticfiles_body *body, struct evbuffer *out)
{
	uint8_t chunk[STATICFILES_CHUNK];
	size_t want = body->left < sizeof(chunk) ? (size_t)body->left : sizeof(chunk);
	ssize_t n;

	if (body->fd < 0)
		return 1;
	do
		n = want == 0 ? 0 : read(body->fd, chunk, want);
	while (n < 0 && errno == EINTR);
	if (want > 0 && n <= 0) {
		if (n < 0)
			log_warn("cannot read a Control UI file while it is sent: response cut short");
		else
			log_warnx("a Control UI file shrank while it was sent: response cut short "
			    "(replace files by renaming new ones into place)");
		staticfiles_body_close(body);
		return -1;
	}
	if (n > 0 && evbuffer_add(out, chunk, (size_t)n) != 0)
		fatalx("out of memory queueing a Control UI file");
	body->left -= (uint64_t)n;
	if (body->left > 0)
		return 0;
	staticfiles_body_close(body);
	return 1;
}

void
staticfiles_body_close(struct staticfiles_body *body)
{
	if (body->fd >= 0)
		close(body->fd);
	body->fd = -1;
	body->left = 0;
}

/* scripts: the hash sources of the page's inline scripts, "" if none. */
static void
staticfiles_head(struct pbuf *out, const char *type, size_t len, const char *encoding,
    int immutable, const char *scripts)
{
	char head[1024 + CSPHASH_SCRIPTS_MAX * CSPHASH_SOURCE_LEN];
	int n;

	n = snprintf(head, sizeof(head),
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "%s%s%s"
	    "Vary: Accept-Encoding\r\n"
	    "Cache-Control: %s\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Referrer-Policy: no-referrer\r\n"
	    "Content-Security-Policy: " STATICFILES_CSP_HEAD "%s" STATICFILES_CSP_TAIL "\r\n"
	    "Connection: close\r\n"
	    "\r\n", type, len,
	    encoding ? "Content-Encoding: " : "", encoding ? encoding : "", encoding ? "\r\n" : "",
	    immutable ? "public, max-age=31536000, immutable" : "no-cache", scripts);
	pbuf_add(out, head, (size_t)n);
}

/*
 * What the real UI fetches first. OpenClaw answers it only with the gateway
 * token; gatewayd holds no secret, so it serves only facts that are public
 * anyway (the page and hello-ok show the same).
 */
static void
staticfiles_config(struct pbuf *out)
{
	char body[512];
	int n;

	n = snprintf(body, sizeof(body),
	    "{\"basePath\":\"\",\"assistantName\":\"OpenClaw\",\"assistantAvatar\":\"\","
	    "\"serverVersion\":\"clawgate %s\",\"terminalEnabled\":false}\n",
	    staticfiles_version);
	staticfiles_head(out, "application/json", (size_t)n, NULL, 0, "");
	pbuf_add(out, body, (size_t)n);
}

static int
staticfiles_is_page(const char *name)
{
	return strcmp(staticfiles_type(name), staticfiles_types[0].type) == 0;
}

/* A page: read whole, its inline scripts allowed by their hashes. */
static int
staticfiles_page(const char *name, struct staticfiles_body *body, struct pbuf *out)
{
	char scripts[CSPHASH_SCRIPTS_MAX * CSPHASH_SOURCE_LEN + 1];
	size_t len = (size_t)body->left;
	uint8_t *page = xmalloc(len + 1);
	unsigned found;
	int r = 0;

	for (size_t done = 0; r == 0 && done < len; ) {
		ssize_t n = read(body->fd, page + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = -1;
		else
			done += (size_t)n;
	}
	staticfiles_body_close(body);
	if (r < 0) {
		log_warn("Control UI page %s changed or failed while read: not served", name);
		free(page);
		return -1;
	}
	found = csphash_scripts(page, len, scripts, sizeof(scripts));
	if (found > CSPHASH_SCRIPTS_MAX)
		log_warnx("Control UI page %s has %u inline scripts: only the first %u may run",
		    name, found, CSPHASH_SCRIPTS_MAX);
	staticfiles_head(out, staticfiles_types[0].type, len, NULL,
	    strncmp(name, "assets/", 7) == 0, scripts);
	pbuf_add(out, page, len);
	free(page);
	return 0;
}

int
staticfiles_respond(const struct http_request *req, struct pbuf *out,
    struct staticfiles_body *body)
{
	static const struct {
		const char *suffix;
		const char *encoding;
		size_t offset;	/* of the accept flag in struct http_request */
	} encodings[] = {
		{ ".br", "br", offsetof(struct http_request, accept_br) },
		{ ".gz", "gzip", offsetof(struct http_request, accept_gzip) },
	};
	char name[HTTP_PATH_MAX + 16], alt[HTTP_PATH_MAX + 32];
	const char *encoding = NULL, *last;
	struct stat st;
	int fd = -1;

	body->fd = -1;
	body->left = 0;
	if (strcmp(req->path, "/control-ui-config.json") == 0) {
		staticfiles_config(out);
		return 0;
	}
	if (staticfiles_name(req->path, name, sizeof(name)) < 0)
		return -1;
	/* A page is sent as it is: its scripts are hashed from it. */
	for (size_t i = 0; fd < 0 && !staticfiles_is_page(name) &&
	    i < sizeof(encodings) / sizeof(encodings[0]); i++) {
		if (!*((const uint8_t *)req + encodings[i].offset))
			continue;
		snprintf(alt, sizeof(alt), "%s%s", name, encodings[i].suffix);
		if ((fd = staticfiles_openat(alt, &st)) >= 0)
			encoding = encodings[i].encoding;
	}
	if (fd < 0)
		fd = staticfiles_openat(name, &st);
	/* An app route (/chat, /settings/x): no extension in its last segment. */
	last = strrchr(name, '/');
	if (fd < 0 && errno == ENOENT && strchr(last ? last : name, '.') == NULL) {
		snprintf(name, sizeof(name), "index.html");
		fd = staticfiles_openat(name, &st);
	}
	if (fd < 0)
		return -1;
	body->fd = fd;
	body->left = (uint64_t)st.st_size;
	if (staticfiles_is_page(name) && (uint64_t)st.st_size <= STATICFILES_PAGE_MAX)
		return staticfiles_page(name, body, out);
	staticfiles_head(out, staticfiles_type(name), (size_t)st.st_size, encoding,
	    strncmp(name, "assets/", 7) == 0, "");
	return 0;
}
