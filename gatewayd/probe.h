/*
 * Relay mode: gatewayd's own look at the upstream, so that gatewayctl doctor
 * can tell whether it answers before any session was relayed to it. A probe is
 * a non-blocking TCP connect to the upstream's address (the socket, connect and
 * SO_ERROR the relay's sandbox admits anyway), bounded by PROBE_TIMEOUT_MS;
 * nothing is sent and the socket is closed as soon as the connect is made. Its
 * outcome goes to brokerd as GW_UPSTREAM (report.h). One probe runs when the
 * link to brokerd comes up, and another every period (PROBE_PERIOD_MS) in
 * which no relayed session reported the upstream's state. Worker 0 alone
 * probes: the upstream is the same for every worker, and one connect a period
 * is all doctor needs.
 */
#ifndef GATEWAYD_PROBE_H
#define GATEWAYD_PROBE_H

#include <stdint.h>

#define PROBE_TIMEOUT_MS 3000
#define PROBE_PERIOD_MS 60000

/* Another period, for tests (gatewayd's hidden --test-upstream-probe). */
void probe_set_period(int64_t ms);
/* The link to brokerd is up (sandboxed): probe now, then every period. */
void probe_link_up(void);
/* Closes the probe and its timers at exit. */
void probe_free(void);

#endif
