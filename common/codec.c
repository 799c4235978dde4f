#include "common/codec.h"

#include <string.h>

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t
b64_encode_with(const char *alphabet, int pad, const uint8_t *in, size_t len, char *out,
    size_t outsz)
{
	size_t need = pad ? ((len + 2) / 3) * 4 : B64URL_LEN(len);
	size_t o = 0;

	if (outsz < need + 1)
		return 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t rest = len - i;

		if (rest > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (rest > 2)
			v |= in[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		if (rest > 1)
			out[o++] = alphabet[(v >> 6) & 63];
		else if (pad)
			out[o++] = '=';
		if (rest > 2)
			out[o++] = alphabet[v & 63];
		else if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

size_t
b64url_encode(const uint8_t *in, size_t len, char *out, size_t outsz)
{
	return b64_encode_with(b64url_alphabet, 0, in, len, out, outsz);
}

size_t
b64_encode(const uint8_t *in, size_t len, char *out, size_t outsz)
{
	return b64_encode_with(b64_alphabet, 1, in, len, out, outsz);
}

static int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-' || c == '+')
		return 62;
	if (c == '_' || c == '/')
		return 63;
	return -1;
}

long
b64_decode(const char *in, size_t len, uint8_t *out, size_t outsz)
{
	uint32_t acc = 0;
	size_t bits = 0, o = 0, pads = 0;

	while (len > 0 && in[len - 1] == '=' && pads < 2) {
		len--;
		pads++;
	}
	if (pads && (len + pads) % 4 != 0)
		return -1;
	if (len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = b64_value(in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outsz)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* Leftover bits must be zero, so each byte string has one encoding. */
	if (bits && (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (long)o;
}

void
hex_encode(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}
