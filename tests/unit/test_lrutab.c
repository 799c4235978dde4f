/* common/lrutab: values made zeroed, the bound, eviction of the least recently
 * used record (touch counts as use, find does not), lookups after eviction and
 * removal. */
#include <stdalign.h>
#include <stdio.h>

#include "common/lrutab.h"
#include "testutil.h"

struct val {
	long double x;	/* the strictest alignment a value may need */
	int n;
};

static struct val *
touch(struct lrutab *t, const char *key, int *created)
{
	return lrutab_touch(t, key, created);
}

static void
test_made_zeroed_and_found(void)
{
	struct lrutab t;
	struct val *v;
	int created;
	const char *long_key = "a key far longer than any value it sits behind, "
	    "to show the key is stored whole";

	lrutab_init(&t, 8, sizeof(struct val));
	CHECK(lrutab_find(&t, "a") == NULL);
	v = touch(&t, "a", &created);
	CHECK_INT_EQ(created, 1);
	CHECK_INT_EQ(v->n, 0);
	CHECK_INT_EQ((uintptr_t)v % alignof(struct val), 0);
	v->n = 7;
	CHECK(touch(&t, "a", &created) == v);
	CHECK_INT_EQ(created, 0);
	CHECK(lrutab_find(&t, "a") == v);
	CHECK_INT_EQ(((struct val *)lrutab_find(&t, "a"))->n, 7);
	touch(&t, long_key, &created)->n = 9;
	CHECK_INT_EQ(((struct val *)lrutab_find(&t, long_key))->n, 9);
	CHECK(lrutab_find(&t, "a key far longer") == NULL);
	CHECK_INT_EQ(lrutab_count(&t), 2);
	lrutab_remove(&t, "a");
	lrutab_remove(&t, "a");
	CHECK(lrutab_find(&t, "a") == NULL);
	CHECK_INT_EQ(lrutab_count(&t), 1);
	/* Removed, a key comes back as a new, zeroed record. */
	v = touch(&t, "a", &created);
	CHECK_INT_EQ(created, 1);
	CHECK_INT_EQ(v->n, 0);
	lrutab_free(&t);
}

/* Full at 3: a new key forgets the least recently touched one; a find does not
 * save a record from eviction, a touch does. */
static void
test_eviction_order(void)
{
	struct lrutab t;
	int created;

	lrutab_init(&t, 3, sizeof(struct val));
	touch(&t, "k1", &created)->n = 1;
	touch(&t, "k2", &created)->n = 2;
	touch(&t, "k3", &created)->n = 3;
	CHECK(lrutab_find(&t, "k1") != NULL);	/* not a use */
	touch(&t, "k2", &created);		/* a use: order is now k1 k3 k2 */
	touch(&t, "k4", &created);
	CHECK_INT_EQ(lrutab_count(&t), 3);
	CHECK(lrutab_find(&t, "k1") == NULL);
	CHECK(lrutab_find(&t, "k2") != NULL);
	touch(&t, "k5", &created);
	CHECK(lrutab_find(&t, "k3") == NULL);
	CHECK_INT_EQ(((struct val *)lrutab_find(&t, "k2"))->n, 2);
	touch(&t, "k6", &created);
	CHECK(lrutab_find(&t, "k2") == NULL);
	CHECK(lrutab_find(&t, "k4") != NULL);
	CHECK(lrutab_find(&t, "k5") != NULL);
	CHECK(lrutab_find(&t, "k6") != NULL);
	/* An evicted key comes back afresh, evicting the next in line. */
	CHECK_INT_EQ(touch(&t, "k1", &created)->n, 0);
	CHECK_INT_EQ(created, 1);
	CHECK(lrutab_find(&t, "k4") == NULL);
	CHECK_INT_EQ(lrutab_count(&t), 3);
	lrutab_free(&t);
}

/* Many more keys than the bound: the count never passes it, and exactly the last
 * ones made are kept. */
static void
test_capacity(void)
{
	struct lrutab t;
	char key[32];
	int created, kept = 0, gone = 0;

	lrutab_init(&t, 1000, sizeof(struct val));
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		touch(&t, key, &created)->n = i;
		if (lrutab_count(&t) > 1000)
			break;
	}
	CHECK_INT_EQ(lrutab_count(&t), 1000);
	for (int i = 0; i < 5000; i++) {
		struct val *v;

		snprintf(key, sizeof(key), "key-%d", i);
		v = lrutab_find(&t, key);
		if (i < 4000)
			gone += v == NULL;
		else
			kept += v != NULL && v->n == i;
	}
	CHECK_INT_EQ(gone, 4000);
	CHECK_INT_EQ(kept, 1000);
	lrutab_free(&t);
	CHECK_INT_EQ(lrutab_count(&t), 0);
}

int
main(void)
{
	TEST_RUN(test_made_zeroed_and_found);
	TEST_RUN(test_eviction_order);
	TEST_RUN(test_capacity);
	return test_exit();
}
