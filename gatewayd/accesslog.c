/*
 * The one log line of each handshake: "admitted ..." or "rejected ...", for an
 * admin to grep when "pairing required" persists. key=value; values from the
 * client are schema-checked names or ids, ids and reasons are quoted; no token,
 * password or signature ever reaches it.
 */
#include <stdio.h>

#include "common/log.h"
#include "gatewayd/session_priv.h"
#include "gatewayd/ws.h"

/* Client-chosen text (ids, reasons) in a log line: quoted, with " and \\
 * escaped, so that no value can pass for another key; "-" when empty. Values
 * longer than the buffer are cut (a log line, not a record). */
#define ACCESSLOG_QUOTED_MAX (2 * PROTO_ID_MAX + 8)

static const char *
accesslog_or_dash(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : "-";
}

static const char *
accesslog_quote(const char *in, char out[ACCESSLOG_QUOTED_MAX])
{
	size_t o = 0;

	if (in == NULL || in[0] == '\0')
		return "-";
	out[o++] = '"';
	for (; *in != '\0' && o < ACCESSLOG_QUOTED_MAX - 3; in++) {
		if (*in == '"' || *in == '\\')
			out[o++] = '\\';
		out[o++] = *in;
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

/* via= says how the client address was attributed: the TCP peer itself
 * ("direct"), or the X-Forwarded-For of a trusted proxy ("proxy:<peer>"). */
void
accesslog_reject(const struct session *s, uint16_t code, const char *reason, const char *why,
    const char *locality, const char *pairing)
{
	char cut[WS_REASON_MAX + 4], qreason[ACCESSLOG_QUOTED_MAX];
	char qdevice[ACCESSLOG_QUOTED_MAX], qconnect[ACCESSLOG_QUOTED_MAX];
	const struct session_pre *p = s->pre;

	snprintf(cut, sizeof(cut), "%s", reason);
	ws_reason_cut(cut);
	log_info("rejected close=%u reason=%s addr=%s via=%s locality=%s client=%s mode=%s "
	    "device=%s connect=%s pairing=%s why=\"%s\"", code,
	    accesslog_quote(cut, qreason), s->peer, s->via,
	    accesslog_or_dash(locality), accesslog_or_dash(p ? p->client_id : NULL),
	    accesslog_or_dash(p ? p->client_mode : NULL),
	    accesslog_quote(p ? p->device_id : NULL, qdevice),
	    accesslog_quote(p ? p->connect_id : NULL, qconnect), accesslog_or_dash(pairing),
	    why);
}

void
accesslog_admit(const struct session *s, const struct proto_accept *m)
{
	char qconnect[ACCESSLOG_QUOTED_MAX], qdevice[ACCESSLOG_QUOTED_MAX];

	log_info("admitted addr=%s via=%s locality=%s client=%s mode=%s device=%s connect=%s "
	    "role=%s scopes=%u method=%s device-token=%s", s->peer, s->via,
	    accesslog_or_dash(m->locality), s->pre->client_id, s->pre->client_mode,
	    accesslog_quote(m->device_id, qdevice), accesslog_quote(s->pre->connect_id, qconnect),
	    m->role, m->scopes.n, m->method, m->device_token[0] ? "issued" : "-");
}
