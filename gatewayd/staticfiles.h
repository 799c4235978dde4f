/*
 * A Control UI from a directory (gateway.controlUi.root, e.g. the openclaw npm
 * package's dist/control-ui/) instead of the embedded one (ui.h).
 *
 * The directory is opened once, before the sandbox (doc/design.md §4); every file
 * is opened beneath that fd with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS),
 * so neither "..", nor an absolute path, nor a symlink can leave it. Paths are
 * restricted further to plain names (no "%", no dot files). Precompressed
 * siblings (.br, .gz) are served when the request accepts them; a path without
 * an extension that names no file is an app route and gets index.html.
 */
#ifndef GATEWAYD_STATICFILES_H
#define GATEWAYD_STATICFILES_H

#include <stdint.h>

#include "gatewayd/http.h"

#define STATICFILES_FILE_MAX (32u << 20)	/* bigger files are refused (404, logged) */
/* A file's body goes out a chunk at a time as the socket drains, so that a
 * client costs at most about two chunks of memory whatever the file's size. */
#define STATICFILES_CHUNK 65536

struct evbuffer;

/* The rest of a file being sent: fd -1 when there is none. */
struct staticfiles_body {
	int fd;
	uint64_t left;
};

/* Opens root (fatal if it is no readable directory); call before the sandbox.
 * version: the gateway's, for /control-ui-config.json. */
void staticfiles_open(const char *root, const char *version);
/* Whether a directory is configured: then it replaces the embedded UI. */
int staticfiles_enabled(void);
/* Appends the response for req->path and returns 0, or returns -1 (nothing
 * appended) when there is no such file. For a file, only the head is appended
 * and *body names the file whose bytes follow (staticfiles_pump); otherwise
 * body->fd is -1. */
int staticfiles_respond(const struct http_request *req, struct pbuf *out,
    struct staticfiles_body *body);
/* Adds the body's next chunk to out: 1 when the body is complete (its file is
 * closed), 0 when more is to come, -1 when the file changed or failed
 * meanwhile (closed, logged): the response can only be cut short. */
int staticfiles_pump(struct staticfiles_body *body, struct evbuffer *out);
/* Closes what is left of a body that will not be sent. */
void staticfiles_body_close(struct staticfiles_body *body);
void staticfiles_close(void);

#endif
