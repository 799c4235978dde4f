#include "brokerd/origin.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>


/* An origin split up: lower-cased "scheme://authority", the authority
 * ("host[:port]") and the bare hostname (no brackets, no port). */
struct origin_parts {
	char normalised[PROTO_TEXT_MAX + 1];
	char authority[PROTO_TEXT_MAX + 1];
	char hostname[PROTO_TEXT_MAX + 1];
};

/* Splits "host[:port]" or "[v6][:port]" into its hostname; -1 if malformed. */
static int
origin_hostname(const char *authority, char *out, size_t outsz)
{
	const char *end;
	size_t n;

	if (authority[0] == '[') {
		if ((end = strchr(authority, ']')) == NULL || (end[1] != '\0' && end[1] != ':'))
			return -1;
		authority++;
	} else {
		end = authority + strcspn(authority, ":");
		if (strchr(end + (*end != '\0'), ':') != NULL)
			return -1;
	}
	if ((n = (size_t)(end - authority)) == 0 || n >= outsz)
		return -1;
	memcpy(out, authority, n);
	out[n] = '\0';
	return 0;
}

/* "null", credentials, paths, other schemes and odd bytes all fail (§4.7). */
static int
origin_parse(const char *origin, struct origin_parts *p)
{
	size_t i, n = strlen(origin);
	const char *auth;

	if (n == 0 || n >= sizeof(p->normalised))
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)origin[i];

		if (c <= 0x20 || c >= 0x7f || c == '@' || c == '\\')
			return -1;
		p->normalised[i] = (char)tolower(c);
	}
	p->normalised[n] = '\0';
	if (strncmp(p->normalised, "http://", 7) == 0)
		auth = p->normalised + 7;
	else if (strncmp(p->normalised, "https://", 8) == 0)
		auth = p->normalised + 8;
	else
		return -1;
	if (strpbrk(auth, "/?#@") != NULL)
		return -1;
	snprintf(p->authority, sizeof(p->authority), "%s", auth);
	return origin_hostname(p->authority, p->hostname, sizeof(p->hostname));
}

static int
origin_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

/* Rule (3)'s hostnames: a private or loopback IP literal, *.local, *.ts.net. */
static int
origin_same_host_kind(const char *hostname)
{
	return locality_ip_private_or_loopback(hostname) || origin_ends_with(hostname, ".local") ||
	    origin_ends_with(hostname, ".ts.net");
}

static int
origin_hostname_loopback(const char *hostname)
{
	return strcmp(hostname, "localhost") == 0 || locality_ip_loopback(hostname);
}

int
origin_allowed(const struct config *cfg, const char *origin, const char *host,
    enum locality loc)
{
	struct origin_parts p;
	char host_lc[PROTO_TEXT_MAX + 1], host_name[PROTO_TEXT_MAX + 1];
	size_t i;

	if (origin_parse(origin, &p) < 0)
		return 0;
	/* (1) listed, or everything allowed */
	for (i = 0; i < cfg->nallowed_origins; i++)
		if (strcmp(cfg->allowed_origins[i], "*") == 0 ||
		    strcmp(cfg->allowed_origins[i], p.normalised) == 0)
			return 1;
	for (i = 0; host[i] != '\0' && i < sizeof(host_lc) - 1; i++)
		host_lc[i] = (char)tolower((unsigned char)host[i]);
	host_lc[i] = '\0';
	if (host_lc[0] != '\0' && strcmp(host_lc, p.authority) == 0) {
		/* (2) the Host fallback, when asked for */
		if (cfg->origin_host_fallback)
			return 1;
		/* (3) same host, of a kind that cannot be a public site; loopback
		 * only for local clients (the Docker-NAT browser is one) */
		if (origin_hostname(host_lc, host_name, sizeof(host_name)) == 0 &&
		    ((origin_hostname_loopback(host_name) && loc != LOCALITY_REMOTE) ||
		    origin_same_host_kind(host_name)))
			return 1;
	}
	/* (4) a direct local connection from a loopback page */
	return loc == LOCALITY_DIRECT_LOCAL && origin_hostname_loopback(p.hostname);
}
