/* Allocation that cannot fail: running out of memory is fatal in a daemon
 * whose every allocation is bounded by a configured limit. */
#ifndef CLAWGATE_XMALLOC_H
#define CLAWGATE_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
