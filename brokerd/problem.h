/* The problems that keep brokerd from starting, found while reading its
 * configuration, its environment and its state directory. Each is reported
 * as it is found (naming the key, variable or file and the fix) and counted,
 * and the reader goes on to the next setting: a start stops after a phase
 * that found any, --check-config lists all of them. */
#ifndef BROKERD_PROBLEM_H
#define BROKERD_PROBLEM_H

#include <stddef.h>

void problem_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* How many were reported so far. */
size_t problem_count(void);

#endif
