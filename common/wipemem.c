#include "common/wipemem.h"

#include <malloc.h>
#include <string.h>

void
wipemem_free(void *ptr, wipemem_release_fn release)
{
	if (ptr == NULL)
		return;
	explicit_bzero(ptr, malloc_usable_size(ptr));
	release(ptr);
}

void *
wipemem_realloc(void *ptr, size_t size, wipemem_alloc_fn alloc, wipemem_release_fn release)
{
	size_t have;
	void *to;

	if (ptr == NULL)
		return alloc(size);
	if (size == 0) {
		wipemem_free(ptr, release);
		return NULL;
	}
	/* A block that fits is kept: shrinking it would hand its tail back
	 * unwiped. A larger size is always a new block: glibc's realloc, when it
	 * moves a block, frees the old one itself. */
	have = malloc_usable_size(ptr);
	if (size <= have)
		return ptr;
	if ((to = alloc(size)) == NULL)
		return NULL;
	memcpy(to, ptr, have);
	wipemem_free(ptr, release);
	return to;
}
