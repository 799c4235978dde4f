#include "gatewayd/report.h"

#include <stdio.h>
#include <string.h>
#include <event2/event.h>

#include "common/clock.h"
#include "common/log.h"
#include "gatewayd/brokerlink.h"
#include "gatewayd/gatewayd.h"
#include "gatewayd/session_priv.h"

static struct {
	struct proto_gw_refused slot[REPORT_SLOTS];
	size_t n;
	uint64_t lost;			/* not reported: the table was full */
	struct event *flush;
	/* the upstream */
	int known, reachable;
	int64_t since_ms;		/* when it became what it is */
	int64_t last_ok_ms;
	int64_t sent_ms;		/* when its state last went to brokerd */
	int64_t session_ms;		/* monotonic: a relayed session's last word, or -1 */
	char error[PROTO_TEXT_MAX + 1];
} report = { .session_ms = -1 };

/* src into dst if it fits the field's charset, else "" (a client's text that
 * cannot go over the link is not worth a report's loss). */
static void
report_fit(char *dst, size_t size, const char *src, enum proto_charset cs)
{
	snprintf(dst, size, "%s", src != NULL ? src : "");
	if (!proto_str_ok(dst, strlen(dst), size - 1, cs))
		dst[0] = '\0';
}

static void
report_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	for (size_t i = 0; i < report.n; i++)
		brokerlink_send(PROTO_GW_REFUSED, &report.slot[i]);
	report.n = 0;
	if (report.lost > 0)
		log_info("%llu refusals within %d ms not reported to brokerd: more than %d kinds "
		    "and addresses (each is in this log)", (unsigned long long)report.lost,
		    REPORT_FLUSH_MS, REPORT_SLOTS);
	report.lost = 0;
}

static int
report_same(const struct proto_gw_refused *a, const struct proto_gw_refused *b)
{
	return a->code == b->code && strcmp(a->kind, b->kind) == 0 &&
	    strcmp(a->addr, b->addr) == 0 && strcmp(a->peer, b->peer) == 0 &&
	    strcmp(a->client_id, b->client_id) == 0 && strcmp(a->device_id, b->device_id) == 0;
}

/* Adds m to the table: a repeat counts, a new one takes a slot if any. */
static void
report_add(const struct proto_gw_refused *m)
{
	const struct timeval tv = { REPORT_FLUSH_MS / 1000, (REPORT_FLUSH_MS % 1000) * 1000 };

	for (size_t i = 0; i < report.n; i++) {
		if (report_same(&report.slot[i], m)) {
			if (report.slot[i].count < UINT32_MAX / 2)
				report.slot[i].count++;
			return;
		}
	}
	if (report.n == REPORT_SLOTS) {
		report.lost++;
		return;
	}
	report.slot[report.n++] = *m;
	if (report.flush == NULL &&
	    (report.flush = evtimer_new(gatewayd.base, report_flush_cb, NULL)) == NULL)
		fatalx("cannot allocate the report timer");
	if (!evtimer_pending(report.flush, NULL))
		evtimer_add(report.flush, &tv);
}

static void
report_fill(struct proto_gw_refused *m, const char *kind, const char *addr, const char *peer,
    uint16_t code, const char *reason)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->kind, sizeof(m->kind), "%s", kind);
	report_fit(m->addr, sizeof(m->addr), addr, PROTO_CS_ATOM);
	report_fit(m->peer, sizeof(m->peer), peer, PROTO_CS_ATOM);
	m->code = code;
	report_fit(m->reason, sizeof(m->reason), reason, PROTO_CS_DISPLAY);
	m->count = 1;
}

void
report_refused(const char *kind, const char *addr, const char *peer, uint16_t code,
    const char *reason)
{
	struct proto_gw_refused m;

	report_fill(&m, kind, addr, peer, code, reason);
	report_add(&m);
}

void
report_session(const struct session *s, const char *kind, uint16_t code, const char *reason)
{
	struct proto_gw_refused m;
	const struct session_pre *p = s->pre;
	const char *peer = strncmp(s->via, "proxy:", 6) == 0 ? s->via + 6 : NULL;

	report_fill(&m, kind, s->peer, peer, code, reason);
	if (p != NULL) {
		report_fit(m.client_id, sizeof(m.client_id), p->client_id, PROTO_CS_ATOM);
		report_fit(m.client_mode, sizeof(m.client_mode), p->client_mode, PROTO_CS_ATOM);
		report_fit(m.device_id, sizeof(m.device_id), p->device_id, PROTO_CS_DISPLAY);
		report_fit(m.origin, sizeof(m.origin), p->origin, PROTO_CS_TEXT);
	}
	report_add(&m);
}

/* ---- the relay upstream ---- */

static void
report_upstream_send(void)
{
	struct proto_gw_upstream m;

	if (!report.known)
		return;
	memset(&m, 0, sizeof(m));
	m.reachable = (uint8_t)report.reachable;
	m.at_ms = report.reachable ? report.last_ok_ms : report.since_ms;
	m.last_ok_ms = report.last_ok_ms;
	if (!report.reachable)
		report_fit(m.error, sizeof(m.error), report.error, PROTO_CS_DISPLAY);
	if (!report.reachable && m.error[0] == '\0')
		snprintf(m.error, sizeof(m.error), "failed");
	report.sent_ms = clock_mono_ms();
	brokerlink_send(PROTO_GW_UPSTREAM, &m);
}

/* A new state goes at once, as does another error (a probe's or a session's:
 * doctor shows the latest); a reachable upstream's time is refreshed at most
 * every REPORT_UPSTREAM_REFRESH_MS. */
static void
report_upstream_set(int reachable, const char *error)
{
	int changed = !report.known || report.reachable != reachable;
	int64_t now = clock_wall_ms();

	if (changed)
		report.since_ms = now;
	if (!reachable && strcmp(report.error, error) != 0)
		changed = 1;
	report.known = 1;
	report.reachable = reachable;
	if (reachable) {
		report.last_ok_ms = now;
		report.error[0] = '\0';
	} else {
		snprintf(report.error, sizeof(report.error), "%s", error);
	}
	if (changed || (reachable && clock_mono_ms() - report.sent_ms >=
	    REPORT_UPSTREAM_REFRESH_MS))
		report_upstream_send();
}

void
report_upstream(int reachable, const char *error)
{
	report.session_ms = clock_mono_ms();
	report_upstream_set(reachable, error);
}

void
report_upstream_probed(int reachable, const char *error)
{
	report_upstream_set(reachable, error);
}

int64_t
report_upstream_session_ms(void)
{
	return report.session_ms;
}

void
report_link_up(void)
{
	if (!relay_mode())
		return;
	report_upstream_send();
}

void
report_free(void)
{
	if (report.flush != NULL)
		event_free(report.flush);
	report.flush = NULL;
}
