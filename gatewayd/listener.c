#include "gatewayd/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <systemd/sd-daemon.h>

#include "common/ipaddr.h"
#include "common/log.h"
#include "gatewayd/gatewayd.h"

#define LISTENER_PAUSE_S 1

struct listener {
	struct evconnlistener *lev;
	struct event *resume;
	char name[PROTO_ADDR_MAX + 16];	/* "[addr]:port" */
};

static struct listener listeners[PROTO_MAX_BINDS];
static int nlisteners;
static listener_accept_fn listener_accept;

static void
listener_accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	listener_accept(fd, sa, (socklen_t)salen);
}

static void
listener_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	evconnlistener_enable(l->lev);
}

/*
 * accept() failed for a reason that will not go away by itself, typically
 * EMFILE/ENFILE at the descriptor limit. The listening socket stays readable,
 * so accepting again at once would spin; pause this listener for a second
 * instead, while established sessions keep being served and closing.
 */
static void
listener_error_cb(struct evconnlistener *lev, void *arg)
{
	struct listener *l = arg;
	struct timeval tv = { LISTENER_PAUSE_S, 0 };

	log_warnx("accepting on %s failed: %s; pausing it for %d s", l->name,
	    strerror(EVUTIL_SOCKET_ERROR()), LISTENER_PAUSE_S);
	evconnlistener_disable(lev);
	evtimer_add(l->resume, &tv);
}

static int
listener_is_loopback(const struct sockaddr_storage *ss)
{
	uint8_t a[16];

	return ipaddr_from_sockaddr((const struct sockaddr *)ss, a) == 0 &&
	    ipaddr_classify(a) == IPADDR_LOOPBACK;
}

static socklen_t
listener_addr(const char *addr, uint16_t port, struct sockaddr_storage *ss, char *name,
    size_t namesz)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		snprintf(name, namesz, "%s:%u", addr, port);
		return sizeof(*sin);
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		snprintf(name, namesz, "[%s]:%u", addr, port);
		return sizeof(*sin6);
	}
	fatalx("bind address \"%s\" is not an IPv4 or IPv6 address: set gateway.bind to "
	    "loopback or lan, or gateway.customBindHost to an address literal", addr);
}

/* -1 with errno set if the socket cannot be created or bound. */
static int
listener_socket(const struct sockaddr_storage *ss, socklen_t sslen)
{
	int fd, one = 1, saved;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* Restarting must not wait for old connections in TIME_WAIT. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* --workers: each worker binds the port itself and the kernel spreads the
	 * connections. Only then: otherwise a second gatewayd started by mistake
	 * must fail to bind, not share the port silently. */
	if (gatewayd.workers > 1 && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	/* An IPv6 listener must not take IPv4 too: "::" next to "0.0.0.0" (gateway.bind
	 * lan) would otherwise fail to bind, and "::1" has 127.0.0.1 beside it. */
	if ((ss->ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, (const struct sockaddr *)ss, sslen) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* Serves the bound socket fd as listener l (named already). */
static void
listener_add(struct listener *l, int fd, const struct sockaddr_storage *ss)
{
	int one = 1;

	/* Frames are small and latency is what a handshake feels. Accepted
	 * sockets inherit TCP_NODELAY from the listening one: no system call per
	 * connection. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		fatal("cannot set TCP_NODELAY on %s", l->name);
	l->lev = evconnlistener_new(gatewayd.base, listener_accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, SOMAXCONN, fd);
	if (l->lev == NULL)
		fatal("cannot listen on %s", l->name);
	evconnlistener_set_error_cb(l->lev, listener_error_cb);
	if ((l->resume = evtimer_new(gatewayd.base, listener_resume_cb, l)) == NULL)
		fatalx("out of memory setting up a listener");
	nlisteners++;
	log_info("listening on %s", l->name);
	if (!listener_is_loopback(ss))
		log_warnx("%s is reachable from other hosts: clients there are remote and "
		    "every device needs approval", l->name);
}

static void
listener_open(const char *addr, uint16_t port)
{
	struct listener *l = &listeners[nlisteners];
	struct sockaddr_storage ss;
	socklen_t sslen = listener_addr(addr, port, &ss, l->name, sizeof(l->name));
	int fd;

	if ((fd = listener_socket(&ss, sslen)) < 0) {
		if (ss.ss_family == AF_INET6 && (errno == EAFNOSUPPORT || errno == EADDRNOTAVAIL)) {
			log_warnx("not listening on %s: this host has no IPv6 there (%s)", l->name,
			    strerror(errno));
			return;
		}
		fatal("cannot listen on %s (stop whatever holds the port, or choose another "
		    "with gateway.port or --port)", l->name);
	}
	listener_add(l, fd, &ss);
}

/* A listening socket systemd passed (gatewayd.socket): its address is whatever
 * the socket unit says, not gateway.bind / gateway.port. */
static void
listener_adopt(int fd)
{
	struct listener *l = &listeners[nlisteners];
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char addr[PROTO_ADDR_MAX];
	const void *ip;
	uint16_t port;

	if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
		fatalx("systemd passed descriptor %d, which is not a listening TCP socket: give "
		    "gatewayd.socket only ListenStream= lines with an address and port", fd);
	if (ss.ss_family == AF_INET) {
		ip = &((struct sockaddr_in *)&ss)->sin_addr;
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	} else {
		ip = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	inet_ntop(ss.ss_family, ip, addr, sizeof(addr));
	snprintf(l->name, sizeof(l->name), ss.ss_family == AF_INET ? "%s:%u" : "[%s]:%u", addr,
	    port);
	if (evutil_make_socket_nonblocking(fd) < 0 || evutil_make_socket_closeonexec(fd) < 0)
		fatal("cannot prepare the socket %s that systemd passed", l->name);
	listener_add(l, fd, &ss);
}

void
listener_open_all(const struct proto_br_hello *settings, uint16_t port,
    listener_accept_fn on_accept)
{
	int n = sd_listen_fds(1);

	listener_accept = on_accept;
	if (n < 0)
		fatalx("cannot take the sockets systemd passed: %s", strerror(-n));
	if (n > PROTO_MAX_BINDS)
		fatalx("systemd passed %d sockets, more than the %d gatewayd serves: trim the "
		    "ListenStream= lines of gatewayd.socket", n, PROTO_MAX_BINDS);
	if (n > 0) {
		log_info("serving the %d socket(s) systemd passed; gateway.bind and the port do "
		    "not apply", n);
		for (int i = 0; i < n; i++)
			listener_adopt(SD_LISTEN_FDS_START + i);
		return;
	}
	for (uint32_t i = 0; i < settings->nbind; i++)
		listener_open(settings->bind[i], port);
	if (nlisteners == 0)
		fatalx("no address to listen on could be bound: check gateway.bind");
}

void
listener_close_all(void)
{
	for (int i = 0; i < nlisteners; i++) {
		evconnlistener_free(listeners[i].lev);
		event_free(listeners[i].resume);
	}
	nlisteners = 0;
}
