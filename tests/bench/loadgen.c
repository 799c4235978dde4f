/* clawgate-loadgen: a load generator that speaks the real OpenClaw handshake
 * (doc/protocol.md §2-§3) to any gateway on loopback — clawgate or OpenClaw itself —
 * and reports connects/s, latency percentiles and failures by close code.
 *
 * What a connection does is the --kind:
 *   device    a paired device reconnecting with its device token (keys file), signed v3
 *   operator  a device-less loopback CLI operator on the shared token
 *   unknown   a fresh device identity on the shared token: a pairing-required storm
 *   pair      creates --count identities, requests pairing, approves every request over
 *             device.pair.approve from a device-less admin session, connects once more
 *             to receive each device token, and writes the keys file
 *   ready     retries an operator connect until hello-ok; prints when (CLOCK_MONOTONIC)
 * How connections arrive: closed loop (--concurrency in flight, the default), open loop
 * (--rate per second, latency counted from the scheduled start so a slow server cannot
 * hide its queue: no coordinated omission), or --idle (hold --count sessions open,
 * report once all are up, keep them until stdin closes or --hold seconds pass).
 * --workers forks processes (the fd limit is per process); --sources binds the client
 * sockets to K addresses from --first-source on (127.0.0.2, 127.0.0.3, ... by default),
 * so that a storm and the paired devices need not share addresses. Every run is
 * bounded by the hard caps in lg.h. The report is one JSON line on stdout.
 *
 * This file reads the options; lg.h says where the rest is. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "lg.h"

static void
lg_usage(void)
{
	fprintf(stderr,
	    "usage: clawgate-loadgen --port N --kind device|operator|unknown|pair|ready\n"
	    "         [--token T] [--keys FILE] [--count N] [--concurrency C] [--rate R]\n"
	    "         [--duration S] [--idle [--hold S]] [--workers W] [--sources K]\n"
	    "         [--first-source 127.x.y.z]\n"
	    "  device: paired devices reconnect with their device token (--keys from --kind pair)\n"
	    "  operator: device-less loopback operators with the shared --token\n"
	    "  unknown: new devices with the shared --token (pairing-required storm)\n"
	    "  pair: creates and pairs --count devices, writes --keys\n"
	    "  ready: retries until a connect succeeds; prints the CLOCK_MONOTONIC time\n");
	exit(2);
}

/* A loopback IPv4 address (host order) with room for LG_MAX_SOURCES after it:
 * network tests stay on 127.0.0.0/8. */
static uint32_t
lg_loopback(const char *s, const char *opt)
{
	struct in_addr a;
	uint32_t h;

	if (inet_pton(AF_INET, s, &a) != 1 || ((h = ntohl(a.s_addr)) >> 24) != 127 ||
	    h > 0x7fffffffu - LG_MAX_SOURCES)
		fatalx("%s: want an address in 127.0.0.0/8 (not within %d of its end), "
		    "got \"%s\"", opt, LG_MAX_SOURCES, s);
	return h;
}

static double
lg_num(const char *s, const char *opt, double min, double max)
{
	char *end;
	double v = strtod(s, &end);

	if (*s == '\0' || *end != '\0' || !(v >= min && v <= max)) {
		fprintf(stderr, "clawgate-loadgen: %s wants a number in [%g, %g], got \"%s\"\n",
		    opt, min, max, s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' }, { "port", required_argument, NULL, 'p' },
		{ "kind", required_argument, NULL, 'k' }, { "token", required_argument, NULL, 't' },
		{ "keys", required_argument, NULL, 'K' }, { "count", required_argument, NULL, 'n' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "rate", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' }, { "idle", no_argument, NULL, 'i' },
		{ "hold", required_argument, NULL, 'h' },
		{ "workers", required_argument, NULL, 'w' },
		{ "sources", required_argument, NULL, 's' },
		{ "first-source", required_argument, NULL, 'S' }, { NULL, 0, NULL, 0 } };
	struct lg_opts o = { .host = "127.0.0.1", .kind = KIND_OPERATOR, .count = 1000,
	    .concurrency = 32, .duration = 60, .hold = 60, .workers = 1,
	    .first_source = 0x7f000002u };
	struct devkey *keys = NULL;
	size_t nkeys = 0;
	int ch, kind_set = 0;
	enum lg_job job;

	log_init("clawgate-loadgen", LOG_LEVEL_INFO);
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'H': o.host = optarg; break;
		case 'p': o.port = (int)lg_num(optarg, "--port", 1, 65535); break;
		case 'k':
			kind_set = 1;
			for (o.kind = KIND_DEVICE; o.kind <= KIND_READY; o.kind++)
				if (strcmp(optarg, lg_kind_name(o.kind)) == 0)
					break;
			if (o.kind > KIND_READY)
				lg_usage();
			break;
		case 't': o.token = optarg; break;
		case 'K': o.keys_path = optarg; break;
		case 'n': o.count = (long)lg_num(optarg, "--count", 1, LG_MAX_COUNT); break;
		case 'c': o.concurrency = (int)lg_num(optarg, "--concurrency", 1,
		    LG_MAX_CONCURRENCY); break;
		case 'r': o.rate = lg_num(optarg, "--rate", 1, LG_MAX_RATE); break;
		case 'd': o.duration = lg_num(optarg, "--duration", 0.1, LG_MAX_DURATION_S); break;
		case 'i': o.idle = 1; break;
		case 'h': o.hold = lg_num(optarg, "--hold", 0, LG_MAX_HOLD_S); break;
		case 'w': o.workers = (int)lg_num(optarg, "--workers", 1, LG_MAX_WORKERS); break;
		case 's': o.sources = (int)lg_num(optarg, "--sources", 0, LG_MAX_SOURCES); break;
		case 'S': o.first_source = lg_loopback(optarg, "--first-source"); break;
		default: lg_usage();
		}
	}
	if (optind != argc || o.port == 0 || !kind_set)
		lg_usage();
	{
		struct in_addr a;

		/* Loopback only: this tool must never load someone else's host. */
		if (inet_pton(AF_INET, o.host, &a) != 1 || (ntohl(a.s_addr) >> 24) != 127)
			fatalx("--host must be an IPv4 loopback address (127.x.y.z), got %s", o.host);
	}
	if (o.kind != KIND_DEVICE && (o.token == NULL || !lg_safe(o.token, 512)))
		fatalx("--kind %s needs --token with the gateway's shared token (base64url "
		    "characters)", lg_kind_name(o.kind));
	if (o.idle && (o.count > LG_MAX_IDLE || o.rate > 0 || o.kind == KIND_PAIR ||
	    o.kind == KIND_READY))
		fatalx("--idle holds at most %d sessions of kind device or operator, without "
		    "--rate", LG_MAX_IDLE);
	if (o.idle && o.count / o.workers > 19000)
		fatalx("--idle: %ld sessions in %d workers exceed the per-process fd limit; "
		    "add --workers", o.count, o.workers);
	switch (o.kind) {
	case KIND_PAIR:
		if (o.keys_path == NULL || o.count > LG_MAX_DEVICES)
			fatalx("--kind pair needs --keys FILE and --count <= %d", LG_MAX_DEVICES);
		return lg_pair(&o);
	case KIND_READY:
		return lg_ready(&o);
	case KIND_DEVICE:
		if (o.keys_path == NULL)
			fatalx("--kind device needs --keys FILE (create it with --kind pair)");
		keys = xcalloc(LG_MAX_DEVICES, sizeof(*keys));
		if ((nkeys = devkey_load(o.keys_path, keys, LG_MAX_DEVICES)) == 0)
			fatalx("%s holds no device; create it with --kind pair", o.keys_path);
		job = JOB_DEVICE;
		break;
	case KIND_UNKNOWN:
		job = JOB_UNKNOWN;
		break;
	default:
		job = JOB_OPERATOR;
		break;
	}
	ch = lg_bench(&o, job, keys, nkeys);
	for (size_t i = 0; i < nkeys; i++)
		devkey_clear(&keys[i]);
	free(keys);
	return ch;
}
