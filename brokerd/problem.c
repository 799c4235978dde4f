#include "brokerd/problem.h"

#include <stdarg.h>
#include <stdio.h>

#include "common/log.h"

static size_t problem_n;

void
problem_report(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_errorx("%s", msg);
	problem_n++;
}

size_t
problem_count(void)
{
	return problem_n;
}
