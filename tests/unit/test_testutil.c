/* testutil.h's temporary directory: made private under TMPDIR, its files named
 * inside it, and removed with everything in it (nested directories, a socket,
 * a symbolic link) without following a link out of it. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "testutil.h"

static void
write_file(int dirfd, const char *name, const char *text)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_INT_EQ(write(fd, text, strlen(text)), (long long)strlen(text));
	close(fd);
}

static void
bind_socket(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	CHECK(strlen(path) < sizeof(sun.sun_path));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	CHECK(fd >= 0);
	CHECK_INT_EQ(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
}

static void
test_make_and_remove(void)
{
	struct test_tmpdir outside, t;
	struct stat st;
	char path[PATH_MAX + 32];

	/* A file elsewhere that a link inside points at: it must survive. */
	test_tmpdir_make(&outside, "testutil-outside");
	write_file(outside.fd, "keep", "kept\n");

	test_tmpdir_make(&t, "testutil");
	CHECK(strncmp(t.path, "/", 1) == 0);
	CHECK(strstr(t.path, "/clawgate-test-testutil.") != NULL);
	CHECK_INT_EQ(stat(t.path, &st), 0);
	CHECK(S_ISDIR(st.st_mode));
	CHECK_INT_EQ(st.st_mode & 07777, 0700);
	CHECK_INT_EQ(fstat(t.fd, &st), 0);

	snprintf(path, sizeof(path), "%s/registry.json", t.path);
	CHECK_STR_EQ(test_tmpdir_file(&t, "registry.json"), path);
	write_file(t.fd, "registry.json", "{}\n");
	CHECK_INT_EQ(mkdirat(t.fd, "sub", 0700), 0);
	CHECK_INT_EQ(mkdirat(t.fd, "sub/deeper", 0700), 0);
	write_file(t.fd, "sub/deeper/file", "x");
	bind_socket(test_tmpdir_file(&t, "gw.sock"));
	CHECK_INT_EQ(symlinkat(outside.path, t.fd, "link"), 0);

	snprintf(path, sizeof(path), "%s", t.path);
	test_tmpdir_remove(&t);
	CHECK_INT_EQ(t.fd, -1);
	CHECK(lstat(path, &st) < 0 && errno == ENOENT);
	CHECK_INT_EQ(fstatat(outside.fd, "keep", &st, 0), 0);

	test_tmpdir_remove(&outside);
	CHECK(lstat(outside.path, &st) < 0 && errno == ENOENT);
}

int
main(void)
{
	TEST_RUN(test_make_and_remove);
	return test_exit();
}
