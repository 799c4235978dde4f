/*
 * The audit log (doc/design.md §1, §5): every approval, rejection, removal, token
 * rotation and revocation, rename and shared-token change is appended to
 * <state>/audit.log as one JSON line {what, deviceId?, requestId?, role?, who, ts};
 * at AUDIT_ROTATE_BYTES it becomes audit.log.1 and a new one starts.
 * A line is written with O_APPEND and fsync'd before the command is answered, so
 * an acknowledged decision is on disk. gatewayctl never reads the state dir: the
 * broker serves the newest entries over the control socket.
 */
#ifndef BROKERD_AUDIT_H
#define BROKERD_AUDIT_H

#include <stdint.h>

#include "proto/proto.h"

#define AUDIT_FILE "audit.log"
#define AUDIT_FILE_OLD "audit.log.1"
/* audit.log grows to at most this many bytes, then becomes audit.log.1 (one
 * older generation is kept): the log holds at most twice this. */
#define AUDIT_ROTATE_BYTES (4u << 20)
/* gatewayctl audit shows at most this many of the newest entries... */
#define AUDIT_SHOW_MAX 1000
/* ...read from at most this many bytes at the end of the file. */
#define AUDIT_READ_MAX (1u << 20)
/* The longest "who" text: "device " and a device id, or "uid " and a number. */
#define AUDIT_WHO_MAX 80

/* Opens (creating, mode 0600) <state>/audit.log for appending, never through a
 * symbolic link and only if it is a regular file with no other hard link, and
 * gives it to fileio's owner (fileio_own); exits naming the file and the fix if
 * it cannot. Until it is opened nothing is recorded (unit tests). */
void audit_open(int state_fd, const char *state_dir);
/* Rotates at bytes instead of AUDIT_ROTATE_BYTES (unit tests: a small bound). */
void audit_rotate_at(size_t bytes);
void audit_close(void);

/* Appends one entry; "" for an absent device id, request id or role. A failed
 * write is logged: the decision already took effect. */
void audit_record(const char *what, const char *device_id, const char *request_id,
    const char *role, const char *who, int64_t now_ms);

/* {"entries":[oldest..newest], "unreadable":N} of the newest entries; N counts
 * lines that are not audit entries (a line cut short by a crash). */
void audit_list_pval(struct pbuf *b);

#endif
