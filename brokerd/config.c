#include "brokerd/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "brokerd/configfile.h"
#include "brokerd/configread.h"
#include "brokerd/fileio.h"
#include "brokerd/jtree.h"
#include "brokerd/problem.h"
#include "brokerd/secret.h"
#include "common/ipaddr.h"
#include "common/log.h"
#include "common/xmalloc.h"

#define CONFIG_FILE_MAX (1u << 20)
/* OPENCLAW_HANDSHAKE_TIMEOUT_MS may raise the timeout, up to this. */
#define CONFIG_HANDSHAKE_TIMEOUT_MAX_MS 600000
#define CONFIG_MAX_PREAUTH_PER_IP 32
#define CONFIG_MAX_PREAUTH_PER_IP_MAX 65536

/* The file being read, for messages. */
static const char *config_file;
/* Where config_read opens a file whose directory config_pin opened: the
 * directory's descriptor and the name in it. A broker chrooted to its state
 * directory re-reads its configuration through them. */
static struct {
	int dirfd;
	char *path;
	char *name;
} config_pinned = { -1, NULL, NULL };

const char *
config_file_name(void)
{
	return config_file;
}

yajl_val
config_get(yajl_val root, const char *const path[], enum jtree_kind kind, const char *what)
{
	yajl_val v = jtree_path(root, path);

	if (v != NULL && !jtree_is(v, kind)) {
		problem_report("%s: %s must be %s", config_file, what, jtree_kind_name(kind));
		return NULL;
	}
	return v;
}

#define GW(...) ((const char *const[]){ "gateway", __VA_ARGS__, NULL })

const char *
config_str(yajl_val root, const char *const path[], const char *what)
{
	yajl_val v = config_get(root, path, JTREE_STRING, what);

	return v ? YAJL_GET_STRING(v) : NULL;
}

/* Strict decimal in [min, max]; -1 if s is anything else. */
static long long
config_parse_int(const char *s, long long min, long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	return v;
}

static void
config_add_bind(struct config *cfg, const char *addr)
{
	snprintf(cfg->bind[cfg->nbind++], sizeof(cfg->bind[0]), "%s", addr);
}

static void
config_binds(struct config *cfg, yajl_val root)
{
	const char *bind = config_str(root, GW("bind"), "gateway.bind");
	const char *host;
	unsigned char addr[sizeof(struct in6_addr)];

	/* clawgate runs on a host, not in OpenClaw's container image: auto = loopback. */
	if (bind == NULL || strcmp(bind, "loopback") == 0 || strcmp(bind, "auto") == 0) {
		config_add_bind(cfg, "127.0.0.1");
		config_add_bind(cfg, "::1");
	} else if (strcmp(bind, "lan") == 0) {
		/* Both families; gatewayd goes on without "::" on a host without IPv6. */
		config_add_bind(cfg, "0.0.0.0");
		config_add_bind(cfg, "::");
	} else if (strcmp(bind, "custom") == 0) {
		host = config_str(root, GW("customBindHost"), "gateway.customBindHost");
		if (host == NULL) {
			problem_report("%s: gateway.bind is \"custom\" but gateway.customBindHost is "
			    "not set: set it to the IP address to listen on", config_file);
			return;
		}
		if (strlen(host) > PROTO_ADDR_MAX || (inet_pton(AF_INET, host, addr) != 1 &&
		    inet_pton(AF_INET6, host, addr) != 1)) {
			problem_report("%s: gateway.customBindHost \"%s\" is not an IPv4 or IPv6 "
			    "address: set it to the IP address to listen on", config_file, host);
			return;
		}
		config_add_bind(cfg, host);
	} else if (strcmp(bind, "tailnet") == 0) {
		problem_report("%s: gateway.bind \"tailnet\" is not supported by clawgate yet: "
		    "use \"custom\" with gateway.customBindHost set to the tailnet address",
		    config_file);
		return;
	} else {
		problem_report("%s: gateway.bind \"%s\" is not one of loopback, lan, auto, custom",
		    config_file, bind);
		return;
	}
	for (uint32_t i = 0; i < cfg->nbind; i++)
		if (strcmp(cfg->bind[i], "127.0.0.1") != 0 && strcmp(cfg->bind[i], "::1") != 0)
			log_warnx("gateway.bind listens on %s: the gateway is reachable from the "
			    "network; keep the shared token secret", cfg->bind[i]);
}

static void
config_port(struct config *cfg, yajl_val root)
{
	yajl_val v = config_get(root, GW("port"), JTREE_INT, "gateway.port");
	const char *env = getenv("OPENCLAW_GATEWAY_PORT");
	long long port = v != NULL ? YAJL_GET_INTEGER(v) : CONFIG_DEFAULT_PORT;

	if (port < 1 || port > 65535) {
		problem_report("%s: gateway.port %lld is not a TCP port: set it to one from 1 to "
		    "65535 (default %d)", config_file, port, CONFIG_DEFAULT_PORT);
		port = CONFIG_DEFAULT_PORT;
	}
	if (env != NULL && env[0] != '\0' && (port = config_parse_int(env, 1, 65535)) < 0) {
		problem_report("OPENCLAW_GATEWAY_PORT=\"%s\" is not a TCP port (1-65535): fix or "
		    "unset it", env);
		port = CONFIG_DEFAULT_PORT;
	}
	cfg->port = (uint16_t)port;
}

static void
config_handshake_timeout(struct config *cfg)
{
	const char *env = getenv("OPENCLAW_HANDSHAKE_TIMEOUT_MS");
	long long ms;

	cfg->handshake_timeout_ms = CONFIG_HANDSHAKE_TIMEOUT_MS;
	if (env == NULL || env[0] == '\0')
		return;
	ms = config_parse_int(env, 1, CONFIG_HANDSHAKE_TIMEOUT_MAX_MS);
	if (ms < 0)
		problem_report("OPENCLAW_HANDSHAKE_TIMEOUT_MS=\"%s\" is not a number of "
		    "milliseconds (at most %d): fix or unset it", env,
		    CONFIG_HANDSHAKE_TIMEOUT_MAX_MS);
	/* The variable may only raise the timeout (doc/protocol.md §1). */
	else if (ms < CONFIG_HANDSHAKE_TIMEOUT_MS)
		log_warnx("OPENCLAW_HANDSHAKE_TIMEOUT_MS=%lld is below the %d ms minimum: "
		    "using %d", ms, CONFIG_HANDSHAKE_TIMEOUT_MS, CONFIG_HANDSHAKE_TIMEOUT_MS);
	else
		cfg->handshake_timeout_ms = (uint32_t)ms;
}

/* doc/protocol.md §1: unauthenticated sockets per client address. */
static void
config_max_preauth(struct config *cfg)
{
	const char *env = getenv("OPENCLAW_MAX_PREAUTH_CONNECTIONS_PER_IP");
	long long n;

	cfg->max_preauth_per_ip = CONFIG_MAX_PREAUTH_PER_IP;
	if (env == NULL || env[0] == '\0')
		return;
	if ((n = config_parse_int(env, 1, CONFIG_MAX_PREAUTH_PER_IP_MAX)) < 0) {
		problem_report("OPENCLAW_MAX_PREAUTH_CONNECTIONS_PER_IP=\"%s\" is not a number "
		    "from 1 to %d: fix or unset it", env, CONFIG_MAX_PREAUTH_PER_IP_MAX);
		return;
	}
	cfg->max_preauth_per_ip = (uint32_t)n;
}

/* doc/protocol.md §4.7: the origins browsers may connect from besides the
 * gateway's own. Compared lower-cased, as origins are. */
static void
config_origins(struct config *cfg, yajl_val root)
{
	const char *path[] = { "gateway", "controlUi", "allowedOrigins", NULL };
	yajl_val list = jtree_path(root, path), v;

	v = config_get(root, GW("controlUi", "dangerouslyAllowHostHeaderOriginFallback"),
	    JTREE_BOOL, "gateway.controlUi.dangerouslyAllowHostHeaderOriginFallback");
	cfg->origin_host_fallback = v != NULL && YAJL_IS_TRUE(v);
	if (list == NULL)
		return;
	if (!jtree_is(list, JTREE_ARRAY)) {
		problem_report("%s: gateway.controlUi.allowedOrigins must be an array of origins "
		    "like \"https://host:port\"", config_file);
		return;
	}
	if (list->u.array.len > CONFIG_ALLOWED_ORIGINS_MAX) {
		problem_report("%s: gateway.controlUi.allowedOrigins has more than %d entries (use "
		    "[\"*\"] to allow every origin)", config_file, CONFIG_ALLOWED_ORIGINS_MAX);
		return;
	}
	for (size_t i = 0; i < list->u.array.len; i++) {
		const char *o = jtree_str_at(list, i, NULL);
		char *dst = cfg->allowed_origins[cfg->nallowed_origins];

		if (o == NULL || o[0] == '\0' || strlen(o) > PROTO_TEXT_MAX) {
			problem_report("%s: gateway.controlUi.allowedOrigins[%zu] must be an origin "
			    "like \"https://host:port\" of at most %d characters", config_file, i,
			    PROTO_TEXT_MAX);
			continue;
		}
		cfg->nallowed_origins++;
		for (size_t j = 0; o[j] != '\0'; j++)
			dst[j] = (char)tolower((unsigned char)o[j]);
	}
}

/* "addr" or "addr/prefix", IPv4 or IPv6, prefix within the address's bits. */
static int
config_cidr_ok(const char *s)
{
	uint8_t net[16];
	unsigned bits;

	return strlen(s) <= PROTO_ADDR_MAX && ipaddr_cidr_parse(s, net, &bits) == 0;
}

static void
config_trusted_proxies(struct config *cfg, yajl_val root)
{
	const char *path[] = { "gateway", "trustedProxies", NULL };
	yajl_val list = jtree_path(root, path), v;

	v = config_get(root, GW("allowRealIpFallback"), JTREE_BOOL, "gateway.allowRealIpFallback");
	cfg->allow_real_ip_fallback = v != NULL && YAJL_IS_TRUE(v);
	if (list == NULL)
		return;
	if (!jtree_is(list, JTREE_ARRAY) || list->u.array.len > PROTO_MAX_PROXIES) {
		problem_report("%s: gateway.trustedProxies must be an array of at most %d "
		    "addresses or CIDRs like \"10.0.0.0/8\"", config_file, PROTO_MAX_PROXIES);
		return;
	}
	for (size_t i = 0; i < list->u.array.len; i++) {
		const char *p = jtree_str_at(list, i, NULL);

		if (p == NULL || !config_cidr_ok(p)) {
			problem_report("%s: gateway.trustedProxies[%zu] is not an IP address or CIDR "
			    "like \"10.0.0.0/8\" or \"::1\"", config_file, i);
			continue;
		}
		snprintf(cfg->trusted_proxies[cfg->ntrusted_proxies++],
		    sizeof(cfg->trusted_proxies[0]), "%s", p);
	}
}

/* gateway.tls (§8): enabled with both paths (gatewayd reads the files) or with
 * neither, when autoGenerate (default true, as OpenClaw's) has brokerd keep a
 * self-signed pair in its state dir. */
static void
config_tls(struct config *cfg, yajl_val root)
{
	yajl_val v = config_get(root, GW("tls", "enabled"), JTREE_BOOL, "gateway.tls.enabled");
	yajl_val gen = config_get(root, GW("tls", "autoGenerate"), JTREE_BOOL,
	    "gateway.tls.autoGenerate");
	const char *cert = config_str(root, GW("tls", "certPath"), "gateway.tls.certPath");
	const char *key = config_str(root, GW("tls", "keyPath"), "gateway.tls.keyPath");

	cfg->tls_enabled = v != NULL && YAJL_IS_TRUE(v);
	if (!cfg->tls_enabled)
		return;
	if (cert == NULL && key == NULL && (gen == NULL || YAJL_IS_TRUE(gen))) {
		cfg->tls_auto = 1;
		return;
	}
	if (cert == NULL || key == NULL || cert[0] != '/' || key[0] != '/' ||
	    strlen(cert) > PROTO_TEXT_MAX || strlen(key) > PROTO_TEXT_MAX) {
		problem_report("%s: gateway.tls.enabled needs both gateway.tls.certPath and "
		    "gateway.tls.keyPath, absolute paths of a PEM certificate (chain) and its "
		    "private key, or neither, with gateway.tls.autoGenerate true (the default), "
		    "for a self-signed certificate brokerd generates and keeps in its state "
		    "directory", config_file);
		return;
	}
	snprintf(cfg->tls_cert_path, sizeof(cfg->tls_cert_path), "%s", cert);
	snprintf(cfg->tls_key_path, sizeof(cfg->tls_key_path), "%s", key);
}

/* A secret from the config file if configured there, else from the environment. */
static char *
config_secret(yajl_val root, const char *key, const char *what, const char *envname,
    enum secret_source *src)
{
	const char *v = config_str(root, GW("auth", key), what);

	*src = SECRET_SOURCE_NONE;
	if (secret_configured(v)) {
		*src = SECRET_SOURCE_CONFIG;
		return xstrdup(v);
	}
	v = getenv(envname);
	if (secret_configured(v)) {
		*src = SECRET_SOURCE_ENV;
		return xstrdup(v);
	}
	return NULL;
}

/* gateway.controlUi.root: gatewayd opens it itself (before its sandbox), so
 * only its shape is checked here. */
static void
config_ui_root(struct config *cfg, yajl_val root)
{
	const char *dir = config_str(root, GW("controlUi", "root"), "gateway.controlUi.root");

	if (dir == NULL || dir[0] == '\0')
		return;
	if (dir[0] != '/' || strlen(dir) > PROTO_PATH_MAX ||
	    !proto_str_ok(dir, strlen(dir), PROTO_PATH_MAX, PROTO_CS_TEXT)) {
		problem_report("%s: gateway.controlUi.root must be an absolute directory path of at most "
		    "%d characters, e.g. /usr/lib/node_modules/openclaw/dist/control-ui", config_file,
		    PROTO_PATH_MAX);
		return;
	}
	memcpy(cfg->ui_root, dir, strlen(dir) + 1);
}

static void
config_auth(struct config *cfg, yajl_val root)
{
	const char *mode = config_str(root, GW("auth", "mode"), "gateway.auth.mode");

	cfg->token = config_secret(root, "token", "gateway.auth.token", "OPENCLAW_GATEWAY_TOKEN",
	    &cfg->token_source);
	cfg->password = config_secret(root, "password", "gateway.auth.password",
	    "OPENCLAW_GATEWAY_PASSWORD", &cfg->password_source);
	if (mode == NULL) {
		/* OpenClaw's rule: password if only a password is set; explicit if both. */
		if (cfg->token != NULL && cfg->password != NULL)
			problem_report("%s: both a gateway token and a gateway password are set: "
			    "choose one with gateway.auth.mode (\"token\" or \"password\")",
			    config_file);
		cfg->auth_mode = cfg->password != NULL ? AUTH_MODE_PASSWORD : AUTH_MODE_TOKEN;
	} else if (strcmp(mode, "token") == 0) {
		cfg->auth_mode = AUTH_MODE_TOKEN;
	} else if (strcmp(mode, "password") == 0) {
		cfg->auth_mode = AUTH_MODE_PASSWORD;
	} else if (strcmp(mode, "none") == 0) {
		cfg->auth_mode = AUTH_MODE_NONE;
		log_warnx("%s: gateway.auth.mode is \"none\": anyone who can reach the gateway "
		    "can connect", config_file);
	} else if (strcmp(mode, "trusted-proxy") == 0) {
		problem_report("%s: gateway.auth.mode \"trusted-proxy\" is not supported yet: "
		    "use \"token\" or \"password\"", config_file);
	} else {
		problem_report("%s: gateway.auth.mode \"%s\" is not one of token, password, none",
		    config_file, mode);
	}
	if (cfg->auth_mode == AUTH_MODE_PASSWORD && cfg->password == NULL)
		log_warnx("%s: gateway.auth.mode is \"password\" but no password is set "
		    "(gateway.auth.password or OPENCLAW_GATEWAY_PASSWORD): every connect will "
		    "be refused", config_file);
}

static void
config_auto_approve(struct config *cfg, yajl_val root)
{
	yajl_val v = config_get(root, GW("nodes", "pairing", "autoApproveLocal"), JTREE_BOOL,
	    "gateway.nodes.pairing.autoApproveLocal");

	cfg->auto_approve_local = v != NULL && YAJL_IS_TRUE(v);
}

/*
 * A secret written in the config file is only as safe as the file: one that
 * other accounts may read hands them the gateway. Warned about, not refused:
 * OpenClaw's own config files are commonly 0644, and refusing would stop a
 * gateway at the next restart.
 */
static void
config_check_secret_mode(const struct config *cfg)
{
	int pinned = cfg->path != NULL && config_pinned.path != NULL &&
	    strcmp(cfg->path, config_pinned.path) == 0;
	struct stat st;

	if (cfg->path == NULL || (cfg->token_source != SECRET_SOURCE_CONFIG &&
	    cfg->password_source != SECRET_SOURCE_CONFIG))
		return;
	if (fstatat(pinned ? config_pinned.dirfd : AT_FDCWD, pinned ? config_pinned.name :
	    cfg->path, &st, 0) < 0 || (st.st_mode & S_IROTH) == 0)
		return;
	log_warnx("%s holds gateway.auth.%s and every account on this host may read it "
	    "(mode %04o): anyone who reads it can connect as the gateway's admin; restrict "
	    "it with: chmod 600 %s (or chmod 640 and chgrp to brokerd's group)", cfg->path,
	    cfg->token_source == SECRET_SOURCE_CONFIG ? "token" : "password",
	    (unsigned)(st.st_mode & 07777), cfg->path);
}

/* Silent approval of local devices is for a gateway only this host can reach:
 * behind a LAN bind, "local" includes whatever a proxy or NAT makes look so. */
static void
config_check_auto_approve(const struct config *cfg)
{
	if (!cfg->auto_approve_local)
		return;
	for (uint32_t i = 0; i < cfg->nbind; i++)
		if (strcmp(cfg->bind[i], "127.0.0.1") != 0 && strcmp(cfg->bind[i], "::1") != 0) {
			log_warnx("gateway.nodes.pairing.autoApproveLocal is true while gateway.bind "
			    "listens on %s: devices that look local are paired without an admin; "
			    "set it to false unless every path to this port is trusted",
			    cfg->bind[i]);
			return;
		}
}

static void
config_decisions(struct config *cfg, yajl_val root)
{
	const char *const path[] = { "clawgate", "pairing", "decisions", NULL };
	const char *v = config_str(root, path, "clawgate.pairing.decisions");

	if (v == NULL || strcmp(v, "gateway") == 0)
		cfg->decisions_control_socket = 0;
	else if (strcmp(v, "control-socket") == 0)
		cfg->decisions_control_socket = 1;
	else
		problem_report("%s: clawgate.pairing.decisions \"%s\" is not \"gateway\" (devices are "
		    "approved over the gateway too, as OpenClaw does) or \"control-socket\" "
		    "(only gatewayctl approves, rejects, removes and rotates or revokes tokens)",
		    config_file, v);
}

static void
config_note(enum configfile_note what, const char *path, const char *suggestion, void *arg)
{
	const char *file = arg;

	if (what == CONFIGFILE_IGNORED)
		log_info("%s: %s is an OpenClaw setting that clawgate does not use: ignored by "
		    "clawgate", file, path);
	else if (suggestion != NULL)
		log_warnx("%s: unknown key %s is ignored: did you mean %s?", file, path,
		    suggestion);
	else
		log_warnx("%s: unknown key %s is ignored: neither clawgate nor OpenClaw has it "
		    "(check its spelling and where it sits, or delete it)", file, path);
}

/* The file's text, or NULL when the default file does not exist or it cannot
 * be read (a problem reported). */
static char *
config_read(const char *file, int is_default, size_t *len)
{
	int pinned = config_pinned.path != NULL && strcmp(file, config_pinned.path) == 0;
	char *text = fileio_read(pinned ? config_pinned.dirfd : AT_FDCWD,
	    pinned ? config_pinned.name : file, CONFIG_FILE_MAX, len);

	if (text != NULL)
		return text;
	if (errno == ENOENT && is_default) {
		log_info("no configuration file at %s: using the defaults (write one there or "
		    "pass --config FILE)", file);
		return NULL;
	}
	if (errno == ENOENT)
		problem_report("configuration file %s does not exist: create it ({} gives the "
		    "defaults) or correct the --config path", file);
	else if (errno == EFBIG)
		problem_report("configuration file %s is larger than %u bytes: point --config at "
		    "clawgate's JSON file", file, CONFIG_FILE_MAX);
	else if (errno == EINVAL)
		problem_report("configuration file %s is not a regular file: point --config at "
		    "clawgate's JSON file", file);
	else if (pinned)
		problem_report("cannot read configuration file %s: %s (brokerd re-reads it as "
		    "the account it runs as: make it readable to that account, e.g. chgrp "
		    "clawgate-broker %s; chmod 640 %s)", file, strerror(errno), file, file);
	else
		problem_report("cannot read configuration file %s: %s (brokerd reads it as the "
		    "user it starts as, before dropping privileges: make it readable to that "
		    "user)", file, strerror(errno));
	return NULL;
}

void
config_pin(const char *path)
{
	const char *file = path != NULL ? path : CONFIG_DEFAULT_PATH;
	const char *slash = strrchr(file, '/');
	char *dir;

	if (config_pinned.path != NULL)
		return;
	dir = slash == NULL ? xstrdup(".") : slash == file ? xstrdup("/") :
	    xstrndup(file, (size_t)(slash - file));
	config_pinned.dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (config_pinned.dirfd < 0)
		log_info("cannot open %s, the directory of the configuration file: %s; a "
		    "reload reads %s by its path", dir, strerror(errno), file);
	free(dir);
	if (config_pinned.dirfd < 0)
		return;
	config_pinned.path = xstrdup(file);
	config_pinned.name = xstrdup(slash != NULL ? slash + 1 : file);
}

void
config_unpin(void)
{
	if (config_pinned.dirfd >= 0)
		close(config_pinned.dirfd);
	free(config_pinned.path);
	free(config_pinned.name);
	config_pinned.dirfd = -1;
	config_pinned.path = config_pinned.name = NULL;
}

int
config_load(struct config *cfg, const char *path)
{
	size_t before = problem_count();
	const char *file = path != NULL ? path : CONFIG_DEFAULT_PATH;
	char errbuf[512];
	yajl_val root = NULL;
	size_t len;
	char *text;

	memset(cfg, 0, sizeof(*cfg));
	config_file = file;
	if ((text = config_read(file, path == NULL, &len)) != NULL) {
		root = configfile_parse(text, len, errbuf, sizeof(errbuf));
		free(text);
		if (root == NULL)
			problem_report("%s:%s", file, errbuf);
		else if (!YAJL_IS_OBJECT(root))
			problem_report("%s: the top level must be a JSON object, e.g. "
			    "{\"gateway\": {\"port\": 18789}}", file);
		cfg->path = xstrdup(file);
	}
	if (root != NULL && !YAJL_IS_OBJECT(root)) {
		yajl_tree_free(root);
		root = NULL;
	}
	if (root != NULL) {
		configfile_check_keys(root, config_note, (void *)file);
		config_get(root, GW(NULL), JTREE_OBJECT, "gateway");
		config_get(root, GW("auth"), JTREE_OBJECT, "gateway.auth");
		config_get(root, GW("tls"), JTREE_OBJECT, "gateway.tls");
		config_get(root, GW("controlUi"), JTREE_OBJECT, "gateway.controlUi");
		config_get(root, GW("nodes"), JTREE_OBJECT, "gateway.nodes");
		config_get(root, GW("nodes", "pairing"), JTREE_OBJECT, "gateway.nodes.pairing");
		config_get(root, (const char *const[]){ "clawgate", NULL }, JTREE_OBJECT, "clawgate");
		config_get(root, (const char *const[]){ "clawgate", "relay", NULL }, JTREE_OBJECT,
		    "clawgate.relay");
		config_get(root, (const char *const[]){ "clawgate", "pairing", NULL },
		    JTREE_OBJECT, "clawgate.pairing");
	}
	config_port(cfg, root);
	config_binds(cfg, root);
	config_handshake_timeout(cfg);
	config_max_preauth(cfg);
	config_origins(cfg, root);
	config_trusted_proxies(cfg, root);
	config_tls(cfg, root);
	config_auth(cfg, root);
	config_auto_approve(cfg, root);
	config_decisions(cfg, root);
	config_ui_root(cfg, root);
	config_gatewayctl(cfg, root);
	config_relay(cfg, root);
	config_check_secret_mode(cfg);
	config_check_auto_approve(cfg);
	yajl_tree_free(root);
	return (int)(problem_count() - before);
}

void
config_free(struct config *cfg)
{
	secret_free(cfg->token);
	secret_free(cfg->password);
	secret_free(cfg->tls_key_der);
	free(cfg->tls_cert_der);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

const char *
config_auth_mode_name(enum auth_mode mode)
{
	static const char *const names[] = { "token", "password", "none" };

	return names[mode];
}

const char *
config_secret_source_name(enum secret_source src)
{
	static const char *const names[] = { "none", "config", "env", "file", "generated" };

	return names[src];
}
