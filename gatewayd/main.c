/*
 * gatewayd: the unprivileged network process of clawgate. It holds no secret
 * and decides no admission; brokerd does both (doc/design.md §1).
 */
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include "common/cli.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/notify.h"
#include "common/random.h"
#include "common/sandbox.h"
#include "gatewayd/allowlist.h"
#include "gatewayd/brokerlink.h"
#include "gatewayd/flush.h"
#include "gatewayd/gatewayd.h"
#include "gatewayd/report.h"
#include "gatewayd/listener.h"
#include "gatewayd/msgbudget.h"
#include "gatewayd/probe.h"
#include "gatewayd/render.h"
#include "gatewayd/session.h"
#include "gatewayd/tls.h"
#include "gatewayd/ui.h"
#include "gatewayd/workers.h"
#include "gatewayd/ws.h"
#include "gatewayd/staticfiles.h"

#define MAIN_SHUTDOWN_GRACE_S 3	/* for close frames to reach clients */
#define MAIN_USER "clawgate-gw"	/* doc/design.md §1, created by systemd/clawgate.sysusers */
#define MAIN_MMAP_THRESHOLD (1 << 20)	/* see the mallopt calls in main */
#define MAIN_TRIM_THRESHOLD (16 << 20)
#define MAIN_STR(x) #x
#define MAIN_XSTR(x) MAIN_STR(x)

static unsigned long main_port;	/* 0: the broker's */
static struct event *main_grace;
static struct sandbox_user main_user;
static const char *main_selftest;	/* --sandbox-selftest: the negative test */
static struct brokerlink_user main_broker;	/* the broker link's messages go to sessions */

static const char main_usage_text[] =
    "usage: gatewayd [--socket-dir DIR] [--port N] [--workers N]\n"
    "                [--log-level error|warn|info|debug] [--test-echo[=pass]]\n"
    "       gatewayd --help | --version\n"
    "options:\n"
    "  --socket-dir DIR    where brokerd's gateway.sock is (default /run/clawgate)\n"
    "  --port N            listen on port N instead of brokerd's gateway.port\n"
    "  --workers N         serve connections from N processes (1-" MAIN_XSTR(WORKERS_MAX)
    ", default 1)\n"
    "  --log-level LEVEL   log error, warn, info (default) or debug messages\n"
    "  --test-echo[=pass]  RFC 6455 conformance tests only: every WebSocket is an\n"
    "                      unauthenticated echo (never in production)\n"
    "  --help              print this text and exit\n"
    "  --version           print gatewayd's version and exit\n";

static void __attribute__((noreturn))
main_usage(void)
{
	cli_usage_error("gatewayd", NULL, main_usage_text);
}

/* BR_HELLO is in: only now is it known what to listen on. With the listeners
 * and the broker link open, everything else happens in the sandbox. */
static void
main_ready(void)
{
	uint16_t port = main_port ? (uint16_t)main_port : gatewayd.settings.port;
	int relay = relay_mode();
	struct sandbox_policy policy;

	if (port == 0)
		fatalx("brokerd sent port 0: set gateway.port or pass --port");
	tls_init();
	session_init();
	listener_open_all(&gatewayd.settings, port, session_accept);
	if (gatewayd.settings.ui_root[0] != '\0')
		staticfiles_open(gatewayd.settings.ui_root, gatewayd.settings.version);
	random_init();
	/* No chroot: gatewayd reaches the broker by the socket's path. It binds no
	 * TCP port once sandboxed (its listeners are open) and connects over TCP only
	 * in relay mode, to the upstream's port. */
	policy = (struct sandbox_policy){ .user = &main_user, .no_dumps = 1,
	    .rules = allowlist_rules, .nrules = allowlist_nrules, .tcp_lock = 1,
	    .tcp_connect_port = gatewayd.settings.relay.port };
	if (relay) {
		policy.mode_rules = allowlist_relay_rules;
		policy.nmode_rules = allowlist_relay_nrules;
	}
	sandbox_enter(&policy);
	if (main_selftest != NULL)
		sandbox_selftest(&policy, main_selftest);
	notify_send("READY=1");
}

/* Every BR_HELLO: the first opens the gateway, a later one (brokerd restarted)
 * finds it open. Unlike the listeners, the page follows a new broker's
 * settings at once. */
static void
main_broker_up(int first)
{
	ui_set_gatewayctl(gatewayd.settings.gatewayctl);
	report_link_up();
	if (first)
		main_ready();
	else
		session_broker_back();
	probe_link_up();
}

/* A reload of brokerd's configuration: the page shows its gatewayctl command. */
static void
main_broker_reconfigured(void)
{
	ui_set_gatewayctl(gatewayd.settings.gatewayctl);
}

static void
main_done(void)
{
	event_base_loopexit(gatewayd.base, NULL);
}

static void
main_grace_cb(evutil_socket_t fd, short what, void *arg)
{
	main_done();
}

static void
main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct timeval grace = { MAIN_SHUTDOWN_GRACE_S, 0 };

	if (main_grace != NULL)
		return;
	log_info("shutting down (%s)", strsignal((int)sig));
	notify_send("STOPPING=1");
	listener_close_all();
	if ((main_grace = evtimer_new(gatewayd.base, main_grace_cb, NULL)) == NULL ||
	    evtimer_add(main_grace, &grace) < 0)
		fatalx("cannot arm the shutdown timer");
	session_shutdown(main_done);
}

/* SIGHUP is what logrotate and many admins send to "reload"; gatewayd's
 * settings come from brokerd, whose reload sends them (BR_CONFIG), and dying
 * of it would look like a clean exit to the service manager (no restart). So
 * it is said and ignored. */
static void
main_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	log_info("%s", GATEWAYD_SIGHUP_IGNORED);
}

/*
 * gatewayd holds no secret at rest. A token or password in its environment (a
 * shell's it inherited, a unit that gives both daemons one environment) is
 * wiped where the kernel shows it too (/proc/PID/environ reads the memory the
 * strings live in), and the admin told where it belongs.
 */
static void
main_wipe_secret_env(void)
{
	static const char *const names[] = {
		"OPENCLAW_GATEWAY_TOKEN", "OPENCLAW_GATEWAY_PASSWORD",
	};
	char *value;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((value = getenv(names[i])) == NULL)
			continue;
		explicit_bzero(value, strlen(value));
		unsetenv(names[i]);
		log_warnx("%s was in gatewayd's environment; gatewayd never uses it and has "
		    "wiped it: set it for brokerd alone (brokerd.service's Environment= or "
		    "its config file)", names[i]);
	}
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket-dir", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "workers", required_argument, NULL, 'w' },
		{ "test-echo", optional_argument, NULL, 'E' },
		CLI_OPTIONS,
		/* Hidden: a small large-message budget and short deadlines, for its
		 * tests: KIB,WAIT_MS,GRACE_MS (gatewayd/wsbudget.c). */
		{ "test-msg-budget", required_argument, NULL, 'B' },
		/* Hidden: the upstream probe's period in ms (probe.h), for its tests. */
		{ "test-upstream-probe", required_argument, NULL, 'P' },
		/* Hidden: the sandbox's negative test (sandbox_selftest). */
		{ "sandbox-selftest", required_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	const char *socket_dir = "/run/clawgate";
	enum log_level level = LOG_LEVEL_INFO;
	struct event *sigterm, *sigint, *sighup;
	unsigned long workers = 1, budget_kib = 0;
	long wait_ms, grace_ms, probe_ms;
	char *end, extra;
	int c;

	log_init("gatewayd", level);
	main_wipe_secret_env();
	/* A peer that vanishes must cost an error return, not the process. Until the
	 * event loop watches SIGHUP (main_hup_cb), it is ignored; workers inherit both. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	/* The relay allocates and frees buffers the size of a message (up to
	 * policy.maxPayload) all the time. glibc's defaults would hand the top of
	 * the heap back to the kernel after such a free and fault it in again
	 * for the next message (a third of gatewayd's CPU relaying 64 KiB
	 * messages): keep up to 16 MiB of freed heap, and serve buffers under
	 * 1 MiB from the heap rather than a mapping of their own. */
	mallopt(M_MMAP_THRESHOLD, MAIN_MMAP_THRESHOLD);
	mallopt(M_TRIM_THRESHOLD, MAIN_TRIM_THRESHOLD);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			socket_dir = optarg;
			break;
		case 'p':
			main_port = strtoul(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || main_port == 0 || main_port > 65535) {
				fprintf(stderr, "gatewayd: --port wants 1-65535, not \"%s\"\n",
				    optarg);
				main_usage();
			}
			break;
		case 'E':
			/* RFC 6455 conformance tests only: a command-line switch, so that
			 * no configuration file can turn it on. "pass": the relay's
			 * pass-through frame path (ws_pass) instead of wslay's. */
			if (optarg != NULL && strcmp(optarg, "pass") != 0) {
				fprintf(stderr, "gatewayd: --test-echo takes no value or \"pass\", "
				    "not \"%s\"\n", optarg);
				main_usage();
			}
			gatewayd.test_echo = optarg != NULL ? GATEWAYD_ECHO_PASS : GATEWAYD_ECHO;
			break;
		case 'w':
			workers = strtoul(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || workers == 0 ||
			    workers > WORKERS_MAX) {
				fprintf(stderr, "gatewayd: --workers wants 1-%d, not \"%s\"\n",
				    WORKERS_MAX, optarg);
				main_usage();
			}
			break;
		case 'l':
			if (log_level_parse(optarg, &level) < 0) {
				fprintf(stderr, "gatewayd: unknown log level \"%s\"\n", optarg);
				main_usage();
			}
			log_set_level(level);
			break;
		case 'T':
			main_selftest = optarg;
			break;
		case 'B':
			if (sscanf(optarg, "%lu,%ld,%ld%c", &budget_kib, &wait_ms, &grace_ms,
			    &extra) != 3 || budget_kib == 0 || budget_kib > (1UL << 30) ||
			    wait_ms <= 0 || grace_ms <= 0) {
				fprintf(stderr, "gatewayd: --test-msg-budget wants KIB,WAIT_MS,GRACE_MS "
				    "(positive numbers), not \"%s\"\n", optarg);
				main_usage();
			}
			ws_budget_times(wait_ms, grace_ms);
			break;
		case 'P':
			probe_ms = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || probe_ms < 100 ||
			    probe_ms > PROBE_PERIOD_MS) {
				fprintf(stderr, "gatewayd: --test-upstream-probe wants 100-%d (ms), "
				    "not \"%s\"\n", PROBE_PERIOD_MS, optarg);
				main_usage();
			}
			probe_set_period(probe_ms);
			break;
		case CLI_OPT_HELP:
			cli_help(main_usage_text);
		case CLI_OPT_VERSION:
			cli_version("gatewayd");
		default:
			main_usage();
		}
	}
	if (optind != argc)
		main_usage();
	sandbox_user_lookup(&main_user, MAIN_USER);
	notify_init();

	gatewayd.workers = (unsigned)workers;
	msgbudget_set_total(budget_kib != 0 ? (uint64_t)budget_kib << 10 :
	    msgbudget_default(gatewayd.workers));
	log_info("messages over %d KiB still arriving may hold at most %llu KiB of memory per "
	    "worker", MSGBUDGET_SMALL / 1024, (unsigned long long)(msgbudget_total() >> 10));
	gatewayd.worker = workers_spawn(gatewayd.workers);
	if (gatewayd.test_echo)
		log_warnx("--test-echo: every WebSocket is an echo without authentication; "
		    "for conformance tests only, never in production");
	if ((gatewayd.base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	gatewayd.started_ms = clock_mono_ms();
	if ((sigterm = evsignal_new(gatewayd.base, SIGTERM, main_signal_cb, NULL)) == NULL ||
	    (sigint = evsignal_new(gatewayd.base, SIGINT, main_signal_cb, NULL)) == NULL ||
	    (sighup = evsignal_new(gatewayd.base, SIGHUP, main_hup_cb, NULL)) == NULL ||
	    evsignal_add(sigterm, NULL) < 0 || evsignal_add(sigint, NULL) < 0 ||
	    evsignal_add(sighup, NULL) < 0)
		fatalx("cannot watch SIGTERM, SIGINT and SIGHUP");

	main_broker.handlers = session_broker_handlers;
	main_broker.nhandlers = session_broker_nhandlers;
	main_broker.up = main_broker_up;
	main_broker.down = session_broker_lost;
	main_broker.reconfigured = main_broker_reconfigured;
	brokerlink_init(&main_broker);
	brokerlink_open(socket_dir, &main_user);
	if (event_base_dispatch(gatewayd.base) < 0)
		fatalx("the event loop failed");

	listener_close_all();
	probe_free();
	report_free();
	session_free_all();
	staticfiles_close();
	ui_free();
	brokerlink_close();
	flush_free();
	render_free();
	tls_free();
	if (main_grace != NULL)
		event_free(main_grace);
	event_free(sigterm);
	event_free(sigint);
	event_free(sighup);
	event_base_free(gatewayd.base);
	libevent_global_shutdown();
	log_info("stopped");
	return 0;
}
