/*
 * The Content-Security-Policy hash sources of a page's inline scripts, so that
 * a page from gateway.controlUi.root runs its own bootstrap scripts without
 * 'unsafe-inline' (which would run any script injected into it as well).
 */
#ifndef GATEWAYD_CSPHASH_H
#define GATEWAYD_CSPHASH_H

#include <stddef.h>
#include <stdint.h>

/* Inline scripts hashed per page; those beyond are left out (and blocked). */
#define CSPHASH_SCRIPTS_MAX 16
/* One source: " 'sha256-" 44 characters of base64 "'". */
#define CSPHASH_SOURCE_LEN 54

/*
 * Writes " 'sha256-…'" for each <script> element of html[0..len) that has no
 * src attribute and an end tag, in order, into out (NUL-terminated, at most
 * CSPHASH_SCRIPTS_MAX sources; size at least that many CSPHASH_SOURCE_LEN + 1).
 * The hash covers the script's text as a browser's HTML parser sees it (CR LF
 * and lone CR read as LF). Returns the number of inline scripts found, which
 * may exceed the sources written.
 */
unsigned csphash_scripts(const uint8_t *html, size_t len, char *out, size_t size);

#endif
