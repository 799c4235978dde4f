/* The parts of clawgate-loadgen (see loadgen.c for what it does): loadgen.c reads the
 * options and picks the kind; lg_jobs.c runs a kind as jobs in worker processes and
 * prints the report; lg_loop.c is one process's event loop, starting connections as
 * the arrival mode says; lg_conn.c drives one connection through the handshake. */
#ifndef CLAWGATE_BENCH_LG_H
#define CLAWGATE_BENCH_LG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "devkey.h"
#include "wsc.h"

/* Hard caps: a mistyped option cannot turn the tool into an unbounded storm. */
#define LG_MAX_COUNT 1000000
#define LG_MAX_CONCURRENCY 8192
#define LG_MAX_IDLE 40000
#define LG_MAX_RATE 50000.0
#define LG_MAX_DURATION_S 300.0
#define LG_MAX_HOLD_S 900.0
#define LG_MAX_WORKERS 16
#define LG_MAX_SOURCES 250
#define LG_MAX_DEVICES 100000
#define LG_CONN_TIMEOUT_NS (20LL * 1000000000)	/* > the 15 s handshake timeout */
#define LG_DRAIN_NS (25LL * 1000000000)		/* wait for in-flight after --duration */
#define LG_READY_TIMEOUT_NS (120LL * 1000000000)
#define LG_MAX_HEAD 16384
#define LG_MAX_MSG (8 << 20)	/* OpenClaw's hello-ok carries a snapshot; be generous */
#define LG_MAX_ERRS 32
#define LG_APPROVE_WINDOW 16
#define LG_SCOPES_CSV "operator.read"
#define LG_SCOPES_JSON "\"operator.read\""
#define LG_ADMIN_SCOPES_JSON "\"operator.admin\",\"operator.pairing\",\"operator.read\""

enum lg_kind { KIND_DEVICE, KIND_OPERATOR, KIND_UNKNOWN, KIND_PAIR, KIND_READY };
/* The pair kind runs three jobs one after the other. */
enum lg_job { JOB_DEVICE, JOB_OPERATOR, JOB_UNKNOWN, JOB_PAIR_REQUEST, JOB_PAIR_ADMIN,
    JOB_PAIR_TOKEN };
enum lg_state { CS_FREE, CS_CONNECTING, CS_UPGRADE, CS_CHALLENGE, CS_CONNECT_SENT, CS_OPEN };

struct lg_opts {
	const char *host;
	int port;
	enum lg_kind kind;
	const char *token;
	const char *keys_path;
	long count;
	int concurrency;
	double rate;		/* 0: closed loop */
	double duration;
	int idle;
	double hold;
	int workers;
	int sources;
	uint32_t first_source;	/* host order */
};

struct lg_conn {
	int fd;
	enum lg_state state;
	int64_t t_sched;	/* latency origin, ns */
	int64_t deadline;
	struct devkey *key;	/* NULL: device-less */
	struct devkey own;	/* a fresh identity (unknown devices) */
	int got_res;
	uint8_t *rbuf;
	size_t rlen, rcap;
	char wskey[WSC_KEY_LEN + 1];
};

struct lg_err {
	char name[32];
	long n;
};

/* What one process measured; workers send it to the parent through a pipe. */
struct lg_result {
	long started, ok, rejected, open, nlat;
	double elapsed;		/* s, from the first start to the last outcome */
	int nerr;
	struct lg_err err[LG_MAX_ERRS];
};

struct lg {
	const struct lg_opts *o;
	enum lg_job job;
	int ep, tfd;
	struct lg_conn *conns;
	int nconns, *freelist, nfree;
	long count, first_index, stride;	/* this worker's connections: first + k*stride */
	double rate;
	int inflight;		/* handshakes not yet decided */
	struct devkey *keys;
	size_t nkeys;
	char **request_ids;	/* pair: per key, the pending request to approve */
	long approve_next, approve_done, approve_failed;
	int64_t t0, t_last, t_ready;
	struct lg_result r;
	uint32_t *lat;
	long latcap;
};

static inline int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* lg_conn.c: one connection. */
/* Counts a failure by name; past LG_MAX_ERRS - 1 names the rest go to "other". */
void lg_count_err(struct lg_result *r, const char *name, long n);
/* Ends a connection (err: the failure to count, NULL for none). */
void lg_finish(struct lg *g, struct lg_conn *c, const char *err);
/* Whether s is 1..max characters of [-_.0-9A-Za-z] (safe in our JSON unescaped). */
int lg_safe(const char *s, size_t max);
/* The socket connected (or failed to): sends the upgrade request. */
void lg_on_connected(struct lg *g, struct lg_conn *c);
/* Reads what arrived and handles the upgrade response and the frames. */
void lg_on_readable(struct lg *g, struct lg_conn *c);

/* lg_loop.c: one process's event loop. */
void lg_init(struct lg *g, const struct lg_opts *o, enum lg_job job, long count);
void lg_run(struct lg *g);
void lg_hold(struct lg *g);
void lg_free(struct lg *g);

/* lg_jobs.c: the kinds. */
const char *lg_kind_name(enum lg_kind k);
int lg_bench(const struct lg_opts *o, enum lg_job job, struct devkey *keys, size_t nkeys);
int lg_pair(const struct lg_opts *o);
int lg_ready(const struct lg_opts *o);

#endif
