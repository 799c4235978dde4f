/*
 * TLS for the gateway port (gateway.tls, doc/protocol.md §8) with OpenSSL through
 * libevent's bufferevent_openssl: TLS 1.2 and 1.3 only, forward-secret AEAD
 * ciphers only, no compression, no renegotiation.
 */
#ifndef GATEWAYD_TLS_H
#define GATEWAYD_TLS_H

#include <event2/util.h>

struct bufferevent;

/* Loads certificate (chain) and key from the files the broker's settings name,
 * or the self-signed pair the settings carry (gateway.tls.autoGenerate), if they
 * enable TLS; fatalx naming the file and the fix otherwise. */
void tls_init(void);
/* A bufferevent for an accepted socket: TLS server side if enabled, else plain. */
struct bufferevent *tls_bufferevent(evutil_socket_t fd);
/* The socket under a bufferevent from tls_bufferevent when no TLS is in
 * between (its bytes are the peer's and may be read directly), else -1. */
evutil_socket_t tls_plain_fd(struct bufferevent *bev);
void tls_free(void);

#endif
