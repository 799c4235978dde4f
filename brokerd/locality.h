/* Where a connection comes from (doc/protocol.md §4.2), from what gatewayd saw:
 * the TCP peer address, whether proxy headers were present, Origin and Host. */
#ifndef BROKERD_LOCALITY_H
#define BROKERD_LOCALITY_H

#include "proto/proto.h"

/*
 * §4.2's pairing localities, first match wins. Its third rule
 * (cli_container_local / shared_secret_loopback_local: peer loopback, no proxy
 * headers, no Origin) is always already matched by the first (direct_local: peer
 * loopback, no proxy headers, Host irrelevant), so it can never be the result and
 * has no value here; where the spec accepts "direct_local or cli_container_local"
 * that is direct_local.
 */
enum locality {
	LOCALITY_DIRECT_LOCAL,
	LOCALITY_BROWSER_CONTAINER_LOCAL,
	LOCALITY_REMOTE,
};

/* The name logged for a locality: direct-local, browser-container-local, remote. */
const char *locality_name(enum locality loc);

/* Whether a textual address (IPv4, IPv6, IPv4-mapped IPv6) is loopback. */
int locality_ip_loopback(const char *ip);
/* ... loopback or private (RFC 1918, link-local, IPv6 ULA and link-local). */
int locality_ip_private_or_loopback(const char *ip);

/* browser: the client is the Control UI or webchat; shared_ok: the connection
 * proved the shared token or password. */
enum locality locality_of(const struct proto_connect *c, int browser, int shared_ok);

#endif
