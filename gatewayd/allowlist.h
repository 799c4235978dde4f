/* gatewayd's seccomp allowlist, on top of common/sandbox.c's base list. */
#ifndef GATEWAYD_ALLOWLIST_H
#define GATEWAYD_ALLOWLIST_H

#include <stddef.h>

extern const int gateway_syscalls[];
extern const size_t gateway_nsyscalls;

#endif
