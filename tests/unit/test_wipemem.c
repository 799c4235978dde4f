/*
 * common/wipemem: a block reaches the allocator only once every byte of it is
 * zero, whether freed or left behind by a realloc that moves; a realloc that
 * fits keeps the block, and one that cannot allocate leaves it untouched. The
 * allocator beneath is this test's: its release looks at the block before
 * handing it to free(3).
 */
#include <malloc.h>
#include <stdint.h>

#include "common/wipemem.h"
#include "testutil.h"

static int test_released;	/* blocks released */
static int test_released_dirty;	/* ... with a byte that was not zero */
static int test_alloc_fails;	/* the next allocation fails */

static void
test_release(void *ptr)
{
	const uint8_t *p = ptr;
	size_t n = malloc_usable_size(ptr);

	test_released++;
	for (size_t i = 0; i < n; i++) {
		if (p[i] != 0) {
			test_released_dirty++;
			break;
		}
	}
	free(ptr);
}

static void *
test_alloc(size_t size)
{
	if (test_alloc_fails) {
		test_alloc_fails = 0;
		return NULL;
	}
	return malloc(size);
}

static void
test_reset(void)
{
	test_released = test_released_dirty = test_alloc_fails = 0;
}

/* A block full of a secret's bytes, to its last usable byte. */
static uint8_t *
test_secret(size_t size)
{
	uint8_t *p = malloc(size);

	memset(p, 'S', malloc_usable_size(p));
	return p;
}

static void
test_free_wipes_the_whole_block(void)
{
	test_reset();
	wipemem_free(test_secret(100), test_release);
	wipemem_free(test_secret(70000), test_release);
	wipemem_free(NULL, test_release);
	CHECK_INT_EQ(test_released, 2);
	CHECK_INT_EQ(test_released_dirty, 0);
}

static void
test_realloc_that_moves_wipes_the_old_block(void)
{
	uint8_t *p = test_secret(40), *q;

	test_reset();
	q = wipemem_realloc(p, 4096, test_alloc, test_release);
	CHECK(q != NULL);
	CHECK_INT_EQ(test_released, 1);
	CHECK_INT_EQ(test_released_dirty, 0);
	CHECK(q[0] == 'S' && q[39] == 'S');
	wipemem_free(q, test_release);
	CHECK_INT_EQ(test_released_dirty, 0);
}

static void
test_realloc_that_fits_keeps_the_block(void)
{
	uint8_t *p = test_secret(4096), *q;

	test_reset();
	q = wipemem_realloc(p, 10, test_alloc, test_release);
	CHECK(q == p);
	q = wipemem_realloc(q, 4096, test_alloc, test_release);
	CHECK(q == p);
	CHECK_INT_EQ(test_released, 0);
	CHECK(q[4095] == 'S');
	wipemem_free(q, test_release);
}

static void
test_realloc_edges(void)
{
	uint8_t *p;

	test_reset();
	/* NULL allocates; size 0 frees (wiped) and gives NULL. */
	p = wipemem_realloc(NULL, 64, test_alloc, test_release);
	CHECK(p != NULL);
	memset(p, 'S', 64);
	CHECK(wipemem_realloc(p, 0, test_alloc, test_release) == NULL);
	CHECK_INT_EQ(test_released, 1);
	CHECK_INT_EQ(test_released_dirty, 0);
	/* Out of memory: NULL, and the block is still the caller's, intact. */
	p = test_secret(32);
	test_alloc_fails = 1;
	CHECK(wipemem_realloc(p, 1 << 20, test_alloc, test_release) == NULL);
	CHECK_INT_EQ(test_released, 1);
	CHECK(p[31] == 'S');
	wipemem_free(p, test_release);
	CHECK_INT_EQ(test_released_dirty, 0);
}

int
main(void)
{
	TEST_RUN(test_free_wipes_the_whole_block);
	TEST_RUN(test_realloc_that_moves_wipes_the_old_block);
	TEST_RUN(test_realloc_that_fits_keeps_the_block);
	TEST_RUN(test_realloc_edges);
	return test_exit();
}
