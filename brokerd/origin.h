/*
 * The Origin check of doc/protocol.md §4.7, for Control UI and webchat clients and
 * any connect that came with an Origin header (§4.1 step 5).
 */
#ifndef BROKERD_ORIGIN_H
#define BROKERD_ORIGIN_H

#include "brokerd/config.h"
#include "brokerd/locality.h"

/* Whether origin (the Origin header) may connect to a gateway reached under
 * host (the Host header) by a connection of locality loc (§4.2, computed as if
 * the shared secret were valid: this check comes before it). */
int origin_allowed(const struct config *cfg, const char *origin, const char *host,
    enum locality loc);

#endif
