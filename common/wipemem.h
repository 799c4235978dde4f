/*
 * Freeing that wipes: a block's bytes are zeroed before the allocator takes it
 * back, so what it held (a token in transit) does not outlive it in freed heap.
 * The size wiped is the allocator's (malloc_usable_size), not the caller's, so
 * these work for blocks whose size the caller never knew (a library's). The
 * allocator beneath is passed in: gatewayd's free and realloc (wipefree.c)
 * pass glibc's own, a test passes one that looks at the block first.
 */
#ifndef CLAWGATE_WIPEMEM_H
#define CLAWGATE_WIPEMEM_H

#include <stddef.h>

typedef void *(*wipemem_alloc_fn)(size_t size);
typedef void (*wipemem_release_fn)(void *ptr);

/* Zeroes the whole block ptr points to (NULL: nothing), then releases it. */
void wipemem_free(void *ptr, wipemem_release_fn release);

/*
 * realloc(3), except that a block's bytes never reach the allocator unwiped:
 * a block that still fits the size is kept as is, a larger size gets a new
 * block (the old one copied, wiped and released). Size 0 frees and returns
 * NULL, as glibc's realloc does. On failure, NULL with ptr untouched.
 */
void *wipemem_realloc(void *ptr, size_t size, wipemem_alloc_fn alloc,
    wipemem_release_fn release);

#endif
