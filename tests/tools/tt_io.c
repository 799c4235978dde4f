/* I/O helpers of the test tools (see tt_io.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "tt_io.h"

int64_t
tt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int
tt_wait(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left = deadline - tt_now();

	if (left <= 0)
		return 0;
	return poll(&p, 1, (int)(left / 1000000) + 1) > 0;
}

/* One loop for both directions: events POLLIN reads into buf, POLLOUT writes it. */
static int
tt_io_all(int fd, uint8_t *p, size_t len, short events, int64_t deadline)
{
	while (len > 0) {
		ssize_t n = events == POLLIN ? read(fd, p, len) : write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && deadline > 0) {
			if (!tt_wait(fd, events, deadline))
				return -1;
			continue;
		}
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
tt_read_all(int fd, void *buf, size_t len, int64_t deadline)
{
	return tt_io_all(fd, buf, len, POLLIN, deadline);
}

int
tt_write_all(int fd, const void *buf, size_t len, int64_t deadline)
{
	/* write(2) does not change buf: the cast only serves the shared loop. */
	return tt_io_all(fd, (uint8_t *)(uintptr_t)buf, len, POLLOUT, deadline);
}

void *
tt_grow(void *p, size_t *cap, size_t need, size_t first)
{
	size_t n = *cap ? *cap : first;
	void *q;

	if (need <= *cap)
		return p;
	while (n < need)
		n *= 2;
	if ((q = realloc(p, n)) == NULL)
		return NULL;
	*cap = n;
	return q;
}

void
tt_usage(const char *usage)
{
	fprintf(stderr, "usage: %s\n", usage);
	exit(2);
}
