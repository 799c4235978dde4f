/* A self-signed certificate for gateway.tls.autoGenerate: an EC P-256 key (what
 * every browser accepts, unlike Ed25519) and an X.509 v3 leaf naming this host
 * as a browser on the LAN reaches it: its host name (and name.local), localhost,
 * the loopback addresses, the configured bind addresses and the addresses of
 * its interfaces as they are at the first start. */
#ifndef BROKERD_TLSGEN_H
#define BROKERD_TLSGEN_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "brokerd/config.h"

/* Browsers refuse a leaf valid for longer than 825 days even when trusted. */
#define TLSGEN_DAYS 825
/* Subject alternative names at most; addresses past this are left out. */
#define TLSGEN_MAX_NAMES 32

/* A new key and certificate for the host as cfg binds it; fatalx on failure
 * (OpenSSL out of memory or randomness, nothing a setting fixes). */
void tlsgen_make(const struct config *cfg, EVP_PKEY **key, X509 **cert);

#endif
