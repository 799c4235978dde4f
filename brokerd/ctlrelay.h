/*
 * gatewayctl relay check: whether relay mode's upstream is guarded on this host,
 * i.e. whether nftables' table inet clawgate_guard (systemd/clawgate-relay-guard.nft)
 * lets only some accounts connect to the upstream's port. Runs nft itself, so it
 * needs root (CAP_NET_ADMIN) to tell. With clawgate.relay.guard "upstream" the
 * upstream guards its own port, out of this host's sight: it says so and checks
 * nothing.
 */
#ifndef BROKERD_CTLRELAY_H
#define BROKERD_CTLRELAY_H

#include <yajl/yajl_tree.h>

/* Prints the verdict on brokerd's status answer (its "relay" member) and returns
 * gatewayctl's exit status: 0 relay off, guarded or guarded by
 * the upstream, 1 unguarded or cannot tell. */
int ctlrelay_check(yajl_val status);

#endif
