/*
 * Text a client chose (names, platforms, ids, scopes, origins), made safe to show:
 * whatever utf8_is_hidden() names, and every byte that is not valid UTF-8, is
 * replaced by a visible escape, so that a terminal, a log viewer or a JSON
 * reader shows the text as stored and nothing else. Printable text, non-ASCII
 * letters and emoji included, passes unchanged.
 */
#ifndef CLAWGATE_TEXTESC_H
#define CLAWGATE_TEXTESC_H

#include <stddef.h>

/* The longest escape of one input byte: "\x1b" for one byte, "\u202e" for three;
 * in JSON "\ufffd" for one byte that is not UTF-8. */
#define TEXTESC_GROWTH 4
#define TEXTESC_JSON_GROWTH 6

/*
 * For a terminal or a log line: ASCII controls and bytes that are not UTF-8 as
 * \xNN, hidden code points above ASCII as \uNNNN. Writes a NUL-terminated
 * result into dst (dstsz > 0), cut before the first escape or character that
 * does not fit; returns its length. dstsz = TEXTESC_GROWTH * len + 1 holds all.
 */
size_t textesc(char *dst, size_t dstsz, const char *s, size_t len);

/*
 * For JSON text (valid UTF-8, as yajl writes it): every hidden code point above
 * ASCII as a \uNNNN escape. Such characters occur only inside strings, where
 * the escape means the same character, so the result is valid JSON with the
 * same meaning. Bytes that are not UTF-8 become \ufffd. Into dst like textesc();
 * dstsz = TEXTESC_JSON_GROWTH * len + 1 holds all (a cut result is not JSON).
 */
size_t textesc_json(char *dst, size_t dstsz, const char *json, size_t len);

#endif
