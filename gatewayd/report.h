/*
 * What gatewayd tells brokerd for gatewayctl doctor (brokerd has no network
 * and sees only the connects it decides): the clients gatewayd refused on its
 * own (GW_REFUSED), and in relay mode whether the upstream answers
 * (GW_UPSTREAM). Refusals alike (kind, addresses, client, device, code) are
 * coalesced over REPORT_FLUSH_MS into one report with a count, in a table of
 * REPORT_SLOTS: a flood of refusals costs brokerd at most that many reports
 * per flush, and the rest are counted here. The upstream's state (as the
 * relayed sessions and gatewayd's probe, probe.h, find it) goes when it or its
 * error changes, and refreshed at most every REPORT_UPSTREAM_REFRESH_MS while
 * reachable.
 */
#ifndef GATEWAYD_REPORT_H
#define GATEWAYD_REPORT_H

#include <stdint.h>

#define REPORT_SLOTS 16
#define REPORT_FLUSH_MS 1000
#define REPORT_UPSTREAM_REFRESH_MS 30000

struct session;

/* A refusal of kind (a PROTO_GWREF_* name) of addr (the client as attributed),
 * through peer ("" or NULL: addr is the TCP peer), answered with code (an HTTP
 * status or a WebSocket close code) and reason. */
void report_refused(const char *kind, const char *addr, const char *peer, uint16_t code,
    const char *reason);
/* The same for a session, with what it had sent of its connect. */
void report_session(const struct session *s, const char *kind, uint16_t code,
    const char *reason);
/* A relayed session found the upstream answering (reachable) or failing with
 * error. */
void report_upstream(int reachable, const char *error);
/* The same found by gatewayd's probe (probe.h). */
void report_upstream_probed(int reachable, const char *error);
/* When a relayed session last reported (monotonic ms), -1 if none did. */
int64_t report_upstream_session_ms(void);
/* The link to brokerd is up: the upstream's state, if known, goes again
 * (brokerd may be new). */
void report_link_up(void);
/* Frees the timers at exit. */
void report_free(void);

#endif
