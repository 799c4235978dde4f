#include "brokerd/ctlrelay.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "brokerd/jtree.h"
#include "common/xmalloc.h"

#define CTLRELAY_OUT_MAX (1 << 20)	/* nft's listing of one small table */
#define CTLRELAY_UIDS_MAX 16
#define CTLRELAY_TABLE "clawgate_guard"
#define CTLRELAY_GW_USER "clawgate-gw"	/* gatewayd's account (systemd/clawgate.sysusers) */

/* Reads fd to its end and keeps at most CTLRELAY_OUT_MAX bytes: the rest is read
 * and dropped, so that nft never blocks on a full pipe. */
static char *
ctlrelay_read_all(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = xmalloc(cap), sink[4096];
	ssize_t n;

	for (;;) {
		if (len + 1 == cap && cap < CTLRELAY_OUT_MAX)
			buf = xrealloc(buf, cap *= 2);
		if (len + 1 < cap)
			n = read(fd, buf + len, cap - 1 - len);
		else
			n = read(fd, sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (len + 1 < cap)
			len += (size_t)n;
	}
	buf[len] = '\0';
	return buf;
}

/* Runs nft -j list table inet clawgate_guard; returns its exit status (127: no
 * nft), with its output in *out and its error output in *err. */
static int
ctlrelay_nft(char **out, char **err)
{
	char *const argv[] = { "nft", "-j", "list", "table", "inet", CTLRELAY_TABLE, NULL };
	int po[2], pe[2], status;
	pid_t pid;

	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		fprintf(stderr, "gatewayctl: pipe: %s\n", strerror(errno));
		exit(1);
	}
	if ((pid = fork()) < 0) {
		fprintf(stderr, "gatewayctl: fork: %s\n", strerror(errno));
		exit(1);
	}
	if (pid == 0) {
		if (dup2(po[1], STDOUT_FILENO) < 0 || dup2(pe[1], STDERR_FILENO) < 0)
			_exit(127);
		/* Where Debian puts it, which an admin's PATH may lack. */
		execv("/usr/sbin/nft", argv);
		execvp("nft", argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	/* The listing first, then the error text: nft writes only a line or two
	 * there, which the pipe holds while the listing is read. */
	*out = ctlrelay_read_all(po[0]);
	*err = ctlrelay_read_all(pe[0]);
	close(po[0]);
	close(pe[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 127;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 127;
}

/* Whether v is the integer n, or a set ({"set": [...]}) holding it. */
static int
ctlrelay_holds(yajl_val v, long long n)
{
	yajl_val set = jtree_get(v, "set");

	if (YAJL_IS_INTEGER(v))
		return YAJL_GET_INTEGER(v) == n;
	for (size_t i = 0; YAJL_IS_ARRAY(set) && i < set->u.array.len; i++)
		if (YAJL_IS_INTEGER(set->u.array.values[i]) &&
		    YAJL_GET_INTEGER(set->u.array.values[i]) == n)
			return 1;
	return 0;
}

/* The uids of v (an integer or a set of them) into uids; returns how many. */
static size_t
ctlrelay_uids(yajl_val v, long long *uids)
{
	yajl_val set = jtree_get(v, "set");
	size_t n = 0;

	if (YAJL_IS_INTEGER(v))
		uids[n++] = YAJL_GET_INTEGER(v);
	for (size_t i = 0; YAJL_IS_ARRAY(set) && i < set->u.array.len && n < CTLRELAY_UIDS_MAX;
	    i++)
		if (YAJL_IS_INTEGER(set->u.array.values[i]))
			uids[n++] = YAJL_GET_INTEGER(set->u.array.values[i]);
	return n;
}

/*
 * Whether the rule's expressions (nft's JSON) refuse TCP to port from every
 * socket owner but some: "tcp dport PORT", "meta skuid != UIDS", and a reject
 * or drop. Returns the number of allowed uids put in uids, 0 if it is no such rule.
 */
static size_t
ctlrelay_rule_guards(yajl_val expr, long long port, long long *uids)
{
	int dport = 0, refuse = 0;
	size_t nuids = 0;

	for (size_t i = 0; YAJL_IS_ARRAY(expr) && i < expr->u.array.len; i++) {
		yajl_val e = expr->u.array.values[i], m = jtree_get(e, "match");
		yajl_val left = jtree_get(m, "left"), payload = jtree_get(left, "payload");
		const char *op = jtree_text(m, "op");

		if (jtree_get(e, "reject") != NULL || jtree_get(e, "drop") != NULL)
			refuse = 1;
		if (strcmp(jtree_text(payload, "protocol"), "tcp") == 0 &&
		    strcmp(jtree_text(payload, "field"), "dport") == 0 && strcmp(op, "==") == 0 &&
		    ctlrelay_holds(jtree_get(m, "right"), port))
			dport = 1;
		if (strcmp(jtree_text(jtree_get(left, "meta"), "key"), "skuid") == 0 &&
		    strcmp(op, "!=") == 0)
			nuids = ctlrelay_uids(jtree_get(m, "right"), uids);
	}
	return dport && refuse ? nuids : 0;
}

/* The allowed uids of the first guarding rule in nft's JSON listing; 0 if none. */
static size_t
ctlrelay_find(yajl_val listing, long long port, long long *uids)
{
	yajl_val items = jtree_get(listing, "nftables");
	size_t n;

	for (size_t i = 0; YAJL_IS_ARRAY(items) && i < items->u.array.len; i++) {
		yajl_val rule = jtree_get(items->u.array.values[i], "rule");

		if (rule != NULL && (n = ctlrelay_rule_guards(jtree_get(rule, "expr"), port, uids)))
			return n;
	}
	return 0;
}

static void
ctlrelay_print_uids(const long long *uids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct passwd *pw = getpwuid((uid_t)uids[i]);

		printf("%s%lld (%s)", i ? ", " : "", uids[i], pw != NULL ? pw->pw_name : "no account");
	}
}

int
ctlrelay_check(yajl_val status)
{
	yajl_val relay = jtree_get(status, "relay");
	long long port = jtree_int(relay, "port"), uids[CTLRELAY_UIDS_MAX];
	const char *upstream = jtree_text(relay, "upstream");
	struct passwd *gw = getpwnam(CTLRELAY_GW_USER);
	char *out, *err, errbuf[256];
	yajl_val listing;
	size_t n;
	int rc, gw_ok = 0;

	if (relay == NULL) {
		printf("relay mode is off (brokerd's config has no clawgate.relay): nothing to "
		    "guard\n");
		return 0;
	}
	/* The upstream's own filter is in a namespace nft here cannot list (its
	 * container's): nothing on this host to check. */
	if (strcmp(jtree_text(relay, "guard"), "upstream") == 0) {
		printf("relay: upstream %s\nguarded by the upstream itself (clawgate.relay.guard: "
		    "upstream): not checked from here; see clawgate.json(5), clawgate.relay.guard "
		    "(with compose.yaml: docker compose exec openclaw nft list ruleset shows the "
		    "upstream's guard)\n", upstream);
		return 0;
	}
	rc = ctlrelay_nft(&out, &err);
	if (rc != 0 && strstr(err, "No such file or directory") == NULL) {
		printf("cannot tell whether the upstream at %s is guarded: `nft -j list table "
		    "inet " CTLRELAY_TABLE "` %s%s: run gatewayctl relay check as root (and "
		    "apt-get install nftables if nft is missing)\n", upstream,
		    rc == 127 ? "could not run" : "failed: ", rc == 127 ? "" : err);
		free(out);
		free(err);
		return 1;
	}
	listing = rc == 0 ? yajl_tree_parse(out, errbuf, sizeof(errbuf)) : NULL;
	n = listing != NULL ? ctlrelay_find(listing, port, uids) : 0;
	yajl_tree_free(listing);
	free(out);
	free(err);
	if (n == 0) {
		printf("relay: upstream %s\nunguarded: any local process can reach the upstream "
		    "at %s as clawgate's identity; run `systemctl enable --now "
		    "clawgate-relay-guard@%lld` (set the upstream's account as UPSTREAM_USER in "
		    "/etc/clawgate/relay-guard.env first)\n", upstream, upstream, port);
		return 1;
	}
	printf("relay: upstream %s\nguarded: over loopback only uids ", upstream);
	ctlrelay_print_uids(uids, n);
	printf(" may connect to port %lld (nftables table inet " CTLRELAY_TABLE ")\n", port);
	for (size_t i = 0; gw != NULL && i < n; i++)
		gw_ok |= uids[i] == (long long)gw->pw_uid;
	if (!gw_ok) {
		printf("but not " CTLRELAY_GW_USER ", gatewayd's account: relay mode cannot reach "
		    "the upstream; reload the guard: systemctl restart clawgate-relay-guard@%lld\n",
		    port);
		return 1;
	}
	return 0;
}
