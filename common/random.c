#include "common/random.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sodium.h>

#include "common/log.h"

void
random_init(void)
{
	uint8_t b;

	if (OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1)
		fatalx("cannot initialise OpenSSL: check /etc/ssl/openssl.cnf");
	random_bytes(&b, sizeof(b));
	if (sodium_init() < 0)
		fatalx("cannot initialise libsodium: its random source is unavailable");
}

void
random_bytes(uint8_t *buf, size_t len)
{
	if (len > INT_MAX || RAND_bytes(buf, (int)len) != 1)
		fatalx("RAND_bytes failed: the system random source is unavailable");
}

void
random_uuid4(char *out)
{
	uint8_t b[16];
	char hex[33];
	size_t o = 0;

	random_bytes(b, sizeof(b));
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	sodium_bin2hex(hex, sizeof(hex), b, sizeof(b));
	for (size_t i = 0; i < 32; i++) {
		if (i == 8 || i == 12 || i == 16 || i == 20)
			out[o++] = '-';
		out[o++] = hex[i];
	}
	out[o] = '\0';
}
