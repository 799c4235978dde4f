/*
 * Direct writes for plain-socket bufferevents, once per pass of the event loop.
 * A bufferevent with EV_WRITE enabled arms its write event whenever
 * bytes are added and disarms it once they are out: two epoll_ctl calls and an
 * extra loop pass for every frame. Here EV_WRITE stays off: whatever the
 * handlers of one pass add to a socket's output is written at the end of that
 * pass, in one writev. Only what the kernel does not take arms the bufferevent,
 * which writes it as it always did, until the owner's write callback calls
 * flush_drained. TLS bufferevents write through OpenSSL and are left alone.
 */
#ifndef GATEWAYD_FLUSH_H
#define GATEWAYD_FLUSH_H

#include <stdint.h>
#include <sys/queue.h>

struct bufferevent;

struct flush {
	TAILQ_ENTRY(flush) entry;	/* on the list of this pass, while queued */
	struct bufferevent *bev;
	uint8_t queued;
	uint8_t direct;			/* a plain socket: written here */
	uint8_t held;			/* flush_hold: nothing written until released */
};

/* Takes over bev's writes (bev's owner embeds f and keeps it until the bev is
 * freed). Once the bytes added in a pass are all written, the bufferevent's
 * write callback runs as if the bufferevent had written them; a write error
 * runs its event callback with BEV_EVENT_ERROR | BEV_EVENT_WRITING. Either
 * callback may free the bufferevent. */
void flush_init(struct flush *f, struct bufferevent *bev);
/* Holds back what is added (and what was, in this pass) until flush_release,
 * so that a reply goes out in one write with what follows it shortly. */
void flush_hold(struct flush *f);
void flush_release(struct flush *f);
/* From the owner's write callback: the backlog is out, back to direct writes. */
void flush_drained(struct flush *f);
/* Before the bufferevent is freed. */
void flush_cancel(struct flush *f);
/* At exit. */
void flush_free(void);

#endif
