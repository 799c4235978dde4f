/* IP addresses in one form: 16 bytes, IPv4 as IPv4-mapped IPv6, so that one
 * comparison serves both families. Facts about addresses only (which ranges are
 * loopback or private); what a locality means is brokerd's business. */
#ifndef CLAWGATE_IPADDR_H
#define CLAWGATE_IPADDR_H

#include <stddef.h>
#include <stdint.h>

struct sockaddr;

enum ipaddr_class {
	IPADDR_LOOPBACK,	/* 127/8, ::1 */
	IPADDR_PRIVATE,		/* RFC 1918, 169.254/16, fc00::/7, fe80::/10 */
	IPADDR_PUBLIC,
};

/* -1 if text is not an IPv4 or IPv6 address. */
int ipaddr_parse(const char *text, uint8_t a[16]);
/* -1 unless sa is AF_INET or AF_INET6. */
int ipaddr_from_sockaddr(const struct sockaddr *sa, uint8_t a[16]);
/* Text of a; an IPv4(-mapped) address as plain IPv4. */
void ipaddr_format(const uint8_t a[16], char *out, size_t outsz);
enum ipaddr_class ipaddr_classify(const uint8_t a[16]);
/* The key a per-address budget counts a under: an IPv4 (or IPv4-mapped)
 * address as it is, an IPv6 address masked to its /64, as one host usually
 * holds a whole /64. key may be a. */
void ipaddr_budget_key(const uint8_t addr[16], uint8_t key[16]);

/* "addr" or "addr/prefix" (prefix up to 32 for IPv4, 128 for IPv6); bits are
 * counted in the 16-byte form. -1 if malformed. */
int ipaddr_cidr_parse(const char *text, uint8_t net[16], unsigned *bits);
int ipaddr_in_cidr(const uint8_t a[16], const uint8_t net[16], unsigned bits);

#endif
