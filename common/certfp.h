/* A certificate's SHA-256 fingerprint as browsers and `openssl x509 -fingerprint`
 * show it (colon-separated upper-case hex): brokerd logs and reports the one it
 * generated, gatewayd logs the one it serves, and an admin compares the two with
 * what a browser shows. */
#ifndef COMMON_CERTFP_H
#define COMMON_CERTFP_H

#include <openssl/x509.h>

/* 32 bytes as "XX:" pairs, less the last colon. */
#define CERTFP_LEN (32 * 3 - 1)

/* Writes cert's fingerprint into out; -1 if OpenSSL cannot compute it. */
int certfp_sha256(X509 *cert, char out[CERTFP_LEN + 1]);

#endif
