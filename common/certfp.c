#include "common/certfp.h"

#include <stdio.h>
#include <openssl/evp.h>

int
certfp_sha256(X509 *cert, char out[CERTFP_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char *p = out;

	if (X509_digest(cert, EVP_sha256(), md, &n) != 1 || n != 32)
		return -1;
	for (unsigned int i = 0; i < n; i++)
		p += sprintf(p, "%s%02X", i > 0 ? ":" : "", md[i]);
	return 0;
}
