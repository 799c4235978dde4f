/*
 * Who the client is (doc/protocol.md §4.2): the TCP peer, unless forwarding headers
 * came; then only from a peer in gateway.trustedProxies, and the client is the
 * right-most X-Forwarded-For hop that is neither loopback nor a trusted proxy
 * (X-Real-IP, under the same rule, with gateway.allowRealIpFallback when no
 * X-Forwarded-For came).
 */
#ifndef GATEWAYD_PROXY_H
#define GATEWAYD_PROXY_H

#include <stddef.h>

#include "gatewayd/http.h"
#include "proto/proto.h"

/* 0: client holds the attributed address (the peer itself without proxy
 * headers); refuse with HTTP 403 proxy_attribution_required otherwise:
 * PROXY_UNTRUSTED, the peer is not a trusted proxy, or PROXY_NO_CLIENT, it is
 * but its headers name no client. */
#define PROXY_UNTRUSTED (-1)
#define PROXY_NO_CLIENT (-2)
int proxy_attribute(const struct proto_br_hello *settings, const char *peer,
    const struct http_request *req, char client[PROTO_ADDR_MAX + 1]);

#endif
