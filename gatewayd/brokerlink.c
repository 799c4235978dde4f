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
#include "gatewayd/dialer.h"
#include "gatewayd/flush.h"
#include "gatewayd/gatewayd.h"
#include "gatewayd/reconfig.h"
#include "proto/link.h"

#define BROKERLINK_RETRY_MS 250
#define BROKERLINK_RETRY_FOR_MS 10000
#define BROKERLINK_HELLO_TIMEOUT_S 10

static struct bufferevent *brokerlink_bev;
static struct flush brokerlink_flush;	/* brokerlink_bev's writes */
static struct event *brokerlink_hello_timer;
static struct event *brokerlink_retry;	/* reconnecting after a loss */
static const struct brokerlink_user *brokerlink_user;
static enum brokerlink_state brokerlink_state;	/* of the current link */
static int brokerlink_was_up;	/* BR_HELLO received on any link */
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
 * Losing brokerd: gatewayd keeps serving (the user's down says how), and the
 * link is retried every 250 ms until brokerd is back.
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
	if (brokerlink_state == BROKERLINK_UP)
		brokerlink_user->down();
	brokerlink_state = BROKERLINK_HELLO;
	if (brokerlink_retry == NULL && (brokerlink_retry = event_new(gatewayd.base, -1,
	    EV_PERSIST, brokerlink_retry_cb, NULL)) == NULL)
		fatalx("out of memory arming the broker reconnect timer");
	if (evtimer_add(brokerlink_retry, &tv) < 0)
		fatalx("cannot arm the broker reconnect timer");
}

int
brokerlink_available(void)
{
	return brokerlink_state == BROKERLINK_UP;
}

static int
brokerlink_try_connect(void)
{
	int fd;

	/* A Unix stream connect completes at once or fails; EAGAIN (brokerd's
	 * backlog is full) is retried like a broker that is not there yet. */
	if ((fd = dialer_connect()) >= 0)
		return fd;
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
brokerlink_on_hello(const union brokerlink_msg *m)
{
	int first = !brokerlink_was_up;
	struct proto_br_hello before = gatewayd.settings;

	brokerlink_check_settings(&m->hello);
	gatewayd.settings = m->hello;
	if (!first)
		reconfig_hello(&before);
	if (brokerlink_hello_timer != NULL)
		event_free(brokerlink_hello_timer);
	brokerlink_hello_timer = NULL;
	brokerlink_state = BROKERLINK_UP;
	brokerlink_was_up = 1;
	log_info("connected to brokerd %s at %s", gatewayd.settings.version, brokerlink_path);
	brokerlink_user->up(first);
	/* The generated TLS key is in the TLS context now (tls_init after the
	 * first hello, reconfig_hello after a later one). */
	explicit_bzero(gatewayd.settings.tls_key_der, sizeof(gatewayd.settings.tls_key_der));
	return 0;
}

/* brokerd reloaded its configuration: the settings that may change while
 * gatewayd runs apply to the connections accepted and the sessions relayed
 * from now on (the proxies are looked at on each upgrade); sessions keep
 * going. A configuration brokerd could not have sent breaks the protocol. */
static int
brokerlink_on_config(const union brokerlink_msg *m)
{
	const char *bad;

	if ((bad = reconfig_check(&m->config)) != NULL) {
		log_warnx("brokerd sent BR_CONFIG with %s", bad);
		return -1;
	}
	reconfig_config(&m->config);
	brokerlink_user->reconfigured();
	return 0;
}

/* The link's own entries, looked up before the user's. */
static const struct brokerlink_handler brokerlink_own[] = {
	{ PROTO_BR_HELLO, BROKERLINK_HELLO, brokerlink_on_hello },
	{ PROTO_BR_CONFIG, BROKERLINK_UP, brokerlink_on_config },
};

static const struct brokerlink_handler *
brokerlink_lookup(const struct brokerlink_handler *table, size_t n, uint16_t type)
{
	for (size_t i = 0; i < n; i++)
		if (table[i].type == type)
			return &table[i];
	return NULL;
}

/* One broker answer or push (a proto_link_frame_cb); -1 stops reading: the
 * broker broke the protocol. */
static int
brokerlink_frame(void *arg, const struct proto_hdr *hdr, const uint8_t *payload)
{
	const struct brokerlink_handler *h;
	union brokerlink_msg m;
	int r;

	if ((h = brokerlink_lookup(brokerlink_own, sizeof(brokerlink_own) /
	    sizeof(brokerlink_own[0]), hdr->type)) == NULL)
		h = brokerlink_lookup(brokerlink_user->handlers, brokerlink_user->nhandlers,
		    hdr->type);
	if (h == NULL) {
		log_warnx("brokerd sent %s (type 0x%04x), which a gateway never receives",
		    proto_type_name(hdr->type), hdr->type);
		return -1;
	}
	if (h->state != brokerlink_state) {
		log_warnx("brokerd sent %s %s its BR_HELLO", proto_type_name(hdr->type),
		    brokerlink_state == BROKERLINK_UP ? "after" : "before");
		return -1;
	}
	if (proto_decode(hdr->type, payload, hdr->len, &m, sizeof(m)) < 0) {
		log_warnx("brokerd sent a malformed %s (%u bytes)", proto_type_name(hdr->type),
		    hdr->len);
		return -1;
	}
	r = h->fn(&m);
	/* A BR_ACCEPT carries the device token it issued. */
	explicit_bzero(&m, sizeof(m));
	return r;
}

int
brokerlink_input(struct evbuffer *in)
{
	return proto_link_read(in, PROTO_MAX_PAYLOAD, brokerlink_frame, NULL) == 0 ? 0 : -1;
}

static void
brokerlink_read_cb(struct bufferevent *bev, void *arg)
{
	if (brokerlink_input(bufferevent_get_input(bev)) < 0)
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
	struct proto_gw_hello hello = { (uint32_t)getpid(), gatewayd.worker,
	    gatewayd.workers };

	if ((brokerlink_bev = bufferevent_socket_new(gatewayd.base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
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
brokerlink_init(const struct brokerlink_user *user)
{
	brokerlink_user = user;
}

void
brokerlink_open(const char *socket_dir, const struct sandbox_user *user)
{
	struct timespec pause = { 0, BROKERLINK_RETRY_MS * 1000000L };
	int fd = -1;

	if ((size_t)snprintf(brokerlink_path, sizeof(brokerlink_path), "%s/gateway.sock",
	    socket_dir) >= sizeof(brokerlink_path))
		fatalx("socket directory %s is too long for a Unix socket path", socket_dir);
	dialer_start(brokerlink_path, user);
	/* brokerd creates the socket: starting both at once is normal, so wait. */
	for (int waited = 0; (fd = brokerlink_try_connect()) < 0; waited += BROKERLINK_RETRY_MS) {
		if (waited >= BROKERLINK_RETRY_FOR_MS)
			fatalx("cannot connect to brokerd at %s for %d s: start brokerd first "
			    "(or pass its --socket-dir)", brokerlink_path,
			    BROKERLINK_RETRY_FOR_MS / 1000);
		nanosleep(&pause, NULL);
	}
	brokerlink_attach(fd);
}

int
brokerlink_send(uint16_t type, const void *msg)
{
	/* Nothing but the hello goes to a broker that has not answered it. */
	if (brokerlink_bev == NULL || brokerlink_state != BROKERLINK_UP)
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
	brokerlink_state = BROKERLINK_HELLO;
}
