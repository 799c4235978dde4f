/* brokerd/registry: registry.json save -> load round trip in a temp dir, the
 * atomic write (no temp file left behind, even when it fails), device tokens
 * stored only as hashes, deferred saves, and a corrupted registry refused with
 * an error naming the file, never rewritten. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "brokerd/devtoken.h"
#include "brokerd/fileio.h"
#include "brokerd/registry.h"
#include "brokerd/role.h"
#include "brokerd/scopes.h"
#include "common/xmalloc.h"
#include "testutil.h"

/* Vector A's and B's keys (doc/protocol.md §3.4): real ids for real keys. */
#define A_KEY "0GDD1hJUVmB_8IX7K5OPxiKPDnhMbZr2UNDpjt6PSCk"
#define A_ID "b07bd0de084e691f2f117025ec5e181bb2042b00577a86088f5ead1ee6904cac"
#define B_KEY "ZEpDxTDyC6Lgzo522tbC2Ezj19FLxpcR9obpt21BlTE"
#define B_ID "4e2ef06a5d3773818ba00098cb0efd5082d0f12d314f22b58fb248526d614de7"

#define SETF(field, value) snprintf((field), sizeof(field), "%s", (value))

struct tmpdir {
	char path[64];
	int fd;
};

static void
tmpdir_make(struct tmpdir *t)
{
	snprintf(t->path, sizeof(t->path), "/tmp/clawgate-test-registry.XXXXXX");
	if (mkdtemp(t->path) == NULL || (t->fd = open(t->path, O_RDONLY | O_DIRECTORY)) < 0) {
		perror("mkdtemp");
		exit(2);
	}
}

static void
tmpdir_remove(struct tmpdir *t)
{
	DIR *d = fdopendir(t->fd);
	struct dirent *e;

	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
		    unlinkat(dirfd(d), e->d_name, 0) < 0)
			unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
	closedir(d);
	rmdir(t->path);
}

/* The names in the directory, sorted and space-separated. */
static char *
tmpdir_list(const struct tmpdir *t)
{
	struct dirent **names;
	char *out = xcalloc(1, 4096);
	int n = scandir(t->path, &names, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") != 0 && strcmp(names[i]->d_name, "..") != 0) {
			strcat(out, out[0] ? " " : "");
			strcat(out, names[i]->d_name);
		}
		free(names[i]);
	}
	free(names);
	return out;
}

static char *
slurp(const struct tmpdir *t, const char *name)
{
	size_t len;
	char *s = fileio_read(t->fd, name, 1 << 20, &len);

	CHECK(s != NULL);
	return s != NULL ? s : xstrdup("");
}

static void
spit(const struct tmpdir *t, const char *name, const char *text)
{
	CHECK_INT_EQ(fileio_write_atomic(t->fd, name, text, strlen(text), 0600), 0);
}

static void
scopes_of(struct proto_scopes *s, const char *const *v)
{
	struct proto_scopes raw;

	memset(&raw, 0, sizeof(raw));
	for (; *v != NULL; v++)
		SETF(raw.v[raw.n++], *v);
	CHECK_INT_EQ(scopes_normalize(s, &raw), 0);
}
#define SCOPES(s, ...) scopes_of((s), (const char *const[]){ __VA_ARGS__, NULL })

/* A record with every field set, optional ones included. */
static struct reg_device *
sample_device(char minted[SECRET_TOKEN_LEN + 1])
{
	struct reg_device *d = xcalloc(1, sizeof(*d));

	SETF(d->device_id, A_ID);
	SETF(d->public_key, A_KEY);
	SETF(d->client.display_name, "Ada’s laptop");
	SETF(d->client.platform, "linux");
	SETF(d->client.device_family, "Linux");
	SETF(d->client.client_id, "cli");
	SETF(d->client.client_mode, "cli");
	SETF(d->client.remote_ip, "192.0.2.7");
	SETF(d->operator_label, "desk");
	d->role = ROLE_OPERATOR;
	d->roles = ROLE_BIT(ROLE_OPERATOR) | ROLE_BIT(ROLE_NODE);
	SCOPES(&d->scopes, "operator.admin", "node.exec");
	SCOPES(&d->tokens[ROLE_OPERATOR].scopes, "operator.admin");
	d->tokens[ROLE_OPERATOR].created_at_ms = 1795511000000;
	d->tokens[ROLE_OPERATOR].last_used_at_ms = 1795511300000;
	SCOPES(&d->tokens[ROLE_NODE].scopes, "node.exec");
	d->tokens[ROLE_NODE].created_at_ms = 1795511000001;
	d->tokens[ROLE_NODE].revoked_at_ms = 1795511000002;
	d->approved_via = REG_VIA_SILENT;
	d->created_at_ms = 1795511000000;
	d->approved_at_ms = 1795511000003;
	d->last_seen_at_ms = 1795511300000;
	devtoken_issue(d, ROLE_OPERATOR, 1795511200000, minted);
	return d;
}

static struct reg_pending *
sample_pending(void)
{
	struct reg_pending *p = xcalloc(1, sizeof(*p));

	SETF(p->request_id, "3f0c2a9e-5b1d-4e6f-9a7b-0c1d2e3f4a5b");
	SETF(p->device_id, B_ID);
	SETF(p->public_key, B_KEY);
	SETF(p->client.platform, "Linux x86_64");
	SETF(p->client.client_id, "openclaw-control-ui");
	SETF(p->client.client_mode, "webchat");
	SETF(p->client.browser_origin, "http://localhost:18789");
	p->role = ROLE_OPERATOR;
	p->roles = ROLE_BIT(ROLE_OPERATOR);
	/* A request keeps what was asked for, in that order, unnormalised. */
	p->scopes.n = 2;
	SETF(p->scopes.v[0], "operator.write");
	SETF(p->scopes.v[1], "operator.pairing");
	p->silent = 1;
	p->ts_ms = 1795511575441;
	p->refreshed_at_ms = 1795511576000;
	return p;
}

/* Records compare from their first data field on (the links differ). */
#define RECORD_EQ(a, b, first)                                                     \
	CHECK_MEM_EQ((const char *)(a) + offsetof(__typeof__(*(a)), first),       \
	    sizeof(*(a)) - offsetof(__typeof__(*(a)), first),                         \
	    (const char *)(b) + offsetof(__typeof__(*(b)), first),                    \
	    sizeof(*(b)) - offsetof(__typeof__(*(b)), first))

static void
test_round_trip(void)
{
	struct tmpdir t;
	struct registry a, b;
	struct reg_device *d, *d2;
	struct reg_pending *p, *p2;
	char minted[SECRET_TOKEN_LEN + 1], err[512], *first, *second, *names;
	struct stat st;

	tmpdir_make(&t);
	registry_init(&a, t.fd, t.path);
	registry_device_insert(&a, d = sample_device(minted));
	registry_pending_insert(&a, p = sample_pending());
	CHECK_INT_EQ(registry_save(&a), 0);
	CHECK_INT_EQ(a.unsaved, 0);
	CHECK_INT_EQ(fstatat(t.fd, REG_FILE, &st, 0), 0);
	CHECK_INT_EQ(st.st_mode & 07777, 0600);
	names = tmpdir_list(&t);
	CHECK_STR_EQ(names, REG_FILE);	/* the temp file is gone */
	free(names);
	first = slurp(&t, REG_FILE);
	/* Only the token's hash reaches the disk. */
	CHECK(strstr(first, minted) == NULL);
	CHECK(strstr(first, d->tokens[ROLE_OPERATOR].hash) != NULL);
	CHECK_INT_EQ(strlen(d->tokens[ROLE_OPERATOR].hash), SECRET_HASH_LEN);

	registry_init(&b, t.fd, t.path);
	CHECK_INT_EQ(registry_load(&b, err, sizeof(err)), 0);
	CHECK_INT_EQ(b.ndevices, 1);
	CHECK_INT_EQ(b.npending, 1);
	CHECK_INT_EQ(b.unsaved, 0);
	CHECK_STR_EQ(b.recovery_scope, a.recovery_scope);
	d2 = registry_device_find(&b, A_ID);
	p2 = registry_pending_find(&b, p->request_id);
	CHECK(d2 != NULL && p2 != NULL);
	if (d2 != NULL && p2 != NULL) {
		/* The plaintext of the token minted stays in memory, never on disk. */
		CHECK_STR_EQ(d->tokens[ROLE_OPERATOR].plain, minted);
		CHECK_STR_EQ(d2->tokens[ROLE_OPERATOR].plain, "");
		memset(d->tokens[ROLE_OPERATOR].plain, 0, sizeof(d->tokens[ROLE_OPERATOR].plain));
		RECORD_EQ(d2, d, device_id);
		RECORD_EQ(p2, p, request_id);
	}
	CHECK(registry_device_find(&b, B_ID) == NULL);
	/* Saving what was loaded writes the same bytes. */
	CHECK_INT_EQ(registry_save(&b), 0);
	second = slurp(&t, REG_FILE);
	CHECK_STR_EQ(second, first);
	/* The loaded token still verifies, and only for its role. */
	if (d2 != NULL && p2 != NULL) {
		CHECK_INT_EQ(devtoken_verify(&b, d2, ROLE_OPERATOR, minted, &p->scopes, 1),
		    DEVTOKEN_OK);
		CHECK_INT_EQ(devtoken_verify(&b, d2, ROLE_NODE, minted, &p->scopes, 1),
		    DEVTOKEN_MISMATCH);
		CHECK_INT_EQ(devtoken_verify(&b, d2, ROLE_OPERATOR, "x", &p->scopes, 1),
		    DEVTOKEN_MISMATCH);
	}
	free(first);
	free(second);
	registry_free(&a);
	registry_free(&b);
	tmpdir_remove(&t);
}

static ino_t
inode_of(const struct tmpdir *t, const char *name)
{
	struct stat st;

	return fstatat(t->fd, name, &st, 0) == 0 ? st.st_ino : 0;
}

/* A missing file is an empty registry, written at the first flush; a flush
 * without changes writes nothing; deferred changes are written by the flush. */
static void
test_first_start_and_flush(void)
{
	struct tmpdir t;
	struct registry r;
	char err[512];
	ino_t ino;

	tmpdir_make(&t);
	registry_init(&r, t.fd, t.path);
	CHECK_INT_EQ(registry_load(&r, err, sizeof(err)), 0);
	CHECK_INT_EQ(r.ndevices + r.npending, 0);
	CHECK_INT_EQ(r.unsaved, 1);
	CHECK_INT_EQ(inode_of(&t, REG_FILE), 0);
	CHECK_INT_EQ(registry_flush(&r), 0);
	CHECK((ino = inode_of(&t, REG_FILE)) != 0);
	/* Every write is a new inode (temp + rename), so the inode tells. */
	CHECK_INT_EQ(registry_flush(&r), 0);
	CHECK_INT_EQ(inode_of(&t, REG_FILE), ino);
	registry_mark_unsaved(&r);
	CHECK_INT_EQ(inode_of(&t, REG_FILE), ino);
	CHECK_INT_EQ(registry_flush(&r), 0);
	CHECK(inode_of(&t, REG_FILE) != ino);
	registry_free(&r);
	tmpdir_remove(&t);
}

/* A failed save keeps the old file, leaves no temp file and stays unsaved; a temp
 * file left by a crash is replaced. */
static void
test_atomic_write(void)
{
	struct tmpdir t;
	struct registry r;
	char *names;

	tmpdir_make(&t);
	registry_init(&r, t.fd, t.path);
	CHECK_INT_EQ(mkdirat(t.fd, REG_FILE, 0700), 0);	/* rename onto it fails */
	CHECK_INT_EQ(registry_save(&r), -1);
	CHECK_INT_EQ(r.unsaved, 1);
	names = tmpdir_list(&t);
	CHECK_STR_EQ(names, REG_FILE);
	free(names);
	CHECK_INT_EQ(unlinkat(t.fd, REG_FILE, AT_REMOVEDIR), 0);

	spit(&t, "." REG_FILE ".tmp", "left by a crash");
	CHECK_INT_EQ(registry_save(&r), 0);
	names = tmpdir_list(&t);
	CHECK_STR_EQ(names, REG_FILE);
	free(names);
	registry_free(&r);
	tmpdir_remove(&t);
}

/* Each broken file is refused with the file's path and the problem, and left
 * exactly as it was. */
static void
test_corrupt_refused(void)
{
	static const struct {
		const char *text;
		const char *says;
	} bad[] = {
		{ "{\"version\":1,\"paired\":[", "not valid JSON" },
		{ "", "not valid JSON" },
		{ "[]", "top level" },
		{ "{\"version\":2,\"recoveryScope\":\"r\",\"paired\":[],\"pending\":[]}", "version" },
		{ "{\"version\":1,\"paired\":[],\"pending\":[]}", "recoveryScope is missing" },
		{ "{\"version\":1,\"recoveryScope\":\"r\",\"paired\":{},\"pending\":[]}",
		    "paired must be an array" },
		{ "{\"version\":1,\"recoveryScope\":\"r\",\"pending\":[],\"paired\":[{\"deviceId\":\""
		    B_ID "\",\"publicKey\":\"" A_KEY "\"}]}",
		    "paired[0]: deviceId is not the SHA-256 of publicKey" },
		{ "{\"version\":1,\"recoveryScope\":\"r\",\"paired\":[],\"pending\":[{\"requestId\":"
		    "\"x\",\"deviceId\":\"" A_ID "\",\"publicKey\":\"" A_KEY "\",\"role\":\"root\","
		    "\"roles\":[\"operator\"]}]}", "pending[0]: role \"root\" is not operator or node" },
	};
	struct tmpdir t;
	struct registry r;
	char err[512], path[256], *after;

	tmpdir_make(&t);
	snprintf(path, sizeof(path), "%s/%s:", t.path, REG_FILE);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		spit(&t, REG_FILE, bad[i].text);
		registry_init(&r, t.fd, t.path);
		err[0] = '\0';
		CHECK_INT_EQ(registry_load(&r, err, sizeof(err)), -1);
		testutil_check(strncmp(err, path, strlen(path)) == 0 && strstr(err, bad[i].says),
		    __FILE__, __LINE__, "case %zu: \"%s\" names %s and says \"%s\"", i, err, path,
		    bad[i].says);
		registry_free(&r);
		after = slurp(&t, REG_FILE);
		CHECK_STR_EQ(after, bad[i].text);
		free(after);
	}
	tmpdir_remove(&t);
}

/* The record a broken file would duplicate is refused, not merged. */
static void
test_duplicate_refused(void)
{
	struct tmpdir t;
	struct registry a, b;
	char minted[SECRET_TOKEN_LEN + 1], err[512], *text, *dup, *arr;
	size_t len;

	tmpdir_make(&t);
	registry_init(&a, t.fd, t.path);
	registry_device_insert(&a, sample_device(minted));
	CHECK_INT_EQ(registry_save(&a), 0);
	/* Repeat the one record: "paired": [ X ] becomes "paired": [ X, X ]. */
	text = slurp(&t, REG_FILE);
	arr = strstr(text, "\"paired\": [");
	CHECK(arr != NULL);
	if (arr != NULL) {
		char *open = strchr(arr, '[') + 1, *close = strstr(open, "\n    ],");

		len = (size_t)(close - open);
		dup = xcalloc(1, strlen(text) + len + 2);
		memcpy(dup, text, (size_t)(close - text));
		strcat(dup, ",");
		strncat(dup, open, len);
		strcat(dup, close);
		spit(&t, REG_FILE, dup);
		registry_init(&b, t.fd, t.path);
		CHECK_INT_EQ(registry_load(&b, err, sizeof(err)), -1);
		CHECK(strstr(err, "paired[1]: device " A_ID " is listed twice") != NULL);
		registry_free(&b);
		free(dup);
	}
	free(text);
	registry_free(&a);
	tmpdir_remove(&t);
}

int
main(void)
{
	TEST_RUN(test_round_trip);
	TEST_RUN(test_first_start_and_flush);
	TEST_RUN(test_atomic_write);
	TEST_RUN(test_corrupt_refused);
	TEST_RUN(test_duplicate_refused);
	return test_exit();
}
