#ifndef CLAWGATE_UTF8_H
#define CLAWGATE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing above U+10FFFF. */
int utf8_valid(const uint8_t *s, size_t len);

/* The code point that starts s into *cp: its length in bytes (1-4), or 0 when
 * len is 0 or s does not start with a strictly valid sequence. */
size_t utf8_decode(const uint8_t *s, size_t len, uint32_t *cp);

/*
 * 1 for the code points that change how a terminal or a text view shows what
 * follows instead of showing themselves: C0 and C1 controls and DEL (escape
 * sequences, CSI as U+009B), the bidirectional formatting characters (U+061C,
 * U+200E, U+200F, U+202A-U+202E, U+2066-U+2069: text shown in another order
 * than it is stored) and the line and paragraph separators (a second line).
 * Text a client chose must not carry them to an admin's screen.
 */
int utf8_is_hidden(uint32_t cp);

#endif
