/*
 * Fuzz target: what gatewayd reads from the relay's upstream (or, for the
 * peek and the connect it strips, from a client): the upgrade answer
 * (upgrade_parse) and the frame looks of jsonedit.c. Besides crashes it checks
 * what the relay relies on: an accepted head lies within the input and the cap
 * and switched protocols, a refusal names its problem, an edited frame is
 * again one JSON object, and the peek's one scan reads what yajl's full parse
 * reads.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
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

static int
fuzz_peek_same(const struct jsonedit_peek *a, const struct jsonedit_peek *b)
{
	return strcmp(a->type, b->type) == 0 && strcmp(a->name, b->name) == 0 &&
	    strcmp(a->id, b->id) == 0 && a->ok == b->ok;
}

/* The input with what jsonedit_peek may overlook inside strings mended:
 * escapes made valid (\\ for a bad one), control characters made spaces and
 * other bytes from 0x80 made 'a'. Backslashes occur only inside strings of a
 * frame jsonedit_peek accepts, so pairing them from the start pairs them as
 * within each string; and the mending keeps every string's end where it was. */
static uint8_t *
fuzz_mend(const uint8_t *data, size_t size)
{
	uint8_t *m = malloc(size);
	size_t i, k;

	if (m == NULL)
		abort();
	memcpy(m, data, size);
	for (i = 0; i < size; i++) {
		if (m[i] < 0x20)
			m[i] = ' ';
		else if (m[i] >= 0x80)
			m[i] = 'a';
		else if (m[i] == '\\' && i + 1 < size) {
			i++;
			if (m[i] == 'u') {
				for (k = 1; k <= 4 && i + k < size && isxdigit(m[i + k]); k++)
					;
				if (k <= 4)
					m[i] = '\\';
				else
					i += 4;
			} else if (strchr("\"\\/bfnrt", m[i]) == NULL || m[i] == '\0')
				m[i] = '\\';
		}
	}
	return m;
}

/* Differential: the one scan against yajl's full parse. */
static void
fuzz_peek(const uint8_t *data, size_t size)
{
	struct jsonedit_peek fast, full, mended;
	int r = jsonedit_peek(data, size, &fast);
	uint8_t *m;

	if (strlen(fast.type) >= sizeof(fast.type) || strlen(fast.name) > JSONEDIT_NAME_MAX ||
	    strlen(fast.id) > JSONEDIT_NAME_MAX)
		abort();
	if (jsonedit_peek_full(data, size, &full) == 0) {
		if (r != 0 || !fuzz_peek_same(&fast, &full))
			abort();
		return;
	}
	if (r != 0) {
		if (!fuzz_peek_same(&fast, &full))
			abort();
		return;
	}
	/* Accepted by the scan alone: its faults were all inside strings it
	 * passed over, so yajl accepts the mended frame and reads the same. */
	m = fuzz_mend(data, size);
	if (jsonedit_peek_full(m, size, &mended) != 0 || !fuzz_peek_same(&fast, &mended)) {
		fprintf(stderr, "accepted by the scan alone, not mended by fuzz_mend\n");
		abort();
	}
	free(m);
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
	fuzz_peek(data, size);
	fuzz_edit(data, size);
	return 0;
}
