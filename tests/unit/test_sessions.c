/*
 * The session book (brokerd/sessions.c): tickets it seals open on their own link
 * and conn only; closing a device's role, or the shared secret, makes exactly the
 * affected tickets "closing" (the caller's spared session excepted) whether or
 * not gatewayd reports them closed; a device removed and paired again gets no
 * old ticket back; "connected" follows the live, current sessions per link.
 */
#include <stdio.h>
#include <string.h>

#include "brokerd/role.h"
#include "brokerd/sessions.h"
#include "common/random.h"
#include "testutil.h"

#define DEV_A "aaaa0000000000000000000000000000000000000000000000000000000000aa"
#define DEV_B "bbbb0000000000000000000000000000000000000000000000000000000000bb"

/* Accepts a session on bl for conn: device ("" for none), role, method. */
static struct proto_accept
accept_one(struct sessions_link *bl, uint64_t conn, const char *device, const char *role,
    const char *method)
{
	struct proto_accept ac;

	memset(&ac, 0, sizeof(ac));
	ac.conn = conn;
	snprintf(ac.role, sizeof(ac.role), "%s", role);
	snprintf(ac.method, sizeof(ac.method), "%s", method);
	snprintf(ac.device_id, sizeof(ac.device_id), "%s", device);
	ac.scopes.n = 1;
	snprintf(ac.scopes.v[0], sizeof(ac.scopes.v[0]), "operator.pairing");
	sessions_accept(bl, &ac);
	return ac;
}

/* 1 if the ticket opens on bl for conn and is current, 0 if it opens closing,
 * -1 if it does not open. */
static int
state(const struct sessions_link *bl, const struct proto_accept *ac, struct ticket_session *s)
{
	struct ticket_session tmp;

	if (s == NULL)
		s = &tmp;
	if (sessions_open(bl, ac->conn, ac->ticket, s) < 0)
		return -1;
	return !s->closing;
}

static void
test_open_only_where_issued(void)
{
	struct sessions_link *one = sessions_link_new(), *two = sessions_link_new();
	struct proto_accept ac = accept_one(one, 7, DEV_A, "operator", "token");
	struct ticket_session s;

	CHECK(sessions_link_serial(one) != sessions_link_serial(two));
	CHECK_INT_EQ(state(one, &ac, &s), 1);
	CHECK_STR_EQ(s.device_id, DEV_A);
	CHECK_INT_EQ(s.role, ROLE_OPERATOR);
	CHECK(s.shared_auth);
	CHECK_INT_EQ(state(two, &ac, NULL), -1);
	ac.conn = 8;
	CHECK_INT_EQ(state(one, &ac, NULL), -1);
	CHECK_INT_EQ(sessions_link_count(one), 1);
	sessions_link_free(one);
	sessions_link_free(two);
}

static void
test_close_device_spares_the_caller(void)
{
	struct sessions_link *bl = sessions_link_new();
	struct proto_accept mine = accept_one(bl, 1, DEV_A, "operator", "device-token");
	struct proto_accept other = accept_one(bl, 2, DEV_A, "operator", "token");
	struct proto_accept node = accept_one(bl, 3, DEV_A, "node", "device-token");
	struct proto_accept b = accept_one(bl, 4, DEV_B, "operator", "device-token");
	struct proto_accept later;
	struct ticket_session caller;

	CHECK(sessions_device_connected(DEV_A));
	CHECK_INT_EQ(state(bl, &mine, &caller), 1);
	sessions_close_device(DEV_A, ROLE_BIT(ROLE_OPERATOR), &caller);
	CHECK_INT_EQ(state(bl, &mine, NULL), 1);
	CHECK_INT_EQ(state(bl, &other, NULL), 0);
	CHECK_INT_EQ(state(bl, &node, NULL), 1);	/* another role */
	CHECK_INT_EQ(state(bl, &b, NULL), 1);	/* another device */
	/* A session accepted after the close is current, and the spared one stays. */
	later = accept_one(bl, 5, DEV_A, "operator", "device-token");
	CHECK_INT_EQ(state(bl, &later, NULL), 1);
	CHECK_INT_EQ(state(bl, &mine, NULL), 1);
	/* A close without a spare ends them all, the spared one included. */
	sessions_close_device(DEV_A, ~0u, NULL);
	CHECK_INT_EQ(state(bl, &mine, NULL), 0);
	CHECK_INT_EQ(state(bl, &later, NULL), 0);
	CHECK_INT_EQ(state(bl, &node, NULL), 0);
	CHECK(!sessions_device_connected(DEV_A));
	CHECK(sessions_device_connected(DEV_B));
	/* Paired again: new sessions are current, the old tickets stay closed. */
	later = accept_one(bl, 6, DEV_A, "operator", "token");
	CHECK_INT_EQ(state(bl, &later, NULL), 1);
	CHECK_INT_EQ(state(bl, &other, NULL), 0);
	CHECK_INT_EQ(state(bl, &mine, NULL), 0);
	sessions_link_free(bl);
}

static void
test_close_shared(void)
{
	struct sessions_link *bl = sessions_link_new();
	struct proto_accept cli = accept_one(bl, 1, "", "operator", "token");
	struct proto_accept pw = accept_one(bl, 2, DEV_A, "operator", "password");
	struct proto_accept dt = accept_one(bl, 3, DEV_B, "operator", "device-token");
	struct proto_accept none = accept_one(bl, 4, "", "operator", "none");

	sessions_close_shared();
	CHECK_INT_EQ(state(bl, &cli, NULL), 0);
	CHECK_INT_EQ(state(bl, &pw, NULL), 0);
	CHECK_INT_EQ(state(bl, &dt, NULL), 1);
	CHECK_INT_EQ(state(bl, &none, NULL), 1);
	/* DEV_A's only session came with the shared secret: it counts no more. */
	CHECK(!sessions_device_connected(DEV_A));
	CHECK(sessions_device_connected(DEV_B));
	sessions_link_free(bl);
}

/* "connected" counts live sessions: ends count down, a link's end forgets its
 * own, and a stale ticket's end counts nothing. */
static void
test_connected(void)
{
	struct sessions_link *one = sessions_link_new(), *two = sessions_link_new();
	struct proto_accept a1 = accept_one(one, 1, DEV_A, "operator", "device-token");
	struct proto_accept a3;
	struct ticket_session s;

	accept_one(two, 1, DEV_A, "operator", "device-token");

	CHECK_INT_EQ(state(one, &a1, &s), 1);
	sessions_end(one, &s);
	CHECK_INT_EQ(sessions_link_count(one), 0);
	CHECK(sessions_device_connected(DEV_A));	/* still on link two */
	sessions_link_free(two);
	CHECK(!sessions_device_connected(DEV_A));
	/* Closed by the broker, then reported closed: nothing goes negative. */
	a3 = accept_one(one, 2, DEV_A, "operator", "device-token");
	sessions_close_device(DEV_A, ROLE_BIT(ROLE_OPERATOR), NULL);
	CHECK_INT_EQ(state(one, &a3, &s), 0);
	sessions_end(one, &s);
	sessions_end(one, &s);
	CHECK_INT_EQ(sessions_link_count(one), 0);
	CHECK(!sessions_device_connected(DEV_A));
	accept_one(one, 3, DEV_A, "operator", "device-token");
	CHECK(sessions_device_connected(DEV_A));
	sessions_link_free(one);
}

int
main(void)
{
	random_init();
	ticket_init();
	sessions_init();
	TEST_RUN(test_open_only_where_issued);
	TEST_RUN(test_close_device_spares_the_caller);
	TEST_RUN(test_close_shared);
	TEST_RUN(test_connected);
	sessions_shutdown();
	ticket_shutdown();
	return test_exit();
}
