/* echo-upstream's parts: echo_upstream.c takes the options, accepts and
 * answers the upgrade; echo_upstream_ws.c runs the WebSocket session. */
#ifndef CLAWGATE_TEST_ECHO_UPSTREAM_H
#define CLAWGATE_TEST_ECHO_UPSTREAM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define EU_MAX_MSG 26214400		/* the upstream's policy.maxPayload */
#define EU_MAX_HEAD 16384
#define EU_MAX_HEADERS 64
#define EU_MAX_REQUIRED 8
#define EU_MAX_EVENTS 100000
#define EU_MAX_EVENT_BYTES (8LL << 30)	/* per echo.events request */
#define EU_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


struct eu_config {
	const char *user_header, *user, *required[EU_MAX_REQUIRED];
	int nrequired, max_conns;
	FILE *record;
};

struct eu_conn {
	int fd;
	long id;
	int authorized, admitted, closing;
	char role[32], scopes[256];
	uint8_t *in, *msg, *out;
	size_t inlen, incap, msglen, msgcap, outlen, outcap;
};

extern struct eu_config eu;
extern pthread_mutex_t eu_record_lock;	/* eu.record */
extern int eu_live;			/* connections being served */
extern char eu_boot_id[37];

void eu_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Grows p (of *cap bytes) to hold need bytes. */
void *eu_grow(void *p, size_t *cap, size_t need);
void eu_uuid(char out[37]);
int eu_write_all(int fd, const void *buf, size_t len);
/* Reads and answers the upgrade request; 0 when the WebSocket is open. */
int eu_upgrade(struct eu_conn *c);
/* A connection's thread: the session after accept. */
void *eu_serve(void *arg);

#endif
