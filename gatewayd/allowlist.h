/* gatewayd's seccomp allowlist, on top of common/sandbox.c's base list, and
 * what relay mode adds to it; the dialer's (dialer.h). */
#ifndef GATEWAYD_ALLOWLIST_H
#define GATEWAYD_ALLOWLIST_H

#include <stddef.h>

#include "common/sandbox.h"

extern const struct sandbox_rule allowlist_rules[];
extern const size_t allowlist_nrules;
extern const struct sandbox_rule allowlist_relay_rules[];
extern const size_t allowlist_relay_nrules;
extern const struct sandbox_rule allowlist_dialer_rules[];
extern const size_t allowlist_dialer_nrules;

#endif
