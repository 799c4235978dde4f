/* What every clawgate program's command line has: --help and --version, and
 * the usage on a wrong command line. */
#ifndef CLAWGATE_CLI_H
#define CLAWGATE_CLI_H

#include <getopt.h>

/* getopt_long values of the two options, out of the range of characters. */
#define CLI_OPT_HELP 0x100
#define CLI_OPT_VERSION 0x101
#define CLI_OPTIONS \
	{ "help", no_argument, NULL, CLI_OPT_HELP }, \
	{ "version", no_argument, NULL, CLI_OPT_VERSION }

/* Prints "NAME VERSION" (meson's project version, and the git description when
 * built from a git checkout) to stdout and exits 0. */
void cli_version(const char *name) __attribute__((noreturn));
/* --help: usage to stdout, exit 0. */
void cli_help(const char *usage) __attribute__((noreturn));
/* A wrong command line: problem (if any) and the usage to stderr, exit 2. */
void cli_usage_error(const char *name, const char *problem, const char *usage)
    __attribute__((noreturn));

#endif
