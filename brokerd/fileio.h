/* Whole-file reads with a size limit and crash-safe replacement of files in the
 * state directory (registry.json, gateway.token). */
#ifndef BROKERD_FILEIO_H
#define BROKERD_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/* Reads dirfd/name (dirfd may be AT_FDCWD) into a NUL-terminated malloc'd buffer.
 * NULL with errno set on failure; EFBIG if the file is larger than max bytes. */
char *fileio_read(int dirfd, const char *name, size_t max, size_t *len);

/* Replaces dirfd/name with data: write a temp file beside it, fsync, renameat over
 * the old one, fsync the directory. A crash leaves the old or the new file, never
 * a mix; a failure leaves the old file and no temp file. -1 with errno on failure. */
int fileio_write_atomic(int dirfd, const char *name, const void *data, size_t len,
    mode_t mode);

#endif
