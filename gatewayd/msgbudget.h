/*
 * The budget of one gatewayd process for large WebSocket messages in flight:
 * bytes of messages that are still arriving, held in memory until their last
 * byte comes. Each connection may hold one message up to policy.maxPayload;
 * without a shared bound, N connections sending large messages at once would
 * cost N times that.
 *
 * A message counts once it is announced to exceed MSGBUDGET_SMALL bytes: the
 * reader reserves what its frame headers announce (bounded by the message
 * limit) before reading the payload, and releases it when the message is
 * complete or the connection ends. Smaller messages never reserve, never wait.
 * A reservation that does not fit waits in a queue, first come first served;
 * this module only keeps the count and the queue (no I/O, no timers): the
 * reader pauses its connection and bounds the wait (gatewayd/ws.c).
 */
#ifndef GATEWAYD_MSGBUDGET_H
#define GATEWAYD_MSGBUDGET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

/* Messages up to this many bytes are not counted. */
#define MSGBUDGET_SMALL (64 * 1024)
/* The budget of all workers together, shared out evenly; a worker's share is
 * at least MSGBUDGET_WORKER_MIN. */
#define MSGBUDGET_TOTAL (256ULL << 20)
#define MSGBUDGET_WORKER_MIN (64ULL << 20)

/* A reservation waiting for room; the caller's, zeroed before first use. */
struct msgbudget_wait {
	TAILQ_ENTRY(msgbudget_wait) entry;
	uint64_t want;
	int queued;
	/* Called once the reservation is made (from msgbudget_release): the
	 * bytes are the caller's then. It must not call back into this module
	 * except msgbudget_used/msgbudget_waiting. */
	void (*granted)(void *arg, uint64_t bytes);
	void *arg;
};

/* This process's budget in bytes (any reservations stay as they are). */
void msgbudget_set_total(uint64_t total);
/* The default of one of n workers. */
uint64_t msgbudget_default(unsigned workers);
uint64_t msgbudget_total(void);
uint64_t msgbudget_used(void);
size_t msgbudget_waiting(void);

enum msgbudget_result {
	MSGBUDGET_GRANTED,	/* the bytes are the caller's */
	MSGBUDGET_QUEUED,	/* w waits: w->granted is called later */
	MSGBUDGET_NEVER,	/* more than the whole budget: it would never fit */
};

/* Reserves n bytes for w's owner: at once if they fit and nobody waits
 * before it, else w is queued (w->granted and w->arg set by the caller). */
enum msgbudget_result msgbudget_reserve(struct msgbudget_wait *w, uint64_t n);
/* Takes w out of the queue, if it is in it. */
void msgbudget_cancel(struct msgbudget_wait *w);
/* n reserved bytes are free again: waiting reservations that now fit are
 * granted, in order. */
void msgbudget_release(uint64_t n);

#endif
