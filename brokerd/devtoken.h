/* Device tokens (doc/protocol.md §6.3, doc/design.md §1): one per (device, role), stored
 * only as a SHA-256 hash, so a token can be delivered once, when it is minted. */
#ifndef BROKERD_DEVTOKEN_H
#define BROKERD_DEVTOKEN_H

#include <stdint.h>

#include "brokerd/registry.h"
#include "brokerd/role.h"

enum devtoken_result {
	DEVTOKEN_OK,
	DEVTOKEN_MISMATCH,		/* no usable token for that role, or a different one */
	DEVTOKEN_SCOPE_MISMATCH,	/* the right token, but it does not cover the request */
};

/* Whether candidate is d's unrevoked token for role, within the approved scopes
 * and covering requested (§4.1 step 9). On success records the use without
 * writing the file: a device-token reconnect must not cost a disk write. */
enum devtoken_result devtoken_verify(struct registry *reg, struct reg_device *d,
    enum role role, const char *candidate, const struct proto_scopes *requested,
    int64_t now_ms);

/* Mints a new token for d's role, replacing the previous one, and writes the
 * plaintext (SECRET_TOKEN_LEN chars) to out. The caller saves the registry. */
void devtoken_issue(struct reg_device *d, enum role role, int64_t now_ms,
    char out[SECRET_TOKEN_LEN + 1]);
/* d's current token for role into out, if this process minted it and it is
 * unrevoked: handing it out again changes nothing on disk. -1 if it cannot be
 * had (revoked, or minted before a restart): mint one. */
int devtoken_current(struct reg_device *d, enum role role, char out[SECRET_TOKEN_LEN + 1]);
/* Marks d's token for role revoked at now_ms and forgets its plaintext. The
 * caller saves the registry. */
void devtoken_revoke(struct reg_device *d, enum role role, int64_t now_ms);

#endif
