/* gatewayd/conntab: conn ids are fresh, and conn id -> session holds through the
 * table's growth, deletion and a free that leaves it usable. */
#include "gatewayd/conntab.h"
#include "testutil.h"

/* The table only stores the pointers: any distinct addresses stand for sessions. */
static char sessions[5000];

static struct session *
fake_session(size_t i)
{
	return (struct session *)(void *)&sessions[i];
}

static void
test_ids_are_fresh(void)
{
	uint64_t a = conntab_new_id(), b = conntab_new_id();

	CHECK(a != 0);
	CHECK(b != 0);
	CHECK(a != b);
}

static void
test_add_find_del(void)
{
	uint64_t ids[5000];
	size_t found = 0;

	CHECK(conntab_find(1) == NULL);
	for (size_t i = 0; i < 5000; i++) {
		ids[i] = conntab_new_id();
		conntab_add(ids[i], fake_session(i));
	}
	for (size_t i = 0; i < 5000; i++)
		found += conntab_find(ids[i]) == fake_session(i);
	CHECK_INT_EQ(found, 5000);
	conntab_del(ids[10]);
	CHECK(conntab_find(ids[10]) == NULL);
	CHECK(conntab_find(ids[11]) == fake_session(11));
	/* Deleting what is gone is harmless: a broker answer may race the close. */
	conntab_del(ids[10]);
	conntab_free();
	CHECK(conntab_find(ids[11]) == NULL);
	conntab_add(ids[11], fake_session(11));
	CHECK(conntab_find(ids[11]) == fake_session(11));
	conntab_free();
}

int
main(void)
{
	TEST_RUN(test_ids_are_fresh);
	TEST_RUN(test_add_find_del);
	return test_exit();
}
