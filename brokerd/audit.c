#include "brokerd/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "brokerd/fileio.h"
#include "brokerd/jtree.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "proto/pval.h"

static struct {
	int fd;
	int state_fd;
	char *path;
	off_t rotate_bytes;
} audit = { -1, -1, NULL, AUDIT_ROTATE_BYTES };

/* What one entry holds; the same function renders it for the file and for
 * gatewayctl, so the two cannot drift apart. */
struct audit_entry {
	const char *what, *device_id, *request_id, *role, *who;
	int64_t ts;
};

static void
audit_entry_pval(struct pbuf *b, const struct audit_entry *e)
{
	pval_obj_begin(b);
	pval_kv_str(b, "what", e->what);
	pval_kv_str_opt(b, "deviceId", e->device_id);
	pval_kv_str_opt(b, "requestId", e->request_id);
	pval_kv_str_opt(b, "role", e->role);
	pval_kv_str(b, "who", e->who);
	pval_kv_int(b, "ts", e->ts);
	pval_obj_end(b);
}

/* The size of an open file. lseek rather than fstat: the sandbox admits
 * lseek, while glibc's fstat is newfstatat, which also resolves paths. */
static off_t
audit_size(int fd)
{
	return lseek(fd, 0, SEEK_END);
}

/* A crash mid-write can leave a last line without its newline; end it, so the
 * next entry starts a line of its own instead of joining the fragment. */
static void
audit_seal(const char *path)
{
	off_t size;
	char last;

	if ((size = audit_size(audit.fd)) < 0)
		fatal("cannot find the size of the audit log %s", path);
	if (size == 0)
		return;
	if (pread(audit.fd, &last, 1, size - 1) == 1 && last == '\n')
		return;
	log_warnx("audit: %s ends in a partial line (a crash while writing?): ending it "
	    "there; gatewayctl audit skips it", path);
	if (write(audit.fd, "\n", 1) != 1 || fsync(audit.fd) < 0)
		fatal("cannot repair the audit log %s", path);
}

static int
audit_open_fd(void)
{
	return openat(audit.state_fd, AUDIT_FILE,
	    O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
}

void
audit_rotate_at(size_t bytes)
{
	audit.rotate_bytes = (off_t)bytes;
}

/* The log brokerd goes on appending to must be a file of its own: a link to
 * anything elsewhere would have it written (and, started as root, given to the
 * broker's account). */
static void
audit_check_own(const char *path)
{
	struct stat st;

	if (fstat(audit.fd, &st) < 0)
		fatal("cannot stat the audit log %s", path);
	if (!S_ISREG(st.st_mode))
		fatalx("the audit log %s is not a regular file: move it away (brokerd then "
		    "starts a new log)", path);
	if (st.st_nlink != 1)
		fatalx("the audit log %s has %ju hard links, and brokerd appends only to a "
		    "file of its own: replace it with a copy (cp %s %s.copy && mv %s.copy %s)",
		    path, (uintmax_t)st.st_nlink, path, path, path, path);
	if (fileio_own(audit.fd) < 0)
		fatal("cannot give the audit log %s to brokerd's account", path);
}

void
audit_open(int state_fd, const char *state_dir)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", state_dir, AUDIT_FILE);
	audit.state_fd = state_fd;
	if ((audit.fd = audit_open_fd()) < 0 && errno == ELOOP)
		fatalx("the audit log %s is a symbolic link, and brokerd follows none in its "
		    "state directory: put the log itself in its place (mv it there), or delete "
		    "the link to start a new log", path);
	if (audit.fd < 0)
		fatal("cannot open the audit log %s (check the state directory's owner and "
		    "mode)", path);
	audit_check_own(path);
	audit.path = xstrdup(path);
	audit_seal(path);
}

/* A log that would grow past its bound becomes audit.log.1 (replacing the one
 * before) and a new audit.log starts. Every line already written was fsync'd, and
 * the rename is atomic, so each line is in one of the two files whatever
 * happens; a failure keeps appending to the old file. */
static void
audit_rotate(size_t next_len)
{
	off_t size = audit_size(audit.fd);
	int fd;

	if (size < 0 || size + (off_t)next_len <= audit.rotate_bytes || size == 0)
		return;
	if (renameat(audit.state_fd, AUDIT_FILE, audit.state_fd, AUDIT_FILE_OLD) < 0) {
		log_warn("audit: cannot rotate %s to %s.1 (it grows past its bound of %lld "
		    "bytes; check the state directory)", audit.path, audit.path,
		    (long long)audit.rotate_bytes);
		return;
	}
	if ((fd = audit_open_fd()) < 0)
		fatal("audit: cannot create %s after rotating the old one to %s.1 (check the "
		    "state directory)", audit.path, audit.path);
	if (fsync(audit.state_fd) < 0)
		log_warn("audit: cannot sync the state directory after rotating %s", audit.path);
	close(audit.fd);
	audit.fd = fd;
	log_info("audit: %s reached %lld bytes, its bound: the older entries are in %s.1 "
	    "now", audit.path, (long long)size, audit.path);
}

void
audit_close(void)
{
	if (audit.fd >= 0)
		close(audit.fd);
	free(audit.path);
	audit.fd = -1;
	audit.path = NULL;
}

void
audit_record(const char *what, const char *device_id, const char *request_id,
    const char *role, const char *who, int64_t now_ms)
{
	struct audit_entry e = { what, device_id, request_id, role, who, now_ms };
	struct pbuf b;
	char *json;
	size_t len;
	ssize_t n;

	if (audit.fd < 0)
		return;
	pbuf_init(&b);
	audit_entry_pval(&b, &e);
	json = pval_to_json_string(b.data, b.len, 0);
	pbuf_free(&b);
	if (json == NULL)
		fatalx("audit: an entry does not render as JSON (a bug: its strings were "
		    "checked on the way in)");
	len = strlen(json);
	json = xrealloc(json, len + 2);
	json[len++] = '\n';
	json[len] = '\0';
	audit_rotate(len);
	/* One write per line: with O_APPEND a line is never interleaved or split by
	 * anything but a crash, and a line cut short is skipped when reading. */
	do
		n = write(audit.fd, json, len);
	while (n < 0 && errno == EINTR);
	if (n < 0 || (size_t)n != len || fsync(audit.fd) < 0)
		log_warn("audit: cannot append \"%s\" to %s (the change took effect; check "
		    "the disk)", what, audit.path);
	free(json);
}

/* Reads up to max bytes from the end of name into buf: how many (0 if it cannot
 * be read; a missing file is empty). *cut says whether it started mid-file. */
static size_t
audit_read_end(const char *name, char *buf, size_t max, int *cut)
{
	off_t from, size = -1;
	size_t len = 0;
	int fd;

	*cut = 0;
	if ((fd = openat(audit.state_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 ||
	    (size = audit_size(fd)) < 0) {
		if (fd >= 0 || errno != ENOENT)
			log_warn("audit: cannot read %s/%s", audit.path, name);
		if (fd >= 0)
			close(fd);
		return 0;
	}
	from = size > (off_t)max ? size - (off_t)max : 0;
	*cut = from > 0;
	while (len < max) {
		ssize_t n = pread(fd, buf + len, max - len, from + (off_t)len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	return len;
}

/* The newest part of the log (the end of audit.log.1 too if audit.log is short),
 * from the first whole line: a malloc'd string. */
static char *
audit_tail(void)
{
	char *buf = xmalloc(AUDIT_READ_MAX + 1), *cur = xmalloc(AUDIT_READ_MAX), *nl;
	size_t len, curlen;
	int cut;

	curlen = audit_read_end(AUDIT_FILE, cur, AUDIT_READ_MAX, &cut);
	len = cut ? 0 : audit_read_end(AUDIT_FILE_OLD, buf, AUDIT_READ_MAX - curlen, &cut);
	memcpy(buf + len, cur, curlen);
	free(cur);
	len += curlen;
	buf[len] = '\0';
	/* Starting mid-file, the first line is a fragment. */
	if (cut && (nl = strchr(buf, '\n')) != NULL)
		memmove(buf, nl + 1, strlen(nl + 1) + 1);
	return buf;
}

static const char *
audit_field(yajl_val obj, const char *key)
{
	const char *s = jtree_str(obj, key);

	return s != NULL && proto_str_ok(s, strlen(s), PROTO_TEXT_MAX, PROTO_CS_TEXT) ? s : NULL;
}

/* Renders line as an entry; -1 if it is not one. */
static int
audit_line_pval(struct pbuf *b, char *line)
{
	struct audit_entry e;
	yajl_val root, ts;

	if ((root = yajl_tree_parse(line, NULL, 0)) == NULL)
		return -1;
	e.what = audit_field(root, "what");
	e.device_id = audit_field(root, "deviceId");
	e.request_id = audit_field(root, "requestId");
	e.role = audit_field(root, "role");
	e.who = audit_field(root, "who");
	ts = jtree_get(root, "ts");
	if (e.what == NULL || e.who == NULL || !jtree_is(ts, JTREE_INT)) {
		yajl_tree_free(root);
		return -1;
	}
	e.ts = YAJL_GET_INTEGER(ts);
	e.device_id = e.device_id != NULL ? e.device_id : "";
	e.request_id = e.request_id != NULL ? e.request_id : "";
	e.role = e.role != NULL ? e.role : "";
	audit_entry_pval(b, &e);
	yajl_tree_free(root);
	return 0;
}

void
audit_list_pval(struct pbuf *b)
{
	char *text = audit.fd >= 0 ? audit_tail() : xstrdup("");
	char **lines = NULL, *p, *save = NULL;
	size_t n = 0, cap = 0, first;
	int64_t unreadable = 0;

	for (p = strtok_r(text, "\n", &save); p != NULL; p = strtok_r(NULL, "\n", &save)) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			lines = xrealloc(lines, cap * sizeof(*lines));
		}
		lines[n++] = p;
	}
	first = n > AUDIT_SHOW_MAX ? n - AUDIT_SHOW_MAX : 0;
	pval_obj_begin(b);
	pval_key(b, "entries");
	pval_arr_begin(b);
	for (size_t i = first; i < n; i++)
		if (audit_line_pval(b, lines[i]) < 0)
			unreadable++;
	pval_arr_end(b);
	pval_kv_int(b, "unreadable", unreadable);
	pval_obj_end(b);
	free(lines);
	free(text);
}
