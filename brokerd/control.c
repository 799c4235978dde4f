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

#include "brokerd/broker.h"
#include "brokerd/gwlink.h"
#include "brokerd/pairing.h"
#include "brokerd/secret.h"
#include "brokerd/status.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "proto/link.h"
#include "proto/pval.h"

/* gatewayctl sends one command per connection; a few may overlap. */
#define CONTROL_MAX_CLIENTS 16
/* DESIGN.md §1: besides root, the members of this group administer clawgate. */
#define CONTROL_ADMIN_GROUP "clawgate-admin"
/* More supplementary groups than this and the peer is judged by its uid and
 * primary group alone. */
#define CONTROL_MAX_PEER_GROUPS 256

struct ctlconn {
	TAILQ_ENTRY(ctlconn) entry;
	struct bufferevent *bev;
	struct ucred cred;		/* the peer, as the kernel saw it connect */
	int admin;			/* root, brokerd's own user or in the admin group */
};

static struct {
	struct broker *br;
	struct evconnlistener *listener;
	TAILQ_HEAD(, ctlconn) conns;
	size_t nconns;
	int have_admin_gid;
	gid_t admin_gid;
} ctl;

/* A command's answer under construction. */
struct ctl_reply {
	struct proto_ctl_result res;
	struct pbuf payload;
};

#define ctl_fail(r, code, ...) \
	((r)->res.ok = 0, proto_error_set(&(r)->res.error, code, __VA_ARGS__))

static void
ctl_unknown_request(struct ctl_reply *r, const char *id)
{
	ctl_fail(r, "UNKNOWN_REQUEST", "unknown requestId %s (it may have expired after 5 "
	    "minutes): list pending requests with: gatewayctl devices list", id);
}

static void
ctl_list(struct ctl_reply *r, const struct proto_ctl_target *t)
{
	pairing_list_pval(&r->payload, ctl.br->reg, &pairing_owner, clock_wall_ms());
}

static void
ctl_approve(struct ctl_reply *r, const struct proto_ctl_target *t)
{
	int64_t now = clock_wall_ms();
	struct reg_pending *only;
	struct reg_device *d;
	char id[PROTO_ID_MAX + 1];
	const char *missing;
	size_t n;

	if (t->latest) {
		/* DESIGN.md §1: --latest approves in one step only when it is unambiguous. */
		if ((n = pairing_pending_count(ctl.br->reg, now, &only)) != 1) {
			ctl_fail(r, "AMBIGUOUS", n == 0 ? "no pairing request is pending: a "
			    "device appears here after it connects with the shared token" :
			    "%zu pairing requests are pending: approve one by id with: gatewayctl "
			    "devices approve <requestId> (see them with: gatewayctl devices list)", n);
			return;
		}
		snprintf(id, sizeof(id), "%s", only->request_id);
	} else {
		snprintf(id, sizeof(id), "%s", t->id);
	}
	switch (pairing_approve(ctl.br->reg, id, &pairing_owner, REG_VIA_OWNER, now, &d,
	    &missing)) {
	case PAIRING_OK:
		pval_obj_begin(&r->payload);
		pval_kv_str(&r->payload, "requestId", id);
		pval_key(&r->payload, "device");
		registry_device_pval(&r->payload, d, REG_PV_PUBLIC, 0);
		pval_obj_end(&r->payload);
		return;
	case PAIRING_TOO_MANY_SCOPES:
		ctl_fail(r, "TOO_MANY_SCOPES", "approving %s would give the device more than %d "
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
ctl_reject(struct ctl_reply *r, const struct proto_ctl_target *t)
{
	char device_id[DEVPROOF_ID_LEN + 1];

	if (pairing_reject(ctl.br->reg, t->id, &pairing_owner, clock_wall_ms(), device_id) !=
	    PAIRING_OK) {
		ctl_unknown_request(r, t->id);
		return;
	}
	pval_obj_begin(&r->payload);
	pval_kv_str(&r->payload, "requestId", t->id);
	pval_kv_str(&r->payload, "deviceId", device_id);
	pval_obj_end(&r->payload);
}

static void
ctl_remove(struct ctl_reply *r, const struct proto_ctl_target *t)
{
	if (pairing_remove(ctl.br->reg, t->id, &pairing_owner, clock_wall_ms()) != PAIRING_OK) {
		ctl_fail(r, "UNKNOWN_DEVICE", "unknown deviceId %s: list paired devices with: "
		    "gatewayctl devices list", t->id);
		return;
	}
	pval_obj_begin(&r->payload);
	pval_kv_str(&r->payload, "deviceId", t->id);
	pval_obj_end(&r->payload);
}

static void
ctl_token_generate(struct ctl_reply *r, const struct proto_ctl_target *t)
{
	struct broker *br = ctl.br;
	struct config *cfg = br->cfg;
	char token[SECRET_TOKEN_LEN + 1];

	if (cfg->auth_mode != AUTH_MODE_TOKEN) {
		ctl_fail(r, "REFUSED", "gateway.auth.mode is \"%s\" in %s: the shared token is not "
		    "used; set gateway.auth.mode to \"token\" to use one",
		    config_auth_mode_name(cfg->auth_mode), cfg->path ? cfg->path : "(defaults)");
		return;
	}
	if (cfg->token_source == SECRET_SOURCE_CONFIG) {
		ctl_fail(r, "REFUSED", "the shared token is set by gateway.auth.token in %s: "
		    "change it there and restart brokerd", cfg->path);
		return;
	}
	if (cfg->token_source == SECRET_SOURCE_ENV) {
		ctl_fail(r, "REFUSED", "the shared token is set by OPENCLAW_GATEWAY_TOKEN in "
		    "brokerd's environment: change or unset it there and restart brokerd");
		return;
	}
	secret_mint(token);
	if (secret_token_save(br->state_fd, token) < 0) {
		ctl_fail(r, "FAILED", "cannot save %s/%s: %s; the old token stays in use",
		    br->state_dir, SECRET_TOKEN_FILE, strerror(errno));
		OPENSSL_cleanse(token, sizeof(token));
		return;
	}
	secret_free(cfg->token);
	cfg->token = xstrdup(token);
	cfg->token_source = SECRET_SOURCE_FILE;
	/* PROTOCOL.md §5: sessions that proved the old secret are closed 4001. */
	gwlink_close_shared_secret_sessions(4001, "gateway auth changed");
	log_info("control: installed a new shared token in %s/%s", br->state_dir,
	    SECRET_TOKEN_FILE);
	pval_obj_begin(&r->payload);
	pval_kv_str(&r->payload, "token", token);
	pval_obj_end(&r->payload);
	OPENSSL_cleanse(token, sizeof(token));
}

static void
ctl_status(struct ctl_reply *r, const struct proto_ctl_target *t)
{
	status_pval(&r->payload, ctl.br, 1);
}

static void
ctl_forbidden(struct ctl_reply *r, const struct ucred *cred)
{
	ctl_fail(r, "FORBIDDEN", "permission denied: uid %u is neither root nor a member of the "
	    "%s group, which alone may administer clawgate%s: run gatewayctl as root (sudo "
	    "gatewayctl ...), or add the user to the group with: sudo usermod -aG %s <user> "
	    "(then log in again)", (unsigned)cred->uid, CONTROL_ADMIN_GROUP,
	    ctl.have_admin_gid ? "" : " (the group does not exist yet: create it with: "
	    "sudo groupadd --system " CONTROL_ADMIN_GROUP ")", CONTROL_ADMIN_GROUP);
}

static const struct {
	uint16_t type;
	void (*fn)(struct ctl_reply *, const struct proto_ctl_target *);
} ctl_commands[] = {
	{ PROTO_CTL_LIST, ctl_list },
	{ PROTO_CTL_APPROVE, ctl_approve },
	{ PROTO_CTL_REJECT, ctl_reject },
	{ PROTO_CTL_REMOVE, ctl_remove },
	{ PROTO_CTL_TOKEN_GENERATE, ctl_token_generate },
	{ PROTO_CTL_STATUS, ctl_status },
};

static void
ctlconn_free(struct ctlconn *cc)
{
	bufferevent_free(cc->bev);
	TAILQ_REMOVE(&ctl.conns, cc, entry);
	ctl.nconns--;
	free(cc);
}

/* A proto_link_frame_cb: non-zero drops the client (a malformed command). */
static int
ctl_frame(void *arg, const struct proto_hdr *hdr, const uint8_t *payload)
{
	struct ctlconn *cc = arg;
	struct proto_ctl_target t;
	struct ctl_reply r;
	size_t i, n = sizeof(ctl_commands) / sizeof(ctl_commands[0]);

	for (i = 0; i < n && ctl_commands[i].type != hdr->type; i++)
		;
	/* Commands without fields leave t alone: it reads as empty. */
	memset(&t, 0, sizeof(t));
	if (i == n || proto_decode(hdr->type, payload, hdr->len, &t) < 0) {
		log_warnx("control: malformed or unknown command %s (0x%04x): dropping the "
		    "client", proto_type_name(hdr->type), hdr->type);
		return 1;
	}
	memset(&r, 0, sizeof(r));
	pbuf_init(&r.payload);
	r.res.ok = 1;
	r.res.error.retry_after_ms = -1;
	if (cc->admin) {
		ctl_commands[i].fn(&r, &t);
	} else {
		log_warnx("control: refused %s from uid %u (pid %d): not root, not brokerd's "
		    "user, not in the %s group", proto_type_name(hdr->type),
		    (unsigned)cc->cred.uid, (int)cc->cred.pid, CONTROL_ADMIN_GROUP);
		ctl_forbidden(&r, &cc->cred);
	}
	if (r.res.ok)
		r.res.payload = pval_blob(&r.payload);
	proto_link_send(cc->bev, PROTO_CTL_RESULT, hdr->id, &r.res);
	/* The payload may be a new shared token. */
	if (r.payload.data != NULL)
		OPENSSL_cleanse(r.payload.data, r.payload.len);
	pbuf_free(&r.payload);
	return 0;
}

static void
ctl_read(struct bufferevent *bev, void *arg)
{
	struct ctlconn *cc = arg;

	if (proto_link_read(bufferevent_get_input(bev), PROTO_MAX_REQUEST, ctl_frame, cc) != 0)
		ctlconn_free(cc);
}

static void
ctl_event(struct bufferevent *bev, short what, void *arg)
{
	ctlconn_free(arg);
}

/*
 * DESIGN.md §1: root, the admin group, and brokerd's own user (an unprivileged
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

	if (ctl.nconns >= CONTROL_MAX_CLIENTS) {
		log_warnx("control: %d clients are connected, the limit: refusing another",
		    CONTROL_MAX_CLIENTS);
		close(fd);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		log_warn("control: cannot read a client's credentials; dropping it");
		close(fd);
		return;
	}
	cc = xcalloc(1, sizeof(*cc));
	cc->cred = cred;
	cc->admin = ctl_peer_is_admin(fd, &cred);
	cc->bev = bufferevent_socket_new(evconnlistener_get_base(lis), fd, BEV_OPT_CLOSE_ON_FREE);
	if (cc->bev == NULL)
		fatalx("control: cannot allocate a bufferevent");
	TAILQ_INSERT_TAIL(&ctl.conns, cc, entry);
	ctl.nconns++;
	bufferevent_setcb(cc->bev, ctl_read, NULL, ctl_event, cc);
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
