/*
 * Why not libsystemd's sd_notify: it opens a new socket for every message, and
 * the sandbox forbids socket() (doc/design.md §4). So the socket is opened and
 * connected once, before the sandbox, and each message is one send() on it.
 * The address forms are those of sd_notify(3): an absolute path, or "@name"
 * for the abstract namespace.
 */
#include "common/notify.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"

static int notify_fd = -1;

void
notify_init(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	size_t len;

	if (path == NULL || (path[0] != '/' && path[0] != '@'))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((len = strlen(path)) >= sizeof(sun.sun_path))
		fatalx("NOTIFY_SOCKET %s is too long for a Unix socket path: check the service "
		    "manager", path);
	memcpy(sun.sun_path, path, len);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	if ((notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		fatal("cannot create the systemd notification socket");
	if (connect(notify_fd, (struct sockaddr *)&sun,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		fatal("cannot connect to systemd's notification socket %s", path);
}

void
notify_send(const char *state)
{
	if (notify_fd < 0)
		return;
	if (send(notify_fd, state, strlen(state), MSG_NOSIGNAL) < 0)
		log_warn("cannot tell systemd %s", state);
}
