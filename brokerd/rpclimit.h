/*
 * The budget of changing calls over the gateway: approve, reject, remove,
 * rename, token rotate and revoke each rewrite the registry and append an
 * audit line, both fsync'd, so a session holding only operator.pairing could
 * otherwise wear the disk at will. Each call takes one unit from its device's
 * bucket (bound sessions) and from its gateway link's bucket; a bucket refills
 * at a steady rate up to its burst. The control socket (gatewayctl) is not
 * limited: it is the admin's.
 */
#ifndef BROKERD_RPCLIMIT_H
#define BROKERD_RPCLIMIT_H

#include <stdint.h>

/* Per device: this many at once, then one every RPCLIMIT_DEVICE_EVERY_MS. */
#define RPCLIMIT_DEVICE_BURST 10
#define RPCLIMIT_DEVICE_EVERY_MS 2000
/* Per gateway link (all the sessions of one gatewayd worker). */
#define RPCLIMIT_LINK_BURST 60
#define RPCLIMIT_LINK_EVERY_MS 200
/* Buckets remembered at most (the least recently used is forgotten). */
#define RPCLIMIT_MAX_KEYS 4096

enum rpclimit_which { RPCLIMIT_OK, RPCLIMIT_DEVICE, RPCLIMIT_LINK };

struct rpclimit;

struct rpclimit *rpclimit_new(void);
void rpclimit_free(struct rpclimit *rl);

/* Takes a unit from device_id's ("" for a device-less session: none) and the
 * link's bucket at now_mono_ms, or from neither: RPCLIMIT_OK, or which bucket
 * is empty with *retry_after_ms until it holds a unit again. */
enum rpclimit_which rpclimit_take(struct rpclimit *rl, const char *device_id, uint64_t link,
    int64_t now_mono_ms, int64_t *retry_after_ms);

#endif
