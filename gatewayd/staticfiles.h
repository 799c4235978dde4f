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

#include "gatewayd/http.h"

#define STATICFILES_FILE_MAX (32u << 20)	/* bigger files are refused (404, logged) */

/* Opens root (fatal if it is no readable directory); call before the sandbox.
 * version: the gateway's, for /control-ui-config.json. */
void staticfiles_open(const char *root, const char *version);
/* Whether a directory is configured: then it replaces the embedded UI. */
int staticfiles_enabled(void);
/* Appends a complete response for req->path and returns 0, or returns -1
 * (nothing appended) when there is no such file. */
int staticfiles_respond(const struct http_request *req, struct pbuf *out);
void staticfiles_close(void);

#endif
