/*
 * gatewayctl: the admin's command line for brokerd. It sends one command over
 * the control socket, waits for the answer and prints it for a person (tables)
 * or, with --json, as the JSON of the answer's payload.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "common/clock.h"
#include "common/xmalloc.h"
#include "proto/proto.h"
#include "proto/pval.h"

#define DEFAULT_SOCKET "/run/clawgate/control.sock"
#define TIMEOUT_S 30
#define REQUEST_ID 1

/* How gatewayctl ends, so that a script can tell a refusal from a broker that is
 * down (try again later, or start it) and from missing rights. Small numbers in
 * the style of the usage status 2 rather than sysexits' 64-78, which would
 * leave 1 and 2 beside them meaning something else. */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAILED = 1,		/* brokerd refused the command, or it failed */
	CTL_EXIT_USAGE = 2,		/* the command line is wrong */
	CTL_EXIT_UNREACHABLE = 3,	/* brokerd is not running or does not answer */
	CTL_EXIT_DENIED = 4,		/* this user may not administer clawgate */
};

static const char usage_text[] =
    "usage: gatewayctl [--socket PATH] <command>\n"
    "commands:\n"
    "  devices list [--json]              pending pairing requests and paired devices\n"
    "  devices approve <requestId>        approve a pending request\n"
    "  devices approve --latest           approve the only pending request\n"
    "  devices reject <requestId>         reject a pending request\n"
    "  devices remove <deviceId>          unpair a device and disconnect it\n"
    "  devices rename <deviceId> <name>   set the name the admin knows a device by\n"
    "  devices rotate <deviceId> [--role operator|node] [--scope S]...\n"
    "                                     replace the device's token for that role (default\n"
    "                                     operator; scopes default to the current token's)\n"
    "                                     and close its sessions in that role\n"
    "  devices revoke <deviceId> [--role operator|node]\n"
    "                                     invalidate that token and close those sessions\n"
    "  token rotate                       install a new shared gateway token, print it, and\n"
    "                                     close the sessions that used the old one\n"
    "                                     (token generate is the same command)\n"
    "  audit [--json]                     the newest entries of the audit log\n"
    "  dashboard [--json]                 the Control UI's URL with the shared token in\n"
    "                                     force (changes nothing; token rotate does)\n"
    "  status [--json]                    what brokerd is doing\n"
    "PATH defaults to $CLAWGATE_CONTROL_SOCKET, else " DEFAULT_SOCKET ".\n"
    "exit status: 0 done; 1 brokerd refused the command (the message says why) or it\n"
    "failed otherwise; 2 usage error; 3 brokerd is not running or does not answer (no\n"
    "socket, connection refused, no answer within 30 s, connection closed without an\n"
    "answer); 4 permission denied (the control socket, or brokerd, refused this user).\n";

static void __attribute__((noreturn))
usage(const char *problem)
{
	if (problem != NULL)
		fprintf(stderr, "gatewayctl: %s\n", problem);
	fputs(usage_text, stderr);
	exit(CTL_EXIT_USAGE);
}

static void __attribute__((noreturn, format(printf, 2, 3)))
die(enum ctl_exit status, const char *fmt, ...)
{
	va_list ap;

	fputs("gatewayctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

/* ---- talking to brokerd ---- */

static int
ctl_connect(const char *path)
{
	struct sockaddr_un sun;
	struct timeval tv = { TIMEOUT_S, 0 };
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		die(CTL_EXIT_USAGE, "the socket path %s is longer than %zu bytes", path, sizeof(sun.sun_path) - 1);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		die(CTL_EXIT_FAILED, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		/* The socket's mode (group clawgate-admin) turned us away, not a dead broker. */
		if (errno == EACCES || errno == EPERM)
			die(CTL_EXIT_DENIED, "cannot reach brokerd at %s: permission denied: only root and members "
			    "of the clawgate-admin group may administer clawgate: run gatewayctl "
			    "as root (sudo gatewayctl ...), or add the user to the group with: "
			    "sudo usermod -aG clawgate-admin <user> (then log in again)", path);
		die(CTL_EXIT_UNREACHABLE, "cannot reach brokerd at %s: %s; start it with: brokerd (or systemctl start "
		    "brokerd), or pass --socket PATH", path, strerror(errno));
	}
	/* A broker that stops answering must not hang the admin's shell. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static void
ctl_io(int fd, void *buf, size_t len, int writing, const char *path)
{
	uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = writing ? write(fd, p, len) : read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			die(CTL_EXIT_UNREACHABLE, "brokerd at %s did not answer within %d s: check its log", path,
			    TIMEOUT_S);
		if (n <= 0)
			die(CTL_EXIT_UNREACHABLE, "brokerd at %s closed the connection%s%s: check its log", path,
			    n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
		p += n;
		len -= (size_t)n;
	}
}

/* Sends one command and returns the answer's payload as JSON text (malloc'd),
 * or exits with the broker's error message. */
static char *
ctl_call(const char *path, uint16_t type, const void *msg, int pretty)
{
	uint8_t hdrbuf[PROTO_HDR_LEN], *payload;
	struct proto_ctl_result res;
	struct proto_hdr hdr;
	struct pbuf b;
	char *json;
	int fd = ctl_connect(path);

	pbuf_init(&b);
	if (proto_encode(&b, type, REQUEST_ID, msg) < 0)
		die(CTL_EXIT_USAGE, "an id, role or scope is too long or has spaces, or the name has control "
		    "characters or is longer than %d bytes", PROTO_TEXT_MAX);
	ctl_io(fd, b.data, b.len, 1, path);
	pbuf_free(&b);
	ctl_io(fd, hdrbuf, sizeof(hdrbuf), 0, path);
	if (proto_hdr_parse(hdrbuf, sizeof(hdrbuf), PROTO_MAX_PAYLOAD, &hdr) != PROTO_FRAME_OK ||
	    hdr.type != PROTO_CTL_RESULT || hdr.id != REQUEST_ID)
		die(CTL_EXIT_FAILED, "brokerd at %s sent an unexpected answer", path);
	if (hdr.version != PROTO_VERSION)
		die(CTL_EXIT_FAILED, "brokerd speaks protocol version %u, this gatewayctl %u: install matching "
		    "versions", hdr.version, PROTO_VERSION);
	payload = xmalloc(hdr.len + 1);
	ctl_io(fd, payload, hdr.len, 0, path);
	close(fd);
	if (proto_decode(PROTO_CTL_RESULT, payload, hdr.len, &res, sizeof(res)) < 0)
		die(CTL_EXIT_FAILED, "brokerd at %s sent a malformed answer", path);
	/* brokerd's own check of the caller (SO_PEERCRED) says FORBIDDEN. */
	if (!res.ok)
		die(strcmp(res.error.code, "FORBIDDEN") == 0 ? CTL_EXIT_DENIED : CTL_EXIT_FAILED,
		    "%s", res.error.message);
	if ((json = pval_to_json_string(res.payload.data, res.payload.len, pretty)) == NULL)
		die(CTL_EXIT_FAILED, "brokerd at %s sent an answer that is not valid JSON", path);
	free(payload);
	return json;
}

/* ---- reading the answer ---- */

static yajl_val
j_get(yajl_val obj, const char *key)
{
	const char *path[] = { key, NULL };

	return obj != NULL ? yajl_tree_get(obj, path, yajl_t_any) : NULL;
}

static const char *
j_str(yajl_val obj, const char *key)
{
	const char *s = YAJL_GET_STRING(j_get(obj, key));

	return s != NULL ? s : "";
}

static long long
j_int(yajl_val obj, const char *key)
{
	yajl_val v = j_get(obj, key);

	return v != NULL && YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : 0;
}

static size_t
j_len(yajl_val arr)
{
	return arr != NULL && YAJL_IS_ARRAY(arr) ? arr->u.array.len : 0;
}

static const char *
j_item(yajl_val arr, size_t i)
{
	const char *s = YAJL_GET_STRING(arr->u.array.values[i]);

	return s != NULL ? s : "";
}

/* A string array joined with ", "; "-" when empty. */
static char *
j_join(yajl_val arr)
{
	size_t n = j_len(arr), len = 2;
	char *out;

	for (size_t i = 0; i < n; i++)
		len += strlen(j_item(arr, i)) + 2;
	out = xcalloc(1, len);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(out, ", ");
		strcat(out, j_item(arr, i));
	}
	if (n == 0)
		strcpy(out, "-");
	return out;
}

static yajl_val
j_parse(const char *json)
{
	char err[256];
	yajl_val root = yajl_tree_parse(json, err, sizeof(err));

	if (root == NULL)
		die(CTL_EXIT_FAILED, "cannot read brokerd's answer: %s", err);
	return root;
}

/* doc/design.md §1: the first 6 hex digits of the device id in two groups. */
static char *
verification_code(const char *device_id)
{
	char *s = xmalloc(8);

	snprintf(s, 8, "%.3s %.3s", device_id, strlen(device_id) > 3 ? device_id + 3 : "");
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

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		die(CTL_EXIT_FAILED, "out of memory");
	va_end(ap);
	return s;
}

/* The exit status once the answer is printed: done only if it reached stdout. */
static int
ctl_output_done(void)
{
	int err;

	errno = 0;
	if (fflush(stdout) != EOF && !ferror(stdout))
		return CTL_EXIT_OK;
	err = errno;
	/* A reader that stopped reading (gatewayctl ... | head) needs no message. */
	if (err != EPIPE)
		fprintf(stderr, "gatewayctl: cannot write the answer to standard output%s%s: "
		    "check where it goes (a full disk, a closed descriptor)\n", err ? ": " : "",
		    err ? strerror(err) : "");
	return CTL_EXIT_FAILED;
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
	const char *name = j_str(d, "displayName"), *family = j_str(d, "deviceFamily");

	if (j_str(d, "operatorLabel")[0] != '\0')
		return xstrdup(j_str(d, "operatorLabel"));
	if (name[0] != '\0')
		return xstrdup(name);
	if (family[0] != '\0' && strcmp(family, j_str(d, "platform")) != 0)
		return xprintf("%s (%s)", j_str(d, "platform"), family);
	return xstrdup(j_str(d, "platform")[0] != '\0' ? j_str(d, "platform") : "-");
}

static char *
client_label(yajl_val d)
{
	return xprintf("%s/%s", j_str(d, "clientId")[0] ? j_str(d, "clientId") : "-",
	    j_str(d, "clientMode")[0] ? j_str(d, "clientMode") : "-");
}

static const char pair_hint[] = "A device asks to pair when it connects to the gateway with "
    "the shared token;\nits request shows up here. Approve it with: gatewayctl devices "
    "approve <requestId>\n";

static void
print_pending(yajl_val list, int64_t now)
{
	struct table t = { 7, 0, { "REQUEST", "DEVICE", "CODE", "CLIENT", "ROLE / SCOPES", "AGE",
	    "REMOTE IP" }, NULL };
	size_t n = j_len(list);

	if (n == 0) {
		printf("No pending requests.\n");
		return;
	}
	printf("Pending (%zu)\n", n);
	for (size_t i = 0; i < n; i++) {
		yajl_val p = list->u.array.values[i];
		char *scopes = j_join(j_get(p, "scopes"));
		char *row[7] = {
			xstrdup(j_str(p, "requestId")), device_label(p),
			verification_code(j_str(p, "deviceId")), client_label(p),
			xprintf("%s: %s", j_str(p, "role"), scopes),
			age_text(now - j_int(p, "ts")),
			xstrdup(j_str(p, "remoteIp")[0] ? j_str(p, "remoteIp") : "local"),
		};

		free(scopes);
		table_row(&t, row);
	}
	table_print(&t);
	printf("Approve one with: gatewayctl devices approve <requestId> (or --latest if it is "
	    "the only one)\n");
}

static void
print_paired(yajl_val list, int64_t now)
{
	struct table t = { 6, 0, { "DEVICE", "CODE", "CLIENT", "ROLES", "SCOPES", "LAST SEEN" },
	    NULL };
	size_t n = j_len(list);

	if (n == 0) {
		printf("No paired devices.\n%s", pair_hint);
		return;
	}
	printf("Paired (%zu)\n", n);
	for (size_t i = 0; i < n; i++) {
		yajl_val d = list->u.array.values[i];
		long long seen = j_int(d, "lastSeenAtMs");
		char *label = device_label(d), *client = client_label(d), *age;
		char *row[6] = {
			xstrdup(j_str(d, "deviceId")), verification_code(j_str(d, "deviceId")),
			xprintf("%s %s", client, label), j_join(j_get(d, "roles")),
			j_join(j_get(d, "scopes")), NULL,
		};

		if (YAJL_IS_TRUE(j_get(d, "connected")))
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

static void
print_list(yajl_val root)
{
	int64_t now = clock_wall_ms();

	print_pending(j_get(root, "pending"), now);
	printf("\n");
	print_paired(j_get(root, "paired"), now);
}

static void
print_status(yajl_val s)
{
	char *up = age_text(j_int(s, "uptimeMs"));

	printf("brokerd %s (pid %lld), up %s\n", j_str(s, "version"), j_int(s, "pid"), up);
	printf("state directory: %s\n", j_str(s, "stateDir"));
	if (strcmp(j_str(s, "authMode"), "token") == 0)
		printf("auth: token (from %s)\n", j_str(s, "tokenSource"));
	else
		printf("auth: %s\n", j_str(s, "authMode"));
	printf("gateways: %lld, sessions: %lld\n", j_int(s, "gateways"), j_int(s, "sessions"));
	printf("pending requests: %lld, paired devices: %lld\n", j_int(s, "pending"),
	    j_int(s, "paired"));
	free(up);
}

static void
print_approved(yajl_val r)
{
	const char *id = j_str(j_get(r, "device"), "deviceId");
	char *code = verification_code(id);

	printf("Approved %s (request %s), verification code %s\n", id, j_str(r, "requestId"),
	    code);
	free(code);
}

static void
print_rejected(yajl_val r)
{
	printf("Rejected request %s of device %s\n", j_str(r, "requestId"), j_str(r, "deviceId"));
}

static void
print_removed(yajl_val r)
{
	printf("Removed %s; its sessions were closed\n", j_str(r, "deviceId"));
}

static void
print_token(yajl_val r)
{
	printf("%s\n", j_str(r, "token"));
	fprintf(stderr, "gatewayctl: brokerd now uses this shared token (shown only this once) "
	    "and closed the sessions that used the old one; give it to your clients\n");
}

static void
print_renamed(yajl_val r)
{
	printf("Renamed %s to \"%s\"\n", j_str(r, "deviceId"), j_str(r, "label"));
}

static void
print_rotated(yajl_val r)
{
	char *scopes = j_join(j_get(r, "scopes"));

	printf("Rotated the %s token of %s (scopes: %s): the old token no longer works and "
	    "the device's %s sessions were closed.\nThe new token is not shown: the device "
	    "receives it when it next connects with the shared token.\n", j_str(r, "role"),
	    j_str(r, "deviceId"), scopes, j_str(r, "role"));
	free(scopes);
}

static void
print_revoked(yajl_val r)
{
	printf("Revoked the %s token of %s and closed its %s sessions.\nThe device stays "
	    "paired: with the shared token it connects again and gets a new device token.\n"
	    "To lock it out, remove it (and rotate the shared token if it knows it):\n"
	    "  gatewayctl devices remove %s\n  gatewayctl token rotate\n", j_str(r, "role"),
	    j_str(r, "deviceId"), j_str(r, "role"), j_str(r, "deviceId"));
}

static void
print_dashboard(yajl_val r)
{
	yajl_val notes = j_get(r, "notes");

	printf("Dashboard URL: %s\n", j_str(r, "url"));
	if (YAJL_IS_TRUE(j_get(r, "tokenIncluded")))
		printf("Open it in a browser on this host. The URL holds the shared token: keep "
		    "it to yourself.\n");
	for (size_t i = 0; i < j_len(notes); i++)
		printf("%s\n", j_item(notes, i));
	printf("%s\n", j_str(r, "assumes"));
}

static void
print_audit(yajl_val r)
{
	struct table t = { 6, 0, { "TIME (UTC)", "WHAT", "DEVICE", "REQUEST", "ROLE", "WHO" },
	    NULL };
	yajl_val list = j_get(r, "entries");
	size_t n = j_len(list);

	if (n == 0)
		printf("The audit log is empty: approvals, rejections, removals and token "
		    "changes are recorded as they happen.\n");
	for (size_t i = 0; i < n; i++) {
		yajl_val e = list->u.array.values[i];
		time_t sec = (time_t)(j_int(e, "ts") / 1000);
		struct tm tm;
		char when[32];
		char *row[6];

		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", gmtime_r(&sec, &tm));
		row[0] = xstrdup(when);
		row[1] = xstrdup(j_str(e, "what"));
		row[2] = xstrdup(j_str(e, "deviceId")[0] ? j_str(e, "deviceId") : "-");
		row[3] = xstrdup(j_str(e, "requestId")[0] ? j_str(e, "requestId") : "-");
		row[4] = xstrdup(j_str(e, "role")[0] ? j_str(e, "role") : "-");
		row[5] = xstrdup(j_str(e, "who"));
		table_row(&t, row);
	}
	if (n > 0)
		table_print(&t);
	if (j_int(r, "unreadable") > 0)
		printf("(%lld lines of the log are not audit entries, e.g. one cut short by a "
		    "crash; they are skipped)\n", j_int(r, "unreadable"));
}

/* Which message a command sends: none, a target (request or device id, or
 * --latest) or a device (id, --role, --scope, a name). */
enum command_msg { MSG_NONE, MSG_TARGET, MSG_DEVICE };

static const struct command {
	const char *words[2];	/* the second may be NULL */
	int nargs;		/* arguments after the words: ids, a name */
	int latest_ok;		/* --latest may replace the id */
	enum command_msg msg;
	uint16_t type;
	void (*print)(yajl_val answer);
} commands[] = {
	{ { "devices", "list" }, 0, 0, MSG_NONE, PROTO_CTL_LIST, print_list },
	{ { "devices", "approve" }, 1, 1, MSG_TARGET, PROTO_CTL_APPROVE, print_approved },
	{ { "devices", "reject" }, 1, 0, MSG_TARGET, PROTO_CTL_REJECT, print_rejected },
	{ { "devices", "remove" }, 1, 0, MSG_TARGET, PROTO_CTL_REMOVE, print_removed },
	{ { "devices", "rename" }, 2, 0, MSG_DEVICE, PROTO_CTL_RENAME, print_renamed },
	{ { "devices", "rotate" }, 1, 0, MSG_DEVICE, PROTO_CTL_TOKEN_ROTATE, print_rotated },
	{ { "devices", "revoke" }, 1, 0, MSG_DEVICE, PROTO_CTL_TOKEN_REVOKE, print_revoked },
	/* One command under two names: `token generate` came first. */
	{ { "token", "rotate" }, 0, 0, MSG_NONE, PROTO_CTL_TOKEN_GENERATE, print_token },
	{ { "token", "generate" }, 0, 0, MSG_NONE, PROTO_CTL_TOKEN_GENERATE, print_token },
	{ { "audit", NULL }, 0, 0, MSG_NONE, PROTO_CTL_AUDIT, print_audit },
	{ { "status", NULL }, 0, 0, MSG_NONE, PROTO_CTL_STATUS, print_status },
	{ { "dashboard", NULL }, 0, 0, MSG_NONE, PROTO_CTL_DASHBOARD, print_dashboard },
};

/* The options that fill a command's message. */
struct command_opts {
	int latest;
	const char *role;		/* NULL: not given */
	struct proto_scopes scopes;
	int has_scopes;
};

union command_msgs {
	struct proto_ctl_target target;
	struct proto_ctl_device device;
};

/* The command args name with its message filled in, or usage() if none matches
 * with the right arguments and options. */
static const struct command *
command_find(char **args, int nargs, const struct command_opts *o, union command_msgs *m)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *c = &commands[i];
		int nwords = c->words[1] != NULL ? 2 : 1;
		int rotate = c->type == PROTO_CTL_TOKEN_ROTATE;

		if (nargs < nwords || strcmp(args[0], c->words[0]) != 0 ||
		    (nwords == 2 && strcmp(args[1], c->words[1]) != 0))
			continue;
		if (o->latest && !c->latest_ok)
			usage("--latest only goes with devices approve");
		if (o->role != NULL && !(rotate || c->type == PROTO_CTL_TOKEN_REVOKE))
			usage("--role only goes with devices rotate and devices revoke");
		if (o->has_scopes && !rotate)
			usage("--scope only goes with devices rotate");
		if (nargs != nwords + (o->latest ? 0 : c->nargs))
			usage(c->nargs == 2 ? "this command takes a device id and a name" :
			    c->nargs == 1 ? "this command takes one id (or, for approve, --latest)" :
			    "this command takes no arguments");
		memset(m, 0, sizeof(*m));
		if (c->msg == MSG_TARGET) {
			m->target.latest = (uint8_t)o->latest;
			if (!o->latest)
				snprintf(m->target.id, sizeof(m->target.id), "%s", args[nwords]);
		} else if (c->msg == MSG_DEVICE) {
			snprintf(m->device.device_id, sizeof(m->device.device_id), "%s",
			    args[nwords]);
			snprintf(m->device.role, sizeof(m->device.role), "%s",
			    o->role != NULL ? o->role : "operator");
			if (c->nargs == 2 && strlen(args[nwords + 1]) > PROTO_TEXT_MAX)
				usage("the name is longer than 256 bytes");
			if (c->nargs == 2)
				snprintf(m->device.label, sizeof(m->device.label), "%s",
				    args[nwords + 1]);
			m->device.has_scopes = (uint8_t)o->has_scopes;
			m->device.scopes = o->scopes;
		}
		return c;
	}
	usage(nargs == 0 ? "no command given" : "unknown command");
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "latest", no_argument, NULL, 'L' },
		{ "role", required_argument, NULL, 'r' },
		{ "scope", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = getenv("CLAWGATE_CONTROL_SOCKET");
	struct command_opts o;
	union command_msgs msg;
	const struct command *cmd;
	int ch, json = 0;
	yajl_val root;
	char *out;

	/* A reader that goes away and a broker that hangs up end in an exit status
	 * (ctl_output_done, ctl_io), never in death by a signal. */
	signal(SIGPIPE, SIG_IGN);
	if (path == NULL || path[0] == '\0')
		path = DEFAULT_SOCKET;
	memset(&o, 0, sizeof(o));
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			path = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'L':
			o.latest = 1;
			break;
		case 'r':
			o.role = optarg;
			break;
		case 'o':
			if (o.scopes.n == PROTO_MAX_SCOPES)
				usage("more than 32 --scope options");
			if (strlen(optarg) > PROTO_NAME_MAX)
				usage("a scope is longer than 64 bytes");
			snprintf(o.scopes.v[o.scopes.n++], sizeof(o.scopes.v[0]), "%s", optarg);
			o.has_scopes = 1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			usage(NULL);
		}
	}
	cmd = command_find(argv + optind, argc - optind, &o, &msg);
	out = ctl_call(path, cmd->type, cmd->msg == MSG_NONE ? NULL : &msg, json);
	if (json) {
		printf("%s\n", out);
	} else {
		root = j_parse(out);
		cmd->print(root);
		yajl_tree_free(root);
	}
	free(out);
	return ctl_output_done();
}
