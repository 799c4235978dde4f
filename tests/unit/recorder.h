/*
 * A recording struct pairing_effects (brokerd/pairing.h) for unit tests: it keeps
 * every event published (its device, name, audience and payload as JSON) and every close
 * of a device's sessions, and answers device_connected for the one device the
 * test says is connected. Tests assert on what was recorded; recorder_reset
 * forgets it.
 */
#ifndef CLAWGATE_RECORDER_H
#define CLAWGATE_RECORDER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brokerd/pairing.h"
#include "proto/pval.h"

#define RECORDER_MAX 64

struct recorder_event {
	enum proto_audience audience;
	char device_id[DEVPROOF_ID_LEN + 1];
	char name[PROTO_NAME_MAX + 1];
	char json[1024];
};

struct recorder_close {
	char device_id[DEVPROOF_ID_LEN + 1];
	unsigned roles;
	const struct ticket_session *except;
	uint16_t code;
	char reason[PROTO_REASON_MAX + 1];
};

static struct {
	struct recorder_event events[RECORDER_MAX];
	size_t nevents;
	struct recorder_close closes[RECORDER_MAX];
	size_t ncloses;
	char connected[DEVPROOF_ID_LEN + 1];	/* "" : none */
} recorder;

static inline void
recorder_publish(enum proto_audience audience, const char *device_id, const char *event,
    const struct pbuf *payload)
{
	struct recorder_event *e;
	char *json;

	if (recorder.nevents == RECORDER_MAX)
		abort();
	e = &recorder.events[recorder.nevents++];
	e->audience = audience;
	snprintf(e->device_id, sizeof(e->device_id), "%s", device_id);
	snprintf(e->name, sizeof(e->name), "%s", event);
	json = pval_to_json_string(payload->data, payload->len, 0);
	snprintf(e->json, sizeof(e->json), "%s", json != NULL ? json : "(not a pval)");
	free(json);
}

static inline void
recorder_close_device(const char *device_id, unsigned roles, const struct ticket_session *except,
    uint16_t code, const char *reason)
{
	struct recorder_close *c;

	if (recorder.ncloses == RECORDER_MAX)
		abort();
	c = &recorder.closes[recorder.ncloses++];
	snprintf(c->device_id, sizeof(c->device_id), "%s", device_id);
	c->roles = roles;
	c->except = except;
	c->code = code;
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
}

static inline int
recorder_device_connected(const char *device_id)
{
	return strcmp(recorder.connected, device_id) == 0;
}

static inline void
recorder_reset(void)
{
	memset(&recorder, 0, sizeof(recorder));
}

static const struct pairing_effects recorder_effects = {
	.publish = recorder_publish,
	.close_device = recorder_close_device,
	.device_connected = recorder_device_connected,
};

#endif
