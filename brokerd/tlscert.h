/* gateway.tls.autoGenerate: the self-signed certificate and key brokerd keeps in
 * its state directory (tls-cert.pem, tls-key.pem, PEM, mode 0600) and hands to
 * gatewayd in BR_HELLO, since gatewayd runs as another account and cannot read
 * the state directory. Both files are made at the first start (tlsgen.h) and
 * kept: a browser that trusted the certificate goes on trusting it. */
#ifndef BROKERD_TLSCERT_H
#define BROKERD_TLSCERT_H

#include "brokerd/config.h"

#define TLSCERT_CERT_FILE "tls-cert.pem"
#define TLSCERT_KEY_FILE "tls-key.pem"

/* The reading phase of a start or a check: with cfg->tls_auto, loads the pair
 * into cfg (tls_cert_der, tls_key_der, tls_fingerprint, tls_not_after). Neither
 * file there: cfg stays without one, for tlscert_generate. One of them alone, or
 * either unreadable, not PEM, or not matching the other: problem_report naming
 * the file and the fix. */
void tlscert_read(struct config *cfg, int state_fd, const char *state_dir);
/* The writing phase: with cfg->tls_auto and no pair loaded, makes one, saves it
 * and loads it into cfg; fatal if it cannot be saved. */
void tlscert_generate(struct config *cfg, int state_fd, const char *state_dir);

#endif
