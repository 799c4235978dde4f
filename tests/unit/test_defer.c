/*
 * common/defer: an object marked dead inside a callback outlives that callback
 * and is freed from a later event of its own, once; objects marked dead while
 * others are freed are freed in the same run; defer_close frees what is left.
 */
#include <stdlib.h>
#include <event2/event.h>

#include "common/defer.h"
#include "testutil.h"

struct obj {
	struct defer_entry dead;
	int *freed;		/* counts this object's frees */
	struct obj *also;	/* marked dead when this one is freed */
};

static struct defer test_defer;

static void
obj_free(void *arg)
{
	struct obj *o = arg;

	(*o->freed)++;
	if (o->also != NULL)
		defer_free(&test_defer, &o->also->dead, o->also);
	free(o);
}

static struct obj *
obj_new(int *freed)
{
	struct obj *o = calloc(1, sizeof(*o));

	o->freed = freed;
	return o;
}

/* A callback that kills its object and then still reads it, as a handler
 * further up the stack would. */
struct kill_ctx {
	struct obj *o;
	int freed_inside;	/* frees seen before the callback returned */
	int dead_inside;
};

static void
kill_cb(evutil_socket_t fd, short what, void *arg)
{
	struct kill_ctx *k = arg;

	defer_free(&test_defer, &k->o->dead, k->o);
	defer_free(&test_defer, &k->o->dead, k->o);
	k->dead_inside = defer_dead(&k->o->dead);
	k->freed_inside = *k->o->freed;
}

static void
test_freed_from_a_later_event(void)
{
	struct event_base *base = event_base_new();
	int freed = 0;
	struct kill_ctx k = { obj_new(&freed), -1, 0 };
	struct event *ev = event_new(base, -1, 0, kill_cb, &k);

	defer_init(&test_defer, base, obj_free);
	CHECK(!defer_dead(&k.o->dead));
	event_active(ev, EV_TIMEOUT, 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK_INT_EQ(k.freed_inside, 0);
	CHECK(k.dead_inside);
	CHECK_INT_EQ(freed, 1);
	defer_close(&test_defer);
	CHECK_INT_EQ(freed, 1);
	event_free(ev);
	event_base_free(base);
}

static void
test_chain_and_close(void)
{
	struct event_base *base = event_base_new();
	int freed_a = 0, freed_b = 0, freed_c = 0;
	struct obj *a = obj_new(&freed_a), *b = obj_new(&freed_b), *c = obj_new(&freed_c);

	defer_init(&test_defer, base, obj_free);
	a->also = b;
	defer_free(&test_defer, &a->dead, a);
	CHECK_INT_EQ(freed_a, 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK_INT_EQ(freed_a, 1);
	CHECK_INT_EQ(freed_b, 1);
	/* Dead but the loop never ran again: closing frees it. */
	defer_free(&test_defer, &c->dead, c);
	defer_close(&test_defer);
	CHECK_INT_EQ(freed_c, 1);
	/* Closing twice, or what was never set up, is harmless. */
	defer_close(&test_defer);
	event_base_free(base);
}

int
main(void)
{
	struct defer never = { 0 };

	TEST_RUN(test_freed_from_a_later_event);
	TEST_RUN(test_chain_and_close);
	defer_close(&never);
	return test_exit();
}
