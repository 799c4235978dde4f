/*
 * The few checks clawgate's C unit tests need. A failed check prints file:line,
 * the expression and the values and counts as a failure, and the test keeps going,
 * so one run reports every broken case. main() ends with `return test_exit();`,
 * which is non-zero if any check failed (meson test then marks the test failed).
 */
#ifndef CLAWGATE_TESTUTIL_H
#define CLAWGATE_TESTUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int testutil_checks;
static int testutil_failures;

static inline void __attribute__((format(printf, 4, 5)))
testutil_check(int ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	testutil_checks++;
	if (ok)
		return;
	testutil_failures++;
	fprintf(stderr, "%s:%d: check failed: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Prints bytes readably: printable ASCII as is, everything else as \xNN. */
static inline void
testutil_dump(const char *label, const void *data, size_t len)
{
	const uint8_t *p = data;

	fprintf(stderr, "    %s (%zu bytes): \"", label, len);
	for (size_t i = 0; i < len; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			fputc(p[i], stderr);
		else
			fprintf(stderr, "\\x%02x", p[i]);
	}
	fputs("\"\n", stderr);
}

static inline void
testutil_check_mem(const void *a, size_t alen, const void *b, size_t blen, const char *astr,
    const char *bstr, const char *file, int line)
{
	int ok = alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);

	testutil_check(ok, file, line, "%s == %s", astr, bstr);
	if (!ok) {
		testutil_dump("got", a, alen);
		testutil_dump("want", b, blen);
	}
}

static inline void
testutil_check_str(const char *a, const char *b, const char *astr, const char *bstr,
    const char *file, int line)
{
	if (a == NULL || b == NULL) {
		testutil_check(a == b, file, line, "%s == %s (%s vs %s)", astr, bstr,
		    a ? a : "NULL", b ? b : "NULL");
		return;
	}
	testutil_check_mem(a, strlen(a), b, strlen(b), astr, bstr, file, line);
}

#define CHECK(cond) testutil_check((cond) != 0, __FILE__, __LINE__, "%s", #cond)

#define CHECK_INT_EQ(a, b)                                                          \
	do {                                                                        \
		long long tu_a = (long long)(a), tu_b = (long long)(b);             \
		testutil_check(tu_a == tu_b, __FILE__, __LINE__, "%s == %s (%lld != %lld)", \
		    #a, #b, tu_a, tu_b);                                            \
	} while (0)

#define CHECK_STR_EQ(a, b) testutil_check_str((a), (b), #a, #b, __FILE__, __LINE__)

#define CHECK_MEM_EQ(a, alen, b, blen) \
	testutil_check_mem((a), (alen), (b), (blen), #a, #b, __FILE__, __LINE__)

/* Runs one test function and says which one failed, for a readable log. */
#define TEST_RUN(fn)                                                              \
	do {                                                                      \
		int tu_before = testutil_failures;                                \
		fn();                                                             \
		fprintf(stderr, "%s %s\n",                                        \
		    testutil_failures == tu_before ? "ok  " : "FAIL", #fn);       \
	} while (0)

/*
 * A private directory for the files a test writes: test_tmpdir_make() creates
 * $TMPDIR/clawgate-test-NAME.XXXXXX (/tmp without TMPDIR) and opens it, for code
 * that works relative to a directory descriptor; test_tmpdir_file() names a file in
 * it; test_tmpdir_remove() closes it and removes it with everything in it. Without
 * its directory a test cannot run: it exits 2 and says why.
 */
struct test_tmpdir {
	char path[PATH_MAX];
	char file[PATH_MAX];	/* test_tmpdir_file()'s last answer */
	int fd;
};

static inline void
test_tmpdir_make(struct test_tmpdir *t, const char *name)
{
	const char *base = getenv("TMPDIR");
	int n;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	n = snprintf(t->path, sizeof(t->path), "%s/clawgate-test-%s.XXXXXX", base, name);
	if (n < 0 || (size_t)n >= sizeof(t->path)) {
		fprintf(stderr, "test_tmpdir_make: %s/clawgate-test-%s is too long a path: "
		    "set TMPDIR to a shorter directory\n", base, name);
		exit(2);
	}
	if (mkdtemp(t->path) == NULL ||
	    (t->fd = open(t->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "test_tmpdir_make: %s: %s (set TMPDIR to a writable "
		    "directory)\n", t->path, strerror(errno));
		exit(2);
	}
}

/* The path of name inside the directory, in t->file (until the next call). */
static inline const char *
test_tmpdir_file(struct test_tmpdir *t, const char *name)
{
	int n = snprintf(t->file, sizeof(t->file), "%s/%s", t->path, name);

	if (n < 0 || (size_t)n >= sizeof(t->file)) {
		fprintf(stderr, "test_tmpdir_file: %s/%s is too long a path\n", t->path, name);
		exit(2);
	}
	return t->file;
}

static inline int
testutil_remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	if (remove(path) < 0)
		fprintf(stderr, "test_tmpdir_remove: %s: %s\n", path, strerror(errno));
	return 0;
}

static inline void
test_tmpdir_remove(struct test_tmpdir *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	/* Depth first, without following symbolic links out of the directory. */
	nftw(t->path, testutil_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static inline int
test_exit(void)
{
	fprintf(stderr, "%d checks, %d failed\n", testutil_checks, testutil_failures);
	return testutil_failures ? 1 : 0;
}

#endif
