/* clawgate.relay: the upstream OpenClaw gateway that admitted sessions are
 * carried to, and the trusted-proxy headers that name clawgate to it
 * (doc/relay.md). Every value is checked here, so that gatewayd builds the
 * upstream's upgrade from values it can put on the wire as they are. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brokerd/config.h"
#include "brokerd/configread.h"
#include "brokerd/problem.h"
#include "common/ipaddr.h"

#define RELAY_DEFAULT_USER_HEADER "x-clawgate-user"
#define RELAY_DEFAULT_USER "clawgate"
#define RELAY_DEFAULT_REQUIRED_HEADER "x-clawgate-relay"
#define RELAY_DEFAULT_PLACEHOLDER "192.0.2.1"

#define RELAY(...) ((const char *const[]){ "clawgate", "relay", __VA_ARGS__, NULL })

/* Headers gatewayd writes itself on the upstream upgrade; none of them may be
 * the identity or a required header. */
static const char *const relay_reserved_headers[] = {
	"host", "upgrade", "connection", "origin", "forwarded", "x-real-ip",
	"x-openclaw-scopes", "content-length", "transfer-encoding",
};

/* RFC 9110 token characters: what a header name is made of. */
static int
relay_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* A header name clawgate may send with its own value, lower-cased into out. */
static int
relay_header_name(char out[PROTO_NAME_MAX + 1], const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > PROTO_NAME_MAX)
		return -1;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && !relay_tchar((unsigned char)s[i]))
			return -1;
		out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
	}
	if (strncmp(out, "sec-websocket-", 14) == 0 || strncmp(out, "x-forwarded-", 12) == 0)
		return -1;
	for (size_t i = 0; i < sizeof(relay_reserved_headers) / sizeof(*relay_reserved_headers);
	    i++)
		if (strcmp(out, relay_reserved_headers[i]) == 0)
			return -1;
	return 0;
}

static void
relay_bad_header(const char *what, const char *value)
{
	problem_report("%s: %s \"%s\" is not a header name clawgate may set: use a header name "
	    "(letters, digits and !#$%%&'*+-.^_`|~, at most %d), not one clawgate writes "
	    "itself (Host, Origin, Forwarded, X-Forwarded-*, X-Real-IP, X-OpenClaw-Scopes, "
	    "Sec-WebSocket-*), e.g. \"%s\"",
	    config_file_name(), what, value, PROTO_NAME_MAX,
	    strcmp(what, "clawgate.relay.userHeader") == 0 ? RELAY_DEFAULT_USER_HEADER :
	    RELAY_DEFAULT_REQUIRED_HEADER);
}

static int
relay_bad_url(const char *url, const char *why)
{
	problem_report("%s: clawgate.relay.upstream \"%s\" %s: write the upstream OpenClaw gateway's "
	    "address as ws://ADDRESS:PORT, e.g. \"ws://127.0.0.1:28811\" or "
	    "\"ws://[fd00::2]:28811\"", config_file_name(), url, why);
	return -1;
}

/* ws://ADDR:PORT with an optional "/": ADDR an IPv4 address or a bracketed IPv6
 * one. gatewayd connects from its sandbox, where no names are looked up, and
 * speaks plain WebSocket to an upstream that only it can reach. */
static int
relay_url(struct proto_relay *relay, const char *url, uint16_t own_port)
{
	const char *host, *colon, *end;
	char addr[PROTO_ADDR_MAX + 1], *stop;
	uint8_t bytes[16];
	unsigned long port;

	if (strlen(url) > PROTO_TEXT_MAX)
		return relay_bad_url(url, "is too long");
	if (strncmp(url, "wss://", 6) == 0)
		return relay_bad_url(url, "uses TLS, which clawgate does not speak to the upstream "
		    "(keep the upstream on loopback or a private network only clawgate reaches)");
	if (strncmp(url, "ws://", 5) != 0)
		return relay_bad_url(url, "is not a ws:// URL");
	host = url + 5;
	if (*host == '[') {
		if ((end = strchr(host, ']')) == NULL)
			return relay_bad_url(url, "has an unclosed [");
		colon = end + 1;
		host++;
	} else {
		end = colon = strchr(host, ':');
		if (colon == NULL)
			return relay_bad_url(url, "has no port");
	}
	if (*colon != ':')
		return relay_bad_url(url, "has no port");
	if ((size_t)(end - host) > PROTO_ADDR_MAX)
		return relay_bad_url(url, "has an address that is too long");
	memcpy(addr, host, (size_t)(end - host));
	addr[end - host] = '\0';
	if (ipaddr_parse(addr, bytes) < 0)
		return relay_bad_url(url, strcmp(addr, "localhost") == 0 ?
		    "names localhost (write 127.0.0.1: gatewayd looks up no names)" :
		    "does not name an IP address (gatewayd looks up no names)");
	port = strtoul(colon + 1, &stop, 10);
	if (colon[1] < '0' || colon[1] > '9' || port == 0 || port > 65535)
		return relay_bad_url(url, "has no port from 1 to 65535");
	if (*stop != '\0' && strcmp(stop, "/") != 0)
		return relay_bad_url(url, "has a path (the upstream serves WebSocket at /)");
	if (port == own_port && ipaddr_classify(bytes) == IPADDR_LOOPBACK)
		return relay_bad_url(url, "is clawgate's own gateway.port: run the upstream on "
		    "another port");
	snprintf(relay->addr, sizeof(relay->addr), "%s", addr);
	snprintf(relay->host, sizeof(relay->host), "%.*s", (int)(stop - url - 5), url + 5);
	relay->port = (uint16_t)port;
	return 0;
}

/* The identity's value: visible ASCII without space or comma, as a header value
 * the upstream compares with its auth.trustedProxy.allowUsers. */
static void
relay_user(struct proto_relay *relay, yajl_val root)
{
	const char *user = config_str(root, RELAY("user"), "clawgate.relay.user");
	size_t len;

	if (user == NULL)
		user = RELAY_DEFAULT_USER;
	len = strlen(user);
	if (len == 0 || len > PROTO_NAME_MAX || strchr(user, ',') != NULL ||
	    !proto_str_ok(user, len, PROTO_NAME_MAX, PROTO_CS_ATOM)) {
		problem_report("%s: clawgate.relay.user \"%s\" must be 1 to %d visible ASCII characters "
		    "without spaces or commas, the name in the upstream's "
		    "gateway.auth.trustedProxy.allowUsers, e.g. \"%s\"", config_file_name(), user,
		    PROTO_NAME_MAX, RELAY_DEFAULT_USER);
		return;
	}
	snprintf(relay->user, sizeof(relay->user), "%s", user);
}

static void
relay_required_headers(struct proto_relay *relay, yajl_val root)
{
	yajl_val list = config_get(root, RELAY("requiredHeaders"), JTREE_ARRAY,
	    "clawgate.relay.requiredHeaders");
	char what[64];

	if (list == NULL) {
		relay->nrequired_headers = 1;
		snprintf(relay->required_headers[0], sizeof(relay->required_headers[0]), "%s",
		    RELAY_DEFAULT_REQUIRED_HEADER);
		return;
	}
	if (list->u.array.len > PROTO_MAX_RELAY_HEADERS) {
		problem_report("%s: clawgate.relay.requiredHeaders has %zu names, at most %d: list the "
		    "upstream's gateway.auth.trustedProxy.requiredHeaders", config_file_name(),
		    list->u.array.len, PROTO_MAX_RELAY_HEADERS);
		return;
	}
	for (size_t i = 0; i < list->u.array.len; i++) {
		const char *name = jtree_str_at(list, i, NULL);
		char *slot = relay->required_headers[relay->nrequired_headers];

		snprintf(what, sizeof(what), "clawgate.relay.requiredHeaders[%zu]", i);
		if (name == NULL) {
			problem_report("%s: %s must be a string, a header name like \"%s\"",
			    config_file_name(), what, RELAY_DEFAULT_REQUIRED_HEADER);
			return;
		}
		if (relay_header_name(slot, name) < 0) {
			relay_bad_header(what, name);
			return;
		}
		if (strcmp(slot, relay->user_header) == 0) {
			problem_report("%s: %s is clawgate.relay.userHeader too: a required header "
			    "carries no identity; name another header", config_file_name(), what);
			return;
		}
		for (uint32_t j = 0; j < relay->nrequired_headers; j++)
			if (strcmp(slot, relay->required_headers[j]) == 0) {
				problem_report("%s: %s \"%s\" is listed twice: remove one",
				    config_file_name(), what, name);
				return;
			}
		relay->nrequired_headers++;
	}
}

/* Stands for a loopback client in X-Forwarded-For: the upstream refuses a
 * loopback address there (403), and treats its own trustedProxies as proxies. */
static void
relay_placeholder(struct proto_relay *relay, yajl_val root)
{
	const char *ip = config_str(root, RELAY("clientIpPlaceholder"),
	    "clawgate.relay.clientIpPlaceholder");
	uint8_t bytes[16];

	if (ip == NULL)
		ip = RELAY_DEFAULT_PLACEHOLDER;
	if (strlen(ip) > PROTO_ADDR_MAX || ipaddr_parse(ip, bytes) < 0 ||
	    ipaddr_classify(bytes) == IPADDR_LOOPBACK) {
		problem_report("%s: clawgate.relay.clientIpPlaceholder \"%s\" must be an IP address "
		    "that is not loopback and not in the upstream's gateway.trustedProxies, "
		    "e.g. \"%s\"", config_file_name(), ip, RELAY_DEFAULT_PLACEHOLDER);
		return;
	}
	snprintf(relay->client_ip_placeholder, sizeof(relay->client_ip_placeholder), "%s", ip);
}

static const char *const relay_guard_names[] = { "nftables", "upstream" };

const char *
config_relay_guard_name(enum relay_guard guard)
{
	return relay_guard_names[guard];
}

/* Only reporting depends on it: gatewayd relays the same either way. */
static void
relay_guard(struct config *cfg, yajl_val root)
{
	const char *guard = config_str(root, RELAY("guard"), "clawgate.relay.guard");

	cfg->relay_guard = RELAY_GUARD_NFTABLES;
	if (guard == NULL)
		return;
	for (size_t i = 0; i < sizeof(relay_guard_names) / sizeof(*relay_guard_names); i++)
		if (strcmp(guard, relay_guard_names[i]) == 0) {
			cfg->relay_guard = (enum relay_guard)i;
			return;
		}
	problem_report("%s: clawgate.relay.guard \"%s\" is not a place clawgate knows the "
	    "upstream's guard in: write \"nftables\" (this host's table inet clawgate_guard, "
	    "which clawgate-relay-guard@PORT.service loads; the default) or \"upstream\" (the "
	    "upstream guards its own port, as the openclaw container of compose.yaml does)",
	    config_file_name(), guard);
}

void
config_relay(struct config *cfg, yajl_val root)
{
	struct proto_relay *relay = &cfg->relay;
	const char *url = config_str(root, RELAY("upstream"), "clawgate.relay.upstream");
	const char *header;
	const char *const section[] = { "clawgate", "relay", NULL };

	memset(relay, 0, sizeof(*relay));
	cfg->relay_url[0] = '\0';
	if (url == NULL) {
		if (jtree_path(root, section) != NULL)
			problem_report("%s: clawgate.relay has no upstream: set clawgate.relay.upstream to "
			    "the OpenClaw gateway's address (e.g. \"ws://127.0.0.1:28811\"), or "
			    "remove clawgate.relay to run without relay mode", config_file_name());
		return;
	}
	if (relay_url(relay, url, cfg->port) < 0)
		return;
	snprintf(cfg->relay_url, sizeof(cfg->relay_url), "%s", url);
	header = config_str(root, RELAY("userHeader"), "clawgate.relay.userHeader");
	if (header == NULL)
		header = RELAY_DEFAULT_USER_HEADER;
	/* A bad one is reported; the other keys are still checked. */
	if (relay_header_name(relay->user_header, header) < 0) {
		relay_bad_header("clawgate.relay.userHeader", header);
		relay->user_header[0] = '\0';
	}
	relay_user(relay, root);
	relay_required_headers(relay, root);
	relay_placeholder(relay, root);
	relay_guard(cfg, root);
}
