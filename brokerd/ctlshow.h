/*
 * gatewayctl's answers as a person reads them: one printer per command, each
 * taking the JSON tree of brokerd's answer (tables for lists, a sentence or two
 * for the rest, and the next command to run where there is one).
 */
#ifndef BROKERD_CTLSHOW_H
#define BROKERD_CTLSHOW_H

#include <yajl/yajl_tree.h>

/*
 * Replaces every string value of the answer by its textesc() form: the names,
 * platforms and ids in it were chosen by clients, and a registry written by an
 * older version may hold control or bidirectional formatting characters. Every
 * answer goes through it before a printer below sees it.
 */
void ctlshow_escape(yajl_val answer);

void ctlshow_list(yajl_val answer);
void ctlshow_status(yajl_val answer);
void ctlshow_approved(yajl_val answer);
void ctlshow_rejected(yajl_val answer);
void ctlshow_removed(yajl_val answer);
void ctlshow_token(yajl_val answer);
void ctlshow_renamed(yajl_val answer);
void ctlshow_rotated(yajl_val answer);
void ctlshow_revoked(yajl_val answer);
void ctlshow_dashboard(yajl_val answer);
void ctlshow_audit(yajl_val answer);

#endif
