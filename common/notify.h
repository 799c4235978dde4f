/*
 * The systemd readiness protocol (sd_notify(3)): READY=1 once a daemon
 * serves, STOPPING=1 when it begins to stop. Without $NOTIFY_SOCKET (not
 * started by systemd with Type=notify) both calls do nothing.
 */
#ifndef CLAWGATE_NOTIFY_H
#define CLAWGATE_NOTIFY_H

/* Opens and connects the notification socket; call it before the sandbox. */
void notify_init(void);
/* Sends one state line such as "READY=1"; failures are logged, not fatal. */
void notify_send(const char *state);

#endif
