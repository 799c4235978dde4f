/*
 * Reloading brokerd's configuration (SIGHUP, systemctl reload brokerd): the
 * file and the environment are read again as a start reads them. A
 * configuration with any problem changes nothing. Otherwise each key that
 * changed is either applied at once, for the connects, pairing requests and
 * calls that come after (gatewayd gets what it applies in a BR_CONFIG), or
 * left at its running value, logged with the restart that applies it: a
 * reload never applies half a configuration, and keeps every session.
 */
#ifndef BROKERD_RELOAD_H
#define BROKERD_RELOAD_H

struct broker;

/* What a reload needs besides the broker: the --config path (NULL: the
 * default) and brokerd's control socket (absolute) with whether it is where
 * gatewayctl looks by default, for the gatewayctl command the Control UI shows
 * when the configuration names none. The strings are copied. */
void reload_init(const char *config_path, const char *control_socket, int socket_is_default);
void reload_free(void);

/* Reads the configuration again and applies it to br->cfg as above. */
void reload_run(struct broker *br);

#endif
