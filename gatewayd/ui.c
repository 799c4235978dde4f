#include "gatewayd/ui.h"

#include <stdio.h>
#include <string.h>

#include "common/log.h"

/* The page loads only its own files and talks only to this gateway's
 * WebSocket; no inline script or style, no frames, no forms elsewhere. */
#define UI_CSP "default-src 'self'; script-src 'self'; style-src 'self'; " \
	"img-src 'self' data:; connect-src 'self' ws: wss:; base-uri 'none'; " \
	"form-action 'none'; frame-ancestors 'none'; object-src 'none'"
/* index.html as embedded; its value is replaced by brokerd's command. */
#define UI_GATEWAYCTL_MARK "data-gatewayctl=\"gatewayctl\""

/* index.html with brokerd's gatewayctl command in it; empty until it is known. */
static struct pbuf ui_index;

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

const char *
ui_own_path(const char *path)
{
	size_t n = strlen(UI_OWN_PREFIX);

	return strncmp(path, UI_OWN_PREFIX, n) == 0 ? path + n - 1 : NULL;
}

/* Appends s to out with & < > " ' as HTML character references: safe in text
 * and in a quoted attribute value. */
static void
ui_html_escape(struct pbuf *out, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			pbuf_add(out, "&amp;", 5);
			break;
		case '<':
			pbuf_add(out, "&lt;", 4);
			break;
		case '>':
			pbuf_add(out, "&gt;", 4);
			break;
		case '"':
			pbuf_add(out, "&quot;", 6);
			break;
		case '\'':
			pbuf_add(out, "&#39;", 5);
			break;
		default:
			pbuf_add(out, s, 1);
		}
	}
}

void
ui_set_gatewayctl(const char *cmd)
{
	const struct ui_file *f = ui_lookup("/index.html");
	const unsigned char *mark;
	size_t before;

	if (f == NULL || (mark = memmem(f->data, f->len, UI_GATEWAYCTL_MARK,
	    strlen(UI_GATEWAYCTL_MARK))) == NULL)
		fatalx("the built-in Control UI's index.html lacks %s: gatewayd was built from "
		    "a broken gatewayd/ui/index.html", UI_GATEWAYCTL_MARK);
	before = (size_t)(mark - f->data);
	pbuf_reset(&ui_index);
	pbuf_add(&ui_index, f->data, before);
	pbuf_add(&ui_index, "data-gatewayctl=\"", strlen("data-gatewayctl=\""));
	ui_html_escape(&ui_index, cmd);
	pbuf_add(&ui_index, "\"", 1);
	pbuf_add(&ui_index, mark + strlen(UI_GATEWAYCTL_MARK),
	    f->len - before - strlen(UI_GATEWAYCTL_MARK));
}

int
ui_respond(const char *path, struct pbuf *out)
{
	const struct ui_file *f = ui_lookup(path);
	const unsigned char *data;
	char head[768];
	size_t len;
	int n;

	if (f == NULL)
		return -1;
	data = f->data;
	len = f->len;
	if (strcmp(f->path, "/index.html") == 0 && ui_index.len > 0) {
		data = ui_index.data;
		len = ui_index.len;
	}
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
	    "\r\n", f->type, len, UI_CSP);
	pbuf_add(out, head, (size_t)n);
	pbuf_add(out, data, len);
	return 0;
}

void
ui_free(void)
{
	pbuf_free(&ui_index);
}
