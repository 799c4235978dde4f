#include "gatewayd/proxy.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An address in binary, IPv4 as IPv4-mapped IPv6 so that one comparison
 * serves both; -1 if text is not an address. */
static int
proxy_parse(const char *text, uint8_t a[16])
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	uint8_t v4[4];

	if (inet_pton(AF_INET, text, v4) == 1) {
		memcpy(a, mapped, sizeof(mapped));
		memcpy(a + 12, v4, 4);
		return 0;
	}
	return inet_pton(AF_INET6, text, a) == 1 ? 0 : -1;
}

/* "addr" or "addr/prefix" (brokerd checked the syntax). */
static int
proxy_in(const uint8_t a[16], const char *cidr)
{
	char addr[PROTO_ADDR_MAX + 1];
	const char *slash = strchr(cidr, '/');
	size_t n = slash ? (size_t)(slash - cidr) : strlen(cidr);
	uint8_t net[16];
	unsigned bits;

	if (n >= sizeof(addr))
		return 0;
	memcpy(addr, cidr, n);
	addr[n] = '\0';
	if (proxy_parse(addr, net) < 0)
		return 0;
	bits = slash ? (unsigned)strtoul(slash + 1, NULL, 10) : 128;
	if (slash && strchr(addr, ':') == NULL)
		bits += 96;	/* an IPv4 prefix, within the mapped form */
	if (bits > 128)
		return 0;
	if (memcmp(a, net, bits / 8) != 0)
		return 0;
	return bits % 8 == 0 ||
	    ((a[bits / 8] ^ net[bits / 8]) & (uint8_t)(0xff << (8 - bits % 8))) == 0;
}

static int
proxy_trusted(const struct proto_br_hello *st, const uint8_t a[16])
{
	for (uint32_t i = 0; i < st->ntrusted_proxies; i++)
		if (proxy_in(a, st->trusted_proxies[i]))
			return 1;
	return 0;
}

static int
proxy_loopback(const uint8_t a[16])
{
	static const uint8_t v6_loopback[16] = { [15] = 1 };
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	return memcmp(a, v6_loopback, 16) == 0 || (memcmp(a, mapped, 12) == 0 && a[12] == 127);
}

/* The client address as text: IPv4 as IPv4, like session.c's peers. */
static void
proxy_format(const uint8_t a[16], char out[PROTO_ADDR_MAX + 1])
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (memcmp(a, mapped, 12) == 0)
		inet_ntop(AF_INET, a + 12, out, PROTO_ADDR_MAX + 1);
	else
		inet_ntop(AF_INET6, a, out, PROTO_ADDR_MAX + 1);
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
	if (proxy_parse(peer, a) < 0 || !proxy_trusted(st, a))
		return -1;
	snprintf(hops, sizeof(hops), "%s", req->forwarded_for);
	/* Right to left; each hop was added by the proxy to its right. */
	for (;;) {
		char *comma = strrchr(hops, ',');

		hop = proxy_trim(comma ? comma + 1 : hops);
		if (*hop != '\0') {
			/* An unparseable hop ends the walk: what lies left is unknown. */
			if (proxy_parse(hop, a) < 0)
				return -1;
			if (!proxy_loopback(a) && !proxy_trusted(st, a)) {
				proxy_format(a, client);
				return 0;
			}
		}
		if (comma == NULL)
			break;
		*comma = '\0';
	}
	if (req->forwarded_for[0] == '\0' && st->allow_real_ip_fallback &&
	    proxy_parse(req->real_ip, a) == 0) {
		proxy_format(a, client);
		return 0;
	}
	return -1;
}
