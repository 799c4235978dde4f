#include "gatewayd/fill.h"

#include <sys/uio.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/log.h"

/* One readv of up to FILL_CHUNK bytes onto the end of in: the bytes read, 0
 * at EOF, on an error or when nothing is waiting. */
static size_t
fill_readv(struct evbuffer *in, evutil_socket_t fd)
{
	struct evbuffer_iovec v[2];
	struct iovec iov[2];
	ssize_t n;
	size_t left;
	int nv;

	if ((nv = evbuffer_reserve_space(in, FILL_CHUNK, v, 2)) <= 0)
		return 0;
	for (int i = 0; i < nv; i++)
		iov[i] = (struct iovec){ v[i].iov_base, v[i].iov_len };
	if ((n = readv(fd, iov, nv)) <= 0) {
		evbuffer_commit_space(in, v, 0);
		return 0;
	}
	left = (size_t)n;
	for (int i = 0; i < nv; i++) {
		v[i].iov_len = left < v[i].iov_len ? left : v[i].iov_len;
		left -= v[i].iov_len;
	}
	if (evbuffer_commit_space(in, v, nv) != 0)
		fatalx("cannot commit %zd bytes read to an input buffer", n);
	return (size_t)n;
}

size_t
fill_read(struct bufferevent *bev, evutil_socket_t fd)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t got = 0, n;

	/* A socket bufferevent keeps its input's end frozen but while it reads
	 * itself; so do we. */
	evbuffer_unfreeze(in, 0);
	while (got < FILL_MAX && (bufferevent_get_enabled(bev) & EV_READ) &&
	    (n = fill_readv(in, fd)) > 0) {
		got += n;
		/* A short read emptied the socket. */
		if (n < FILL_CHUNK)
			break;
	}
	evbuffer_freeze(in, 0);
	return got;
}
