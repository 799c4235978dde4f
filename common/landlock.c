#include "common/landlock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"

/*
 * The kernel's interface, spelt out here: Debian 12's headers predate the
 * network rules (struct landlock_ruleset_attr has no handled_access_net there),
 * and the C library has no wrappers. Layouts as in the kernel's uapi
 * linux/landlock.h.
 */
#define LANDLOCK_TCP_MIN_ABI 4
#define LANDLOCK_TCP_VERSION (1U << 0)		/* LANDLOCK_CREATE_RULESET_VERSION */
#define LANDLOCK_TCP_RULE_NET_PORT 2		/* LANDLOCK_RULE_NET_PORT */
#define LANDLOCK_TCP_BIND (1ULL << 0)		/* LANDLOCK_ACCESS_NET_BIND_TCP */
#define LANDLOCK_TCP_CONNECT (1ULL << 1)	/* LANDLOCK_ACCESS_NET_CONNECT_TCP */

struct landlock_tcp_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
};

struct landlock_tcp_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};

static int
landlock_tcp_abi(void)
{
	return (int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_TCP_VERSION);
}

int
landlock_tcp_restrict(uint16_t connect_port, char *why, size_t why_len)
{
	struct landlock_tcp_ruleset_attr ruleset = {
		.handled_access_fs = 0,
		.handled_access_net = LANDLOCK_TCP_BIND | LANDLOCK_TCP_CONNECT,
	};
	struct landlock_tcp_port_attr rule = {
		.allowed_access = LANDLOCK_TCP_CONNECT,
		.port = connect_port,
	};
	int abi, fd;

	if ((abi = landlock_tcp_abi()) < 0) {
		snprintf(why, why_len, "the kernel has no Landlock (%s): add landlock to its "
		    "lsm= boot parameter (cat /sys/kernel/security/lsm shows the list)",
		    strerror(errno));
		return 0;
	}
	if (abi < LANDLOCK_TCP_MIN_ABI) {
		snprintf(why, why_len, "the kernel's Landlock ABI %d has no TCP rules (ABI %d, "
		    "Linux 6.7, has them)", abi, LANDLOCK_TCP_MIN_ABI);
		return 0;
	}
	fd = (int)syscall(SYS_landlock_create_ruleset, &ruleset, sizeof(ruleset), 0);
	if (fd < 0)
		fatal("landlock: cannot create a TCP rule set");
	if (connect_port != 0 && syscall(SYS_landlock_add_rule, fd, LANDLOCK_TCP_RULE_NET_PORT,
	    &rule, 0) < 0)
		fatal("landlock: cannot allow TCP connect to port %u", (unsigned)connect_port);
	if (syscall(SYS_landlock_restrict_self, fd, 0) < 0)
		fatal("landlock: cannot restrict the process");
	close(fd);
	return abi;
}
