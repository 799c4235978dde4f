/*
 * The one Unix-socket link to brokerd (proto/proto.h): GW_HELLO
 * and BR_HELLO first, then every BR_* message goes to the session it names.
 */
#ifndef GATEWAYD_BROKERLINK_H
#define GATEWAYD_BROKERLINK_H

#include <stdint.h>

/* Connects to <socket_dir>/gateway.sock, retrying every 250 ms for up to 10 s
 * (nothing else can happen before), and sends GW_HELLO. Once BR_HELLO has
 * filled gw.settings, ready() runs from the event loop. */
void brokerlink_open(const char *socket_dir, void (*ready)(void));

/* Queues one GW_* message. -1 if it does not fit its layout (a bug: nothing is
 * sent). Without a link (at exit) messages are dropped: the broker forgets a
 * gateway's connections with its link. */
int brokerlink_send(uint16_t type, const void *msg);

void brokerlink_close(void);

/* Whether brokerd answers now. When the link is lost, gatewayd keeps serving and
 * reconnects by itself (session_broker_lost / session_broker_back). */
int brokerlink_available(void);

#endif
