/* The verification code of a device: the first 6 hex digits of its device id
 * (the SHA-256 of its public key) in two groups of 3, which the device shows
 * too, so that an admin approves the device they are holding. gatewayctl's
 * tables and brokerd's doctor print it. */
#ifndef COMMON_DEVCODE_H
#define COMMON_DEVCODE_H

#define DEVCODE_LEN 7	/* "abc def" */

void devcode_format(char out[DEVCODE_LEN + 1], const char *device_id);

#endif
