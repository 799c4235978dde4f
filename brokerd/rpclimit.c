#include "brokerd/rpclimit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/lrutab.h"
#include "common/xmalloc.h"

/* Units are kept in thousandths, so that refilling is exact integer math. */
#define RPCLIMIT_UNIT 1000

struct rpclimit_bucket {
	int64_t milli;		/* units held, in thousandths */
	int64_t at_ms;		/* when milli was last brought up to date */
};

struct rpclimit {
	struct lrutab buckets;	/* "device:<id>" and "link:<serial>" */
};

struct rpclimit *
rpclimit_new(void)
{
	struct rpclimit *rl = xcalloc(1, sizeof(*rl));

	lrutab_init(&rl->buckets, RPCLIMIT_MAX_KEYS, sizeof(struct rpclimit_bucket));
	return rl;
}

void
rpclimit_free(struct rpclimit *rl)
{
	if (rl == NULL)
		return;
	lrutab_free(&rl->buckets);
	free(rl);
}

/* key's bucket, refilled up to now; a new one starts full. */
static struct rpclimit_bucket *
rpclimit_bucket(struct rpclimit *rl, const char *key, int burst, int every_ms, int64_t now)
{
	struct rpclimit_bucket *b;
	int created;

	b = lrutab_touch(&rl->buckets, key, &created);
	if (created || now < b->at_ms) {
		b->milli = (int64_t)burst * RPCLIMIT_UNIT;
		b->at_ms = now;
		return b;
	}
	b->milli += (now - b->at_ms) * RPCLIMIT_UNIT / every_ms;
	if (b->milli > (int64_t)burst * RPCLIMIT_UNIT)
		b->milli = (int64_t)burst * RPCLIMIT_UNIT;
	b->at_ms = now;
	return b;
}

/* How long until b holds a whole unit. */
static int64_t
rpclimit_wait(const struct rpclimit_bucket *b, int every_ms)
{
	int64_t missing = RPCLIMIT_UNIT - b->milli;

	return (missing * every_ms + RPCLIMIT_UNIT - 1) / RPCLIMIT_UNIT;
}

enum rpclimit_which
rpclimit_take(struct rpclimit *rl, const char *device_id, uint64_t link, int64_t now_mono_ms,
    int64_t *retry_after_ms)
{
	char key[160];
	struct rpclimit_bucket *dev = NULL, *lnk;

	if (device_id[0] != '\0') {
		snprintf(key, sizeof(key), "device:%s", device_id);
		dev = rpclimit_bucket(rl, key, RPCLIMIT_DEVICE_BURST, RPCLIMIT_DEVICE_EVERY_MS,
		    now_mono_ms);
		if (dev->milli < RPCLIMIT_UNIT) {
			*retry_after_ms = rpclimit_wait(dev, RPCLIMIT_DEVICE_EVERY_MS);
			return RPCLIMIT_DEVICE;
		}
	}
	snprintf(key, sizeof(key), "link:%" PRIu64, link);
	lnk = rpclimit_bucket(rl, key, RPCLIMIT_LINK_BURST, RPCLIMIT_LINK_EVERY_MS, now_mono_ms);
	if (lnk->milli < RPCLIMIT_UNIT) {
		*retry_after_ms = rpclimit_wait(lnk, RPCLIMIT_LINK_EVERY_MS);
		return RPCLIMIT_LINK;
	}
	/* Making the link's bucket forgot at most the least recently used one, never
	 * the device's, just used: dev still points at it. */
	if (dev != NULL)
		dev->milli -= RPCLIMIT_UNIT;
	lnk->milli -= RPCLIMIT_UNIT;
	return RPCLIMIT_OK;
}
