/* What the parts of brokerd's configuration reader share (config.c reads the
 * gateway section, configrelay.c clawgate.relay, configctl.c
 * clawgate.gatewayctl). */
#ifndef BROKERD_CONFIGREAD_H
#define BROKERD_CONFIGREAD_H

#include <stdint.h>
#include <yajl/yajl_tree.h>

#include "brokerd/jtree.h"

struct config;

/* The file being read, for messages. */
const char *config_file_name(void);
/* The value at path below root; NULL if any part is absent. A part that exists
 * with the wrong kind is a problem (problem_report) and read as absent: brokerd does not
 * start with it, so a mistyped value never silently means "default". */
yajl_val config_get(yajl_val root, const char *const path[], enum jtree_kind kind,
    const char *what);
const char *config_str(yajl_val root, const char *const path[], const char *what);

/* clawgate.relay into cfg->relay and cfg->relay_url (all zero without it); the
 * upstream must not be cfg->port, so that is read first. */
void config_relay(struct config *cfg, yajl_val root);
/* clawgate.gatewayctl, else $CLAWGATE_GATEWAYCTL, into cfg->gatewayctl
 * (configctl.c); left empty for config_gatewayctl_default. */
void config_gatewayctl(struct config *cfg, yajl_val root);

#endif
