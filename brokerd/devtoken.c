#include "brokerd/devtoken.h"

#include <string.h>
#include <openssl/crypto.h>

#include "brokerd/role.h"
#include "brokerd/scopes.h"
#include "brokerd/secret.h"

enum devtoken_result
devtoken_verify(struct registry *reg, struct reg_device *d, enum role role,
    const char *candidate, const struct proto_scopes *requested, int64_t now_ms)
{
	struct reg_token *t = &d->tokens[role];
	char hash[SECRET_HASH_LEN + 1];
	int same;

	if (!(d->roles & ROLE_BIT(role)) || t->hash[0] == '\0' || t->revoked_at_ms != 0)
		return DEVTOKEN_MISMATCH;
	/* Comparing hashes keeps the comparison constant-time in the token too. */
	secret_hash(candidate, hash);
	same = secret_equal(hash, t->hash);
	OPENSSL_cleanse(hash, sizeof(hash));
	if (!same)
		return DEVTOKEN_MISMATCH;
	if (!scopes_covers(&d->scopes, &t->scopes, NULL) ||
	    !scopes_covers(&t->scopes, requested, NULL))
		return DEVTOKEN_SCOPE_MISMATCH;
	t->last_used_at_ms = now_ms;
	registry_mark_unsaved(reg);
	return DEVTOKEN_OK;
}

void
devtoken_issue(struct reg_device *d, enum role role, int64_t now_ms,
    char out[SECRET_TOKEN_LEN + 1])
{
	struct reg_token *t = &d->tokens[role];

	secret_mint(out);
	if (t->hash[0] != '\0')
		t->rotated_at_ms = now_ms;
	secret_hash(out, t->hash);
	t->revoked_at_ms = 0;
	memcpy(t->plain, out, sizeof(t->plain));
}

int
devtoken_current(struct reg_device *d, enum role role, char out[SECRET_TOKEN_LEN + 1])
{
	struct reg_token *t = &d->tokens[role];

	if (!(d->roles & ROLE_BIT(role)) || t->plain[0] == '\0' || t->revoked_at_ms != 0)
		return -1;
	memcpy(out, t->plain, sizeof(t->plain));
	return 0;
}

void
devtoken_revoke(struct reg_device *d, enum role role, int64_t now_ms)
{
	d->tokens[role].revoked_at_ms = now_ms;
	OPENSSL_cleanse(d->tokens[role].plain, sizeof(d->tokens[role].plain));
}
