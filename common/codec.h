/* Byte <-> text encodings used on the wire: base64url (keys, signatures, tokens),
 * standard base64 (Sec-WebSocket-Accept) and lower-case hex (device ids). */
#ifndef CLAWGATE_CODEC_H
#define CLAWGATE_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* Encoded length without padding, not counting the NUL. */
#define B64URL_LEN(n) ((((n) * 4) + 2) / 3)

/* Writes unpadded base64url and a NUL; returns the length, or 0 if out is too small. */
size_t b64url_encode(const uint8_t *in, size_t len, char *out, size_t outsz);
/* Writes padded standard base64 and a NUL; returns the length, or 0 if out is too small. */
size_t b64_encode(const uint8_t *in, size_t len, char *out, size_t outsz);
/* Decodes base64url or standard base64, padded or not (clients differ); returns the
 * decoded length, or -1 on a bad character, bad padding or an output overflow. */
long b64_decode(const char *in, size_t len, uint8_t *out, size_t outsz);

/* Writes 2*len lower-case hex digits and a NUL; out must hold 2*len+1 bytes. */
void hex_encode(const uint8_t *in, size_t len, char *out);

#endif
