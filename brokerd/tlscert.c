#include "brokerd/tlscert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "brokerd/fileio.h"
#include "common/certfp.h"
#include "brokerd/problem.h"
#include "brokerd/tlsgen.h"
#include "common/log.h"
#include "common/xmalloc.h"

/* A PEM file of ours is well under this; anything bigger is not. */
#define TLSCERT_FILE_MAX 65536
#define TLSCERT_B64 sodium_base64_VARIANT_ORIGINAL

/* What to do about a stored pair that cannot be used, for every message. */
static void
tlscert_fix(char *out, size_t outsz, const char *dir)
{
	snprintf(out, outsz, "delete %s/%s and %s/%s and start brokerd again to have a new "
	    "self-signed pair generated (browsers that trusted the old certificate must "
	    "then trust the new one: compare its fingerprint with gatewayctl status), or "
	    "set gateway.tls.certPath and gateway.tls.keyPath to a certificate of your own",
	    dir, TLSCERT_CERT_FILE, dir, TLSCERT_KEY_FILE);
}

/* The file's bytes; NULL with errno (ENOENT: not there). A problem is reported
 * for every other failure. */
static char *
tlscert_file(int state_fd, const char *dir, const char *name, size_t *len)
{
	char fix[1024];
	char *buf = fileio_read_state(state_fd, name, TLSCERT_FILE_MAX, len);
	int err = errno;

	if (buf != NULL)
		errno = 0;
	if (buf != NULL || err == ENOENT)
		return buf;
	tlscert_fix(fix, sizeof(fix), dir);
	if (err == ELOOP)
		problem_report("%s/%s is a symbolic link, and brokerd follows none in its state "
		    "directory: put the file itself in its place, or %s", dir, name, fix);
	else
		problem_report("cannot read %s/%s: %s (it must be a file readable to brokerd's "
		    "account: chown it to that account, chmod 600; or %s)", dir, name,
		    strerror(err), fix);
	errno = err;
	return NULL;
}

static void
tlscert_wipe_free(char *buf, size_t len)
{
	if (buf == NULL)
		return;
	OPENSSL_cleanse(buf, len);
	free(buf);
}

/* base64 of DER bytes, malloc'd. */
static char *
tlscert_b64(const unsigned char *der, int len)
{
	size_t n = sodium_base64_ENCODED_LEN((size_t)len, TLSCERT_B64);
	char *out = xmalloc(n);

	sodium_bin2base64(out, n, der, (size_t)len, TLSCERT_B64);
	return out;
}

static void
tlscert_not_after(X509 *cert, struct config *cfg)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1 ||
	    strftime(cfg->tls_not_after, sizeof(cfg->tls_not_after), "%Y-%m-%d %H:%M:%S UTC",
	    &tm) == 0)
		snprintf(cfg->tls_not_after, sizeof(cfg->tls_not_after), "(unreadable)");
}

/* The pair as gatewayd gets it and gatewayctl status shows it; 0, or -1 if
 * it does not fit BR_HELLO. */
static int
tlscert_adopt(struct config *cfg, X509 *cert, EVP_PKEY *key)
{
	unsigned char *der = NULL;
	int len;

	if ((len = i2d_X509(cert, &der)) <= 0)
		fatalx("TLS: cannot encode the certificate");
	cfg->tls_cert_der = tlscert_b64(der, len);
	OPENSSL_free(der);
	der = NULL;
	if ((len = i2d_PrivateKey(key, &der)) <= 0)
		fatalx("TLS: cannot encode the private key");
	cfg->tls_key_der = tlscert_b64(der, len);
	OPENSSL_clear_free(der, (size_t)len);
	if (strlen(cfg->tls_cert_der) > PROTO_TLS_CERT_MAX ||
	    strlen(cfg->tls_key_der) > PROTO_TLS_KEY_MAX) {
		free(cfg->tls_cert_der);
		OPENSSL_cleanse(cfg->tls_key_der, strlen(cfg->tls_key_der));
		free(cfg->tls_key_der);
		cfg->tls_cert_der = cfg->tls_key_der = NULL;
		return -1;
	}
	if (certfp_sha256(cert, cfg->tls_fingerprint) < 0)
		fatalx("TLS: cannot compute the certificate's SHA-256 fingerprint");
	tlscert_not_after(cert, cfg);
	return 0;
}

/* Parses and checks the stored pair; a problem is reported if it is no use. */
static void
tlscert_parse(struct config *cfg, const char *dir, const char *cpem, size_t clen,
    const char *kpem, size_t klen)
{
	BIO *cb = BIO_new_mem_buf(cpem, (int)clen), *kb = BIO_new_mem_buf(kpem, (int)klen);
	X509 *cert = cb != NULL ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
	EVP_PKEY *key = kb != NULL ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
	char fix[1024], err[256];

	ERR_error_string_n(ERR_peek_last_error(), err, sizeof(err));
	tlscert_fix(fix, sizeof(fix), dir);
	if (cert == NULL)
		problem_report("%s/%s holds no PEM certificate (%s): %s", dir, TLSCERT_CERT_FILE,
		    err, fix);
	else if (key == NULL)
		problem_report("%s/%s holds no unencrypted PEM private key (%s): %s", dir,
		    TLSCERT_KEY_FILE, err, fix);
	else if (X509_check_private_key(cert, key) != 1)
		problem_report("%s/%s is not the key of the certificate %s/%s: %s", dir,
		    TLSCERT_KEY_FILE, dir, TLSCERT_CERT_FILE, fix);
	else if (tlscert_adopt(cfg, cert, key) < 0)
		problem_report("%s/%s or %s/%s is larger than brokerd hands to gatewayd "
		    "(%d bytes of base64 for the certificate, %d for the key): %s", dir,
		    TLSCERT_CERT_FILE, dir, TLSCERT_KEY_FILE, PROTO_TLS_CERT_MAX,
		    PROTO_TLS_KEY_MAX, fix);
	else if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0)
		log_warnx("TLS: the certificate %s/%s expired on %s, and browsers refuse it: "
		    "delete %s/%s and %s/%s and restart brokerd for a new one", dir,
		    TLSCERT_CERT_FILE, cfg->tls_not_after, dir, TLSCERT_CERT_FILE, dir,
		    TLSCERT_KEY_FILE);
	ERR_clear_error();
	X509_free(cert);
	EVP_PKEY_free(key);
	BIO_free(cb);
	BIO_free(kb);
}

void
tlscert_read(struct config *cfg, int state_fd, const char *state_dir)
{
	size_t clen = 0, klen = 0;
	char *cpem, *kpem;
	int cerr, kerr;

	if (!cfg->tls_auto)
		return;
	cpem = tlscert_file(state_fd, state_dir, TLSCERT_CERT_FILE, &clen);
	cerr = errno;
	kpem = tlscert_file(state_fd, state_dir, TLSCERT_KEY_FILE, &klen);
	kerr = errno;
	if (cpem != NULL && kpem != NULL)
		tlscert_parse(cfg, state_dir, cpem, clen, kpem, klen);
	else if ((cpem != NULL && kerr == ENOENT) || (kpem != NULL && cerr == ENOENT))
		problem_report("%s/%s is there but %s/%s is not: brokerd generates the pair only "
		    "when both are missing (gateway.tls.autoGenerate): restore the other file, "
		    "or delete %s/%s to have a new pair generated", state_dir,
		    cpem != NULL ? TLSCERT_CERT_FILE : TLSCERT_KEY_FILE, state_dir,
		    cpem != NULL ? TLSCERT_KEY_FILE : TLSCERT_CERT_FILE, state_dir,
		    cpem != NULL ? TLSCERT_CERT_FILE : TLSCERT_KEY_FILE);
	free(cpem);
	tlscert_wipe_free(kpem, klen);
	if (cfg->tls_cert_der != NULL)
		log_info("TLS: the self-signed certificate %s/%s, valid until %s, SHA-256 "
		    "fingerprint %s", state_dir, TLSCERT_CERT_FILE, cfg->tls_not_after,
		    cfg->tls_fingerprint);
}

/* PEM_write_bio_* into memory, then into the state dir; the buffer is wiped. */
static void
tlscert_save(int state_fd, const char *dir, const char *name, BIO *b)
{
	char *data;
	long len = BIO_get_mem_data(b, &data);

	if (len <= 0 || fileio_write_atomic(state_fd, name, data, (size_t)len, 0600) < 0)
		fatal("TLS: cannot save %s/%s", dir, name);
	OPENSSL_cleanse(data, (size_t)len);
}

void
tlscert_generate(struct config *cfg, int state_fd, const char *state_dir)
{
	EVP_PKEY *key;
	X509 *cert;
	BIO *cb, *kb;

	if (!cfg->tls_auto || cfg->tls_cert_der != NULL)
		return;
	tlsgen_make(cfg, &key, &cert);
	if ((cb = BIO_new(BIO_s_mem())) == NULL || (kb = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_X509(cb, cert) != 1 ||
	    PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) != 1)
		fatalx("TLS: cannot encode the generated certificate and key as PEM");
	/* The key first: a crash in between leaves a key alone, which the next start
	 * names, never a certificate without its key. */
	tlscert_save(state_fd, state_dir, TLSCERT_KEY_FILE, kb);
	tlscert_save(state_fd, state_dir, TLSCERT_CERT_FILE, cb);
	if (tlscert_adopt(cfg, cert, key) < 0)
		fatalx("TLS: the generated certificate is larger than BR_HELLO carries");
	log_info("TLS: generated a self-signed certificate in %s/%s (key %s/%s), valid until "
	    "%s, SHA-256 fingerprint %s", state_dir, TLSCERT_CERT_FILE, state_dir,
	    TLSCERT_KEY_FILE, cfg->tls_not_after, cfg->tls_fingerprint);
	BIO_free(cb);
	BIO_free(kb);
	X509_free(cert);
	EVP_PKEY_free(key);
}
