/* The audit log's bound (brokerd/audit.c): at its size it becomes audit.log.1
 * and a new audit.log starts; every entry written is in one of the two, whole;
 * gatewayctl audit's listing reads across both. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "brokerd/audit.h"
#include "proto/pval.h"
#include "testutil.h"

#define BOUND 4096

static char dir[64];
static int dirfd_ = -1;

/* The request ids "r<n>" in name, each counted in seen; -1 for a broken line. */
static int
count_lines(const char *name, int *seen, int max, off_t *size)
{
	char path[128], line[512];
	struct stat st;
	int n = 0, id;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	*size = stat(path, &st) == 0 ? st.st_size : -1;
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		const char *p = strstr(line, "\"requestId\":\"r");

		if (line[strlen(line) - 1] != '\n' || p == NULL ||
		    sscanf(p, "\"requestId\":\"r%d\"", &id) != 1 || id < 0 || id >= max) {
			n = -1;
			break;
		}
		seen[id]++;
		n++;
	}
	fclose(f);
	return n;
}

static void
record(int i)
{
	char rid[16];

	snprintf(rid, sizeof(rid), "r%d", i);
	audit_record("rename", "", rid, "", "uid 0", 1700000000000 + i);
}

static void
test_rotation_keeps_every_line(void)
{
	int seen[200] = { 0 }, total = 0, cur, old;
	off_t cur_size, old_size;

	/* Up to just under twice the bound: exactly one rotation. */
	for (;;) {
		struct stat st;
		char path[128];

		snprintf(path, sizeof(path), "%s/%s", dir, AUDIT_FILE);
		record(total++);
		if (stat(path, &st) == 0 && faccessat(dirfd_, AUDIT_FILE_OLD, F_OK, 0) == 0 &&
		    st.st_size > BOUND - 200)
			break;
		if (total == 200)
			break;
	}
	CHECK(total < 200);
	cur = count_lines(AUDIT_FILE, seen, 200, &cur_size);
	old = count_lines(AUDIT_FILE_OLD, seen, 200, &old_size);
	CHECK(cur > 0 && old > 0);
	CHECK_INT_EQ(cur + old, total);
	for (int i = 0; i < total; i++)
		CHECK_INT_EQ(seen[i], 1);
	CHECK(cur_size <= BOUND && old_size <= BOUND);
}

static void
test_listing_spans_both_files(void)
{
	struct pbuf b;
	char *json;

	pbuf_init(&b);
	audit_list_pval(&b);
	json = pval_to_json_string(b.data, b.len, 0);
	/* The oldest entry is in audit.log.1, the newest in audit.log. */
	CHECK(json != NULL && strstr(json, "\"requestId\":\"r0\"") != NULL);
	CHECK(json != NULL && strstr(json, "\"unreadable\":0") != NULL);
	free(json);
	pbuf_free(&b);
}

static void
test_bound_holds_over_many_rotations(void)
{
	int seen[2000] = { 0 }, cur, old;
	off_t cur_size, old_size;

	for (int i = 0; i < 2000; i++)
		record(i);
	cur = count_lines(AUDIT_FILE, seen, 2000, &cur_size);
	old = count_lines(AUDIT_FILE_OLD, seen, 2000, &old_size);
	CHECK(cur > 0 && old > 0);
	CHECK(cur_size <= BOUND && old_size <= BOUND);
	/* The newest entries are all there, in order of age across the files. */
	for (int i = 2000 - cur - old; i < 2000; i++)
		CHECK_INT_EQ(seen[i], 1);
}

int
main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/clawgate-test-audit.XXXXXX");
	if (mkdtemp(dir) == NULL || (dirfd_ = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
		return 2;
	audit_rotate_at(BOUND);
	audit_open(dirfd_, dir);
	TEST_RUN(test_rotation_keeps_every_line);
	TEST_RUN(test_listing_spans_both_files);
	audit_close();
	unlinkat(dirfd_, AUDIT_FILE, 0);
	unlinkat(dirfd_, AUDIT_FILE_OLD, 0);
	audit_open(dirfd_, dir);
	TEST_RUN(test_bound_holds_over_many_rotations);
	audit_close();
	unlinkat(dirfd_, AUDIT_FILE, 0);
	unlinkat(dirfd_, AUDIT_FILE_OLD, 0);
	close(dirfd_);
	rmdir(dir);
	return test_exit();
}
