/* Wall-clock milliseconds for the protocol (challenge ts, signedAt skew, record
 * times) and monotonic milliseconds for timeouts and TTLs within one process. */
#ifndef CLAWGATE_CLOCK_H
#define CLAWGATE_CLOCK_H

#include <stdint.h>

int64_t clock_wall_ms(void);
int64_t clock_mono_ms(void);

#endif
