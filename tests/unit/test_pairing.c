/* brokerd/pairing: the pending-request rules of doc/protocol.md §6.1 that take time or
 * volume to reach from outside (the 5-minute TTL, the global cap, the per-address
 * rate) and the token lifecycle of §6.3 / §7.1 (rotate, revoke, rename, remove),
 * against a real registry and audit log in a temp dir and a fixed clock. What the
 * decisions do to sessions and events is recorded (recorder.h) and checked. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "brokerd/audit.h"
#include "brokerd/devtoken.h"
#include "brokerd/pairing.h"
#include "brokerd/role.h"
#include "brokerd/scopes.h"
#include "brokerd/ticket.h"
#include "recorder.h"
#include "testutil.h"

#define T0 1795511295036LL

static struct registry reg;
static char dir[64];
static int dirfd_;

/* A device id and key of the right form; pairing never checks the key itself. */
static void
ident(int n, char id[DEVPROOF_ID_LEN + 1], char key[DEVPROOF_KEY_LEN + 1])
{
	snprintf(id, DEVPROOF_ID_LEN + 1, "%064x", n);
	snprintf(key, DEVPROOF_KEY_LEN + 1, "%043x", n);
}

struct asker {
	char id[DEVPROOF_ID_LEN + 1];
	char key[DEVPROOF_KEY_LEN + 1];
	char ip[PROTO_ADDR_MAX + 1];
	struct pairing_ask ask;
};

static void
asker_init(struct asker *a, int n, const char *ip, const char *scope)
{
	memset(a, 0, sizeof(*a));
	ident(n, a->id, a->key);
	snprintf(a->ip, sizeof(a->ip), "%s", ip);
	a->ask.peer_ip = a->ip;
	a->ask.device_id = a->id;
	a->ask.public_key = a->key;
	a->ask.role = ROLE_OPERATOR;
	a->ask.scopes.n = 1;
	snprintf(a->ask.scopes.v[0], sizeof(a->ask.scopes.v[0]), "%s", scope);
}

static enum pairing_status
ask(struct asker *a, int64_t now, struct reg_pending **p)
{
	int created;
	int64_t retry;

	return pairing_request(&reg, &a->ask, now, p, &created, &retry);
}

static void
reset(void)
{
	registry_free(&reg);
	registry_init(&reg, dirfd_, dir);
	pairing_shutdown();
	pairing_init(&recorder_effects);
	recorder_reset();
}

/* The one event published since the last reset: the device it is about, its
 * name and JSON payload. */
static void
check_one_event(const char *device_id, const char *name, const char *json_part)
{
	CHECK_INT_EQ(recorder.nevents, 1);
	CHECK_STR_EQ(recorder.events[0].device_id, device_id);
	CHECK_STR_EQ(recorder.events[0].name, name);
	CHECK_INT_EQ(recorder.events[0].audience, PROTO_AUDIENCE_PAIRING);
	CHECK(strstr(recorder.events[0].json, json_part) != NULL);
	recorder_reset();
}

/* The one close of a device's sessions since the last reset. */
static void
check_one_close(const char *device_id, unsigned roles, const struct ticket_session *except,
    const char *reason)
{
	CHECK_INT_EQ(recorder.ncloses, 1);
	CHECK_STR_EQ(recorder.closes[0].device_id, device_id);
	CHECK_INT_EQ(recorder.closes[0].roles, roles);
	CHECK(recorder.closes[0].except == except);
	CHECK_INT_EQ(recorder.closes[0].code, PROTO_CLOSE_POLICY);
	CHECK_STR_EQ(recorder.closes[0].reason, reason);
	recorder_reset();
}

static void
test_ttl(void)
{
	struct asker a;
	struct reg_pending *p;
	struct reg_device *d;
	const char *missing;
	char rid[UUID_STR_LEN + 1];

	reset();
	asker_init(&a, 1, "10.0.0.1", "operator.read");
	CHECK(ask(&a, T0, &p) == PAIRING_OK);
	memcpy(rid, p->request_id, sizeof(rid));
	/* A retry keeps the request (same id) and its life runs from the retry. */
	CHECK(ask(&a, T0 + 200000, &p) == PAIRING_OK);
	CHECK_STR_EQ(p->request_id, rid);
	CHECK(pairing_approve(&reg, rid, &pairing_owner, REG_VIA_OWNER, T0 + 200000 +
	    REG_PENDING_TTL_MS + 1, &d, &missing) == PAIRING_UNKNOWN);
	CHECK_INT_EQ(reg.npending, 0);
	/* Within the 5 minutes it can be approved. */
	CHECK(ask(&a, T0 + 600000, &p) == PAIRING_OK);
	memcpy(rid, p->request_id, sizeof(rid));
	recorder_reset();
	CHECK(pairing_approve(&reg, rid, &pairing_owner, REG_VIA_OWNER, T0 + 600000 +
	    REG_PENDING_TTL_MS, &d, &missing) == PAIRING_OK);
	check_one_event(d->device_id, "device.pair.resolved", "\"decision\":\"approved\"");
	CHECK_INT_EQ(recorder.ncloses, 0);
}

static void
test_global_cap(void)
{
	struct asker a;
	struct reg_pending *p;
	char ip[32];

	reset();
	for (int i = 0; i < PAIRING_PENDING_MAX; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		asker_init(&a, 100 + i, ip, "operator.read");
		CHECK(ask(&a, T0, &p) == PAIRING_OK);
	}
	asker_init(&a, 99999, "192.0.2.9", "operator.read");
	CHECK(ask(&a, T0, &p) == PAIRING_FULL);
	/* A device already waiting may still refresh. */
	asker_init(&a, 100, "10.0.0.0", "operator.read");
	CHECK(ask(&a, T0 + 1000, &p) == PAIRING_OK);
	CHECK_INT_EQ(reg.npending, PAIRING_PENDING_MAX);
	/* Once they expire there is room again. */
	asker_init(&a, 99999, "192.0.2.9", "operator.read");
	CHECK(ask(&a, T0 + REG_PENDING_TTL_MS + 2000, &p) == PAIRING_OK);
	CHECK_INT_EQ(reg.npending, 1);
}

static void
test_rate_per_address(void)
{
	struct asker a;
	struct reg_pending *p;
	int64_t retry;
	int created, i;

	reset();
	for (i = 0; i < PAIRING_RATE_BURST; i++) {
		asker_init(&a, 200 + i, "198.51.100.1", "operator.read");
		CHECK(ask(&a, T0, &p) == PAIRING_OK);
	}
	asker_init(&a, 300, "198.51.100.1", "operator.read");
	CHECK(pairing_request(&reg, &a.ask, T0 + 1000, &p, &created, &retry) ==
	    PAIRING_RATE_LIMITED);
	CHECK_INT_EQ(retry, PAIRING_RATE_INTERVAL_MS - 1000);
	/* Other addresses are not affected, and the first one gets a request back. */
	asker_init(&a, 301, "198.51.100.2", "operator.read");
	CHECK(ask(&a, T0 + 1000, &p) == PAIRING_OK);
	asker_init(&a, 300, "198.51.100.1", "operator.read");
	CHECK(ask(&a, T0 + PAIRING_RATE_INTERVAL_MS, &p) == PAIRING_OK);
	CHECK_INT_EQ(reg.npending, PAIRING_RATE_BURST + 2);
}

/* One budget per /64 for IPv6 and one for every loopback address. */
static void
test_rate_per_budget_key(void)
{
	static const char *const spent[][2] = {
		{ "2001:db8:1:2::a", "2001:db8:1:2:ffff::b" },
		{ "127.0.0.1", "127.0.0.2" },
	};
	struct asker a;
	struct reg_pending *p;
	int n = 400;

	for (size_t k = 0; k < sizeof(spent) / sizeof(*spent); k++) {
		reset();
		for (int i = 0; i < PAIRING_RATE_BURST; i++) {
			asker_init(&a, n++, spent[k][0], "operator.read");
			CHECK(ask(&a, T0, &p) == PAIRING_OK);
		}
		asker_init(&a, n++, spent[k][1], "operator.read");
		CHECK(ask(&a, T0 + 1, &p) == PAIRING_RATE_LIMITED);
	}
	/* The neighbouring /64 has its own budget. */
	reset();
	for (int i = 0; i < PAIRING_RATE_BURST; i++) {
		asker_init(&a, n++, "2001:db8:1:2::a", "operator.read");
		CHECK(ask(&a, T0, &p) == PAIRING_OK);
	}
	asker_init(&a, n++, "2001:db8:1:3::a", "operator.read");
	CHECK(ask(&a, T0 + 1, &p) == PAIRING_OK);
}

static void
test_supersede(void)
{
	struct asker a;
	struct reg_pending *p;
	struct reg_device *d;
	const char *missing;
	char first[UUID_STR_LEN + 1];

	reset();
	asker_init(&a, 7, "10.0.0.7", "operator.read");
	CHECK(ask(&a, T0, &p) == PAIRING_OK);
	memcpy(first, p->request_id, sizeof(first));
	asker_init(&a, 7, "10.0.0.7", "operator.write");
	CHECK(ask(&a, T0 + 10, &p) == PAIRING_OK);
	CHECK(strcmp(p->request_id, first) != 0);
	CHECK_INT_EQ(p->scopes.n, 2);
	CHECK_INT_EQ(reg.npending, 1);
	/* The superseded request is announced as rejected. */
	CHECK(strstr(recorder.events[0].json, first) != NULL);
	check_one_event(p->device_id, "device.pair.resolved", "\"decision\":\"rejected\"");
	CHECK(pairing_approve(&reg, first, &pairing_owner, REG_VIA_OWNER, T0 + 20, &d,
	    &missing) == PAIRING_UNKNOWN);
}

/* Pairs device n with scope and returns its record. */
static struct reg_device *
paired(int n, const char *scope)
{
	struct asker a;
	struct reg_pending *p;
	struct reg_device *d = NULL;
	const char *missing;

	asker_init(&a, n, "10.9.9.9", scope);
	CHECK(ask(&a, T0, &p) == PAIRING_OK);
	CHECK(pairing_approve(&reg, p->request_id, &pairing_owner, REG_VIA_OWNER, T0, &d,
	    &missing) == PAIRING_OK);
	return d;
}

static void
test_rotate_and_revoke(void)
{
	static const struct proto_scopes admin = { 1, { SCOPE_ADMIN } };
	static const struct proto_scopes read = { 1, { SCOPE_READ } };
	struct pairing_actor other = { "", 0, "test", NULL };
	struct ticket_session own;
	struct reg_device *d;
	struct pairing_rotation rot;
	const char *missing;
	char first[SECRET_TOKEN_LEN + 1];

	reset();
	d = paired(11, "operator.write");
	devtoken_issue(d, ROLE_OPERATOR, T0, first);
	recorder_reset();
	CHECK(pairing_token_rotate(&reg, d->device_id, "operator", NULL, &pairing_owner, T0 + 5,
	    &rot, &missing) == PAIRING_OK);
	check_one_close(d->device_id, ROLE_BIT(ROLE_OPERATOR), NULL, "device token rotated");
	CHECK_INT_EQ(rot.rotated_at_ms, T0 + 5);
	CHECK(!rot.in_band);
	CHECK(strlen(rot.token) == SECRET_TOKEN_LEN && strcmp(rot.token, first) != 0);
	CHECK(devtoken_verify(&reg, d, ROLE_OPERATOR, first, &read, T0 + 6) == DEVTOKEN_MISMATCH);
	CHECK(devtoken_verify(&reg, d, ROLE_OPERATOR, rot.token, &read, T0 + 6) == DEVTOKEN_OK);
	/* Narrower scopes are fine; wider than approved, or than the caller, are not. */
	CHECK(pairing_token_rotate(&reg, d->device_id, "operator", &read, &pairing_owner, T0 + 7,
	    &rot, &missing) == PAIRING_OK);
	CHECK_INT_EQ(d->tokens[ROLE_OPERATOR].scopes.n, 1);
	CHECK(pairing_token_rotate(&reg, d->device_id, "operator", &admin, &pairing_owner,
	    T0 + 8, &rot, &missing) == PAIRING_DENIED);
	other.scope_mask = scopes_mask(&(struct proto_scopes){ 1, { SCOPE_PAIRING } });
	CHECK(pairing_token_rotate(&reg, d->device_id, "operator", &read, &other, T0 + 8, &rot,
	    &missing) == PAIRING_MISSING_SCOPE);
	CHECK_STR_EQ(missing, SCOPE_READ);
	CHECK(pairing_token_rotate(&reg, d->device_id, "node", NULL, &pairing_owner, T0 + 8,
	    &rot, &missing) == PAIRING_NO_ROLE);
	CHECK(pairing_token_rotate(&reg, "no-such-device", "operator", NULL, &pairing_owner,
	    T0 + 8, &rot, &missing) == PAIRING_UNKNOWN);
	/* The narrower rotation closed sessions; the refusals close nothing. */
	CHECK_INT_EQ(recorder.ncloses, 1);
	recorder_reset();
	/* A bound caller is in band for itself and denied for others without admin; its
	 * own session is spared by the close. */
	other.device_id = d->device_id;
	other.scope_mask = scopes_mask(&(struct proto_scopes){ 2, { SCOPE_PAIRING, SCOPE_READ } });
	other.session = &own;
	CHECK(pairing_token_rotate(&reg, d->device_id, "operator", NULL, &other, T0 + 9, &rot,
	    &missing) == PAIRING_OK);
	CHECK(rot.in_band);
	check_one_close(d->device_id, ROLE_BIT(ROLE_OPERATOR), &own, "device token rotated");
	other.session = NULL;
	other.device_id = "someone-else";
	CHECK(pairing_token_revoke(&reg, d->device_id, "operator", &other, T0 + 9, &missing) ==
	    PAIRING_DENIED);
	CHECK_INT_EQ(recorder.ncloses, 0);
	CHECK(pairing_token_revoke(&reg, d->device_id, "operator", &pairing_owner, T0 + 10,
	    &missing) == PAIRING_OK);
	CHECK_INT_EQ(d->tokens[ROLE_OPERATOR].revoked_at_ms, T0 + 10);
	check_one_close(d->device_id, ROLE_BIT(ROLE_OPERATOR), NULL, "device token revoked");
	CHECK(devtoken_verify(&reg, d, ROLE_OPERATOR, rot.token, &read, T0 + 11) ==
	    DEVTOKEN_MISMATCH);
}

static void
test_rename(void)
{
	struct stat before, after;
	struct reg_device *d;
	char label[PROTO_TEXT_MAX + 1];

	reset();
	d = paired(12, "operator.read");
	recorder_reset();
	CHECK(pairing_rename(&reg, d->device_id, "  den  ", &pairing_owner, T0, label) ==
	    PAIRING_OK);
	CHECK_STR_EQ(label, "den");
	CHECK_STR_EQ(d->operator_label, "den");
	check_one_event(d->device_id, "device.pair.changed", "{}");
	/* The same label again is no change: no event, no save, no audit line
	 * (test_audit_lines counts one rename). */
	recorder_reset();
	CHECK(fstatat(dirfd_, REG_FILE, &before, 0) == 0);
	CHECK(pairing_rename(&reg, d->device_id, " den", &pairing_owner, T0, label) ==
	    PAIRING_OK);
	CHECK_STR_EQ(label, "den");
	CHECK_INT_EQ(recorder.nevents, 0);
	CHECK(fstatat(dirfd_, REG_FILE, &after, 0) == 0);
	CHECK(before.st_ino == after.st_ino);
	CHECK(pairing_rename(&reg, d->device_id, "   ", &pairing_owner, T0, label) ==
	    PAIRING_LABEL_REQUIRED);
	CHECK_STR_EQ(d->operator_label, "den");
	CHECK_INT_EQ(recorder.nevents, 0);
}

/* Removal closes every session of the device, whichever role. */
static void
test_remove(void)
{
	struct pairing_actor stranger = { "someone-else", 0, "test", NULL };
	struct reg_device *d;
	char id[DEVPROOF_ID_LEN + 1];

	reset();
	d = paired(13, "operator.read");
	memcpy(id, d->device_id, sizeof(id));
	recorder_reset();
	CHECK(pairing_remove(&reg, id, &stranger, T0) == PAIRING_DENIED);
	CHECK(pairing_remove(&reg, "no-such-device", &pairing_owner, T0) == PAIRING_UNKNOWN);
	CHECK_INT_EQ(recorder.ncloses, 0);
	CHECK(pairing_remove(&reg, id, &pairing_owner, T0) == PAIRING_OK);
	CHECK(registry_device_find(&reg, id) == NULL);
	check_one_close(id, ~0u, NULL, "device removed");
}

/* A device list says "connected" for what the sessions report. */
static void
test_list_connected(void)
{
	struct reg_device *on, *off;
	struct pbuf b;
	char *json, want[DEVPROOF_ID_LEN + 64];

	reset();
	on = paired(14, "operator.read");
	off = paired(15, "operator.read");
	memcpy(recorder.connected, on->device_id, sizeof(recorder.connected));
	pbuf_init(&b);
	pairing_list_pval(&b, &reg, &pairing_owner, T0);
	json = pval_to_json_string(b.data, b.len, 0);
	CHECK(json != NULL);
	snprintf(want, sizeof(want), "\"deviceId\":\"%s\"", on->device_id);
	CHECK(json != NULL && strstr(json, want) != NULL);
	CHECK(json != NULL && strstr(strstr(json, want), "\"connected\":true") != NULL);
	snprintf(want, sizeof(want), "\"deviceId\":\"%s\"", off->device_id);
	CHECK(json != NULL && strstr(json, want) != NULL &&
	    strstr(strstr(json, want), "\"connected\":false") != NULL);
	free(json);
	pbuf_free(&b);
}

/* The decisions above were audited: one line each, with the actor's who. */
static void
test_audit_lines(void)
{
	char path[128], line[1024];
	int approve = 0, rotate = 0, revoke = 0, rename = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, AUDIT_FILE);
	CHECK((f = fopen(path, "r")) != NULL);
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		CHECK(line[strlen(line) - 1] == '\n');
		approve += strstr(line, "\"what\":\"approve\"") != NULL;
		rotate += strstr(line, "\"what\":\"rotate\"") != NULL;
		revoke += strstr(line, "\"what\":\"revoke\"") != NULL;
		rename += strstr(line, "\"what\":\"rename\"") != NULL;
	}
	if (f != NULL)
		fclose(f);
	CHECK(approve > 0);
	CHECK_INT_EQ(rotate, 3);
	CHECK_INT_EQ(revoke, 1);
	CHECK_INT_EQ(rename, 1);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/clawgate-test-pairing.XXXXXX");
	if (mkdtemp(dir) == NULL || (dirfd_ = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
		return 2;
	registry_init(&reg, dirfd_, dir);
	pairing_init(&recorder_effects);
	audit_open(dirfd_, dir);
	TEST_RUN(test_ttl);
	TEST_RUN(test_global_cap);
	TEST_RUN(test_rate_per_address);
	TEST_RUN(test_rate_per_budget_key);
	TEST_RUN(test_supersede);
	TEST_RUN(test_rotate_and_revoke);
	TEST_RUN(test_rename);
	TEST_RUN(test_remove);
	TEST_RUN(test_list_connected);
	TEST_RUN(test_audit_lines);
	registry_free(&reg);
	pairing_shutdown();
	audit_close();
	unlinkat(dirfd_, REG_FILE, 0);
	unlinkat(dirfd_, AUDIT_FILE, 0);
	close(dirfd_);
	rmdir(dir);
	return test_exit();
}
