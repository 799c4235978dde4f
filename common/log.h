/* One error idiom for every clawgate program: fatal/fatalx end the process,
 * log_warn/log_warnx report and go on. The *x variants do not append errno.
 * log_errorx reports at fatalx's level and goes on: for a reader that lists
 * every problem it finds before it gives up. */
#ifndef CLAWGATE_LOG_H
#define CLAWGATE_LOG_H

#include <stdarg.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

void log_init(const char *progname, enum log_level level);
void log_set_level(enum log_level level);
int log_level_parse(const char *name, enum log_level *out);
/* "<3>", "<4>", "<6>" or "<7>" when stderr is the journal (log_init found
 * $JOURNAL_STREAM naming it), else "": for lines written to stderr without
 * log_*, e.g. from a signal handler (it only reads a variable). */
const char *log_priority_prefix(enum log_level level);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
