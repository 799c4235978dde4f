#include "brokerd/ctldoctor.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "brokerd/ctlrelay.h"
#include "brokerd/jtree.h"

static void
ctldoctor_when(char out[32], long long ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, 32, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, 32, "?");
}

static void
ctldoctor_problem(yajl_val p)
{
	char last[32], first[32];
	const char *name = jtree_text(p, "displayName"), *dev = jtree_text(p, "deviceId");
	long long count = jtree_int(p, "count");

	ctldoctor_when(last, jtree_int(p, "lastAtMs"));
	ctldoctor_when(first, jtree_int(p, "firstAtMs"));
	printf("\n[%s] %lld time%s, last %s", jtree_text(p, "kind"), count, count == 1 ? "" : "s",
	    last);
	if (count > 1)
		printf(" (first %s)", first);
	printf("\n  from %s%s (%s), ", jtree_text(p, "address"),
	    jtree_int(p, "viaProxy") ? " via a trusted proxy" : "", jtree_text(p, "locality"));
	if (YAJL_IS_TRUE(jtree_get(p, "byGatewayd")) && jtree_text(p, "clientId")[0] == '\0')
		printf("refused by gatewayd before any connect request");
	else
		printf("client %s/%s", jtree_text(p, "clientId"), jtree_text(p, "clientMode"));
	if (name[0] != '\0')
		printf(" \"%s\"", name);
	printf(", %s%s\n", dev[0] != '\0' ? "device " : "no device identity", dev);
	if (jtree_text(p, "origin")[0] != '\0')
		printf("  origin: %s\n", jtree_text(p, "origin"));
	printf("  refused%s: %lld \"%s\"", YAJL_IS_TRUE(jtree_get(p, "byGatewayd")) ?
	    " by gatewayd" : "", jtree_int(p, "closeCode"), jtree_text(p, "reason"));
	if (jtree_text(p, "detailsCode")[0] != '\0')
		printf(" (%s)", jtree_text(p, "detailsCode"));
	printf("\n  cause: %s\n  %s: %s\n", jtree_text(p, "cause"),
	    YAJL_IS_TRUE(jtree_get(p, "resolved")) ? "resolved" : "fix", jtree_text(p, "fix"));
}

/* The relay upstream as gatewayd last found it; non-zero if unreachable. */
static int
ctldoctor_upstream(yajl_val relay)
{
	yajl_val st = jtree_get(relay, "upstreamState");
	char at[32], ok[32];

	if (!YAJL_IS_TRUE(jtree_get(st, "known"))) {
		printf("  relay upstream %s: not reported yet (gatewayd probes it once connected "
		    "to brokerd, within seconds: if no gatewayd is connected, start it with "
		    "systemctl start gatewayd)\n", jtree_text(relay, "upstream"));
		return 0;
	}
	ctldoctor_when(at, jtree_int(st, "atMs"));
	ctldoctor_when(ok, jtree_int(st, "lastOkMs"));
	if (YAJL_IS_TRUE(jtree_get(st, "reachable"))) {
		printf("  relay upstream %s: reachable (connected %s, by gatewayd's probe or a "
		    "relayed session)\n", jtree_text(relay, "upstream"), at);
		return 0;
	}
	printf("  relay upstream %s: unreachable since %s (%s)", jtree_text(relay, "upstream"),
	    at, jtree_text(st, "error"));
	if (jtree_int(st, "lastOkMs") > 0)
		printf(", last reachable %s", ok);
	printf(";\n    fix: start the OpenClaw gateway there, or correct clawgate.relay in the "
	    "config, then restart brokerd and gatewayd\n");
	return 1;
}

/* The installation's facts; non-zero if one needs fixing. */
static int
ctldoctor_install(yajl_val in)
{
	yajl_val bind = jtree_get(in, "bind");
	const char *dir = jtree_text(in, "stateDir");
	int bad = 0;

	printf("\ninstallation:\n");
	printf("  config: %s (valid: brokerd runs with it)\n", jtree_text(in, "config"));
	printf("  auth: %s; the shared secret is %s\n", jtree_text(in, "authMode"),
	    jtree_text(in, "secretWhere"));
	printf("  state directory: %s, mode %s", dir, jtree_text(in, "stateDirMode"));
	if (YAJL_IS_TRUE(jtree_get(in, "stateDirPrivate"))) {
		printf("\n");
	} else {
		printf(": others may read it; fix: chmod 700 %s\n", dir);
		bad = 1;
	}
	if (jtree_int(in, "gateways") == 0) {
		printf("  gatewayd: not connected; fix: start it (systemctl start gatewayd)\n");
		bad = 1;
	} else {
		printf("  gatewayd: %lld connected\n", jtree_int(in, "gateways"));
	}
	printf("  listening:");
	for (size_t i = 0; i < jtree_len(bind); i++)
		printf(" %s", jtree_str_at(bind, i, ""));
	printf(" port %lld, TLS %s", jtree_int(in, "port"),
	    YAJL_IS_TRUE(jtree_get(in, "tls")) ? "on" : "off");
	if (jtree_text(in, "tlsFingerprintSha256")[0] != '\0')
		printf(" (SHA-256 %s)", jtree_text(in, "tlsFingerprintSha256"));
	printf("\n  trusted proxies: %lld\n", jtree_int(in, "trustedProxies"));
	if (jtree_get(in, "relay") != NULL && ctldoctor_upstream(jtree_get(in, "relay")) != 0)
		bad = 1;
	if (jtree_get(in, "relay") != NULL && ctlrelay_check(in) != 0)
		bad = 1;
	return bad;
}

int
ctldoctor_show(yajl_val a)
{
	yajl_val problems = jtree_get(a, "problems");
	size_t n = jtree_len(problems), unresolved = 0;
	const char *dev = jtree_text(a, "deviceId");
	int bad;

	if (n == 0)
		printf("no refusals%s%s among the last %lld brokerd keeps (of %lld)\n",
		    dev[0] != '\0' ? " of device " : "", dev, jtree_int(a, "refusalsKept"),
		    jtree_int(a, "refusalsCapacity"));
	else
		printf("%zu problem%s%s%s in the last %lld refusals brokerd keeps (of %lld), "
		    "newest first:\n", n, n == 1 ? "" : "s", dev[0] != '\0' ? " of device " : "",
		    dev, jtree_int(a, "refusalsKept"), jtree_int(a, "refusalsCapacity"));
	for (size_t i = 0; i < n; i++) {
		ctldoctor_problem(problems->u.array.values[i]);
		unresolved += !YAJL_IS_TRUE(jtree_get(problems->u.array.values[i], "resolved"));
	}
	if (jtree_int(a, "gatewayReportsDropped") > 0)
		printf("\n%lld refusals gatewayd reported were not kept: it reported faster than "
		    "brokerd keeps reports (brokerd's log says when)\n",
		    jtree_int(a, "gatewayReportsDropped"));
	bad = ctldoctor_install(jtree_get(a, "install"));
	/* Resolved problems are history: they explain, they do not fail. */
	return unresolved > 0 || bad;
}
