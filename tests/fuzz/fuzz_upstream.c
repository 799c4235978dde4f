/*
 * Fuzz target: what gatewayd reads from the relay's upstream (or, for the
 * peek and the connect it strips, from a client): the upgrade answer
 * (upgrade_parse) and the frame looks of jsonedit.c. Besides crashes it checks
 * what the relay relies on: an accepted head lies within the input and the cap
 * and switched protocols, a refusal names its problem, and an edited frame is
 * again one JSON object.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gatewayd/jsonedit.h"
#include "gatewayd/upgrade.h"

/* The Sec-WebSocket-Accept of RFC 6455 §1.3's key, which the seeds carry. */
#define FUZZ_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_upgrade(const uint8_t *data, size_t size)
{
	struct upgrade_response r;

	switch (upgrade_parse(data, size, FUZZ_ACCEPT, &r)) {
	case UPGRADE_OK:
		if (r.head_len < 4 || r.head_len > size || r.head_len > UPGRADE_HEAD_MAX ||
		    r.status != 101)
			abort();
		break;
	case UPGRADE_ERROR:
		if (r.problem == NULL)
			abort();
		break;
	case UPGRADE_MORE:
		if (size >= UPGRADE_HEAD_MAX)
			abort();
		break;
	}
}

static void
fuzz_edit(const uint8_t *data, size_t size)
{
	static const struct jsonedit_edit strip[] = { { "device", NULL, 0 }, { "auth", NULL, 0 } };
	static const char auth[] = "{\"method\":\"token\",\"scopes\":[]}";
	static const struct jsonedit_edit put = { "auth", (const uint8_t *)auth, sizeof(auth) - 1 };
	static struct pbuf out;
	struct jsonedit_peek p, again;

	if (jsonedit_peek(data, size, &p) == 0 && (strlen(p.type) >= sizeof(p.type) ||
	    strlen(p.name) > JSONEDIT_NAME_MAX))
		abort();
	pbuf_reset(&out);
	if (jsonedit_apply(data, size, "params", strip, 2, &out) == 0 &&
	    jsonedit_peek(out.data, out.len, &again) < 0)
		abort();
	pbuf_reset(&out);
	if (jsonedit_apply(data, size, "payload", &put, 1, &out) == 0 &&
	    jsonedit_peek(out.data, out.len, &again) < 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_upgrade(data, size);
	fuzz_edit(data, size);
	return 0;
}
