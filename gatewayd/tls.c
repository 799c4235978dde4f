#include "gatewayd/tls.h"

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/certfp.h"
#include "common/log.h"
#include "gatewayd/gatewayd.h"

static SSL_CTX *tls_ctx;

/* TLS 1.2: ECDHE with AES-GCM or ChaCha20-Poly1305 only; TLS 1.3's suites are
 * all of that kind already. */
#define TLS_CIPHERS_12 "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL"

static void __attribute__((noreturn))
tls_fail(const char *what, const char *path)
{
	char err[256];

	ERR_error_string_n(ERR_get_error(), err, sizeof(err));
	fatalx("TLS: cannot %s %s (%s): check gateway.tls.certPath and gateway.tls.keyPath "
	    "(PEM files readable by gatewayd, the key matching the certificate)", what, path,
	    err);
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

/* gateway.tls.autoGenerate: the self-signed pair brokerd keeps and sent in
 * BR_HELLO, which gatewayd could not read from brokerd's state dir itself. */
static void
tls_use_generated(const struct proto_br_hello *st)
{
	unsigned char *cder, *kder;
	const unsigned char *p;
	char fp[CERTFP_LEN + 1] = "";
	int clen = 0, klen = 0;
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;

	cder = tls_unbase64(st->tls_cert_der, &clen);
	kder = tls_unbase64(st->tls_key_der, &klen);
	if (cder != NULL && (p = cder) != NULL)
		cert = d2i_X509(NULL, &p, clen);
	if (kder != NULL && (p = kder) != NULL)
		key = d2i_AutoPrivateKey(NULL, &p, klen);
	OPENSSL_free(cder);
	if (kder != NULL)
		OPENSSL_clear_free(kder, (size_t)klen);
	if (cert == NULL || key == NULL || SSL_CTX_use_certificate(tls_ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(tls_ctx, key) != 1 || SSL_CTX_check_private_key(tls_ctx) != 1)
		fatalx("TLS: brokerd sent a self-signed certificate and key that cannot be "
		    "used: check brokerd's log, and its files tls-cert.pem and tls-key.pem");
	/* Only for the log: a fingerprint OpenSSL cannot compute is left empty. */
	(void)certfp_sha256(cert, fp);
	log_info("TLS enabled with brokerd's self-signed certificate (SHA-256 fingerprint %s)",
	    fp);
	X509_free(cert);
	EVP_PKEY_free(key);
}

void
tls_init(void)
{
	const struct proto_br_hello *st = &gatewayd.settings;

	if (!st->tls_enabled)
		return;
	if ((tls_ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		tls_fail("create a context for", "the gateway port");
	SSL_CTX_set_min_proto_version(tls_ctx, TLS1_2_VERSION);
	/* CLEANSE_PLAINTEXT: a record is decrypted in place in a buffer that lives
	 * as long as the connection; wiped once read, a connect's token does not
	 * stay there for the session's life. */
	SSL_CTX_set_options(tls_ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_CLEANSE_PLAINTEXT);
	if (SSL_CTX_set_cipher_list(tls_ctx, TLS_CIPHERS_12) != 1)
		tls_fail("set the cipher list for", "the gateway port");
	if (st->tls_cert_der[0] != '\0') {
		tls_use_generated(st);
		return;
	}
	if (SSL_CTX_use_certificate_chain_file(tls_ctx, st->tls_cert_path) != 1)
		tls_fail("load the certificate", st->tls_cert_path);
	if (SSL_CTX_use_PrivateKey_file(tls_ctx, st->tls_key_path, SSL_FILETYPE_PEM) != 1)
		tls_fail("load the private key", st->tls_key_path);
	if (SSL_CTX_check_private_key(tls_ctx) != 1)
		tls_fail("match the key to the certificate", st->tls_cert_path);
	log_info("TLS enabled with %s", st->tls_cert_path);
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
