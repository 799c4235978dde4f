/* brokerd's seccomp allowlist, on top of common/sandbox.c's base list. */
#ifndef BROKERD_ALLOWLIST_H
#define BROKERD_ALLOWLIST_H

#include <stddef.h>

extern const int broker_syscalls[];
extern const size_t broker_nsyscalls;

#endif
