#include "gatewayd/brokerlink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/log.h"
#include "gatewayd/challenges.h"
#include "gatewayd/flush.h"
#include "gatewayd/gatewayd.h"
#include "gatewayd/session.h"
#include "gatewayd/ui.h"
#include "proto/link.h"

#define BROKERLINK_RETRY_MS 250
#define BROKERLINK_RETRY_FOR_MS 10000
#define BROKERLINK_HELLO_TIMEOUT_S 10

static struct bufferevent *brokerlink_bev;
static struct flush brokerlink_flush;	/* brokerlink_bev's writes */
static struct event *brokerlink_hello_timer;
static struct event *brokerlink_retry;	/* reconnecting after a loss */
static void (*brokerlink_ready)(void);
static int brokerlink_up;	/* BR_HELLO received on the current link */
static int brokerlink_was_up;	/* ... on any link: ready() has run */
static uint32_t brokerlink_next_id = 1;
static char brokerlink_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

static void brokerlink_attach(int fd);
static int brokerlink_try_connect(void);

static void
brokerlink_retry_cb(evutil_socket_t unused, short what, void *arg)
{
	int fd;

	if ((fd = brokerlink_try_connect()) < 0)
		return;
	evtimer_del(brokerlink_retry);
	log_info("reconnected to brokerd at %s; waiting for its hello", brokerlink_path);
	brokerlink_attach(fd);
}

/*
 * Losing brokerd: authenticated sessions stay up (their requests are answered
 * UNAVAILABLE), new handshakes are refused UNAVAILABLE and close 1013 (session.c),
 * and the link is retried every 250 ms until brokerd is back.
 */
static void
brokerlink_lost(const char *why)
{
	struct timeval tv = { 0, BROKERLINK_RETRY_MS * 1000 };

	if (!brokerlink_was_up)
		fatalx("lost the link to brokerd at %s before its hello (%s): check brokerd's "
		    "log", brokerlink_path, why);
	log_warnx("lost the link to brokerd at %s (%s): refusing new handshakes until it is "
	    "back; reconnecting every %d ms", brokerlink_path, why, BROKERLINK_RETRY_MS);
	if (brokerlink_hello_timer != NULL)
		event_free(brokerlink_hello_timer);
	brokerlink_hello_timer = NULL;
	flush_cancel(&brokerlink_flush);
	bufferevent_free(brokerlink_bev);
	brokerlink_bev = NULL;
	challenges_reset();
	if (brokerlink_up)
		session_broker_lost();
	brokerlink_up = 0;
	if (brokerlink_retry == NULL && (brokerlink_retry = event_new(gatewayd.base, -1, EV_PERSIST,
	    brokerlink_retry_cb, NULL)) == NULL)
		fatalx("out of memory arming the broker reconnect timer");
	if (evtimer_add(brokerlink_retry, &tv) < 0)
		fatalx("cannot arm the broker reconnect timer");
}

int
brokerlink_available(void)
{
	return brokerlink_up;
}

static int
brokerlink_try_connect(void)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, brokerlink_path, sizeof(sun.sun_path));
	/* Non-blocking from the start: once sandboxed, gatewayd may not fcntl. A
	 * Unix stream connect completes at once or fails; EAGAIN (brokerd's backlog
	 * is full) is retried like a broker that is not there yet. */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
		fatal("socket(AF_UNIX)");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	close(fd);
	if (errno != ENOENT && errno != ECONNREFUSED && errno != EAGAIN)
		fatal("cannot connect to brokerd at %s", brokerlink_path);
	return -1;
}

/* BR_HELLO carries the only configuration gatewayd has; values that cannot
 * work are the broker's bug, refused here rather than served badly. */
static void
brokerlink_check_settings(const struct proto_br_hello *h)
{
	const char *bad = NULL;

	if (h->nbind == 0)
		bad = "no bind address";
	else if (h->tick_interval_ms == 0)
		bad = "tick_interval_ms is 0";
	else if (h->handshake_timeout_ms == 0)
		bad = "handshake_timeout_ms is 0";
	else if (h->max_payload < 65536)
		bad = "max_payload is below 65536";
	else if (h->max_buffered == 0)
		bad = "max_buffered is 0";
	else if (h->max_preauth_per_ip == 0)
		bad = "max_preauth_per_ip is 0";
	else if (h->gatewayctl[0] == '\0')
		bad = "no gatewayctl command";
	if (bad != NULL)
		fatalx("brokerd sent unusable settings (%s): check brokerd's configuration", bad);
}

static int
brokerlink_hello(const struct proto_hdr *hdr, const uint8_t *payload)
{
	if (hdr->type != PROTO_BR_HELLO) {
		log_warnx("brokerd sent %s before BR_HELLO", proto_type_name(hdr->type));
		return -1;
	}
	if (proto_decode(hdr->type, payload, hdr->len, &gatewayd.settings, sizeof(gatewayd.settings)) < 0) {
		log_warnx("brokerd sent a malformed BR_HELLO");
		return -1;
	}
	brokerlink_check_settings(&gatewayd.settings);
	/* Unlike the listeners, the page follows a new broker's settings at once. */
	ui_set_gatewayctl(gatewayd.settings.gatewayctl);
	event_free(brokerlink_hello_timer);
	brokerlink_hello_timer = NULL;
	brokerlink_up = 1;
	log_info("connected to brokerd %s at %s", gatewayd.settings.version, brokerlink_path);
	/* After a reconnect the listeners stay as they are (a new port or bind
	 * needs a restart); the sessions the old broker knew are told. */
	if (brokerlink_was_up) {
		session_broker_back();
		return 0;
	}
	brokerlink_was_up = 1;
	brokerlink_ready();
	return 0;
}

/* One broker answer or push; -1 drops the link (the broker broke the protocol). */
static int
brokerlink_frame(void *arg, const struct proto_hdr *hdr, const uint8_t *payload)
{
	union {
		struct proto_challenge challenge;
		struct proto_accept accept;
		struct proto_reject reject;
		struct proto_rpc_result rpc_result;
		struct proto_event event;
		struct proto_close close;
	} m;

	if (!brokerlink_up)
		return brokerlink_hello(hdr, payload);
	if (proto_decode(hdr->type, payload, hdr->len, &m, sizeof(m)) < 0) {
		log_warnx("brokerd sent a malformed or unexpected %s",
		    proto_type_name(hdr->type));
		return -1;
	}
	switch (hdr->type) {
	case PROTO_BR_CHALLENGE:
		if (challenges_on_challenge(&m.challenge))
			return 0;
		return session_broker_challenge(&m.challenge);
	case PROTO_BR_ACCEPT:
		return session_broker_accept(&m.accept);
	case PROTO_BR_REJECT:
		if (challenges_on_reject(m.reject.conn))
			return 0;
		return session_broker_reject(&m.reject);
	case PROTO_BR_RPC_RESULT:
		return session_broker_rpc_result(&m.rpc_result);
	case PROTO_BR_EVENT:
		return session_broker_event(&m.event);
	case PROTO_BR_CLOSE:
		return session_broker_close(&m.close);
	}
	log_warnx("brokerd sent %s, which a gateway never receives", proto_type_name(hdr->type));
	return -1;
}

static void
brokerlink_read_cb(struct bufferevent *bev, void *arg)
{
	if (proto_link_read(bufferevent_get_input(bev), PROTO_MAX_PAYLOAD, brokerlink_frame,
	    NULL) != 0)
		brokerlink_lost("protocol violation");
}

static void
brokerlink_write_cb(struct bufferevent *bev, void *arg)
{
	flush_drained(&brokerlink_flush);
}

static void
brokerlink_event_cb(struct bufferevent *bev, short events, void *arg)
{
	if (events & BEV_EVENT_EOF)
		brokerlink_lost("brokerd closed it");
	if (events & BEV_EVENT_ERROR)
		brokerlink_lost(strerror(EVUTIL_SOCKET_ERROR()));
}

static void
brokerlink_hello_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	if (!brokerlink_was_up)
		fatalx("brokerd at %s did not answer GW_HELLO within %d s: check brokerd's log",
		    brokerlink_path, BROKERLINK_HELLO_TIMEOUT_S);
	brokerlink_lost("no BR_HELLO in time");
}

/* A connected socket becomes the link: GW_HELLO goes out, BR_HELLO is awaited. */
static void
brokerlink_attach(int fd)
{
	struct timeval hello_timeout = { BROKERLINK_HELLO_TIMEOUT_S, 0 };
	struct proto_gw_hello hello = { (uint32_t)getpid(), gatewayd.worker };

	if ((brokerlink_bev = bufferevent_socket_new(gatewayd.base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatalx("out of memory setting up the broker link");
	flush_init(&brokerlink_flush, brokerlink_bev);
	bufferevent_setcb(brokerlink_bev, brokerlink_read_cb, brokerlink_write_cb,
	    brokerlink_event_cb, NULL);
	if (bufferevent_enable(brokerlink_bev, EV_READ) < 0)
		fatalx("cannot watch the broker link");
	if ((brokerlink_hello_timer = evtimer_new(gatewayd.base, brokerlink_hello_timeout_cb,
	    NULL)) == NULL || evtimer_add(brokerlink_hello_timer, &hello_timeout) < 0)
		fatalx("cannot arm the broker hello timer");
	if (proto_link_send(brokerlink_bev, PROTO_GW_HELLO, brokerlink_next_id++, &hello) < 0)
		fatalx("cannot send GW_HELLO");
}

void
brokerlink_open(const char *socket_dir, void (*ready)(void))
{
	struct timespec pause = { 0, BROKERLINK_RETRY_MS * 1000000L };
	int fd = -1;

	if ((size_t)snprintf(brokerlink_path, sizeof(brokerlink_path), "%s/gateway.sock",
	    socket_dir) >= sizeof(brokerlink_path))
		fatalx("socket directory %s is too long for a Unix socket path", socket_dir);
	/* brokerd creates the socket: starting both at once is normal, so wait. */
	for (int waited = 0; (fd = brokerlink_try_connect()) < 0; waited += BROKERLINK_RETRY_MS) {
		if (waited >= BROKERLINK_RETRY_FOR_MS)
			fatalx("cannot connect to brokerd at %s for %d s: start brokerd first "
			    "(or pass its --socket-dir)", brokerlink_path,
			    BROKERLINK_RETRY_FOR_MS / 1000);
		nanosleep(&pause, NULL);
	}
	brokerlink_ready = ready;
	brokerlink_attach(fd);
}

int
brokerlink_send(uint16_t type, const void *msg)
{
	/* Nothing but the hello goes to a broker that has not answered it. */
	if (brokerlink_bev == NULL || !brokerlink_up)
		return 0;
	return proto_link_send(brokerlink_bev, type, brokerlink_next_id++, msg);
}

void
brokerlink_close(void)
{
	if (brokerlink_hello_timer != NULL)
		event_free(brokerlink_hello_timer);
	brokerlink_hello_timer = NULL;
	if (brokerlink_retry != NULL)
		event_free(brokerlink_retry);
	brokerlink_retry = NULL;
	if (brokerlink_bev != NULL) {
		flush_cancel(&brokerlink_flush);
		bufferevent_free(brokerlink_bev);
	}
	brokerlink_bev = NULL;
	brokerlink_up = 0;
}
