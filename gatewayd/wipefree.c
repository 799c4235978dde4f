/*
 * gatewayd's free, realloc and reallocarray: they wipe a block before glibc
 * takes it back (common/wipemem.h). Defined in the executable, they take the
 * place of glibc's for every library in the process (ELF symbol interposition,
 * the way glibc documents replacing its allocator): libevent's buffers,
 * OpenSSL's, yajl's and wslay's, which has no allocator hook of its own, all
 * free through here. malloc, calloc and the aligned allocators stay glibc's;
 * their blocks come back through this free. realloc and reallocarray must be
 * here too: glibc's frees a block it moves without calling free.
 *
 * Not in sanitizer builds: AddressSanitizer has its own allocator (whose
 * quarantine keeps freed blocks anyway), and these would go around it.
 */
#include <errno.h>
#include <stdlib.h>

#include "common/wipemem.h"

/* glibc's allocator itself, beneath the interposable names (exported, with a
 * symbol version, since glibc 2.2.5). */
extern void *__libc_malloc(size_t size);
extern void __libc_free(void *ptr);

void
free(void *ptr)
{
	wipemem_free(ptr, __libc_free);
}

void *
realloc(void *ptr, size_t size)
{
	return wipemem_realloc(ptr, size, __libc_malloc, __libc_free);
}

void *
reallocarray(void *ptr, size_t nmemb, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(nmemb, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return wipemem_realloc(ptr, total, __libc_malloc, __libc_free);
}
