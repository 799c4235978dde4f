#include "common/devcode.h"

#include <stdio.h>
#include <string.h>

void
devcode_format(char out[DEVCODE_LEN + 1], const char *device_id)
{
	snprintf(out, DEVCODE_LEN + 1, "%.3s %.3s", device_id,
	    strlen(device_id) > 3 ? device_id + 3 : "");
}
