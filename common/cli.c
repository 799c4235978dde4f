#include "common/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/version.h"

#define CLI_EXIT_USAGE 2

void
cli_version(const char *name)
{
	/* A build from a tarball or a release tag says the version once, not twice. */
	if (strcmp(CLAWGATE_VERSION_GIT, CLAWGATE_VERSION) == 0 ||
	    strcmp(CLAWGATE_VERSION_GIT, "v" CLAWGATE_VERSION) == 0)
		printf("%s %s\n", name, CLAWGATE_VERSION);
	else
		printf("%s %s (git %s)\n", name, CLAWGATE_VERSION, CLAWGATE_VERSION_GIT);
	exit(fflush(stdout) == 0 ? 0 : 1);
}

void
cli_help(const char *usage)
{
	fputs(usage, stdout);
	exit(fflush(stdout) == 0 ? 0 : 1);
}

void
cli_usage_error(const char *name, const char *problem, const char *usage)
{
	if (problem != NULL)
		fprintf(stderr, "%s: %s\n", name, problem);
	fputs(usage, stderr);
	exit(CLI_EXIT_USAGE);
}
