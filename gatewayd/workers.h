/*
 * gatewayd --workers N: N gateway processes share one port (SO_REUSEPORT, the
 * kernel spreads connections), each with its own event loop and broker link.
 * The process that was started stays as their supervisor: it passes SIGTERM
 * and SIGINT on, and when one worker dies the others are stopped and it exits
 * non-zero, for the service manager to restart the whole gateway.
 */
#ifndef GATEWAYD_WORKERS_H
#define GATEWAYD_WORKERS_H

#define WORKERS_MAX 64	/* brokerd takes at most 64 gateway links */

/* Forks n workers. Returns in each worker with its index (0..n-1); in the
 * supervisor it does not return. With n = 1 it returns 0 at once, forking
 * nothing. */
unsigned workers_spawn(unsigned n);

#endif
