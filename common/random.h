/* Randomness from OpenSSL's CSPRNG; failure to get it is fatal, never a fallback. */
#ifndef CLAWGATE_RANDOM_H
#define CLAWGATE_RANDOM_H

#include <stddef.h>
#include <stdint.h>

#define UUID_STR_LEN 36

void random_bytes(uint8_t *buf, size_t len);
/* Writes a lower-case, dashed UUID v4 and a NUL into out[UUID_STR_LEN + 1]. */
void random_uuid4(char *out);

#endif
