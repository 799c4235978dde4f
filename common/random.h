/* Randomness from OpenSSL's CSPRNG; failure to get it is fatal, never a fallback. */
#ifndef CLAWGATE_RANDOM_H
#define CLAWGATE_RANDOM_H

#include <stddef.h>
#include <stdint.h>

#define UUID_STR_LEN 36

/*
 * OpenSSL reads its configuration file and seeds its generator on first use;
 * the sandbox allows neither opening files nor anything the seeding may need
 * beyond getrandom. Call this before entering it (DESIGN.md §4 step 3).
 */
void random_init(void);
void random_bytes(uint8_t *buf, size_t len);
/* Writes a lower-case, dashed UUID v4 and a NUL into out[UUID_STR_LEN + 1]. */
void random_uuid4(char *out);

#endif
