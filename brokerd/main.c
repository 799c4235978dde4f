/*
 * brokerd: the process that alone holds clawgate's secrets and makes every
 * admission decision. It reads the configuration, checks and opens its state
 * directory, loads the registry, listens on gateway.sock (for gatewayd) and
 * control.sock (for gatewayctl), and serves both from one libevent loop until
 * SIGTERM or SIGINT, when it saves what is unsaved and exits. SIGHUP reloads
 * the configuration (reload.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <event2/event.h>

#include "brokerd/allowlist.h"
#include "brokerd/audit.h"
#include "brokerd/broker.h"
#include "brokerd/config.h"
#include "brokerd/control.h"
#include "brokerd/fileio.h"
#include "brokerd/gwlink.h"
#include "brokerd/gwserve.h"
#include "brokerd/pairing.h"
#include "brokerd/problem.h"
#include "brokerd/ratelimit.h"
#include "brokerd/registry.h"
#include "brokerd/reload.h"
#include "brokerd/rpclimit.h"
#include "brokerd/secret.h"
#include "brokerd/sessions.h"
#include "brokerd/ticket.h"
#include "brokerd/tlscert.h"
#include "common/cli.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/notify.h"
#include "common/random.h"
#include "common/sandbox.h"
#include "common/xmalloc.h"

#define DEFAULT_STATE_DIR "/var/lib/clawgate"
#define DEFAULT_SOCKET_DIR "/run/clawgate"
#define GATEWAY_SOCKET "gateway.sock"
#define CONTROL_SOCKET "control.sock"
/* The accounts of doc/design.md §1, as systemd/clawgate.sysusers creates them. */
#define BROKER_USER "clawgate-broker"
#define GATEWAY_USER "clawgate-gw"
#define GATEWAY_GROUP "clawgate-gw"
#define ADMIN_GROUP "clawgate-admin"

/* Pairing decisions reach gatewayd's sessions through the gateway links. */
static const struct pairing_effects broker_pairing_effects = {
	.publish = gwlink_publish,
	.close_device = gwlink_close_device,
	.device_connected = sessions_device_connected,
};

static const char usage_text[] =
    "usage: brokerd [--config FILE] [--state-dir DIR] [--socket-dir DIR]\n"
    "               [--log-level error|warn|info|debug] [--check-config]\n"
    "       brokerd --help | --version\n"
    "options:\n"
    "  --config FILE      the configuration file (default " CONFIG_DEFAULT_PATH ")\n"
    "  --state-dir DIR    the token, the device registry and the audit log\n"
    "                     (default " DEFAULT_STATE_DIR ")\n"
    "  --socket-dir DIR   where gateway.sock and control.sock go (default "
    DEFAULT_SOCKET_DIR ")\n"
    "  --log-level LEVEL  log error, warn, info (default) or debug messages\n"
    "  --check-config     read the configuration, the environment and the state\n"
    "                     directory as a start would, print every problem, and exit\n"
    "                     0 if there is none, 1 if there is; changes and starts nothing\n"
    "  --help             print this text and exit\n"
    "  --version          print brokerd's version and exit\n";

static void __attribute__((noreturn))
usage(void)
{
	cli_usage_error("brokerd", NULL, usage_text);
}

/* After a phase of reading that found problems (each reported already). */
static void
refuse_if_problems(const char *what)
{
	size_t n = problem_count();

	if (n > 0)
		fatalx("refusing to start: %zu problem%s in %s (above): fix %s, then check "
		    "with: brokerd --check-config", n, n == 1 ? "" : "s", what,
		    n == 1 ? "it" : "them");
}

/* The state directory holds the secrets: it must belong to the user brokerd
 * runs as once sandboxed (the one root drops to) and be closed to others. A
 * start creates it if missing; a check only looks (-1: there is none). */
static int
state_dir_open(const char *path, const struct sandbox_user *u, int check)
{
	struct stat st;
	int fd, made = 0;

	if (!check && !(made = mkdir(path, 0700) == 0) && errno != EEXIST)
		fatal("cannot create the state directory %s", path);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 && check &&
	    errno == ENOENT) {
		log_info("the state directory %s does not exist yet: brokerd creates it, a "
		    "registry and a shared token (unless configured) when it starts", path);
		return -1;
	}
	if (fd < 0) {
		problem_report("cannot open the state directory %s: %s (give it to brokerd's "
		    "account: chown %u %s; chmod 700 %s)", path, strerror(errno),
		    (unsigned)u->uid, path, path);
		return -1;
	}
	if (made && u->drop && fchown(fd, u->uid, u->gid) < 0)
		fatal("cannot give the new state directory %s to %s", path, u->name);
	if (fstat(fd, &st) < 0)
		fatal("cannot stat the state directory %s", path);
	if (st.st_uid != u->uid)
		problem_report("the state directory %s belongs to uid %u, not to brokerd's uid %u "
		    "(%s): run chown -R %u %s", path, (unsigned)st.st_uid, (unsigned)u->uid,
		    u->drop ? u->name : "the user running it", (unsigned)u->uid, path);
	if (st.st_mode & 077)
		problem_report("the state directory %s is open to group or others (mode %04o): "
		    "run chmod 700 %s", path, (unsigned)(st.st_mode & 07777), path);
	return fd;
}

/* A socket dir brokerd creates as root goes to the broker's account, so that it
 * can remove its sockets when it stops. */
static void
socket_dir_make(const char *path, const struct sandbox_user *u)
{
	struct stat st;

	if (mkdir(path, 0755) == 0) {
		if (u->drop && chown(path, u->uid, u->gid) < 0)
			fatal("cannot give the new socket directory %s to %s", path, u->name);
	} else if (errno != EEXIST) {
		fatal("cannot create the socket directory %s", path);
	}
	if (stat(path, &st) < 0)
		fatal("cannot stat the socket directory %s", path);
	if (!S_ISDIR(st.st_mode))
		fatalx("the socket directory %s is not a directory", path);
}

/* Listens on dir/name (mode 0660), replacing a stale socket left by a broker that
 * died, but never one another broker still serves, nor anything but a socket. */
static int
socket_listen(const char *dir, const char *name, char *path, size_t pathsz)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t old;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(path, pathsz, "%s/%s", dir, name) >= sizeof(sun.sun_path))
		fatalx("the socket path %s/%s is longer than %zu bytes: use a shorter "
		    "--socket-dir", dir, name, sizeof(sun.sun_path) - 1);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		fatal("socket");
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			fatalx("%s exists and is not a socket: move it away", path);
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			fatalx("another brokerd is serving %s: stop it first", path);
		if (unlink(path) < 0)
			fatal("cannot remove the stale socket %s", path);
	}
	/* The umask makes the socket 0660 from the start, not after a chmod. */
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		fatal("cannot bind %s", path);
	umask(old);
	if (listen(fd, 128) < 0)
		fatal("cannot listen on %s", path);
	return fd;
}

/*
 * The sockets go to the group that may use them (mode 0660): clawgate-gw for
 * gateway.sock, clawgate-admin for control.sock (the broker still checks every
 * control client's credentials). Started as root brokerd also gives them to its
 * account; under systemd it is that account already and a member of both groups
 * (brokerd.service). An ordinary user who is not keeps them in their own group,
 * which is all a gatewayd and gatewayctl run by that same user need.
 */
static void
socket_give(const char *path, const struct sandbox_user *u, const char *group, int required)
{
	struct group *gr = getgrnam(group);

	if (gr == NULL && !u->drop)
		return;
	if (gr == NULL && required)
		fatalx("started as root, but the group %s for %s does not exist: create it with: "
		    "systemd-sysusers (the clawgate sysusers.d file is installed), or "
		    "groupadd --system %s", group, path, group);
	if (gr == NULL)
		log_info("the group %s does not exist, so only root can use %s (create it with: "
		    "groupadd --system %s, then add admins to it)", group, path, group);
	if (chown(path, u->drop ? u->uid : (uid_t)-1, gr != NULL ? gr->gr_gid : u->gid) == 0)
		return;
	if (u->drop)
		fatal("cannot give %s to %s", path, u->name);
	log_debug("%s stays in brokerd's own group: it is not a member of %s", path, group);
}

/* Who may open a gateway link: gatewayd's account (clawgate-gw, which a
 * gatewayd started as root drops to), or the user brokerd was started as, for
 * a gatewayd that user runs alongside it. Root always may. */
static void
gateway_accounts(void)
{
	struct passwd *pw = getpwnam(GATEWAY_USER);

	if (pw != NULL)
		gwlink_allow_uid(pw->pw_uid);
	gwlink_allow_uid(getuid());
}

/* What the Control UI tells an admin to run unless configured: gatewayctl with
 * --socket and the control socket's absolute path, so that it works from any
 * directory, or plain gatewayctl when the socket is where gatewayctl looks. */
static void
gatewayctl_command(struct config *cfg, const char *socket_dir, const char *config_path)
{
	char dir[PATH_MAX], path[PATH_MAX + sizeof(CONTROL_SOCKET) + 1];

	if (realpath(socket_dir, dir) == NULL)
		fatal("cannot resolve the socket directory %s", socket_dir);
	snprintf(path, sizeof(path), "%s/%s", dir, CONTROL_SOCKET);
	config_gatewayctl_default(cfg, path, strcmp(dir, DEFAULT_SOCKET_DIR) == 0);
	/* A reload works out the same default when the configuration names none. */
	reload_init(config_path, path, strcmp(dir, DEFAULT_SOCKET_DIR) == 0);
}

/* The shared token when the config and environment name none: the state dir's
 * gateway.token. Without one, cfg->token stays NULL (token_generate makes one). */
static void
token_read(struct config *cfg, int state_fd, const char *state_dir)
{
	if (cfg->auth_mode != AUTH_MODE_TOKEN || cfg->token != NULL)
		return;
	if ((cfg->token = secret_token_load(state_fd)) != NULL) {
		cfg->token_source = SECRET_SOURCE_FILE;
		return;
	}
	if (errno == EINVAL)
		problem_report("%s/%s holds no usable token: delete it to have a new one "
		    "generated", state_dir, SECRET_TOKEN_FILE);
	else if (errno == ELOOP)
		problem_report("%s/%s is a symbolic link, and brokerd follows none in its state "
		    "directory: put the token file itself in its place (mv it there), or delete "
		    "the link to have a new token generated", state_dir, SECRET_TOKEN_FILE);
	else if (errno != ENOENT)
		problem_report("cannot read %s/%s: %s (it must be readable to brokerd's "
		    "account: chown it to that account, chmod 600)", state_dir,
		    SECRET_TOKEN_FILE, strerror(errno));
}

/* At the first start in token mode with no token configured: a new one, saved
 * in the state dir. */
static void
token_generate(struct config *cfg, int state_fd, const char *state_dir)
{
	if (cfg->auth_mode != AUTH_MODE_TOKEN || cfg->token != NULL)
		return;
	cfg->token = xmalloc(SECRET_TOKEN_LEN + 1);
	secret_mint(cfg->token);
	if (secret_token_save(state_fd, cfg->token) < 0)
		fatal("cannot save %s/%s", state_dir, SECRET_TOKEN_FILE);
	cfg->token_source = SECRET_SOURCE_GENERATED;
	log_info("generated a shared gateway token in %s/%s (show it with: cat %s/%s)",
	    state_dir, SECRET_TOKEN_FILE, state_dir, SECRET_TOKEN_FILE);
}

/* --check-config's verdict, after every problem was reported: the exit status. */
static int
check_report(const struct config *cfg, const char *state_dir, const struct registry *reg)
{
	size_t n = problem_count();

	if (n > 0) {
		fprintf(stderr, "brokerd: %zu problem%s found (above): brokerd would refuse to "
		    "start; fix %s, then run brokerd --check-config again\n", n,
		    n == 1 ? "" : "s", n == 1 ? "it" : "them");
		return 1;
	}
	printf("brokerd: configuration OK: %s, state directory %s, auth mode %s%s%s, "
	    "%zu paired devices\n", cfg->path != NULL ? cfg->path : "no configuration file",
	    state_dir, config_auth_mode_name(cfg->auth_mode),
	    cfg->auth_mode == AUTH_MODE_TOKEN ? ", token from " : "",
	    cfg->auth_mode != AUTH_MODE_TOKEN ? "" : cfg->token != NULL ?
	    config_secret_source_name(cfg->token_source) : "a new one generated at start",
	    reg->ndevices);
	return fflush(stdout) == 0 ? 0 : 1;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	log_info("%s: saving and exiting", strsignal(sig));
	notify_send("STOPPING=1");
	event_base_loopbreak(arg);
}

/* SIGHUP (systemctl reload brokerd, an admin's or logrotate's kill -HUP):
 * the configuration is read again and what can change applied (reload.h). */
static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	reload_run(arg);
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "socket-dir", required_argument, NULL, 'S' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "check-config", no_argument, NULL, 'C' },
		CLI_OPTIONS,
		/* Hidden: the sandbox's negative test (sandbox_selftest). */
		{ "sandbox-selftest", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL, *state_dir = DEFAULT_STATE_DIR, *selftest = NULL;
	const char *socket_dir = DEFAULT_SOCKET_DIR;
	char gw_path[4096], ctl_path[4096], err[1024];
	struct event *sigterm, *sigint, *sighup;
	struct event_base *base;
	struct registry reg;
	struct config cfg;
	struct broker br;
	struct sandbox_user user;
	struct sandbox_policy policy;
	enum log_level level = LOG_LEVEL_INFO;
	int ch, gw_fd, ctl_fd, sock_dir_fd, check = 0;

	log_init("brokerd", level);
	sandbox_no_dumps();
	/* A gatewayd or gatewayctl that hangs up must cost an error return, not the
	 * process; until the event loop watches SIGHUP (on_hup), it is ignored too:
	 * dying of it would look like a clean exit to the service manager. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 's':
			state_dir = optarg;
			break;
		case 'S':
			socket_dir = optarg;
			break;
		case 'l':
			if (log_level_parse(optarg, &level) < 0)
				usage();
			log_set_level(level);
			break;
		case 'T':
			selftest = optarg;
			break;
		case 'C':
			check = 1;
			break;
		case CLI_OPT_HELP:
			cli_help(usage_text);
		case CLI_OPT_VERSION:
			cli_version("brokerd");
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	/* Before anything draws randomness or encodes a token or key. */
	random_init();

	sandbox_user_lookup(&user, BROKER_USER);
	/* A check goes on to the state dir whatever it found, to list everything. */
	config_load(&cfg, config_path);
	if (!check)
		refuse_if_problems("the configuration");
	memset(&br, 0, sizeof(br));
	br.cfg = &cfg;
	br.reg = &reg;
	br.rl = ratelimit_new();
	br.rpclimit = rpclimit_new();
	br.state_dir = state_dir;
	br.state_fd = state_dir_open(state_dir, &user, check);
	br.started_mono_ms = clock_mono_ms();
	/* Reading first, writing after: refusing a broken registry or token file
	 * must leave the state dir as it was, and a check writes nothing. */
	registry_init(&reg, br.state_fd, state_dir);
	if (br.state_fd >= 0 && registry_load(&reg, err, sizeof(err)) < 0)
		problem_report("%s (brokerd never overwrites a registry it cannot read: fix the "
		    "file or restore it from a backup)", err);
	if (br.state_fd >= 0) {
		token_read(&cfg, br.state_fd, state_dir);
		tlscert_read(&cfg, br.state_fd, state_dir);
	}
	if (check) {
		ch = check_report(&cfg, state_dir, &reg);
		registry_free(&reg);
		config_free(&cfg);
		ratelimit_free(br.rl);
		rpclimit_free(br.rpclimit);
		if (br.state_fd >= 0)
			close(br.state_fd);
		return ch;
	}
	refuse_if_problems("the state directory");
	/* What brokerd writes as root before the drop (the registry, a generated
	 * token, the audit log) goes to the broker's account, so that it can go on
	 * writing it; nothing else in the directory is touched. */
	if (user.drop)
		fileio_owner_set(user.uid, user.gid);
	token_generate(&cfg, br.state_fd, state_dir);
	tlscert_generate(&cfg, br.state_fd, state_dir);
	audit_open(br.state_fd, state_dir);
	pairing_init(&broker_pairing_effects);
	/* First start: create the file now, so an unwritable state dir shows at once. */
	if (registry_flush(&reg) < 0)
		fatalx("cannot write the registry in %s", state_dir);
	fileio_owner_clear();

	socket_dir_make(socket_dir, &user);
	/* Removing the sockets at exit goes through this fd: once unprivileged, the
	 * broker may no longer be able to walk the socket dir's parents. */
	if ((sock_dir_fd = open(socket_dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		fatal("cannot open the socket directory %s", socket_dir);
	gw_fd = socket_listen(socket_dir, GATEWAY_SOCKET, gw_path, sizeof(gw_path));
	ctl_fd = socket_listen(socket_dir, CONTROL_SOCKET, ctl_path, sizeof(ctl_path));
	socket_give(gw_path, &user, GATEWAY_GROUP, 1);
	socket_give(ctl_path, &user, ADMIN_GROUP, 0);
	gatewayctl_command(&cfg, socket_dir, config_path);
	config_pin(config_path);
	if ((base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	sessions_init();
	gwserve_init(base, &br);
	gateway_accounts();
	gwlink_listen(gw_fd);
	control_init(base, ctl_fd, &br);
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	sighup = evsignal_new(base, SIGHUP, on_hup, &br);
	if (sigterm == NULL || sigint == NULL || sighup == NULL ||
	    evsignal_add(sigterm, NULL) < 0 || evsignal_add(sigint, NULL) < 0 ||
	    evsignal_add(sighup, NULL) < 0)
		fatalx("cannot install signal handlers");
	ticket_init();
	notify_init();
	/* The state dir is the broker's whole world: everything else it needs (the
	 * sockets, the socket dir, the state dir itself) is an open fd by now. */
	policy = (struct sandbox_policy){ .user = &user, .root = state_dir, .no_dumps = 1,
	    .rules = allowlist_rules, .nrules = allowlist_nrules };
	sandbox_enter(&policy);
	if (selftest != NULL)
		sandbox_selftest(&policy, selftest);

	log_info("ready: gateway socket %s, control socket %s, state %s, auth mode %s%s%s, "
	    "%zu paired devices", gw_path, ctl_path, state_dir,
	    config_auth_mode_name(cfg.auth_mode),
	    cfg.auth_mode == AUTH_MODE_TOKEN ? ", token from " : "",
	    cfg.auth_mode == AUTH_MODE_TOKEN ? config_secret_source_name(cfg.token_source) : "",
	    reg.ndevices);
	notify_send("READY=1");
	if (event_base_dispatch(base) < 0)
		fatalx("the event loop failed");

	registry_flush(&reg);
	gwlink_shutdown();
	sessions_shutdown();
	ticket_shutdown();
	control_shutdown();
	unlinkat(sock_dir_fd, GATEWAY_SOCKET, 0);
	unlinkat(sock_dir_fd, CONTROL_SOCKET, 0);
	close(sock_dir_fd);
	event_free(sigterm);
	event_free(sigint);
	event_free(sighup);
	event_base_free(base);
	ratelimit_free(br.rl);
	rpclimit_free(br.rpclimit);
	registry_free(&reg);
	pairing_shutdown();
	audit_close();
	config_free(&cfg);
	config_unpin();
	reload_free();
	close(br.state_fd);
	return 0;
}
