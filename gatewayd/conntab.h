/* conn id -> session: how broker answers and pushes find their connection. */
#ifndef GATEWAYD_CONNTAB_H
#define GATEWAYD_CONNTAB_H

#include <stdint.h>

struct session;

/* A conn id never used before on any broker link of this process. */
uint64_t conntab_new_id(void);
void conntab_add(uint64_t conn, struct session *s);
struct session *conntab_find(uint64_t conn);
void conntab_del(uint64_t conn);
void conntab_free(void);

#endif
