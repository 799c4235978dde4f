/* The configuration file as text: parsing it (JSON with comments, refusing the
 * rest of JSON5 with the line and column to fix) and checking its key names
 * against the ones clawgate reads and the ones OpenClaw has and clawgate
 * ignores. config.c turns the tree into settings. */
#ifndef BROKERD_CONFIGFILE_H
#define BROKERD_CONFIGFILE_H

#include <stddef.h>
#include <yajl/yajl_tree.h>

/* Objects nested deeper than this are refused (no real configuration comes close). */
#define CONFIGFILE_DEPTH_MAX 64

/* Parses len bytes of text (NUL-terminated at text[len]). On success returns the
 * tree (yajl_tree_free it). On failure returns NULL and writes
 * "LINE:COLUMN: problem: fix" to err (lines and columns from 1, columns in
 * characters). */
yajl_val configfile_parse(const char *text, size_t len, char *err, size_t errsz);

enum configfile_note {
	CONFIGFILE_UNKNOWN,	/* neither clawgate nor OpenClaw has this key */
	CONFIGFILE_IGNORED,	/* OpenClaw's key, which clawgate does not use */
};

/* Called for each such key: its dotted path, and for an unknown key the path of
 * the closest known key if one is close enough to be a misspelling (else NULL). */
typedef void (*configfile_note_fn)(enum configfile_note what, const char *path,
    const char *suggestion, void *arg);

/* Walks the `gateway` section and the objects below it that clawgate reads
 * (auth, tls, controlUi, nodes, nodes.pairing). Other top-level sections (an
 * openclaw.json's agents, models, ...) are not looked at, except that a
 * top-level key that looks like a misspelt "gateway" is reported. */
void configfile_check_keys(yajl_val root, configfile_note_fn fn, void *arg);

#endif
