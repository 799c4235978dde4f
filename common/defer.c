#include "common/defer.h"

#include <event2/event.h>

#include "common/log.h"

static void
defer_flush(struct defer *d)
{
	struct defer_entry *e;

	/* A free callback may mark others dead: they are freed in this run too. */
	while ((e = TAILQ_FIRST(&d->dead)) != NULL) {
		TAILQ_REMOVE(&d->dead, e, entry);
		d->free_obj(e->obj);
	}
}

static void
defer_cb(evutil_socket_t fd, short what, void *arg)
{
	defer_flush(arg);
}

void
defer_init(struct defer *d, struct event_base *base, void (*free_obj)(void *obj))
{
	d->free_obj = free_obj;
	TAILQ_INIT(&d->dead);
	if ((d->ev = event_new(base, -1, 0, defer_cb, d)) == NULL)
		fatalx("out of memory setting up deferred frees");
}

void
defer_free(struct defer *d, struct defer_entry *e, void *obj)
{
	if (e->obj != NULL)
		return;
	e->obj = obj;
	TAILQ_INSERT_TAIL(&d->dead, e, entry);
	event_active(d->ev, EV_TIMEOUT, 0);
}

int
defer_dead(const struct defer_entry *e)
{
	return e->obj != NULL;
}

void
defer_close(struct defer *d)
{
	if (d->ev == NULL)
		return;
	defer_flush(d);
	event_free(d->ev);
	d->ev = NULL;
}
