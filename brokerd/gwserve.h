/*
 * Serving gatewayd: the permit table of the messages a gateway link may carry
 * (which link state each needs, what is resolved before its handler runs) and
 * the handlers, which answer with the broker's settings, challenges, admission
 * decisions (admission.h) and RPC results (rpc.h).
 */
#ifndef BROKERD_GWSERVE_H
#define BROKERD_GWSERVE_H

struct broker;
struct event_base;

/* Sets up the gateway link transport (gwlink.h) with the permit table. */
void gwserve_init(struct event_base *base, struct broker *br);

#endif
