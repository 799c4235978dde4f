/* Randomness from OpenSSL's CSPRNG; failure to get it is fatal, never a fallback. */
#ifndef CLAWGATE_RANDOM_H
#define CLAWGATE_RANDOM_H

#include <stddef.h>
#include <stdint.h>

#define UUID_STR_LEN 36

/*
 * Initialises OpenSSL and libsodium. OpenSSL reads its configuration file and
 * seeds its generator on first use; libsodium sets up its random source (it may
 * open /dev/urandom). The sandbox allows neither opening files nor anything the
 * seeding may need beyond getrandom: call this before entering it, and before
 * any other OpenSSL or libsodium function.
 */
void random_init(void);
void random_bytes(uint8_t *buf, size_t len);
/* Writes a lower-case, dashed UUID v4 and a NUL into out[UUID_STR_LEN + 1]. */
void random_uuid4(char *out);

#endif
