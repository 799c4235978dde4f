#include "gatewayd/tls.h"

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

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
