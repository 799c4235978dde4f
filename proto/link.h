/* Framed proto messages over a libevent bufferevent (Unix stream sockets):
 * the one reader and writer both daemons use for their links. */
#ifndef CLAWGATE_PROTO_LINK_H
#define CLAWGATE_PROTO_LINK_H

#include <stdint.h>

#include "proto/proto.h"

struct bufferevent;
struct evbuffer;

/* Called once per complete frame; payload is valid only during the call. A
 * non-zero return stops reading (the caller is dropping the link). */
typedef int (*proto_link_frame_cb)(void *arg, const struct proto_hdr *hdr,
    const uint8_t *payload);

/* Hands every complete frame in `in` to cb and drains it. Returns -1 on a bad
 * header or a wrong version (drop the link), 1 if cb asked to stop, else 0. */
int proto_link_read(struct evbuffer *in, uint32_t max_payload, proto_link_frame_cb cb,
    void *arg);

/* Encodes msg as a frame of that type and queues it on bev. -1 if msg does not
 * fit its layout (a bug in the caller: nothing is queued). */
int proto_link_send(struct bufferevent *bev, uint16_t type, uint32_t id, const void *msg);

#endif
