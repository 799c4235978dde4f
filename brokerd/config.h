/* brokerd's configuration: OpenClaw's openclaw.json `gateway` section (the keys
 * clawgate uses; others are ignored) plus the OPENCLAW_* environment overrides.
 * Secrets stay here, in the broker; gatewayd gets the rest through BR_HELLO. */
#ifndef BROKERD_CONFIG_H
#define BROKERD_CONFIG_H

#include <stdint.h>

#include "proto/proto.h"

#define CONFIG_DEFAULT_PATH "/etc/clawgate/clawgate.json"
#define CONFIG_DEFAULT_PORT 18789
#define CONFIG_HANDSHAKE_TIMEOUT_MS 15000

enum auth_mode { AUTH_MODE_TOKEN, AUTH_MODE_PASSWORD, AUTH_MODE_NONE };

/* Where a secret came from; the shared token precedence is config > env > the
 * token file in the state dir > generated at first start. */
enum secret_source {
	SECRET_SOURCE_NONE,
	SECRET_SOURCE_CONFIG,
	SECRET_SOURCE_ENV,
	SECRET_SOURCE_FILE,
	SECRET_SOURCE_GENERATED,
};

struct config {
	char *path;		/* the file read; NULL when the default path was missing */
	uint16_t port;
	uint32_t nbind;
	char bind[PROTO_MAX_BINDS][PROTO_ADDR_MAX + 1];
	uint32_t handshake_timeout_ms;
	enum auth_mode auth_mode;
	char *token;		/* NULL until configured or loaded */
	enum secret_source token_source;
	char *password;
	enum secret_source password_source;
	int auto_approve_local;	/* clawgate's default is 0, OpenClaw's 1 */
	char ui_root[PROTO_PATH_MAX + 1];	/* gateway.controlUi.root; "": the built-in UI */
};

/* Reads path (or the default) and the environment into cfg; fatalx naming the
 * file or variable and the problem on anything invalid. */
void config_load(struct config *cfg, const char *path);
/* Wipes the secrets and frees what config_load allocated. */
void config_free(struct config *cfg);

const char *config_auth_mode_name(enum auth_mode mode);
const char *config_secret_source_name(enum secret_source src);

#endif
