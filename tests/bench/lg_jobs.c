/* clawgate-loadgen: the kinds as jobs. A bench kind runs in --workers processes
 * whose results come back through pipes and are merged into one JSON report; pair
 * runs its three jobs in turn and writes the keys file; ready retries until a
 * connect succeeds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "lg.h"
#include "tests/tools/tt_io.h"

static int
lg_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double
lg_pct(const uint32_t *lat, long n, double p)
{
	long i;

	if (n == 0)
		return 0;
	i = (long)(p * (double)n);
	if (i >= n)
		i = n - 1;
	return lat[i] / 1000.0;
}

const char *
lg_kind_name(enum lg_kind k)
{
	static const char *names[] = { "device", "operator", "unknown", "pair", "ready" };

	return names[k];
}

/* client_cpu < 0: not known (idle workers are still running). */
static void
lg_report(const struct lg_opts *o, struct lg_result *r, uint32_t *lat, double client_cpu)
{
	double el = r->elapsed > 0 ? r->elapsed : 1e-9;

	qsort(lat, (size_t)r->nlat, sizeof(*lat), lg_cmp_u32);
	printf("{\"kind\":\"%s\",\"arrival\":\"%s\",\"rate\":%.0f,\"concurrency\":%d,"
	    "\"workers\":%d,\"sources\":%d,\"count\":%ld,\"started\":%ld,\"ok\":%ld,"
	    "\"rejected\":%ld,\"open\":%ld,\"elapsed_s\":%.4f,\"ok_per_s\":%.1f,"
	    "\"decided_per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,"
	    "\"max_ms\":%.3f,\"client_cpu_s\":%.3f,\"errors\":{", lg_kind_name(o->kind),
	    o->idle ? "idle" : o->rate > 0 ? "open" : "closed", o->rate, o->concurrency,
	    o->workers, o->sources, o->count, r->started, r->ok, r->rejected, r->open,
	    r->elapsed, (double)r->ok / el, (double)(r->ok + r->rejected) / el,
	    lg_pct(lat, r->nlat, 0.50), lg_pct(lat, r->nlat, 0.99), lg_pct(lat, r->nlat, 0.999),
	    r->nlat ? lat[r->nlat - 1] / 1000.0 : 0, client_cpu);
	for (int i = 0; i < r->nerr; i++)
		printf("%s\"%s\":%ld", i ? "," : "", r->err[i].name, r->err[i].n);
	printf("}}\n");
	fflush(stdout);
}

static void
lg_write_all(int fd, const void *buf, size_t len)
{
	if (tt_write_all(fd, buf, len, 0) < 0)
		fatal("loadgen: worker result pipe");
}

static int
lg_read_all(int fd, void *buf, size_t len)
{
	return tt_read_all(fd, buf, len, 0);
}

/* Runs a bench kind in --workers processes and prints the merged report. */
int
lg_bench(const struct lg_opts *o, enum lg_job job, struct devkey *keys, size_t nkeys)
{
	struct lg_result total = { 0 };
	uint32_t *lat = NULL;
	pid_t pids[LG_MAX_WORKERS];
	int fds[LG_MAX_WORKERS], status, rc = 0;

	for (int w = 0; w < o->workers; w++) {
		int p[2];

		if (pipe(p) != 0)
			fatal("pipe");
		fflush(NULL);
		if ((pids[w] = fork()) < 0)
			fatal("fork");
		if (pids[w] == 0) {
			struct lg g;

			close(p[0]);
			lg_init(&g, o, job, o->count / o->workers + (w < o->count % o->workers));
			g.first_index = w;
			g.stride = o->workers;
			g.rate = o->rate / o->workers;
			g.keys = keys;
			g.nkeys = nkeys;
			lg_run(&g);
			lg_write_all(p[1], &g.r, sizeof(g.r));
			lg_write_all(p[1], g.lat, (size_t)g.r.nlat * sizeof(*g.lat));
			close(p[1]);
			if (o->idle)
				lg_hold(&g);
			_exit(0);
		}
		close(p[1]);
		fds[w] = p[0];
	}
	for (int w = 0; w < o->workers; w++) {
		struct lg_result r;

		if (lg_read_all(fds[w], &r, sizeof(r)) != 0 || r.nlat < 0 || r.nlat > LG_MAX_COUNT)
			fatalx("loadgen: worker %d died before reporting", w);
		lat = xrealloc(lat, (size_t)(total.nlat + r.nlat + 1) * sizeof(*lat));
		if (lg_read_all(fds[w], lat + total.nlat, (size_t)r.nlat * sizeof(*lat)) != 0)
			fatalx("loadgen: worker %d died while reporting", w);
		close(fds[w]);
		total.started += r.started;
		total.ok += r.ok;
		total.rejected += r.rejected;
		total.open += r.open;
		total.nlat += r.nlat;
		if (r.elapsed > total.elapsed)
			total.elapsed = r.elapsed;
		for (int i = 0; i < r.nerr; i++)
			lg_count_err(&total, r.err[i].name, r.err[i].n);
	}
	/* Idle workers keep their sessions after reporting: report first, then wait.
	 * Others are done: wait first, so that their CPU time can be reported (it shows
	 * whether the client, not the server, was the bottleneck). */
	if (o->idle)
		lg_report(o, &total, lat, -1);
	for (int w = 0; w < o->workers; w++)
		if (waitpid(pids[w], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			rc = 1;
	if (!o->idle) {
		struct rusage ru;

		getrusage(RUSAGE_CHILDREN, &ru);
		lg_report(o, &total, lat, (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	}
	free(lat);
	return rc;
}

/* --kind pair: see the top of the file. */
int
lg_pair(const struct lg_opts *o)
{
	struct devkey *keys = xcalloc((size_t)o->count, sizeof(*keys));
	char **ids = xcalloc((size_t)o->count, sizeof(*ids));
	struct lg g;
	size_t paired = 0;
	long requested = 0;

	for (long i = 0; i < o->count; i++)
		devkey_generate(&keys[i]);

	lg_init(&g, o, JOB_PAIR_REQUEST, o->count);
	g.keys = keys;
	g.nkeys = (size_t)o->count;
	g.request_ids = ids;
	lg_run(&g);
	lg_free(&g);
	for (long i = 0; i < o->count; i++)
		requested += ids[i] != NULL;

	lg_init(&g, o, JOB_PAIR_ADMIN, 1);
	g.keys = keys;
	g.nkeys = (size_t)o->count;
	g.request_ids = ids;
	lg_run(&g);
	if (g.r.ok != 1)
		fatalx("pair: the admin session (device-less operator with the shared token) "
		    "was refused; check --token and --port");
	if (g.approve_failed > 0 || g.approve_done != o->count)
		log_warnx("pair: %ld of %ld approvals failed", g.approve_failed +
		    (o->count - g.approve_done), requested);
	lg_free(&g);

	lg_init(&g, o, JOB_PAIR_TOKEN, o->count);
	g.keys = keys;
	g.nkeys = (size_t)o->count;
	lg_run(&g);
	lg_free(&g);

	/* Keep only the devices that hold a token, in order. */
	for (long i = 0; i < o->count; i++) {
		if (keys[i].token[0] == '\0') {
			devkey_clear(&keys[i]);
			continue;
		}
		if ((size_t)i != paired)
			keys[paired] = keys[i];
		paired++;
	}
	if (paired == 0)
		fatalx("pair: no device received a device token (requests: %ld); is "
		    "autoApproveLocal off and the shared token right?", requested);
	devkey_save(o->keys_path, keys, paired);
	printf("{\"kind\":\"pair\",\"count\":%ld,\"requested\":%ld,\"paired\":%zu}\n", o->count,
	    requested, paired);
	for (long i = 0; i < o->count; i++)
		free(ids[i]);
	free(ids);
	for (size_t i = 0; i < paired; i++)
		devkey_clear(&keys[i]);
	free(keys);
	return paired == (size_t)o->count ? 0 : 1;
}

/* --kind ready: one operator connect at a time until hello-ok. */
int
lg_ready(const struct lg_opts *o)
{
	int64_t end = now_ns() + LG_READY_TIMEOUT_NS;
	struct timespec pause = { 0, 1000000 };
	struct lg g;

	while (now_ns() < end) {
		lg_init(&g, o, JOB_OPERATOR, 1);
		lg_run(&g);
		lg_free(&g);
		if (g.r.ok == 1) {
			printf("{\"kind\":\"ready\",\"ready_mono_ns\":%lld}\n", (long long)g.t_ready);
			return 0;
		}
		nanosleep(&pause, NULL);
	}
	log_warnx("ready: no hello-ok within %lld s", LG_READY_TIMEOUT_NS / 1000000000);
	return 1;
}
