/* The roles a connect may ask for (doc/protocol.md §2.3): their names on the wire
 * and the bitmask records keep them in. */
#ifndef BROKERD_ROLE_H
#define BROKERD_ROLE_H

enum role { ROLE_OPERATOR, ROLE_NODE, ROLE_COUNT };
#define ROLE_BIT(r) (1u << (r))

/* -1 unless name is "operator" or "node". */
int role_parse(const char *name);
const char *role_name(enum role r);

#endif
