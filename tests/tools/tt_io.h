/* Blocking-style I/O helpers shared by the test tools (tests/tools) and the
 * benchmark clients (tests/bench): whole-buffer reads and writes, a monotonic
 * clock, a bounded wait, buffer growth and the usage exit. */
#ifndef CLAWGATE_TEST_TT_IO_H
#define CLAWGATE_TEST_TT_IO_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t tt_now(void);

/* Waits until fd is ready for events or the deadline (tt_now) passes; 0 on timeout. */
int tt_wait(int fd, short events, int64_t deadline);

/* Read or write all len bytes, retrying after EINTR. On a non-blocking fd, EAGAIN
 * waits until deadline (tt_now; 0: no deadline, EAGAIN fails). 0 when done, -1 on
 * an error, end of file or the deadline. Writes to a closed socket or pipe fail
 * with EPIPE only where the caller ignores SIGPIPE. */
int tt_read_all(int fd, void *buf, size_t len, int64_t deadline);
int tt_write_all(int fd, const void *buf, size_t len, int64_t deadline);

/* Grows p (of *cap bytes, first size first) to hold need bytes, doubling; NULL
 * when out of memory (p is then still valid). */
void *tt_grow(void *p, size_t *cap, size_t need, size_t first);

/* Prints "usage: " and usage to stderr and exits 2 (a bad command line). */
void tt_usage(const char *usage) __attribute__((noreturn));

#endif
