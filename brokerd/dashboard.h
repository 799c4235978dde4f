/*
 * gatewayctl dashboard: the Control UI's address, built from what brokerd knows
 * (gateway.bind, gateway.port, TLS, the auth mode and the shared token in force),
 * with the token in the URL's fragment as `#token=`, which browsers never send to
 * a server; the page takes it from there and clears the address bar.
 */
#ifndef BROKERD_DASHBOARD_H
#define BROKERD_DASHBOARD_H

#include <stddef.h>

#include "brokerd/config.h"
#include "proto/proto.h"

/* Appends the answer: {url, httpUrl, wsUrl, port, authMode, tokenIncluded,
 * gatewaysConnected, notes: [sentences], assumes: sentence}. gateways is the
 * number of gatewayd links up. The token is in url only. */
void dashboard_pval(struct pbuf *b, const struct config *cfg, size_t gateways);

#endif
