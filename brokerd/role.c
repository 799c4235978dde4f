#include "brokerd/role.h"

#include <string.h>

static const char *const role_names[ROLE_COUNT] = { "operator", "node" };

int
role_parse(const char *name)
{
	for (int r = 0; r < ROLE_COUNT; r++)
		if (strcmp(name, role_names[r]) == 0)
			return r;
	return -1;
}

const char *
role_name(enum role r)
{
	return role_names[r];
}
