/* Whole-file reads with a size limit and crash-safe replacement of files in the
 * state directory (registry.json, gateway.token). */
#ifndef BROKERD_FILEIO_H
#define BROKERD_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* Reads dirfd/name (dirfd may be AT_FDCWD) into a NUL-terminated malloc'd buffer.
 * NULL with errno set on failure; EFBIG if the file is larger than max bytes,
 * EINVAL if it is not a regular file. */
char *fileio_read(int dirfd, const char *name, size_t max, size_t *len);
/* fileio_read for a file of the state directory, which is never reached through a
 * symbolic link: ELOOP if name is one. */
char *fileio_read_state(int dirfd, const char *name, size_t max, size_t *len);

/* Replaces dirfd/name with data: write a temp file beside it, fsync, renameat over
 * the old one, fsync the directory. A crash leaves the old or the new file, never
 * a mix; a failure leaves the old file and no temp file. A symbolic link at name
 * is replaced, never followed. -1 with errno on failure. */
int fileio_write_atomic(int dirfd, const char *name, const void *data, size_t len,
    mode_t mode);

/* Started as root, brokerd gives what it writes before dropping privileges to
 * the account it drops to, through the descriptor it wrote (never by name, so
 * never through a link): fileio_write_atomic's files and those passed to
 * fileio_own, from fileio_owner_set until fileio_owner_clear. */
void fileio_owner_set(uid_t uid, gid_t gid);
void fileio_owner_clear(void);
/* Gives the open file fd to the owner set, if any. -1 with errno on failure. */
int fileio_own(int fd);

#endif
