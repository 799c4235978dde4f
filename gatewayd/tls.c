#include "gatewayd/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/certfp.h"
#include "common/log.h"
#include "gatewayd/gatewayd.h"

/* The context new connections get; a connection's SSL holds a reference to
 * the context it was made from, so a replaced one lives as long as they do. */
static SSL_CTX *tls_ctx;
static int tls_generated;	/* serving brokerd's self-signed pair, not files */

/* TLS 1.2: ECDHE with AES-GCM or ChaCha20-Poly1305 only; TLS 1.3's suites are
 * all of that kind already. */
#define TLS_CIPHERS_12 "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL"
/* A certificate chain or a key in PEM is a few KiB; a file larger than this
 * is not one. */
#define TLS_FILE_MAX (1 << 20)
#define TLS_WHY_LEN 512

/* The fix for a certificate or key file gatewayd cannot use. */
#define TLS_FILES_FIX "check gateway.tls.certPath and gateway.tls.keyPath (PEM files " \
	"readable by the account gatewayd runs as, clawgate-gw under systemd, the key " \
	"unencrypted and matching the certificate)"

static void
tls_why_openssl(char *why, const char *what, const char *path)
{
	char err[256];

	ERR_error_string_n(ERR_get_error(), err, sizeof(err));
	ERR_clear_error();
	snprintf(why, TLS_WHY_LEN, "cannot %s %s (%s)", what, path, err);
}

/*
 * The whole file, malloc'd, its length in *len; NULL with why filled in. Read
 * through openat2, the one open gatewayd's sandbox admits, so that a reload
 * reads the files the way the start did (symbolic links followed, as certbot's
 * live/ directory has them).
 */
static char *
tls_read_file(const char *path, size_t *len, const char *what, char *why)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY };
	size_t cap = 4096, n = 0;
	char *buf = NULL, *grown;
	ssize_t got;
	int fd, err;

	if ((fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how))) < 0) {
		snprintf(why, TLS_WHY_LEN, "cannot load the %s %s (%s)", what, path,
		    strerror(errno));
		return NULL;
	}
	for (;;) {
		if (n == cap || buf == NULL) {
			if (buf != NULL)
				cap *= 2;
			if (cap > TLS_FILE_MAX || (grown = malloc(cap)) == NULL) {
				errno = EFBIG;
				break;
			}
			if (buf != NULL) {
				memcpy(grown, buf, n);
				OPENSSL_cleanse(buf, n);
				free(buf);
			}
			buf = grown;
		}
		if ((got = read(fd, buf + n, cap - n)) <= 0) {
			if (got == 0) {
				close(fd);
				*len = n;
				return buf;
			}
			if (errno == EINTR)
				continue;
			break;
		}
		n += (size_t)got;
	}
	err = errno;
	close(fd);
	if (buf != NULL) {
		OPENSSL_cleanse(buf, n);
		free(buf);
	}
	snprintf(why, TLS_WHY_LEN, "cannot load the %s %s (%s)", what, path,
	    err == EFBIG ? "larger than 1 MiB" : strerror(err));
	return NULL;
}

/* No passphrase prompt: a key gatewayd loads must be unencrypted. */
static int
tls_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return 0;
}

/* The certificate, then the chain behind it, as SSL_CTX_use_certificate_chain_file
 * reads them, from memory. */
static int
tls_use_chain(SSL_CTX *ctx, const char *pem, size_t len, const char *path, char *why)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *cert, *ca;
	int ok = 0;

	if (b == NULL || (cert = PEM_read_bio_X509_AUX(b, NULL, tls_no_passphrase, NULL)) ==
	    NULL) {
		tls_why_openssl(why, "load the certificate", path);
		BIO_free(b);
		return -1;
	}
	if (SSL_CTX_use_certificate(ctx, cert) == 1 && SSL_CTX_clear_chain_certs(ctx) == 1) {
		ok = 1;
		while (ok && (ca = PEM_read_bio_X509(b, NULL, tls_no_passphrase, NULL)) != NULL)
			if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
				X509_free(ca);
				ok = 0;
			}
		/* The end of the file shows as "no start line": not an error. */
		if (ok && ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE)
			ERR_clear_error();
		else
			ok = 0;
	}
	X509_free(cert);
	BIO_free(b);
	if (!ok)
		tls_why_openssl(why, "load the certificate", path);
	return ok ? 0 : -1;
}

static int
tls_use_key_pem(SSL_CTX *ctx, const char *pem, size_t len, const char *path,
    const char *cert_path, char *why)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *key = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, tls_no_passphrase, NULL) :
	    NULL;
	X509 *cert = SSL_CTX_get0_certificate(ctx);
	int ok = 0;

	if (key == NULL)
		tls_why_openssl(why, "load the private key", path);
	else if (cert != NULL && X509_check_private_key(cert, key) != 1) {
		ERR_clear_error();
		snprintf(why, TLS_WHY_LEN, "the private key %s is not the key of the certificate "
		    "%s", path, cert_path);
	} else if (SSL_CTX_use_PrivateKey(ctx, key) != 1)
		tls_why_openssl(why, "load the private key", path);
	else
		ok = 1;
	EVP_PKEY_free(key);
	BIO_free(b);
	return ok ? 0 : -1;
}

/* gateway.tls.certPath and keyPath into ctx; -1 with why filled in. */
static int
tls_load_files(SSL_CTX *ctx, const char *cert_path, const char *key_path, char *why)
{
	char *cpem = NULL, *kpem = NULL;
	size_t clen = 0, klen = 0;
	int r = -1;

	if ((cpem = tls_read_file(cert_path, &clen, "certificate", why)) != NULL &&
	    tls_use_chain(ctx, cpem, clen, cert_path, why) == 0 &&
	    (kpem = tls_read_file(key_path, &klen, "private key", why)) != NULL &&
	    tls_use_key_pem(ctx, kpem, klen, key_path, cert_path, why) == 0) {
		if (SSL_CTX_check_private_key(ctx) == 1)
			r = 0;
		else
			tls_why_openssl(why, "match the key to the certificate", cert_path);
	}
	free(cpem);
	if (kpem != NULL) {
		OPENSSL_cleanse(kpem, klen);
		free(kpem);
	}
	return r;
}

/* base64 (as brokerd encodes DER) into a malloc'd buffer; its length in *len.
 * NULL if it is not base64. */
static unsigned char *
tls_unbase64(const char *b64, int *len)
{
	size_t n = strlen(b64);
	unsigned char *out;
	int got;

	if (n == 0 || n % 4 != 0 || (out = OPENSSL_malloc(n / 4 * 3 + 1)) == NULL)
		return NULL;
	if ((got = EVP_DecodeBlock(out, (const unsigned char *)b64, (int)n)) < 0) {
		OPENSSL_free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	got -= (b64[n - 1] == '=') + (b64[n - 2] == '=');
	*len = got;
	return out;
}

/* gateway.tls.autoGenerate: the self-signed pair brokerd keeps and sends
 * (gatewayd cannot read brokerd's state dir itself) into ctx; -1 with why. */
static int
tls_load_generated(SSL_CTX *ctx, const char *cert_der, const char *key_der, char *why)
{
	unsigned char *cder, *kder;
	const unsigned char *p;
	int clen = 0, klen = 0, r = -1;
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;

	cder = tls_unbase64(cert_der, &clen);
	kder = tls_unbase64(key_der, &klen);
	if (cder != NULL && (p = cder) != NULL)
		cert = d2i_X509(NULL, &p, clen);
	if (kder != NULL && (p = kder) != NULL)
		key = d2i_AutoPrivateKey(NULL, &p, klen);
	OPENSSL_free(cder);
	if (kder != NULL)
		OPENSSL_clear_free(kder, (size_t)klen);
	if (cert != NULL && key != NULL && SSL_CTX_use_certificate(ctx, cert) == 1 &&
	    SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1)
		r = 0;
	else
		snprintf(why, TLS_WHY_LEN, "brokerd sent a self-signed certificate and key that "
		    "cannot be used: check brokerd's log, and its files tls-cert.pem and "
		    "tls-key.pem");
	ERR_clear_error();
	X509_free(cert);
	EVP_PKEY_free(key);
	return r;
}

/* A context with clawgate's protocol versions, ciphers and options, and the
 * certificate and key src names; NULL with why filled in. */
static SSL_CTX *
tls_ctx_build(const struct tls_source *src, char *why)
{
	SSL_CTX *ctx;
	int r;

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_why_openssl(why, "create a TLS context for", "the gateway port");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* CLEANSE_PLAINTEXT: a record is decrypted in place in a buffer that lives
	 * as long as the connection; wiped once read, a connect's token does not
	 * stay there for the session's life. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_CLEANSE_PLAINTEXT);
	if (SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS_12) != 1) {
		tls_why_openssl(why, "set the cipher list for", "the gateway port");
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (src->cert_der[0] != '\0')
		r = tls_load_generated(ctx, src->cert_der, src->key_der, why);
	else
		r = tls_load_files(ctx, src->cert_path, src->key_path, why);
	if (r < 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* The fingerprint of the certificate ctx serves, for the log ("" if OpenSSL
 * cannot compute one). */
static void
tls_ctx_fingerprint(SSL_CTX *ctx, char fp[CERTFP_LEN + 1])
{
	X509 *cert = SSL_CTX_get0_certificate(ctx);

	fp[0] = '\0';
	if (cert == NULL || certfp_sha256(cert, fp) < 0)
		fp[0] = '\0';
}

void
tls_source_of_hello(struct tls_source *src, const struct proto_br_hello *h)
{
	*src = (struct tls_source){ h->tls_enabled, h->tls_cert_path, h->tls_key_path,
	    h->tls_cert_der, h->tls_key_der };
}

void
tls_init(void)
{
	struct tls_source src;
	char why[TLS_WHY_LEN], fp[CERTFP_LEN + 1];

	tls_source_of_hello(&src, &gatewayd.settings);
	if (!src.enabled)
		return;
	tls_generated = src.cert_der[0] != '\0';
	if ((tls_ctx = tls_ctx_build(&src, why)) == NULL)
		fatalx("TLS: %s: %s", why, tls_generated ? "restart brokerd" : TLS_FILES_FIX);
	tls_ctx_fingerprint(tls_ctx, fp);
	if (tls_generated)
		log_info("TLS enabled with brokerd's self-signed certificate (SHA-256 "
		    "fingerprint %s)", fp);
	else
		log_info("TLS enabled with %s (SHA-256 fingerprint %s)", src.cert_path, fp);
}

/* Whether src is TLS as gatewayd set itself up: on or off, files or generated. */
static const char *
tls_mode_change(const struct tls_source *src)
{
	if (src->enabled != (tls_ctx != NULL))
		return src->enabled ? "TLS turned on" : "TLS turned off";
	if (src->enabled && (src->cert_der[0] != '\0') != tls_generated)
		return tls_generated ? "from the generated certificate to certPath and keyPath" :
		    "from certPath and keyPath to the generated certificate";
	return NULL;
}

void
tls_reload(const struct tls_source *src)
{
	char why[TLS_WHY_LEN], fp[CERTFP_LEN + 1];
	const char *change;
	SSL_CTX *next;

	if ((change = tls_mode_change(src)) != NULL) {
		log_warnx("TLS: brokerd's gateway.tls changed (%s): gatewayd goes on as it "
		    "started until it restarts: systemctl restart gatewayd", change);
		return;
	}
	if (!src->enabled)
		return;
	if ((next = tls_ctx_build(src, why)) == NULL) {
		log_warnx("TLS: kept the running certificate for new connections: %s: %s, then "
		    "reload again (systemctl reload brokerd)", why, tls_generated ?
		    "check brokerd's log" : TLS_FILES_FIX);
		return;
	}
	/* Connections already open keep the old context through their SSL. */
	SSL_CTX_free(tls_ctx);
	tls_ctx = next;
	tls_ctx_fingerprint(tls_ctx, fp);
	log_info("TLS: new connections get %s%s (SHA-256 fingerprint %s); connections "
	    "already open keep theirs", tls_generated ? "brokerd's self-signed certificate" :
	    "the certificate ", tls_generated ? "" : src->cert_path, fp);
}

struct bufferevent *
tls_bufferevent(evutil_socket_t fd)
{
	SSL *ssl;
	struct bufferevent *bev;

	if (tls_ctx == NULL)
		return bufferevent_socket_new(gatewayd.base, fd, BEV_OPT_CLOSE_ON_FREE);
	if ((ssl = SSL_new(tls_ctx)) == NULL)
		return NULL;
	/* The bufferevent owns ssl from here (BEV_OPT_CLOSE_ON_FREE frees it). */
	bev = bufferevent_openssl_socket_new(gatewayd.base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL)
		SSL_free(ssl);
	return bev;
}

evutil_socket_t
tls_plain_fd(struct bufferevent *bev)
{
	return bufferevent_openssl_get_ssl(bev) == NULL ? bufferevent_getfd(bev) : -1;
}

void
tls_free(void)
{
	SSL_CTX_free(tls_ctx);
	tls_ctx = NULL;
}
