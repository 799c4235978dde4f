/*
 * clawgate's own Control UI: the files of gatewayd/ui/, embedded into the
 * binary at build time (ui_embed.py writes the table), served on plain GETs.
 */
#ifndef GATEWAYD_UI_H
#define GATEWAYD_UI_H

#include <stddef.h>

#include "proto/pbuf.h"

struct ui_file {
	const char *path;	/* "/index.html" */
	const char *type;	/* the Content-Type */
	const unsigned char *data;
	size_t len;
};

/* The generated table (ui_files.c). */
extern const struct ui_file ui_files[];
extern const size_t ui_files_count;

/* Serves index.html from now on with cmd (brokerd's clawgate.gatewayctl or
 * derived command) as its data-gatewayctl attribute, HTML-escaped; the page puts
 * it in front of "devices approve <requestId>". Until called, the embedded
 * value "gatewayctl" stands. */
void ui_set_gatewayctl(const char *cmd);

/* Frees what ui_set_gatewayctl made. */
void ui_free(void);

/* Where clawgate's own page always is, whatever serves "/" (in relay mode, with
 * gateway.controlUi.root, the OpenClaw Control UI does). */
#define UI_OWN_PREFIX "/clawgate/"

/* The path of an embedded file below UI_OWN_PREFIX ("/clawgate/app.js" ->
 * "/app.js", "/clawgate/" -> "/"), or NULL when path is not below it. */
const char *ui_own_path(const char *path);

/* Appends a complete 200 response for path ("/" is "/index.html") to out and
 * returns 0, or returns -1 (nothing appended) when no such file is embedded. */
int ui_respond(const char *path, struct pbuf *out);

#endif
