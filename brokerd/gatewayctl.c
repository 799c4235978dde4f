/*
 * gatewayctl: the admin's command line for brokerd. It sends one command over
 * the control socket, waits for the answer and prints it for a person (ctlshow.h)
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
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "brokerd/ctldoctor.h"
#include "brokerd/ctlrelay.h"
#include "brokerd/ctlshow.h"
#include "common/cli.h"
#include "common/textesc.h"
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
    "       gatewayctl --help | --version\n"
    "options:\n"
    "  --socket PATH                      brokerd's control socket (see PATH below)\n"
    "  --help                             print this text and exit\n"
    "  --version                          print gatewayctl's version and exit\n"
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
    "  doctor [--device ID] [--json]      explain the recent refusals (cause and fix) and\n"
    "                                     check the installation; exit status 1 when it\n"
    "                                     lists a problem\n"
    "  relay check                        in relay mode: whether only clawgate may reach\n"
    "                                     the upstream's port on this host (the nftables\n"
    "                                     guard); needs root to ask nft; exit status 1 when\n"
    "                                     unguarded or it cannot tell; with\n"
    "                                     clawgate.relay.guard \"upstream\" nothing to check\n"
    "PATH defaults to $CLAWGATE_CONTROL_SOCKET, else " DEFAULT_SOCKET ".\n"
    "exit status: 0 done; 1 brokerd refused the command (the message says why) or it\n"
    "failed otherwise; 2 usage error; 3 brokerd is not running or does not answer (no\n"
    "socket, connection refused, no answer within 30 s, connection closed without an\n"
    "answer); 4 permission denied (the control socket, or brokerd, refused this user).\n";

static void __attribute__((noreturn))
usage(const char *problem)
{
	cli_usage_error("gatewayctl", problem, usage_text);
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
	char shown[TEXTESC_GROWTH * PROTO_MESSAGE_MAX + 1];
	struct proto_hdr hdr;
	struct pbuf b;
	char *json;
	int fd = ctl_connect(path);

	pbuf_init(&b);
	if (proto_encode(&b, type, REQUEST_ID, msg) < 0)
		die(CTL_EXIT_USAGE, "an id, role or scope is too long or has spaces, or the name has control "
		    "or bidirectional formatting characters or is longer than %d bytes",
		    PROTO_TEXT_MAX);
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
	if (!res.ok) {
		textesc(shown, sizeof(shown), res.error.message, strlen(res.error.message));
		die(strcmp(res.error.code, "FORBIDDEN") == 0 ? CTL_EXIT_DENIED : CTL_EXIT_FAILED,
		    "%s", shown);
	}
	if ((json = pval_to_json_string(res.payload.data, res.payload.len, pretty)) == NULL)
		die(CTL_EXIT_FAILED, "brokerd at %s sent an answer that is not valid JSON", path);
	free(payload);
	return json;
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
	int (*judge)(yajl_val answer);	/* instead of print: also gives the exit status */
} commands[] = {
	{ { "devices", "list" }, 0, 0, MSG_NONE, PROTO_CTL_LIST, ctlshow_list, NULL },
	{ { "devices", "approve" }, 1, 1, MSG_TARGET, PROTO_CTL_APPROVE, ctlshow_approved, NULL },
	{ { "devices", "reject" }, 1, 0, MSG_TARGET, PROTO_CTL_REJECT, ctlshow_rejected, NULL },
	{ { "devices", "remove" }, 1, 0, MSG_TARGET, PROTO_CTL_REMOVE, ctlshow_removed, NULL },
	{ { "devices", "rename" }, 2, 0, MSG_DEVICE, PROTO_CTL_RENAME, ctlshow_renamed, NULL },
	{ { "devices", "rotate" }, 1, 0, MSG_DEVICE, PROTO_CTL_TOKEN_ROTATE, ctlshow_rotated, NULL },
	{ { "devices", "revoke" }, 1, 0, MSG_DEVICE, PROTO_CTL_TOKEN_REVOKE, ctlshow_revoked, NULL },
	/* One command under two names: `token generate` came first. */
	{ { "token", "rotate" }, 0, 0, MSG_NONE, PROTO_CTL_TOKEN_GENERATE, ctlshow_token, NULL },
	{ { "token", "generate" }, 0, 0, MSG_NONE, PROTO_CTL_TOKEN_GENERATE, ctlshow_token, NULL },
	{ { "audit", NULL }, 0, 0, MSG_NONE, PROTO_CTL_AUDIT, ctlshow_audit, NULL },
	{ { "status", NULL }, 0, 0, MSG_NONE, PROTO_CTL_STATUS, ctlshow_status, NULL },
	{ { "dashboard", NULL }, 0, 0, MSG_NONE, PROTO_CTL_DASHBOARD, ctlshow_dashboard, NULL },
	{ { "relay", "check" }, 0, 0, MSG_NONE, PROTO_CTL_STATUS, NULL, ctlrelay_check },
	/* A target whose id is the device --device names, or empty. */
	{ { "doctor", NULL }, 0, 0, MSG_TARGET, PROTO_CTL_DOCTOR, NULL, ctldoctor_show },
};

/* The options that fill a command's message. */
struct command_opts {
	int latest;
	const char *role;		/* NULL: not given */
	struct proto_scopes scopes;
	int has_scopes;
	const char *device;		/* doctor --device */
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
		if (o->device != NULL && c->type != PROTO_CTL_DOCTOR)
			usage("--device only goes with doctor");
		if (nargs != nwords + (o->latest ? 0 : c->nargs))
			usage(c->nargs == 2 ? "this command takes a device id and a name" :
			    c->nargs == 1 ? "this command takes one id (or, for approve, --latest)" :
			    "this command takes no arguments");
		memset(m, 0, sizeof(*m));
		if (c->type == PROTO_CTL_DOCTOR) {
			if (o->device != NULL && strlen(o->device) > PROTO_ID_MAX)
				usage("the device id is longer than 128 bytes");
			snprintf(m->target.id, sizeof(m->target.id), "%s",
			    o->device != NULL ? o->device : "");
		} else if (c->msg == MSG_TARGET) {
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
		{ "device", required_argument, NULL, 'd' },
		CLI_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *path = getenv("CLAWGATE_CONTROL_SOCKET");
	struct command_opts o;
	union command_msgs msg;
	const struct command *cmd;
	int ch, json = 0, verdict = CTL_EXIT_OK, done;
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
		case 'd':
			o.device = optarg;
			break;
		case 'h':
		case CLI_OPT_HELP:
			cli_help(usage_text);
		case CLI_OPT_VERSION:
			cli_version("gatewayctl");
		default:
			usage(NULL);
		}
	}
	cmd = command_find(argv + optind, argc - optind, &o, &msg);
	if (json && cmd->judge != NULL && cmd->type != PROTO_CTL_DOCTOR)
		usage("--json does not go with relay check");
	out = ctl_call(path, cmd->type, cmd->msg == MSG_NONE ? NULL : &msg, json);
	if (json) {
		/* The same JSON, with hidden characters as \uXXXX escapes. */
		size_t len = strlen(out);
		char *shown = xmalloc(TEXTESC_JSON_GROWTH * len + 1);

		textesc_json(shown, TEXTESC_JSON_GROWTH * len + 1, out, len);

		printf("%s\n", shown);
		free(shown);
	} else {
		root = j_parse(out);
		ctlshow_escape(root);
		if (cmd->judge != NULL)
			verdict = cmd->judge(root);
		else
			cmd->print(root);
		yajl_tree_free(root);
	}
	free(out);
	done = ctl_output_done();
	return done != CTL_EXIT_OK ? done : verdict;
}
