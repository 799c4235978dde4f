#include "brokerd/sessions.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "brokerd/role.h"
#include "brokerd/scopes.h"
#include "common/htab.h"
#include "common/xmalloc.h"

/* A device role's epochs: the one its current tickets carry (0: none; the next
 * session accepted starts one), and the session a close spared (spared_epoch 0:
 * none). */
struct sessions_epochs {
	uint64_t epoch;
	uint64_t spared_epoch;
	uint64_t spared_link;
	uint64_t spared_conn;
};

/* A device's epochs, while any is set. */
struct sessions_dev {
	struct htab_node node;		/* in book.devs, keyed by device id */
	TAILQ_ENTRY(sessions_dev) entry;	/* book.devlist */
	char device_id[DEVPROOF_ID_LEN + 1];
	struct sessions_epochs roles[ROLE_COUNT];
};

/*
 * The live, current sessions of one device on one link, per role and per
 * whether they came with the shared secret. A count goes up on accept, down when
 * gatewayd reports a session with a current ticket closed, and to what remains
 * current when the broker closes sessions (a stale ticket's close then counts
 * nothing). Freed once it counts nothing.
 */
struct sessions_live {
	struct htab_node node;		/* in sessions_link.live, keyed by device id */
	TAILQ_ENTRY(sessions_live) entry;	/* sessions_link.lives */
	char device_id[DEVPROOF_ID_LEN + 1];
	uint32_t n[ROLE_COUNT][2];	/* [role][shared_auth] */
};

struct sessions_link {
	TAILQ_ENTRY(sessions_link) entry;	/* book.links */
	uint64_t serial;
	size_t count;			/* accepted and not reported closed */
	struct htab live;
	TAILQ_HEAD(, sessions_live) lives;
};

static struct {
	TAILQ_HEAD(, sessions_link) links;
	struct htab devs;
	TAILQ_HEAD(, sessions_dev) devlist;
	uint64_t serials;		/* the last link serial handed out */
	uint64_t epochs;		/* the last epoch handed out */
	uint64_t shared_epoch;		/* what shared-secret tickets must carry */
} book;

/* ---- device epochs ---- */

static int
sessions_dev_match(const struct htab_node *n, const void *key)
{
	return strcmp(((const struct sessions_dev *)n)->device_id, key) == 0;
}

static struct sessions_dev *
sessions_dev_find(const char *device_id)
{
	return (struct sessions_dev *)htab_lookup(&book.devs, htab_hash_str(device_id),
	    sessions_dev_match, device_id);
}

static void
sessions_dev_free(struct sessions_dev *d)
{
	htab_remove(&book.devs, &d->node);
	TAILQ_REMOVE(&book.devlist, d, entry);
	free(d);
}

/* Frees the entry once it holds no epoch. */
static void
sessions_dev_tidy(struct sessions_dev *d)
{
	for (int r = 0; r < ROLE_COUNT; r++)
		if (d->roles[r].epoch != 0 || d->roles[r].spared_epoch != 0)
			return;
	sessions_dev_free(d);
}

/* The epoch of a device's role that tickets issued now carry. */
static uint64_t
sessions_epoch(const char *device_id, enum role role)
{
	struct sessions_dev *d = sessions_dev_find(device_id);

	if (d == NULL) {
		d = xcalloc(1, sizeof(*d));
		memcpy(d->device_id, device_id, sizeof(d->device_id));
		htab_insert(&book.devs, &d->node, htab_hash_str(d->device_id));
		TAILQ_INSERT_TAIL(&book.devlist, d, entry);
	}
	if (d->roles[role].epoch == 0)
		d->roles[role].epoch = ++book.epochs;
	return d->roles[role].epoch;
}

/* Ends a role's epoch: no ticket of it is current any more but spare's, which
 * keeps its epoch as the spared one. The next session accepted starts a new
 * epoch. */
static void
sessions_epoch_close(struct sessions_epochs *e, const struct ticket_session *spare)
{
	if (spare == NULL) {
		e->spared_epoch = 0;
	} else if (spare->device_epoch == e->epoch) {
		e->spared_epoch = e->epoch;
		e->spared_link = spare->link;
		e->spared_conn = spare->conn;
	}
	/* else spare is already the spared session and stays so. */
	e->epoch = 0;
}

/* Whether an opened ticket is still current: neither its device's role (unless
 * it is the session a close spared) nor, for a shared-secret session, the shared
 * secret closed since it was issued. */
static int
sessions_current(const struct ticket_session *s)
{
	const struct sessions_dev *d;
	const struct sessions_epochs *e;

	if (s->shared_auth && s->shared_epoch != book.shared_epoch)
		return 0;
	if (s->device_id[0] == '\0')
		return 1;
	if ((d = sessions_dev_find(s->device_id)) == NULL)
		return 0;
	e = &d->roles[s->role];
	return s->device_epoch == e->epoch || (s->device_epoch == e->spared_epoch &&
	    s->link == e->spared_link && s->conn == e->spared_conn);
}

/* ---- live counts per link ---- */

static int
sessions_live_match(const struct htab_node *n, const void *key)
{
	return strcmp(((const struct sessions_live *)n)->device_id, key) == 0;
}

static struct sessions_live *
sessions_live_find(const struct sessions_link *bl, const char *device_id)
{
	return (struct sessions_live *)htab_lookup(&bl->live, htab_hash_str(device_id),
	    sessions_live_match, device_id);
}

static void
sessions_live_free(struct sessions_link *bl, struct sessions_live *lv)
{
	htab_remove(&bl->live, &lv->node);
	TAILQ_REMOVE(&bl->lives, lv, entry);
	free(lv);
}

/* Frees the entry once it counts nothing. */
static void
sessions_live_tidy(struct sessions_link *bl, struct sessions_live *lv)
{
	for (int r = 0; r < ROLE_COUNT; r++)
		if (lv->n[r][0] != 0 || lv->n[r][1] != 0)
			return;
	sessions_live_free(bl, lv);
}

static void
sessions_live_add(struct sessions_link *bl, const struct ticket_session *s)
{
	struct sessions_live *lv = sessions_live_find(bl, s->device_id);

	if (lv == NULL) {
		lv = xcalloc(1, sizeof(*lv));
		memcpy(lv->device_id, s->device_id, sizeof(lv->device_id));
		htab_insert(&bl->live, &lv->node, htab_hash_str(lv->device_id));
		TAILQ_INSERT_TAIL(&bl->lives, lv, entry);
	}
	lv->n[s->role][s->shared_auth]++;
}

/* A hostile gateway's second close of the same session finds the count at zero
 * at worst. */
static void
sessions_live_sub(struct sessions_link *bl, const struct ticket_session *s)
{
	struct sessions_live *lv = sessions_live_find(bl, s->device_id);

	if (lv == NULL)
		return;
	if (lv->n[s->role][s->shared_auth] > 0)
		lv->n[s->role][s->shared_auth]--;
	sessions_live_tidy(bl, lv);
}

/* ---- the module's interface ---- */

void
sessions_init(void)
{
	TAILQ_INIT(&book.links);
	htab_init(&book.devs);
	TAILQ_INIT(&book.devlist);
	book.shared_epoch = ++book.epochs;
}

/* After every link's page has been freed. */
void
sessions_shutdown(void)
{
	struct sessions_dev *d;

	while ((d = TAILQ_FIRST(&book.devlist)) != NULL)
		sessions_dev_free(d);
	htab_free(&book.devs);
}

struct sessions_link *
sessions_link_new(void)
{
	struct sessions_link *bl = xcalloc(1, sizeof(*bl));

	bl->serial = ++book.serials;
	htab_init(&bl->live);
	TAILQ_INIT(&bl->lives);
	TAILQ_INSERT_TAIL(&book.links, bl, entry);
	return bl;
}

void
sessions_link_free(struct sessions_link *bl)
{
	struct sessions_live *lv;

	while ((lv = TAILQ_FIRST(&bl->lives)) != NULL)
		sessions_live_free(bl, lv);
	htab_free(&bl->live);
	TAILQ_REMOVE(&book.links, bl, entry);
	free(bl);
}

uint64_t
sessions_link_serial(const struct sessions_link *bl)
{
	return bl->serial;
}

size_t
sessions_link_count(const struct sessions_link *bl)
{
	return bl->count;
}

void
sessions_accept(struct sessions_link *bl, struct proto_accept *ac)
{
	struct ticket_session s;

	memset(&s, 0, sizeof(s));
	s.link = bl->serial;
	s.conn = ac->conn;
	s.role = (enum role)role_parse(ac->role);
	/* The broker authorises only operator methods: other roles hold none. */
	s.scope_mask = s.role == ROLE_OPERATOR ? scopes_mask(&ac->scopes) : 0;
	memcpy(s.device_id, ac->device_id, sizeof(s.device_id));
	s.shared_auth = strcmp(ac->method, "token") == 0 || strcmp(ac->method, "password") == 0;
	s.shared_epoch = book.shared_epoch;
	if (s.device_id[0] != '\0') {
		s.device_epoch = sessions_epoch(s.device_id, s.role);
		sessions_live_add(bl, &s);
	}
	ticket_seal(&s, ac->ticket);
	bl->count++;
}

/*
 * The broker remembers no session, so a ticket stays good after its
 * GW_SESSION_CLOSED; a compromised gatewayd gains nothing by that, as it could
 * always leave a session unreported instead.
 */
int
sessions_open(const struct sessions_link *bl, uint64_t conn,
    const uint8_t ticket[PROTO_TICKET_LEN], struct ticket_session *s)
{
	if (ticket_open(ticket, bl->serial, conn, s) < 0)
		return -1;
	s->closing = !sessions_current(s);
	return 0;
}

void
sessions_end(struct sessions_link *bl, const struct ticket_session *s)
{
	if (bl->count > 0)
		bl->count--;
	if (!s->closing && s->device_id[0] != '\0')
		sessions_live_sub(bl, s);
}

void
sessions_close_device(const char *device_id, unsigned roles, const struct ticket_session *except)
{
	struct sessions_dev *d = sessions_dev_find(device_id);
	struct sessions_link *bl;
	struct sessions_live *lv;
	const struct ticket_session *spare;

	for (int r = 0; r < ROLE_COUNT; r++) {
		if (!(roles & ROLE_BIT(r)))
			continue;
		spare = except != NULL && !except->closing && except->role == (enum role)r &&
		    strcmp(except->device_id, device_id) == 0 ? except : NULL;
		/* Without epochs the device has no current ticket to end. */
		if (d != NULL)
			sessions_epoch_close(&d->roles[r], spare);
		TAILQ_FOREACH(bl, &book.links, entry) {
			if ((lv = sessions_live_find(bl, device_id)) == NULL)
				continue;
			lv->n[r][0] = lv->n[r][1] = 0;
			if (spare != NULL && spare->link == bl->serial)
				lv->n[r][spare->shared_auth] = 1;
			sessions_live_tidy(bl, lv);
		}
	}
	if (d != NULL)
		sessions_dev_tidy(d);
}

void
sessions_close_shared(void)
{
	struct sessions_link *bl;
	struct sessions_live *lv, *next;

	book.shared_epoch = ++book.epochs;
	TAILQ_FOREACH(bl, &book.links, entry) {
		for (lv = TAILQ_FIRST(&bl->lives); lv != NULL; lv = next) {
			next = TAILQ_NEXT(lv, entry);
			for (int r = 0; r < ROLE_COUNT; r++)
				lv->n[r][1] = 0;
			sessions_live_tidy(bl, lv);
		}
	}
}

int
sessions_device_connected(const char *device_id)
{
	struct sessions_link *bl;

	TAILQ_FOREACH(bl, &book.links, entry)
		if (sessions_live_find(bl, device_id) != NULL)
			return 1;
	return 0;
}
