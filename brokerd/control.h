/* The control socket (control.sock): gatewayctl's commands. Each is checked
 * against the command table (a known type, and a peer with what it needs: an
 * admin, by the kernel's SO_PEERCRED) before its payload is decoded, then
 * answered with the same pairing functions the RPC handlers use, acting as the
 * owner. */
#ifndef BROKERD_CONTROL_H
#define BROKERD_CONTROL_H

struct broker;
struct event_base;

void control_init(struct event_base *base, int listen_fd, struct broker *br);
void control_shutdown(void);

#endif
