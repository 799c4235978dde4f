#ifndef CLAWGATE_UTF8_H
#define CLAWGATE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing above U+10FFFF. */
int utf8_valid(const uint8_t *s, size_t len);

#endif
