/*
 * The descriptors of the accept path. A client that never finishes its request
 * head costs a descriptor all the same, and the process has only RLIMIT_NOFILE
 * of them; two budgets keep one address, or many, from taking them all:
 *  - per address (budget key: IPv4 address, IPv6 /64): at most
 *    FDBUDGET_PER_ADDRESS sockets from accept until their upgrade or close;
 *    one more is refused at accept;
 *  - a reserve: once the descriptors in use come within the reserve of the
 *    limit, a non-loopback socket may only come in by taking the place of the
 *    oldest non-loopback socket that has not upgraded (refused if there is
 *    none, or once half the reserve is in use too), so that loopback clients
 *    (the admin), established sessions and their upstream connections still
 *    find descriptors.
 * Loopback counts against neither: it is the admin's way in, and a reverse
 * proxy on this host carries its many clients from there. The request head's
 * deadline (session.c) applies to every socket.
 */
#include "gatewayd/fdbudget.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/ipaddr.h"
#include "common/log.h"
#include "gatewayd/preauth.h"
#include "gatewayd/session_priv.h"

#define FDBUDGET_STR_(x) #x
#define FDBUDGET_STR(x) FDBUDGET_STR_(x)

/* Reports of refusals come at most this often; each refusal is logged at debug. */
#define FDBUDGET_REPORT_MS 10000

static TAILQ_HEAD(, session) fdbudget_front = TAILQ_HEAD_INITIALIZER(fdbudget_front);
static size_t fdbudget_open;		/* client sockets open */
static size_t fdbudget_own;		/* the daemon's own descriptors */
static size_t fdbudget_limit;		/* RLIMIT_NOFILE */
static size_t fdbudget_reserve;
static struct {
	int64_t last_ms;
	unsigned over_address, over_reserve, dropped;
} fdbudget_report;

static const char fdbudget_msg_address[] =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
    "Too many connections from one address: gatewayd keeps at most "
    FDBUDGET_STR(FDBUDGET_PER_ADDRESS) " sockets per client address (an IPv6 /64) that have not "
    "sent their request yet. Close idle connections and retry.\n";
static const char fdbudget_msg_reserve[] =
    "HTTP/1.1 503 Service Unavailable\r\n"
    "Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
    "gatewayd is near its open-file limit (the descriptors left are kept for local "
    "clients and established sessions). Retry shortly.\n";

void
fdbudget_init(void)
{
	struct rlimit rl;

	/* Read before the sandbox, which does not admit getrlimit. */
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		fatal("cannot read the open-file limit (RLIMIT_NOFILE)");
	fdbudget_limit = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > SIZE_MAX / 2 ?
	    SIZE_MAX / 2 : (size_t)rl.rlim_cur;
	fdbudget_reserve = fdbudget_limit / FDBUDGET_RESERVE_DIV;
	if (fdbudget_reserve < FDBUDGET_RESERVE_MIN)
		fdbudget_reserve = FDBUDGET_RESERVE_MIN;
	log_info("open files: %zu; the last %zu are kept for loopback clients and established "
	    "sessions; at most %d sockets per client address before their upgrade",
	    fdbudget_limit, fdbudget_reserve, FDBUDGET_PER_ADDRESS);
}

static void
fdbudget_note(unsigned *counter, const char *peer, const char *what)
{
	int64_t now = clock_mono_ms();

	log_debug("%s: %s", peer, what);
	(*counter)++;
	if (now - fdbudget_report.last_ms < FDBUDGET_REPORT_MS)
		return;
	log_info("connections refused at accept in the last %d s: %u over the %d sockets one "
	    "address may hold before its upgrade, %u within the reserve of %zu descriptors "
	    "(of %zu); %u pending ones dropped for newer ones; last from %s (legitimate "
	    "clients behind one address can come through a reverse proxy on this host, "
	    "which loopback's exemption serves; for more descriptors raise LimitNOFILE= of "
	    "gatewayd.service)",
	    FDBUDGET_REPORT_MS / 1000, fdbudget_report.over_address, FDBUDGET_PER_ADDRESS,
	    fdbudget_report.over_reserve, fdbudget_reserve, fdbudget_limit,
	    fdbudget_report.dropped, peer);
	fdbudget_report.last_ms = now;
	fdbudget_report.over_address = fdbudget_report.over_reserve = 0;
	fdbudget_report.dropped = 0;
}

/* Tells the client why, if its socket takes the bytes at once, and closes it.
 * Its request, if any, stays unread: the kernel may answer with a reset. */
static void
fdbudget_refuse(int fd, const char *msg, size_t len)
{
	ssize_t n = write(fd, msg, len);

	(void)n;
	close(fd);
}

/* The descriptors in use: at least fd + 1, as the kernel hands out the lowest
 * free one, and at least the client sockets open, this one included, beside the
 * daemon's own (listeners, broker link, event loop: what was open below the
 * first client socket). The second bound counts when closed sockets left holes
 * below fd. */
static size_t
fdbudget_used(int fd)
{
	size_t used = (size_t)fd + 1;

	if (fdbudget_open == 0)
		fdbudget_own = (size_t)fd;
	if (fdbudget_own + fdbudget_open + 1 > used)
		used = fdbudget_own + fdbudget_open + 1;
	return used;
}

/* The TCP peer, which is what holds the descriptor: s->peer until a trusted
 * proxy's headers name the client, then the part of s->via after "proxy:". */
static const char *
fdbudget_tcp_peer(const struct session *s)
{
	return strncmp(s->via, "proxy:", 6) == 0 ? s->via + 6 : s->peer;
}

int
fdbudget_admit(struct session *s, int fd, const struct sockaddr *sa)
{
	uint8_t a[16];
	struct session *oldest;
	size_t used;

	used = fdbudget_used(fd);
	if (ipaddr_from_sockaddr(sa, a) == 0 && ipaddr_classify(a) == IPADDR_LOOPBACK) {
		fdbudget_open++;
		return 0;
	}
	if (preauth_acquire(PREAUTH_FRONT, s->peer, FDBUDGET_PER_ADDRESS) < 0) {
		fdbudget_note(&fdbudget_report.over_address, s->peer,
		    "refused at accept: over the per-address budget");
		fdbudget_refuse(fd, fdbudget_msg_address, sizeof(fdbudget_msg_address) - 1);
		return -1;
	}
	if (used + fdbudget_reserve > fdbudget_limit) {
		/* A dropped socket's descriptor is closed only from the next pass of
		 * the event loop, while a burst of accepts goes on in this one: the
		 * second half of the reserve is never lent out. */
		oldest = used + fdbudget_reserve / 2 > fdbudget_limit ? NULL :
		    TAILQ_FIRST(&fdbudget_front);
		if (oldest == NULL) {
			preauth_release(PREAUTH_FRONT, s->peer);
			fdbudget_note(&fdbudget_report.over_reserve, s->peer,
			    "refused at accept: within the descriptor reserve");
			fdbudget_refuse(fd, fdbudget_msg_reserve, sizeof(fdbudget_msg_reserve) - 1);
			return -1;
		}
		fdbudget_note(&fdbudget_report.dropped, fdbudget_tcp_peer(oldest),
		    "dropped before its upgrade: a newer socket needs its descriptor");
		session_destroy(oldest);
	}
	s->front = 1;
	TAILQ_INSERT_TAIL(&fdbudget_front, s, front_entry);
	fdbudget_open++;
	return 0;
}

void
fdbudget_leave(struct session *s)
{
	if (!s->front)
		return;
	TAILQ_REMOVE(&fdbudget_front, s, front_entry);
	preauth_release(PREAUTH_FRONT, fdbudget_tcp_peer(s));
	s->front = 0;
}

void
fdbudget_closed(void)
{
	if (fdbudget_open == 0)
		fatalx("fdbudget_closed without fdbudget_admit: a gatewayd bug");
	fdbudget_open--;
}
