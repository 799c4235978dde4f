/* The broker's status object: the `status` RPC and gatewayctl status. */
#ifndef BROKERD_STATUS_H
#define BROKERD_STATUS_H

#include "proto/proto.h"

struct broker;

/* local adds what only the host's admin should see: the state directory, where
 * the shared token comes from, and the relay's upstream if relay mode is on. */
void status_pval(struct pbuf *b, struct broker *br, int local);

#endif
