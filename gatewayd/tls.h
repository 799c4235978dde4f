/*
 * TLS for the gateway port (gateway.tls, doc/protocol.md §8) with OpenSSL through
 * libevent's bufferevent_openssl: TLS 1.2 and 1.3 only, forward-secret AEAD
 * ciphers only, no compression, no renegotiation.
 */
#ifndef GATEWAYD_TLS_H
#define GATEWAYD_TLS_H

#include <event2/util.h>

#include "proto/proto.h"

struct bufferevent;

/* gateway.tls as brokerd sends it (BR_HELLO, BR_CONFIG): certificate and key
 * from the files at the paths, or the self-signed pair brokerd keeps (base64
 * of the DER; the paths empty). */
struct tls_source {
	int enabled;
	const char *cert_path, *key_path;
	const char *cert_der, *key_der;
};

void tls_source_of_hello(struct tls_source *src, const struct proto_br_hello *h);
/* Loads certificate (chain) and key from the files the broker's settings name,
 * or the self-signed pair the settings carry (gateway.tls.autoGenerate), if they
 * enable TLS; fatalx naming the file and the fix otherwise. */
void tls_init(void);
/*
 * brokerd's gateway.tls again (a reload, or brokerd restarted): with TLS on
 * and its source (files or generated) as at start, a new context with the
 * certificate and key loaded again serves the connections accepted from now
 * on; the files are read again whether or not their paths changed (an admin
 * replaces them in place). Connections already open keep theirs. A pair that
 * cannot be used keeps the running one; TLS turned on or off, or another
 * source, waits for a restart of gatewayd. Each outcome is logged.
 */
void tls_reload(const struct tls_source *src);
/* A bufferevent for an accepted socket: TLS server side if enabled, else plain. */
struct bufferevent *tls_bufferevent(evutil_socket_t fd);
/* The socket under a bufferevent from tls_bufferevent when no TLS is in
 * between (its bytes are the peer's and may be read directly), else -1. */
evutil_socket_t tls_plain_fd(struct bufferevent *bev);
void tls_free(void);

#endif
