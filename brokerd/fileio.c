#include "brokerd/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xmalloc.h"

/* Who gets what brokerd writes while it is root; owner_set is 0 otherwise. */
static struct {
	int set;
	uid_t uid;
	gid_t gid;
} fileio_owner;

void
fileio_owner_set(uid_t uid, gid_t gid)
{
	fileio_owner.set = 1;
	fileio_owner.uid = uid;
	fileio_owner.gid = gid;
}

void
fileio_owner_clear(void)
{
	fileio_owner.set = 0;
}

int
fileio_own(int fd)
{
	return fileio_owner.set ? fchown(fd, fileio_owner.uid, fileio_owner.gid) : 0;
}

/* fileio_read and fileio_read_state: open with flags added to O_RDONLY. */
static char *
fileio_read_open(int dirfd, const char *name, int flags, size_t max, size_t *len)
{
	struct stat st;
	char *buf;
	size_t off = 0;
	int fd, saved;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | flags)) < 0)
		return NULL;
	if (fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if ((size_t)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	/* Read to EOF but never past max, in case the file grows under us. */
	for (;;) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			saved = errno;
			free(buf);
			close(fd);
			errno = saved;
			return NULL;
		}
		if (n == 0)
			break;
		off += (size_t)n;
		if (off == (size_t)st.st_size)
			break;
	}
	close(fd);
	buf[off] = '\0';
	*len = off;
	return buf;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return NULL;
}

char *
fileio_read(int dirfd, const char *name, size_t max, size_t *len)
{
	return fileio_read_open(dirfd, name, 0, max, len);
}

char *
fileio_read_state(int dirfd, const char *name, size_t max, size_t *len)
{
	/* O_NONBLOCK: a FIFO planted in the directory fails the regular-file check
	 * instead of blocking the open; it changes nothing for a regular file. */
	return fileio_read_open(dirfd, name, O_NOFOLLOW | O_NONBLOCK, max, len);
}

static int
fileio_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fileio_write_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
	char tmp[NAME_MAX + 1];
	int fd, saved;

	if ((size_t)snprintf(tmp, sizeof(tmp), ".%s.tmp", name) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* A temp file left by a crash is ours to replace. O_EXCL after the unlink
	 * makes sure we write a fresh inode with exactly our mode, not a planted one. */
	if (unlinkat(dirfd, tmp, 0) < 0 && errno != ENOENT)
		return -1;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -1;
	if (fchmod(fd, mode) < 0 || fileio_own(fd) < 0 || fileio_write_all(fd, data, len) < 0 ||
	    fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) < 0)
		goto fail;
	/* The rename is durable only once the directory itself is on disk. */
	return fsync(dirfd);
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	errno = saved;
	return -1;
}
