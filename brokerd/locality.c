#include "brokerd/locality.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "common/ipaddr.h"

/* The class of a textual address, -1 if it is none; an IPv4-mapped IPv6
 * address counts as its IPv4 address. */
static int
ip_class(const char *ip)
{
	uint8_t a[16];

	return ipaddr_parse(ip, a) < 0 ? -1 : (int)ipaddr_classify(a);
}

int
locality_ip_loopback(const char *ip)
{
	return ip_class(ip) == IPADDR_LOOPBACK;
}

int
locality_ip_private_or_loopback(const char *ip)
{
	int c = ip_class(ip);

	return c == IPADDR_LOOPBACK || c == IPADDR_PRIVATE;
}

/* Whether the host part of a Host header ("h", "h:port", "[v6]:port") or of an
 * Origin ("scheme://host[:port]") is loopback: localhost or a loopback literal. */
static int
host_loopback(const char *s, int is_origin)
{
	char host[PROTO_TEXT_MAX + 1];
	const char *p, *end;
	size_t n;

	if (is_origin) {
		if ((p = strstr(s, "://")) == NULL)
			return 0;
		s = p + 3;
	}
	if (*s == '[') {
		s++;
		end = strchr(s, ']');
	} else {
		end = s + strcspn(s, ":/");
	}
	if (end == NULL || (n = (size_t)(end - s)) == 0 || n >= sizeof(host))
		return 0;
	memcpy(host, s, n);
	host[n] = '\0';
	return strcasecmp(host, "localhost") == 0 || ip_class(host) == IPADDR_LOOPBACK;
}

const char *
locality_name(enum locality loc)
{
	switch (loc) {
	case LOCALITY_DIRECT_LOCAL:
		return "direct-local";
	case LOCALITY_BROWSER_CONTAINER_LOCAL:
		return "browser-container-local";
	case LOCALITY_REMOTE:
		break;
	}
	return "remote";
}

enum locality
locality_of(const struct proto_connect *c, int browser, int shared_ok)
{
	int peer = ip_class(c->peer_ip);

	if (peer == IPADDR_LOOPBACK && !c->proxy_headers)
		return LOCALITY_DIRECT_LOCAL;
	/* A browser on the host reaching the gateway in a container through NAT. The
	 * rule says "peer private or loopback"; a loopback peer matched above. */
	if (browser && shared_ok && !c->proxy_headers && c->origin[0] != '\0' &&
	    peer == IPADDR_PRIVATE && host_loopback(c->host, 0) &&
	    host_loopback(c->origin, 1))
		return LOCALITY_BROWSER_CONTAINER_LOCAL;
	return LOCALITY_REMOTE;
}
