/*
 * The broker link's reconnect without the right to connect: gatewayd's
 * seccomp filter admits no AF_UNIX socket, so that a compromised gatewayd
 * cannot reach another local socket (the system bus, a container engine's, a
 * database's). Before any of that, gatewayd forks a dialer, a process that can
 * do nothing but connect to brokerd's gateway.sock and hand the socket back
 * over a socketpair (SCM_RIGHTS). It makes the first link with the rights
 * gatewayd started with, as gatewayd did before it, then runs sandboxed as
 * gatewayd's account with a filter of its own (allowlist_dialer_rules); it
 * ends with gatewayd.
 */
#ifndef GATEWAYD_DIALER_H
#define GATEWAYD_DIALER_H

#include "common/sandbox.h"

/* Forks the dialer for the socket at path; before the sandbox. */
void dialer_start(const char *path, const struct sandbox_user *user);
/* A non-blocking socket connected to path, or -1 with errno as connect(2) set
 * it in the dialer (ENOENT, ECONNREFUSED: brokerd is not there yet). Exits if
 * the dialer is gone. */
int dialer_connect(void);

#endif
