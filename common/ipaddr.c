#include "common/ipaddr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static const uint8_t ipaddr_mapped[12] = { [10] = 0xff, [11] = 0xff };

static int
ipaddr_is_v4(const uint8_t a[16])
{
	return memcmp(a, ipaddr_mapped, sizeof(ipaddr_mapped)) == 0;
}

static void
ipaddr_set_v4(uint8_t a[16], const void *v4)
{
	memcpy(a, ipaddr_mapped, sizeof(ipaddr_mapped));
	memcpy(a + 12, v4, 4);
}

int
ipaddr_parse(const char *text, uint8_t a[16])
{
	uint8_t v4[4];

	if (inet_pton(AF_INET, text, v4) == 1) {
		ipaddr_set_v4(a, v4);
		return 0;
	}
	return inet_pton(AF_INET6, text, a) == 1 ? 0 : -1;
}

int
ipaddr_from_sockaddr(const struct sockaddr *sa, uint8_t a[16])
{
	if (sa->sa_family == AF_INET) {
		ipaddr_set_v4(a, &((const struct sockaddr_in *)sa)->sin_addr);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return 0;
	}
	return -1;
}

void
ipaddr_format(const uint8_t a[16], char *out, size_t outsz)
{
	const char *ok = ipaddr_is_v4(a) ? inet_ntop(AF_INET, a + 12, out, (socklen_t)outsz) :
	    inet_ntop(AF_INET6, a, out, (socklen_t)outsz);

	if (ok == NULL)
		snprintf(out, outsz, "unknown");
}

enum ipaddr_class
ipaddr_classify(const uint8_t a[16])
{
	static const uint8_t v6_loopback[16] = { [15] = 1 };
	const uint8_t *v4 = a + 12;

	if (ipaddr_is_v4(a)) {
		if (v4[0] == 127)
			return IPADDR_LOOPBACK;
		if (v4[0] == 10 || (v4[0] == 172 && (v4[1] & 0xf0) == 16) ||
		    (v4[0] == 192 && v4[1] == 168) || (v4[0] == 169 && v4[1] == 254))
			return IPADDR_PRIVATE;
		return IPADDR_PUBLIC;
	}
	if (memcmp(a, v6_loopback, sizeof(v6_loopback)) == 0)
		return IPADDR_LOOPBACK;
	if ((a[0] & 0xfe) == 0xfc || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80))
		return IPADDR_PRIVATE;
	return IPADDR_PUBLIC;
}

void
ipaddr_budget_key(const uint8_t addr[16], uint8_t key[16])
{
	memmove(key, addr, 16);
	if (!ipaddr_is_v4(addr))
		memset(key + 8, 0, 8);
}

int
ipaddr_cidr_parse(const char *text, uint8_t net[16], unsigned *bits)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	unsigned prefix = 0, max;

	if (n == 0 || n >= sizeof(addr))
		return -1;
	memcpy(addr, text, n);
	addr[n] = '\0';
	if (ipaddr_parse(addr, net) < 0)
		return -1;
	max = ipaddr_is_v4(net) && strchr(addr, ':') == NULL ? 32 : 128;
	if (slash == NULL) {
		*bits = 128;
		return 0;
	}
	if (slash[1] == '\0' || strlen(slash + 1) > 3)
		return -1;
	for (const char *p = slash + 1; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		prefix = prefix * 10 + (unsigned)(*p - '0');
	}
	if (prefix > max)
		return -1;
	/* An IPv4 prefix counts within the mapped form. */
	*bits = max == 32 ? prefix + 96 : prefix;
	return 0;
}

int
ipaddr_in_cidr(const uint8_t a[16], const uint8_t net[16], unsigned bits)
{
	if (bits > 128 || memcmp(a, net, bits / 8) != 0)
		return 0;
	return bits % 8 == 0 ||
	    ((a[bits / 8] ^ net[bits / 8]) & (uint8_t)(0xff << (8 - bits % 8))) == 0;
}
