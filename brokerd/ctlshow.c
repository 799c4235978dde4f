#include "brokerd/ctlshow.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "brokerd/jtree.h"
#include "common/clock.h"
#include "common/devcode.h"
#include "common/textesc.h"
#include "common/xmalloc.h"

/* The answer's values are made safe before any printer sees them (the keys are
 * brokerd's own names). The tree is as deep as a pval may be (PVAL_MAX_DEPTH). */
void
ctlshow_escape(yajl_val v)
{
	char *shown;

	if (YAJL_IS_STRING(v)) {
		size_t len = strlen(v->u.string);

		shown = xmalloc(TEXTESC_GROWTH * len + 1);
		textesc(shown, TEXTESC_GROWTH * len + 1, v->u.string, len);
		free(v->u.string);
		v->u.string = shown;
	} else if (YAJL_IS_ARRAY(v)) {
		for (size_t i = 0; i < v->u.array.len; i++)
			ctlshow_escape(v->u.array.values[i]);
	} else if (YAJL_IS_OBJECT(v)) {
		for (size_t i = 0; i < v->u.object.len; i++)
			ctlshow_escape(v->u.object.values[i]);
	}
}

/* A string array joined with ", "; "-" when empty. */
static char *
j_join(yajl_val arr)
{
	size_t n = jtree_len(arr), len = 2;
	char *out;

	for (size_t i = 0; i < n; i++)
		len += strlen(jtree_str_at(arr, i, "")) + 2;
	out = xcalloc(1, len);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(out, ", ");
		strcat(out, jtree_str_at(arr, i, ""));
	}
	if (n == 0)
		strcpy(out, "-");
	return out;
}

/* common/devcode.h, in a string the table frees with its other cells. */
static char *
verification_code(const char *device_id)
{
	char *s = xmalloc(DEVCODE_LEN + 1);

	devcode_format(s, device_id);
	return s;
}

static char *
age_text(long long ms)
{
	char *s = xmalloc(32);
	long long sec = ms > 0 ? ms / 1000 : 0;

	if (sec < 60)
		snprintf(s, 32, "%llds", sec);
	else if (sec < 3600)
		snprintf(s, 32, "%lldm", sec / 60);
	else if (sec < 86400)
		snprintf(s, 32, "%lldh", sec / 3600);
	else
		snprintf(s, 32, "%lldd", sec / 86400);
	return s;
}

static char *
xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
xprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	s = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* ---- tables ---- */

#define TABLE_MAX_COLS 8

struct table {
	size_t ncols, nrows;
	const char *head[TABLE_MAX_COLS];
	char **cells;		/* nrows * ncols, owned */
};

/* Display width: one column per UTF-8 character. */
static size_t
text_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

static void
table_row(struct table *t, char **cells)
{
	t->cells = xrealloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(char *));
	memcpy(t->cells + t->nrows * t->ncols, cells, t->ncols * sizeof(char *));
	t->nrows++;
}

static void
table_print(struct table *t)
{
	size_t width[TABLE_MAX_COLS];

	for (size_t c = 0; c < t->ncols; c++) {
		width[c] = text_width(t->head[c]);
		for (size_t r = 0; r < t->nrows; r++)
			if (text_width(t->cells[r * t->ncols + c]) > width[c])
				width[c] = text_width(t->cells[r * t->ncols + c]);
	}
	for (size_t r = 0; r <= t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = r == 0 ? t->head[c] : t->cells[(r - 1) * t->ncols + c];

			if (c + 1 == t->ncols)
				printf("%s\n", s);
			else
				printf("%s%*s", s, (int)(width[c] - text_width(s) + 2), "");
		}
	}
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
}

/* What a person recognises a device by: the admin's name for it (devices
 * rename), else its own name, else its platform. */
static char *
device_label(yajl_val d)
{
	const char *name = jtree_text(d, "displayName"), *family = jtree_text(d, "deviceFamily");

	if (jtree_text(d, "operatorLabel")[0] != '\0')
		return xstrdup(jtree_text(d, "operatorLabel"));
	if (name[0] != '\0')
		return xstrdup(name);
	if (family[0] != '\0' && strcmp(family, jtree_text(d, "platform")) != 0)
		return xprintf("%s (%s)", jtree_text(d, "platform"), family);
	return xstrdup(jtree_text(d, "platform")[0] != '\0' ? jtree_text(d, "platform") : "-");
}

static char *
client_label(yajl_val d)
{
	return xprintf("%s/%s", jtree_text(d, "clientId")[0] ? jtree_text(d, "clientId") : "-",
	    jtree_text(d, "clientMode")[0] ? jtree_text(d, "clientMode") : "-");
}

static const char pair_hint[] = "A device asks to pair when it connects to the gateway with "
    "the shared token;\nits request shows up here. Approve it with: gatewayctl devices "
    "approve <requestId>\n";

static void
ctlshow_pending(yajl_val list, int64_t now)
{
	struct table t = { 7, 0, { "REQUEST", "DEVICE", "CODE", "CLIENT", "ROLE / SCOPES", "AGE",
	    "REMOTE IP" }, NULL };
	size_t n = jtree_len(list);

	if (n == 0) {
		printf("No pending requests.\n");
		return;
	}
	printf("Pending (%zu)\n", n);
	for (size_t i = 0; i < n; i++) {
		yajl_val p = list->u.array.values[i];
		char *scopes = j_join(jtree_get(p, "scopes"));
		char *row[7] = {
			xstrdup(jtree_text(p, "requestId")), device_label(p),
			verification_code(jtree_text(p, "deviceId")), client_label(p),
			xprintf("%s: %s", jtree_text(p, "role"), scopes),
			age_text(now - jtree_int(p, "ts")),
			xstrdup(jtree_text(p, "remoteIp")[0] ? jtree_text(p, "remoteIp") : "local"),
		};

		free(scopes);
		table_row(&t, row);
	}
	table_print(&t);
	printf("Approve one with: gatewayctl devices approve <requestId> (or --latest if it is "
	    "the only one)\n");
}

static void
ctlshow_paired(yajl_val list, int64_t now)
{
	struct table t = { 6, 0, { "DEVICE", "CODE", "CLIENT", "ROLES", "SCOPES", "LAST SEEN" },
	    NULL };
	size_t n = jtree_len(list);

	if (n == 0) {
		printf("No paired devices.\n%s", pair_hint);
		return;
	}
	printf("Paired (%zu)\n", n);
	for (size_t i = 0; i < n; i++) {
		yajl_val d = list->u.array.values[i];
		long long seen = jtree_int(d, "lastSeenAtMs");
		char *label = device_label(d), *client = client_label(d), *age;
		char *row[6] = {
			xstrdup(jtree_text(d, "deviceId")),
			verification_code(jtree_text(d, "deviceId")),
			xprintf("%s %s", client, label), j_join(jtree_get(d, "roles")),
			j_join(jtree_get(d, "scopes")), NULL,
		};

		if (YAJL_IS_TRUE(jtree_get(d, "connected")))
			row[5] = xstrdup("connected");
		else if (seen == 0)
			row[5] = xstrdup("never");
		else {
			age = age_text(now - seen);
			row[5] = xprintf("%s ago", age);
			free(age);
		}
		free(label);
		free(client);
		table_row(&t, row);
	}
	table_print(&t);
}

void
ctlshow_list(yajl_val root)
{
	int64_t now = clock_wall_ms();

	ctlshow_pending(jtree_get(root, "pending"), now);
	printf("\n");
	ctlshow_paired(jtree_get(root, "paired"), now);
}

void
ctlshow_status(yajl_val s)
{
	char *up = age_text(jtree_int(s, "uptimeMs"));
	yajl_val tls;

	printf("brokerd %s (pid %lld), up %s\n", jtree_text(s, "version"), jtree_int(s, "pid"), up);
	printf("state directory: %s\n", jtree_text(s, "stateDir"));
	if (strcmp(jtree_text(s, "authMode"), "token") == 0)
		printf("auth: token (from %s)\n", jtree_text(s, "tokenSource"));
	else
		printf("auth: %s\n", jtree_text(s, "authMode"));
	printf("gateways: %lld, sessions: %lld\n", jtree_int(s, "gateways"),
	    jtree_int(s, "sessions"));
	printf("pending requests: %lld, paired devices: %lld\n", jtree_int(s, "pending"),
	    jtree_int(s, "paired"));
	if ((tls = jtree_get(s, "tls")) != NULL &&
	    strcmp(jtree_text(tls, "source"), "generated") == 0)
		printf("TLS: self-signed certificate %s, valid until %s\n"
		    "TLS SHA-256 fingerprint: %s\n", jtree_text(tls, "certPath"), jtree_text(tls, "notAfter"),
		    jtree_text(tls, "fingerprintSha256"));
	else if (tls != NULL)
		printf("TLS: certificate %s (its fingerprint: openssl x509 -noout -fingerprint "
		    "-sha256 -in %s)\n", jtree_text(tls, "certPath"), jtree_text(tls, "certPath"));
	if (jtree_get(s, "relay") != NULL)
		printf("relay mode: upstream %s (%s)\n", jtree_text(jtree_get(s, "relay"), "upstream"),
		    strcmp(jtree_text(jtree_get(s, "relay"), "guard"), "upstream") == 0 ?
		    "guarded by the upstream itself: clawgate.relay.guard is upstream" :
		    "whether only clawgate can reach it: gatewayctl relay check");
	free(up);
}

void
ctlshow_approved(yajl_val r)
{
	const char *id = jtree_text(jtree_get(r, "device"), "deviceId");
	char *code = verification_code(id);

	printf("Approved %s (request %s), verification code %s\n", id, jtree_text(r, "requestId"),
	    code);
	free(code);
}

void
ctlshow_rejected(yajl_val r)
{
	printf("Rejected request %s of device %s\n", jtree_text(r, "requestId"),
	    jtree_text(r, "deviceId"));
}

void
ctlshow_removed(yajl_val r)
{
	printf("Removed %s; its sessions were closed\n", jtree_text(r, "deviceId"));
}

void
ctlshow_token(yajl_val r)
{
	printf("%s\n", jtree_text(r, "token"));
	fprintf(stderr, "gatewayctl: brokerd now uses this shared token (shown only this once) "
	    "and closed the sessions that used the old one; give it to your clients\n");
}

void
ctlshow_renamed(yajl_val r)
{
	printf("Renamed %s to \"%s\"\n", jtree_text(r, "deviceId"), jtree_text(r, "label"));
}

void
ctlshow_rotated(yajl_val r)
{
	char *scopes = j_join(jtree_get(r, "scopes"));

	printf("Rotated the %s token of %s (scopes: %s): the old token no longer works and "
	    "the device's %s sessions were closed.\nThe new token is not shown: the device "
	    "receives it when it next connects with the shared token.\n", jtree_text(r, "role"),
	    jtree_text(r, "deviceId"), scopes, jtree_text(r, "role"));
	free(scopes);
}

void
ctlshow_revoked(yajl_val r)
{
	printf("Revoked the %s token of %s and closed its %s sessions.\nThe device stays "
	    "paired: with the shared token it connects again and gets a new device token.\n"
	    "To lock it out, remove it (and rotate the shared token if it knows it):\n"
	    "  gatewayctl devices remove %s\n  gatewayctl token rotate\n", jtree_text(r, "role"),
	    jtree_text(r, "deviceId"), jtree_text(r, "role"), jtree_text(r, "deviceId"));
}

void
ctlshow_dashboard(yajl_val r)
{
	yajl_val notes = jtree_get(r, "notes");

	printf("Dashboard URL: %s\n", jtree_text(r, "url"));
	if (YAJL_IS_TRUE(jtree_get(r, "tokenIncluded")))
		printf("Open it in a browser on this host. The URL holds the shared token: keep "
		    "it to yourself.\n");
	for (size_t i = 0; i < jtree_len(notes); i++)
		printf("%s\n", jtree_str_at(notes, i, ""));
	printf("%s\n", jtree_text(r, "assumes"));
}

void
ctlshow_audit(yajl_val r)
{
	struct table t = { 6, 0, { "TIME (UTC)", "WHAT", "DEVICE", "REQUEST", "ROLE", "WHO" },
	    NULL };
	yajl_val list = jtree_get(r, "entries");
	size_t n = jtree_len(list);

	if (n == 0)
		printf("The audit log is empty: approvals, rejections, removals and token "
		    "changes are recorded as they happen.\n");
	for (size_t i = 0; i < n; i++) {
		yajl_val e = list->u.array.values[i];
		time_t sec = (time_t)(jtree_int(e, "ts") / 1000);
		struct tm tm;
		char when[32];
		char *row[6];

		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", gmtime_r(&sec, &tm));
		row[0] = xstrdup(when);
		row[1] = xstrdup(jtree_text(e, "what"));
		row[2] = xstrdup(jtree_text(e, "deviceId")[0] ? jtree_text(e, "deviceId") : "-");
		row[3] = xstrdup(jtree_text(e, "requestId")[0] ? jtree_text(e, "requestId") : "-");
		row[4] = xstrdup(jtree_text(e, "role")[0] ? jtree_text(e, "role") : "-");
		row[5] = xstrdup(jtree_text(e, "who"));
		table_row(&t, row);
	}
	if (n > 0)
		table_print(&t);
	if (jtree_int(r, "unreadable") > 0)
		printf("(%lld lines of the log are not audit entries, e.g. one cut short by a "
		    "crash; they are skipped)\n", jtree_int(r, "unreadable"));
}
