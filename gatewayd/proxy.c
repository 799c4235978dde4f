#include "gatewayd/proxy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ipaddr.h"

/* "addr" or "addr/prefix" (brokerd checked the syntax). */
static int
proxy_trusted(const struct proto_br_hello *st, const uint8_t a[16])
{
	uint8_t net[16];
	unsigned bits;

	for (uint32_t i = 0; i < st->ntrusted_proxies; i++)
		if (ipaddr_cidr_parse(st->trusted_proxies[i], net, &bits) == 0 &&
		    ipaddr_in_cidr(a, net, bits))
			return 1;
	return 0;
}

/* Trims spaces and tabs off both ends of s (in place). */
static char *
proxy_trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

int
proxy_attribute(const struct proto_br_hello *st, const char *peer,
    const struct http_request *req, char client[PROTO_ADDR_MAX + 1])
{
	char hops[HTTP_XFF_MAX + 1];
	uint8_t a[16];
	char *hop;

	if (!req->proxy_headers) {
		snprintf(client, PROTO_ADDR_MAX + 1, "%s", peer);
		return 0;
	}
	if (ipaddr_parse(peer, a) < 0 || !proxy_trusted(st, a))
		return PROXY_UNTRUSTED;
	snprintf(hops, sizeof(hops), "%s", req->forwarded_for);
	/* Right to left; each hop was added by the proxy to its right. */
	for (;;) {
		char *comma = strrchr(hops, ',');

		hop = proxy_trim(comma ? comma + 1 : hops);
		if (*hop != '\0') {
			/* An unparseable hop ends the walk: what lies left is unknown. */
			if (ipaddr_parse(hop, a) < 0)
				return PROXY_NO_CLIENT;
			if (ipaddr_classify(a) != IPADDR_LOOPBACK && !proxy_trusted(st, a)) {
				ipaddr_format(a, client, PROTO_ADDR_MAX + 1);
				return 0;
			}
		}
		if (comma == NULL)
			break;
		*comma = '\0';
	}
	/* X-Real-IP names the client like a single hop: a loopback address or a
	 * trusted proxy there is no client either (it would pass for this host). */
	if (req->forwarded_for[0] == '\0' && st->allow_real_ip_fallback &&
	    ipaddr_parse(req->real_ip, a) == 0 &&
	    ipaddr_classify(a) != IPADDR_LOOPBACK && !proxy_trusted(st, a)) {
		ipaddr_format(a, client, PROTO_ADDR_MAX + 1);
		return 0;
	}
	return PROXY_NO_CLIENT;
}
