#include "gatewayd/ui.h"

#include <stdio.h>
#include <string.h>

/* The page loads only its own files and talks only to this gateway's
 * WebSocket; no inline script or style, no frames, no forms elsewhere. */
#define UI_CSP "default-src 'self'; script-src 'self'; style-src 'self'; " \
	"img-src 'self' data:; connect-src 'self' ws: wss:; base-uri 'none'; " \
	"form-action 'none'; frame-ancestors 'none'; object-src 'none'"

static const struct ui_file *
ui_lookup(const char *path)
{
	if (strcmp(path, "/") == 0)
		path = "/index.html";
	for (size_t i = 0; i < ui_files_count; i++)
		if (strcmp(ui_files[i].path, path) == 0)
			return &ui_files[i];
	return NULL;
}

int
ui_respond(const char *path, struct pbuf *out)
{
	const struct ui_file *f = ui_lookup(path);
	char head[768];
	int n;

	if (f == NULL)
		return -1;
	/* no-cache: a new gatewayd build must never run an old page against it. */
	n = snprintf(head, sizeof(head),
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-cache\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Referrer-Policy: no-referrer\r\n"
	    "Content-Security-Policy: %s\r\n"
	    "Connection: close\r\n"
	    "\r\n", f->type, f->len, UI_CSP);
	pbuf_add(out, head, (size_t)n);
	pbuf_add(out, f->data, f->len);
	return 0;
}
