/* Logs go to stderr, one line each, so that under systemd they land in the journal
 * with the unit's name and when run by hand they show in the terminal. */
#include "common/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/textesc.h"

static const char *log_progname = "clawgate";
static enum log_level log_max_level = LOG_LEVEL_INFO;
static int log_journal;	/* stderr is the journal: lines carry a <N> priority */

/*
 * systemd sets $JOURNAL_STREAM to the device and inode ("DEV:INODE") of the
 * stream it connects to the journal; when stderr is that very stream (not one a
 * parent redirected elsewhere, which inherits the variable), each line may start
 * with its syslog priority, which the journal stores as the entry's priority
 * (journalctl -p err). Decided here, once: the sandbox forbids fstat later.
 */
static int
log_stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	uintmax_t dev, ino;
	struct stat st;
	int end = 0;

	if (env == NULL || sscanf(env, "%ju:%ju%n", &dev, &ino, &end) != 2 ||
	    env[end] != '\0' || fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}

void
log_init(const char *progname, enum log_level level)
{
	log_progname = progname;
	log_max_level = level;
	log_journal = log_stderr_is_journal();
}

void
log_set_level(enum log_level level)
{
	log_max_level = level;
}

int
log_level_parse(const char *name, enum log_level *out)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

const char *
log_priority_prefix(enum log_level level)
{
	/* sd-daemon.h's SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG. */
	static const char *const priorities[] = { "<3>", "<4>", "<6>", "<7>" };

	return log_journal ? priorities[level] : "";
}

/*
 * Log lines carry text that clients chose (ids, names, origins, reasons): every
 * line passes through textesc, so that no control or bidirectional formatting
 * character reaches a terminal or a log viewer, whichever call site printed it.
 * The attribute lets clang (-Wformat-nonliteral) see fmt is checked by callers.
 */
static void __attribute__((format(printf, 2, 0)))
log_vwrite(enum log_level level, const char *fmt, va_list ap, int errnum)
{
	static const char *const tags[] = { "error", "warning", "info", "debug" };
	const char *prio = log_priority_prefix(level);
	char msg[1024], shown[TEXTESC_GROWTH * sizeof(msg)];

	if (level > log_max_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	textesc(shown, sizeof(shown), msg, strlen(msg));
	if (errnum)
		fprintf(stderr, "%s%s: %s: %s: %s\n", prio, log_progname, tags[level], shown,
		    strerror(errnum));
	else
		fprintf(stderr, "%s%s: %s: %s\n", prio, log_progname, tags[level], shown);
}

#define LOG_BODY(level, errnum)                   \
	do {                                      \
		va_list ap;                       \
		va_start(ap, fmt);                \
		log_vwrite(level, fmt, ap, errnum); \
		va_end(ap);                       \
	} while (0)

void
log_warn(const char *fmt, ...)
{
	int saved = errno;

	LOG_BODY(LOG_LEVEL_WARN, saved);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, 0);
}

void
log_errorx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, 0);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, 0);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;

	LOG_BODY(LOG_LEVEL_ERROR, saved);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, 0);
	exit(1);
}
