/*
 * clawgate's own Control UI: the files of gatewayd/ui/, embedded into the
 * binary at build time (ui_embed.py writes the table), served on plain GETs.
 */
#ifndef GATEWAYD_UI_H
#define GATEWAYD_UI_H

#include <stddef.h>

#include "proto/proto.h"

struct ui_file {
	const char *path;	/* "/index.html" */
	const char *type;	/* the Content-Type */
	const unsigned char *data;
	size_t len;
};

/* The generated table (ui_files.c). */
extern const struct ui_file ui_files[];
extern const size_t ui_files_count;

/* Appends a complete 200 response for path ("/" is "/index.html") to out and
 * returns 0, or returns -1 (nothing appended) when no such file is embedded. */
int ui_respond(const char *path, struct pbuf *out);

#endif
