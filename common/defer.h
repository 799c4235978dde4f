/*
 * Freeing from a fresh pass of the event loop. An object that callbacks further
 * up the stack may still hold (a link dropped in the middle of a broadcast, a
 * session closed while its frames are being read) is not freed where it dies:
 * it is marked dead, its owner stops using it (defer_dead), and the free
 * callback runs later from an event of its own, when none of those callbacks
 * is on the stack any more.
 *
 * The owner embeds a struct defer_entry, zeroed, in each object (alive), and
 * keeps one struct defer per kind of object.
 */
#ifndef CLAWGATE_DEFER_H
#define CLAWGATE_DEFER_H

#include <sys/queue.h>

struct event;
struct event_base;

struct defer_entry {
	TAILQ_ENTRY(defer_entry) entry;	/* on the dead list, once dead */
	void *obj;			/* NULL while alive */
};

struct defer {
	struct event *ev;		/* activated: frees the dead */
	void (*free_obj)(void *obj);
	TAILQ_HEAD(, defer_entry) dead;
};

void defer_init(struct defer *d, struct event_base *base, void (*free_obj)(void *obj));
/* Marks obj (whose entry e is) dead: free_obj(obj) runs from a fresh pass of the
 * event loop. Marking it again changes nothing. */
void defer_free(struct defer *d, struct defer_entry *e, void *obj);
int defer_dead(const struct defer_entry *e);
/* Frees every dead object now, then d itself: at exit, when the loop no longer
 * runs, before the owner frees the live ones. d may be closed without having
 * been set up. */
void defer_close(struct defer *d);

#endif
