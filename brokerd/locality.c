#include "brokerd/locality.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

enum ip_class { IP_INVALID, IP_LOOPBACK, IP_PRIVATE, IP_PUBLIC };

static enum ip_class
ip_class_v4(const uint8_t a[4])
{
	if (a[0] == 127)
		return IP_LOOPBACK;
	if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
	    (a[0] == 192 && a[1] == 168) || (a[0] == 169 && a[1] == 254))
		return IP_PRIVATE;
	return IP_PUBLIC;
}

/* Loopback 127/8 and ::1; private RFC 1918, link-local, IPv6 ULA fc00::/7 and
 * link-local fe80::/10. An IPv4-mapped IPv6 address is its IPv4 address. */
static enum ip_class
ip_class(const char *ip)
{
	static const uint8_t v6_loopback[16] = { [15] = 1 };
	static const uint8_t v4_mapped[12] = { [10] = 0xff, [11] = 0xff };
	uint8_t a[16];

	if (inet_pton(AF_INET, ip, a) == 1)
		return ip_class_v4(a);
	if (inet_pton(AF_INET6, ip, a) != 1)
		return IP_INVALID;
	if (memcmp(a, v4_mapped, sizeof(v4_mapped)) == 0)
		return ip_class_v4(a + 12);
	if (memcmp(a, v6_loopback, sizeof(v6_loopback)) == 0)
		return IP_LOOPBACK;
	if ((a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80))
		return IP_PRIVATE;
	return IP_PUBLIC;
}

int
locality_ip_loopback(const char *ip)
{
	return ip_class(ip) == IP_LOOPBACK;
}

int
locality_ip_private_or_loopback(const char *ip)
{
	enum ip_class c = ip_class(ip);

	return c == IP_LOOPBACK || c == IP_PRIVATE;
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
	return strcasecmp(host, "localhost") == 0 || ip_class(host) == IP_LOOPBACK;
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
	enum ip_class peer = ip_class(c->peer_ip);

	if (peer == IP_LOOPBACK && !c->proxy_headers)
		return LOCALITY_DIRECT_LOCAL;
	/* A browser on the host reaching the gateway in a container through NAT. The
	 * rule says "peer private or loopback"; a loopback peer matched above. */
	if (browser && shared_ok && !c->proxy_headers && c->origin[0] != '\0' &&
	    peer == IP_PRIVATE && host_loopback(c->host, 0) &&
	    host_loopback(c->origin, 1))
		return LOCALITY_BROWSER_CONTAINER_LOCAL;
	return LOCALITY_REMOTE;
}
