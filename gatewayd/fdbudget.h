/*
 * Budgets of the descriptors the accept path hands out (fdbudget.c): per client
 * address before the upgrade, and a reserve near RLIMIT_NOFILE kept for
 * loopback clients and established sessions.
 */
#ifndef GATEWAYD_FDBUDGET_H
#define GATEWAYD_FDBUDGET_H

#include <sys/socket.h>

struct session;

/* Sockets one address (budget key) may hold from accept to its upgrade. */
#define FDBUDGET_PER_ADDRESS 64
/* The reserve: 1/FDBUDGET_RESERVE_DIV of RLIMIT_NOFILE, at least the minimum. */
#define FDBUDGET_RESERVE_DIV 20
#define FDBUDGET_RESERVE_MIN 32

/* Reads RLIMIT_NOFILE: before the sandbox. */
void fdbudget_init(void);
/* The socket fd from sa, for session s (s->peer set): 0 if it may stay (counted
 * until fdbudget_leave and fdbudget_closed), or -1: refused, fd is closed. It
 * may end the oldest pending session to make room. */
int fdbudget_admit(struct session *s, int fd, const struct sockaddr *sa);
/* s upgraded or ends: its address's budget has its place back. */
void fdbudget_leave(struct session *s);
/* A socket fdbudget_admit let in is closed. */
void fdbudget_closed(void);

#endif
