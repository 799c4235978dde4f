/*
 * Bulk reads for plain-socket bufferevents, the reading side of flush.h.
 * libevent 2.1 reads a socket at most 4 KiB at a time (evbuffer_read's cap,
 * not configurable before 2.2), an ioctl, a readv and a trip through the event
 * loop each: a 64 KiB message would take sixteen. A reader that knows more is
 * waiting takes it here, in reads of up to 64 KiB.
 */
#ifndef GATEWAYD_FILL_H
#define GATEWAYD_FILL_H

#include <stddef.h>
#include <event2/util.h>

struct bufferevent;

/* libevent 2.1's largest read (EVBUFFER_MAX_READ in its buffer.c): one that
 * returned less found the socket empty. */
#define FILL_LIBEVENT_READ_MAX 4096
/* The space offered to one readv, and the most one call takes before the
 * event loop gets to the other connections again. */
#define FILL_CHUNK (64 * 1024)
#define FILL_MAX (1024 * 1024)

/*
 * Appends what fd (the plain socket under bev, never one with TLS in between)
 * has waiting to bev's input, while bev reads at all (a paused one does not);
 * returns the bytes read. EOF and errors are left to the bufferevent's next
 * read, which sees them again.
 */
size_t fill_read(struct bufferevent *bev, evutil_socket_t fd);

#endif
