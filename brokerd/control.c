#include "brokerd/control.h"

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/crypto.h>

#include "brokerd/audit.h"
#include "brokerd/broker.h"
#include "brokerd/dashboard.h"
#include "brokerd/doctor.h"
#include "brokerd/gwlink.h"
#include "brokerd/pairing.h"
#include "brokerd/reply.h"
#include "brokerd/result.h"
#include "brokerd/secret.h"
#include "brokerd/status.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "proto/link.h"
#include "proto/pval.h"

/* gatewayctl sends one command per connection; a few may overlap. */
#define CONTROL_MAX_CLIENTS 16	/* admins at once, and others at once */
#define CONTROL_TIMEOUT_S 10	/* for the command, and for reading its answer */
/* doc/design.md §1: besides root, the members of this group administer clawgate. */
#define CONTROL_ADMIN_GROUP "clawgate-admin"
/* More supplementary groups than this and the peer is judged by its uid and
 * primary group alone. */
#define CONTROL_MAX_PEER_GROUPS 256

struct ctlconn {
	TAILQ_ENTRY(ctlconn) entry;
	struct bufferevent *bev;
	struct ucred cred;		/* the peer, as the kernel saw it connect */
	int admin;			/* root, brokerd's own user or in the admin group */
	int answered;			/* its one command was answered: closing */
	char who[AUDIT_WHO_MAX];	/* "uid N", for the audit log */
};

/* A command's fields: approve, reject and remove name a target, rotate, revoke
 * and rename a device; the other commands have none. */
union ctl_msg {
	struct proto_ctl_target target;
	struct proto_ctl_device device;
};

static struct {
	struct broker *br;
	struct evconnlistener *listener;
	TAILQ_HEAD(, ctlconn) conns;
	size_t nconns;			/* admins' */
	size_t nrefused;		/* others', each waiting to be told no */
	int have_admin_gid;
	gid_t admin_gid;
} ctl;

static void
ctl_unknown_request(struct reply *r, const char *id)
{
	reply_fail(r, "UNKNOWN_REQUEST", "unknown requestId %s (it may have expired after 5 "
	    "minutes): list pending requests with: gatewayctl devices list", id);
}

static void
ctl_unknown_device(struct reply *r, const char *id)
{
	reply_fail(r, "UNKNOWN_DEVICE", "unknown deviceId %s: list paired devices with: "
	    "gatewayctl devices list", id);
}

static void
ctl_list(struct reply *r, const struct pairing_actor *actor, const union ctl_msg *m)
{
	pairing_list_pval(&r->payload, ctl.br->reg, actor, clock_wall_ms());
}

static void
ctl_approve(struct reply *r, const struct pairing_actor *actor, const union ctl_msg *m)
{
	int64_t now = clock_wall_ms();
	struct reg_pending *only;
	struct reg_device *d;
	char id[PROTO_ID_MAX + 1];
	const struct proto_ctl_target *t = &m->target;
	const char *missing;
	size_t n;

	if (t->latest) {
		/* doc/design.md §1: --latest approves in one step only when it is unambiguous. */
		if ((n = pairing_pending_count(ctl.br->reg, now, &only)) != 1) {
			reply_fail(r, "AMBIGUOUS", n == 0 ? "no pairing request is pending: a "
			    "device appears here after it connects with the shared token" :
			    "%zu pairing requests are pending: approve one by id with: gatewayctl "
			    "devices approve <requestId> (see them with: gatewayctl devices list)", n);
			return;
		}
		snprintf(id, sizeof(id), "%s", only->request_id);
	} else {
		snprintf(id, sizeof(id), "%s", t->id);
	}
	switch (pairing_approve(ctl.br->reg, id, actor, REG_VIA_OWNER, now, &d,
	    &missing)) {
	case PAIRING_OK:
		result_approved(&r->payload, id, d);
		return;
	case PAIRING_TOO_MANY_SCOPES:
		reply_fail(r, "TOO_MANY_SCOPES", "approving %s would give the device more than %d "
		    "scopes: reject it and remove the device to pair it afresh", id,
		    PROTO_MAX_SCOPES);
		return;
	default:
		/* The owner is never denied and covers every scope. */
		ctl_unknown_request(r, id);
		return;
	}
}

static void
ctl_reject(struct reply *r, const struct pairing_actor *actor, const union ctl_msg *m)
{
	const struct proto_ctl_target *t = &m->target;
	char device_id[DEVPROOF_ID_LEN + 1];

	if (pairing_reject(ctl.br->reg, t->id, actor, clock_wall_ms(), device_id) !=
	    PAIRING_OK) {
		ctl_unknown_request(r, t->id);
		return;
	}
	result_rejected(&r->payload, t->id, device_id);
}

static void
ctl_remove(struct reply *r, const struct pairing_actor *actor, const union ctl_msg *m)
{
	const struct proto_ctl_target *t = &m->target;

	if (pairing_remove(ctl.br->reg, t->id, actor, clock_wall_ms()) != PAIRING_OK) {
		ctl_unknown_device(r, t->id);
		return;
	}
	result_removed(&r->payload, t->id);
}

/* The refusals rotate, revoke and rename share; the owner is never denied. */
static void
ctl_device_refused(struct reply *r, enum pairing_status st, const struct proto_ctl_device *d)
{
	switch (st) {
	case PAIRING_NO_ROLE:
		reply_fail(r, "UNKNOWN_ROLE", "device %s has no approved \"%s\" role (roles are "
		    "operator and node): see its roles with: gatewayctl devices list",
		    d->device_id, d->role);
		return;
	case PAIRING_LABEL_REQUIRED:
		reply_fail(r, "LABEL_REQUIRED", "the new name is empty: give a name, e.g. "
		    "gatewayctl devices rename %s \"Kitchen laptop\"", d->device_id);
		return;
	case PAIRING_TOO_MANY_SCOPES:
		reply_fail(r, "TOO_MANY_SCOPES", "more than %d scopes: name fewer with --scope",
		    PROTO_MAX_SCOPES);
		return;
	case PAIRING_DENIED:
	case PAIRING_MISSING_SCOPE:
		reply_fail(r, "NOT_APPROVED", "the scopes asked for are not all approved for "
		    "device %s: rotate with its approved scopes (gatewayctl devices list shows "
		    "them), or approve a scope upgrade first", d->device_id);
		return;
	default:
		ctl_unknown_device(r, d->device_id);
		return;
	}
}

static void
ctl_token_rotate(struct reply *r, const struct pairing_actor *actor, const union ctl_msg *m)
{
	const struct proto_ctl_device *d = &m->device;
	struct pairing_rotation rot;
	enum pairing_status st;
	const char *missing;

	st = pairing_token_rotate(ctl.br->reg, d->device_id, d->role,
	    d->has_scopes ? &d->scopes : NULL, actor, clock_wall_ms(), &rot, &missing);
	/* The control socket is bound to no device, so the rotation is never in band:
	 * the device gets its new token when it next connects with the shared token. */
	if (st == PAIRING_OK)
		result_rotated(&r->payload, d->device_id, d->role, &rot);
	else
		ctl_device_refused(r, st, d);
	OPENSSL_cleanse(rot.token, sizeof(rot.token));
}

static void
ctl_token_revoke(struct reply *r, const struct pairing_actor *actor, const union ctl_msg *m)
{
	const struct proto_ctl_device *d = &m->device;
	int64_t now = clock_wall_ms();
	enum pairing_status st;
	const char *missing;

	if ((st = pairing_token_revoke(ctl.br->reg, d->device_id, d->role, actor, now,
	    &missing)) != PAIRING_OK) {
		ctl_device_refused(r, st, d);
		return;
	}
	result_revoked(&r->payload, d->device_id, d->role, now);
}

static void
ctl_rename(struct reply *r, const struct pairing_actor *actor, const union ctl_msg *m)
{
	const struct proto_ctl_device *d = &m->device;
	char label[PROTO_TEXT_MAX + 1];
	enum pairing_status st;

	if ((st = pairing_rename(ctl.br->reg, d->device_id, d->label, actor,
	    clock_wall_ms(), label)) != PAIRING_OK) {
		ctl_device_refused(r, st, d);
		return;
	}
	result_renamed(&r->payload, d->device_id, label);
}

static void
ctl_audit(struct reply *r, const struct pairing_actor *actor, const union ctl_msg *m)
{
	audit_list_pval(&r->payload);
}

/* gatewayctl token rotate (alias token generate): the one way to change the
 * shared token while brokerd runs. */
static void
ctl_token_generate(struct reply *r, const struct pairing_actor *actor, const union ctl_msg *m)
{
	struct broker *br = ctl.br;
	struct config *cfg = br->cfg;
	char token[SECRET_TOKEN_LEN + 1];

	if (cfg->auth_mode != AUTH_MODE_TOKEN) {
		reply_fail(r, "REFUSED", "gateway.auth.mode is \"%s\" in %s: the shared token is not "
		    "used; set gateway.auth.mode to \"token\" to use one",
		    config_auth_mode_name(cfg->auth_mode), cfg->path ? cfg->path : "(defaults)");
		return;
	}
	if (cfg->token_source == SECRET_SOURCE_CONFIG) {
		reply_fail(r, "REFUSED", "the shared token is set by gateway.auth.token in %s: "
		    "change it there and restart brokerd", cfg->path);
		return;
	}
	if (cfg->token_source == SECRET_SOURCE_ENV) {
		reply_fail(r, "REFUSED", "the shared token is set by OPENCLAW_GATEWAY_TOKEN in "
		    "brokerd's environment: change or unset it there and restart brokerd");
		return;
	}
	secret_mint(token);
	if (secret_token_save(br->state_fd, token) < 0) {
		reply_fail(r, "FAILED", "cannot save %s/%s: %s; the old token stays in use",
		    br->state_dir, SECRET_TOKEN_FILE, strerror(errno));
		OPENSSL_cleanse(token, sizeof(token));
		return;
	}
	secret_free(cfg->token);
	cfg->token = xstrdup(token);
	cfg->token_source = SECRET_SOURCE_FILE;
	/* doc/protocol.md §5: sessions that proved the old secret are closed 4001. */
	gwlink_close_shared_secret_sessions(PROTO_CLOSE_AUTH_CHANGED, "gateway auth changed");
	log_info("control: installed a new shared token in %s/%s", br->state_dir,
	    SECRET_TOKEN_FILE);
	audit_record("shared-token-rotate", "", "", "", actor->who, clock_wall_ms());
	pval_obj_begin(&r->payload);
	pval_kv_str(&r->payload, "token", token);
	pval_obj_end(&r->payload);
	OPENSSL_cleanse(token, sizeof(token));
}

/* gatewayctl dashboard: the Control UI's URL with the shared token in force.
 * The token goes only into the answer (wiped after sending), never to the log. */
static void
ctl_dashboard(struct reply *r, const struct pairing_actor *actor, const union ctl_msg *m)
{
	size_t links, sessions;

	gwlink_stats(&links, &sessions);
	dashboard_pval(&r->payload, ctl.br->cfg, links);
	log_info("control: gave the dashboard URL%s to %s", ctl.br->cfg->auth_mode ==
	    AUTH_MODE_TOKEN ? " (with the shared token)" : "", actor->who);
}

/* gatewayctl doctor [--device ID]: the target's id names the device, if any. */
static void
ctl_doctor(struct reply *r, const struct pairing_actor *actor, const union ctl_msg *m)
{
	doctor_pval(&r->payload, ctl.br, m->target.id, clock_wall_ms());
}

static void
ctl_status(struct reply *r, const struct pairing_actor *actor, const union ctl_msg *m)
{
	status_pval(&r->payload, ctl.br, 1);
}

static void
ctl_forbidden(struct reply *r, const struct ucred *cred)
{
	reply_fail(r, "FORBIDDEN", "permission denied: uid %u is neither root nor a member of the "
	    "%s group, which alone may administer clawgate%s: run gatewayctl as root (sudo "
	    "gatewayctl ...), or add the user to the group with: sudo usermod -aG %s <user> "
	    "(then log in again)", (unsigned)cred->uid, CONTROL_ADMIN_GROUP,
	    ctl.have_admin_gid ? "" : " (the group does not exist yet: create it with: "
	    "sudo groupadd --system " CONTROL_ADMIN_GROUP ")", CONTROL_ADMIN_GROUP);
}

/* What a command needs of its peer before it is even decoded. */
/* The command table: a type not in it drops the client. Every command is an
 * admin's: whether the peer is one was settled at accept (ctl_accept). */
static const struct {
	uint16_t type;
	/* Answers into r for actor, who asked (with the owner's rights). */
	void (*fn)(struct reply *r, const struct pairing_actor *actor, const union ctl_msg *m);
} ctl_commands[] = {
	{ PROTO_CTL_LIST,		ctl_list },
	{ PROTO_CTL_APPROVE,		ctl_approve },
	{ PROTO_CTL_REJECT,		ctl_reject },
	{ PROTO_CTL_REMOVE,		ctl_remove },
	{ PROTO_CTL_TOKEN_GENERATE,	ctl_token_generate },
	{ PROTO_CTL_STATUS,		ctl_status },
	{ PROTO_CTL_TOKEN_ROTATE,	ctl_token_rotate },
	{ PROTO_CTL_TOKEN_REVOKE,	ctl_token_revoke },
	{ PROTO_CTL_RENAME,		ctl_rename },
	{ PROTO_CTL_AUDIT,		ctl_audit },
	{ PROTO_CTL_DASHBOARD,		ctl_dashboard },
	{ PROTO_CTL_DOCTOR,		ctl_doctor },
};

static void
ctlconn_free(struct ctlconn *cc)
{
	bufferevent_free(cc->bev);
	TAILQ_REMOVE(&ctl.conns, cc, entry);
	if (cc->admin)
		ctl.nconns--;
	else
		ctl.nrefused--;
	free(cc);
}

/* Sends the answer and wipes it: it may hold the shared token (token rotate,
 * dashboard). */
static void
ctl_answer(struct ctlconn *cc, uint32_t id, struct reply *r)
{
	struct proto_ctl_result res;

	memset(&res, 0, sizeof(res));
	reply_seal(r, &res.ok, &res.payload, &res.error);
	proto_link_send(cc->bev, PROTO_CTL_RESULT, id, &res);
	reply_free(r);
}

/* A proto_link_frame_cb: non-zero drops the client (an unknown or malformed
 * command). */
static int
ctl_frame(void *arg, const struct proto_hdr *hdr, const uint8_t *payload)
{
	struct ctlconn *cc = arg;
	union ctl_msg m;
	struct pairing_actor actor;
	struct reply r;
	size_t i, n = sizeof(ctl_commands) / sizeof(ctl_commands[0]);

	/* One command per connection, as gatewayctl sends: what follows the
	 * first is never read, so no client queues answers without reading. */
	if (cc->answered)
		return 0;
	for (i = 0; i < n && ctl_commands[i].type != hdr->type; i++)
		;
	if (i == n) {
		log_warnx("control: unknown command %s (0x%04x): dropping the client",
		    proto_type_name(hdr->type), hdr->type);
		return 1;
	}
	cc->answered = 1;
	if (!cc->admin) {
		log_warnx("control: refused %s from uid %u (pid %d): not root, not brokerd's "
		    "user, not in the %s group", proto_type_name(hdr->type),
		    (unsigned)cc->cred.uid, (int)cc->cred.pid, CONTROL_ADMIN_GROUP);
		reply_init(&r);
		ctl_forbidden(&r, &cc->cred);
		ctl_answer(cc, hdr->id, &r);
		return 0;
	}
	/* Commands without fields leave m alone: it reads as empty. */
	memset(&m, 0, sizeof(m));
	if (proto_decode(hdr->type, payload, hdr->len, &m, sizeof(m)) < 0) {
		log_warnx("control: malformed %s (%u bytes): dropping the client",
		    proto_type_name(hdr->type), hdr->len);
		return 1;
	}
	reply_init(&r);
	actor = pairing_owner;
	actor.who = cc->who;
	ctl_commands[i].fn(&r, &actor, &m);
	ctl_answer(cc, hdr->id, &r);
	return 0;
}

/* Once the answer is out, the connection ends. */
static void
ctl_written(struct bufferevent *bev, void *arg)
{
	struct ctlconn *cc = arg;

	if (cc->answered && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		ctlconn_free(cc);
}

static void
ctl_read(struct bufferevent *bev, void *arg)
{
	struct ctlconn *cc = arg;

	if (proto_link_read(bufferevent_get_input(bev), PROTO_MAX_REQUEST, ctl_frame, cc) != 0) {
		ctlconn_free(cc);
		return;
	}
	if (cc->answered) {
		bufferevent_disable(bev, EV_READ);
		ctl_written(bev, cc);
	}
}

static void
ctl_event(struct bufferevent *bev, short what, void *arg)
{
	struct ctlconn *cc = arg;

	if (what & BEV_EVENT_TIMEOUT)
		log_info("control: uid %u (pid %d) %s within %d s: dropped", (unsigned)cc->cred.uid,
		    (int)cc->cred.pid, cc->answered ? "did not read its answer" :
		    "sent no command", CONTROL_TIMEOUT_S);
	ctlconn_free(cc);
}

/*
 * doc/design.md §1: root, the admin group, and brokerd's own user (an unprivileged
 * brokerd, as ./quickstart runs it, is administered by whoever runs it). The
 * credentials are the kernel's, taken when the client connected, not anything
 * the client says; the socket's mode is only a first gate.
 */
static int
ctl_peer_is_admin(int fd, const struct ucred *cred)
{
	gid_t groups[CONTROL_MAX_PEER_GROUPS];
	socklen_t len = sizeof(groups);

	if (cred->uid == 0 || cred->uid == geteuid())
		return 1;
	if (!ctl.have_admin_gid)
		return 0;
	if (cred->gid == ctl.admin_gid)
		return 1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
		log_warn("control: cannot read the groups of uid %u", (unsigned)cred->uid);
		return 0;
	}
	for (size_t i = 0; i < len / sizeof(groups[0]); i++)
		if (groups[i] == ctl.admin_gid)
			return 1;
	return 0;
}

static void
ctl_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct ctlconn *cc;
	struct ucred cred;
	socklen_t len = sizeof(cred);

	struct timeval timeout = { CONTROL_TIMEOUT_S, 0 };
	int admin;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn("control: cannot read a client's credentials; dropping it");
		close(fd);
		return;
	}
	/* Who may administer is settled here: others get their refusal (with the
	 * fix) to their first command and hold none of the admins' places. */
	admin = ctl_peer_is_admin(fd, &cred);
	if (admin ? ctl.nconns >= CONTROL_MAX_CLIENTS : ctl.nrefused >= CONTROL_MAX_CLIENTS) {
		log_warnx("control: %d %s are connected, the limit: refusing uid %u (pid %d)",
		    CONTROL_MAX_CLIENTS, admin ? "admins" : "clients that may not administer",
		    (unsigned)cred.uid, (int)cred.pid);
		close(fd);
		return;
	}
	cc = xcalloc(1, sizeof(*cc));
	cc->cred = cred;
	cc->admin = admin;
	snprintf(cc->who, sizeof(cc->who), "uid %u", (unsigned)cred.uid);
	cc->bev = bufferevent_socket_new(evconnlistener_get_base(lis), fd, BEV_OPT_CLOSE_ON_FREE);
	if (cc->bev == NULL)
		fatalx("control: cannot allocate a bufferevent");
	TAILQ_INSERT_TAIL(&ctl.conns, cc, entry);
	if (admin)
		ctl.nconns++;
	else
		ctl.nrefused++;
	bufferevent_setcb(cc->bev, ctl_read, ctl_written, ctl_event, cc);
	/* A command within the timeout, and its answer read within it. */
	bufferevent_set_timeouts(cc->bev, &timeout, &timeout);
	bufferevent_enable(cc->bev, EV_READ);
}

void
control_init(struct event_base *base, int listen_fd, struct broker *br)
{
	struct group *gr;

	ctl.br = br;
	/* Looked up now: the sandbox lets brokerd read no file later. */
	if ((gr = getgrnam(CONTROL_ADMIN_GROUP)) != NULL) {
		ctl.have_admin_gid = 1;
		ctl.admin_gid = gr->gr_gid;
	}
	TAILQ_INIT(&ctl.conns);
	ctl.listener = evconnlistener_new(base, ctl_accept, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, listen_fd);
	if (ctl.listener == NULL)
		fatalx("control: cannot set up the listener");
}

void
control_shutdown(void)
{
	struct ctlconn *cc;

	while ((cc = TAILQ_FIRST(&ctl.conns)) != NULL)
		ctlconn_free(cc);
	evconnlistener_free(ctl.listener);
}
