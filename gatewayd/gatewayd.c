#include "gatewayd/gatewayd.h"

struct gatewayd gatewayd;
