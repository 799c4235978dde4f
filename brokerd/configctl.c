/* clawgate.gatewayctl: how an admin runs gatewayctl on this host, which the
 * Control UI shows in front of "devices approve <requestId>"; by default derived
 * from the control socket's path as one shell command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brokerd/config.h"
#include "brokerd/configread.h"
#include "brokerd/problem.h"
#include "common/log.h"
#include "proto/proto.h"

/* Whether s may be shown as a command: one line of printable UTF-8, not blank. */
static int
config_command_ok(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && strspn(s, " ") < len &&
	    proto_str_ok(s, len, PROTO_COMMAND_MAX, PROTO_CS_TEXT);
}

/* clawgate.gatewayctl, else $CLAWGATE_GATEWAYCTL: the admin's name for it. The
 * Control UI puts it in front of "devices approve <requestId>". */
void
config_gatewayctl(struct config *cfg, yajl_val root)
{
	const char *const path[] = { "clawgate", "gatewayctl", NULL };
	const char *cmd = config_str(root, path, "clawgate.gatewayctl");
	const char *env = getenv("CLAWGATE_GATEWAYCTL");

	if (cmd != NULL && !config_command_ok(cmd)) {
		problem_report("%s: clawgate.gatewayctl must be the command that runs gatewayctl on this "
		    "host, one line of at most %d bytes without control characters, e.g. "
		    "\"/opt/clawgate/bin/gatewayctl --socket /srv/clawgate/control.sock\"",
		    config_file_name(), PROTO_COMMAND_MAX);
		return;
	}
	if (cmd == NULL && env != NULL && env[0] != '\0') {
		if (!config_command_ok(env)) {
			problem_report("CLAWGATE_GATEWAYCTL is not a command line (one line of at most "
			    "%d bytes without control characters): fix or unset it",
			    PROTO_COMMAND_MAX);
			return;
		}
		cmd = env;
	}
	if (cmd != NULL)
		memcpy(cfg->gatewayctl, cmd, strlen(cmd) + 1);
}

/* Appends s to out (of size outsz, holding a string) as one shell word:
 * unchanged if it has only characters no shell treats specially, else in single
 * quotes. Returns -1 if it does not fit. */
static int
config_shell_word(char *out, size_t outsz, const char *s)
{
	static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789_./:@%+=,-";
	size_t len = strlen(out);

	if (s[0] != '\0' && strspn(s, plain) == strlen(s))
		return (size_t)snprintf(out + len, outsz - len, "%s", s) < outsz - len ? 0 : -1;
	if (len + 1 >= outsz)
		return -1;
	out[len++] = '\'';
	for (; *s != '\0'; s++) {
		const char *piece = *s == '\'' ? "'\\''" : NULL;
		size_t n = piece != NULL ? strlen(piece) : 1;

		if (len + n + 1 >= outsz)
			return -1;
		memcpy(out + len, piece != NULL ? piece : s, n);
		len += n;
	}
	if (len + 2 > outsz)
		return -1;
	out[len++] = '\'';
	out[len] = '\0';
	return 0;
}

void
config_gatewayctl_default(struct config *cfg, const char *control_socket, int is_default)
{
	char cmd[PROTO_COMMAND_MAX + 1] = "gatewayctl --socket ";

	if (cfg->gatewayctl[0] != '\0')
		return;
	if (is_default) {
		snprintf(cfg->gatewayctl, sizeof(cfg->gatewayctl), "gatewayctl");
		return;
	}
	if (config_shell_word(cmd, sizeof(cmd), control_socket) < 0 || !config_command_ok(cmd)) {
		log_warnx("the control socket's path %s cannot be shown as a command line: the "
		    "Control UI will say plain \"gatewayctl\"; set clawgate.gatewayctl in the "
		    "config to the command that runs gatewayctl here", control_socket);
		snprintf(cfg->gatewayctl, sizeof(cfg->gatewayctl), "gatewayctl");
		return;
	}
	memcpy(cfg->gatewayctl, cmd, strlen(cmd) + 1);
}
