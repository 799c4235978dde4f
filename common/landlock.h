/*
 * Landlock's TCP rules (kernel ABI 4 and later): a sandboxed daemon may bind no
 * TCP port and connect to one TCP port at most. A second layer under the seccomp
 * allowlist, which cannot look at the address a connect goes to.
 */
#ifndef CLAWGATE_LANDLOCK_H
#define CLAWGATE_LANDLOCK_H

#include <stddef.h>
#include <stdint.h>

/*
 * Restricts the calling process and its future children: no TCP bind, and TCP
 * connect only to connect_port (0: to no port). Needs no_new_privs set before.
 * Returns the kernel's Landlock ABI (>= 4) when the rules hold, else 0 after
 * describing in why (why_len bytes) what is missing; a kernel without Landlock
 * or with an ABI below 4 is not an error (seccomp still holds). Never returns
 * on a failure of the calls themselves.
 */
int landlock_tcp_restrict(uint16_t connect_port, char *why, size_t why_len);

#endif
