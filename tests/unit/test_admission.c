/* brokerd/admission and brokerd/refusal: the decision order of doc/protocol.md §4.1
 * (steps 2-12) with the exact close codes, reasons (cut as §5.1 says), error codes
 * and details of §5, against a real registry in a temp dir and connects signed
 * with a fresh Ed25519 key. */
#include "admharness.h"

/* 130 bytes of 'a' with a 3-byte character at byte at (or none if at < 0). */
static const char *
reason_text(int at)
{
	static char in[131];

	memset(in, 'a', 130);
	in[130] = '\0';
	if (at >= 0)
		memcpy(in + at, "\xe2\x82\xac", 3);
	return in;
}

/* The close reason of a refusal whose text is text (refusal_invalid's, which
 * takes its text as the reason). */
static const char *
close_reason(const char *text)
{
	static struct proto_reject r;
	struct pbuf details;

	memset(&r, 0, sizeof(r));
	pbuf_init(&details);
	refusal_invalid(&r, &details, text, NULL, NULL);
	pbuf_free(&details);
	return r.close_reason;
}

static void
test_close_reason(void)
{
	CHECK_INT_EQ(strlen(close_reason(reason_text(-1))), 120);
	/* A character at bytes 119-121 or 118-120 does not fit: the cut falls before it. */
	CHECK_INT_EQ(strlen(close_reason(reason_text(119))), 119);
	CHECK_INT_EQ(strlen(close_reason(reason_text(118))), 118);
	/* bytes 117-119 fit exactly */
	CHECK_INT_EQ(strlen(close_reason(reason_text(117))), 120);
	CHECK_STR_EQ(close_reason("short"), "short");
	CHECK_STR_EQ(close_reason(""), "invalid handshake");
}

static void
test_protocol_and_role(void)
{
	struct proto_connect c = cli(NULL);
	struct outcome o;

	c.min_protocol = c.max_protocol = 3;
	decide(&o, &c);
	CHECK_REJECT(&o, PROTO_CLOSE_PROTOCOL_ERROR, "protocol mismatch", "INVALID_REQUEST");
	CHECK_STR_EQ(o.details, "{\"code\":\"PROTOCOL_MISMATCH\",\"clientMinProtocol\":3,"
	    "\"clientMaxProtocol\":3,\"expectedProtocol\":4,\"minimumProbeProtocol\":3}");
	done(&o);
	c = cli(NULL);
	c.max_protocol = 9;	/* a range containing 4 is fine */
	SETF(c.role, "admin");
	decide(&o, &c);
	CHECK_REJECT(&o, PROTO_CLOSE_POLICY, "invalid role", "INVALID_REQUEST");
	done(&o);
}

/* §4.4 and §4.1 step 7. */
static void
test_deviceless(void)
{
	struct proto_connect c = cli("operator.pairing");
	struct outcome o;

	decide(&o, &c);
	CHECK(o.a.accepted);
	CHECK_STR_EQ(o.a.accept.method, "token");
	CHECK_INT_EQ(o.a.accept.scopes.n, 1);
	CHECK_STR_EQ(o.a.accept.device_id, "");
	CHECK_INT_EQ(o.a.accept.flags, PROTO_ACCEPT_PAIRING_EVENTS | PROTO_ACCEPT_PAIRING_ALL);
	CHECK_STR_EQ(o.a.accept.recovery_scope, reg.recovery_scope);
	done(&o);
	/* Not the local admin CLI: admitted, with no scopes. */
	SETF(c.peer_ip, "203.0.113.4");
	decide(&o, &c);
	CHECK(o.a.accepted);
	CHECK_INT_EQ(o.a.accept.scopes.n, 0);
	done(&o);
	c = cli("operator.pairing");
	c.proxy_headers = 1;
	decide(&o, &c);
	CHECK_INT_EQ(o.a.accept.scopes.n, 0);
	done(&o);
	c = cli("operator.pairing");
	SETF(c.origin, "http://127.0.0.1:18789");
	decide(&o, &c);
	CHECK_INT_EQ(o.a.accept.scopes.n, 0);
	done(&o);
	/* IPv4-mapped loopback is loopback. */
	c = cli("operator.pairing");
	SETF(c.peer_ip, "::ffff:127.0.0.1");
	decide(&o, &c);
	CHECK_INT_EQ(o.a.accept.scopes.n, 1);
	done(&o);

	c = cli(NULL);
	SETF(c.client_id, "openclaw-control-ui");
	SETF(c.client_mode, "webchat");
	/* A browser always sends its page's origin (§4.7 is checked first). */
	SETF(c.origin, "http://127.0.0.1:18789");
	decide(&o, &c);
	CHECK_REJECT(&o, PROTO_CLOSE_POLICY,
	    "control ui requires device identity (use HTTPS or localhost "
	    "secure context)", "INVALID_REQUEST");
	CHECK_STR_EQ(o.details, "{\"code\":\"CONTROL_UI_DEVICE_IDENTITY_REQUIRED\"}");
	done(&o);

	c = cli(NULL);
	SETF(c.token, "wrong");
	decide(&o, &c);
	CHECK_REJECT(&o, PROTO_CLOSE_POLICY,
	    "unauthorized: gateway token mismatch (" LOCAL_CLI_HINT ")",
	    "INVALID_REQUEST");
	CHECK_STR_EQ(o.details, "{\"code\":\"AUTH_TOKEN_MISMATCH\",\"authReason\":"
	    "\"token_mismatch\",\"canRetryWithDeviceToken\":false,\"recommendedNextStep\":"
	    "\"update_auth_credentials\"}");
	done(&o);
	SETF(c.peer_ip, "198.51.100.9");
	decide(&o, &c);
	CHECK_STR_EQ(o.a.reject.close_reason, "unauthorized: gateway token mismatch (set "
	    "gateway.remote.token to match gateway.auth.token)");
	done(&o);
	/* The secret in auth.password counts when auth.token is absent. */
	c = cli("operator.read");
	c.auth_present = PROTO_AUTH_PASSWORD;
	SETF(c.password, TOKEN);
	decide(&o, &c);
	CHECK(o.a.accepted);
	done(&o);

	c = cli(NULL);
	c.auth_present = 0;
	decide(&o, &c);
	CHECK_REJECT(&o, PROTO_CLOSE_POLICY, "device identity required", "NOT_PAIRED");
	CHECK_STR_EQ(o.a.reject.error.message, "device identity required");
	CHECK_STR_EQ(o.details, "{\"code\":\"DEVICE_IDENTITY_REQUIRED\"}");
	done(&o);
}

static const char *
request_id(const struct outcome *o)
{
	static char id[UUID_STR_LEN + 1];
	const char *p = strstr(o->details, "\"requestId\":\"");

	id[0] = '\0';
	if (p != NULL)
		snprintf(id, sizeof(id), "%.36s", p + 13);
	return id;
}

static ino_t
registry_inode(void)
{
	struct stat st;

	return fstatat(reg.dirfd, REG_FILE, &st, 0) == 0 ? st.st_ino : 0;
}

/* Not paired -> pending request -> approval -> token -> device-token reconnect. */
static void
test_pairing_flow(void)
{
	struct device dev;
	struct proto_connect c;
	struct outcome o;
	struct reg_device *d;
	const char *missing;
	char rid[UUID_STR_LEN + 1], reason[200], devtok[PROTO_TOKEN_MAX + 1];
	ino_t ino;

	device_new(&dev);
	/* Without the shared secret an unpaired device never becomes a request. */
	c = cli("operator.read");
	c.auth_present = 0;
	sign(&c, &dev, NONCE);
	decide(&o, &c);
	CHECK_REJECT(&o, PROTO_CLOSE_POLICY,
	    "unauthorized: gateway token missing (" LOCAL_CLI_HINT ")",
	    "INVALID_REQUEST");
	CHECK_INT_EQ(reg.npending, 0);
	done(&o);

	c = cli("operator.read");
	sign(&c, &dev, NONCE);
	decide(&o, &c);
	snprintf(rid, sizeof(rid), "%s", request_id(&o));
	snprintf(reason, sizeof(reason), "pairing required: device is not approved yet "
	    "(requestId: %s)", rid);
	CHECK_REJECT(&o, PROTO_CLOSE_POLICY, reason, "NOT_PAIRED");
	CHECK_STR_EQ(o.a.reject.error.message, "pairing required: device is not approved yet");
	CHECK_DETAIL(&o, "\"code\":\"PAIRING_REQUIRED\",\"reason\":\"not-paired\"");
	CHECK_DETAIL(&o, "\"remediationHint\":\"Approve this device from the pending pairing "
	    "requests.\"");
	CHECK_DETAIL(&o, "\"requestedRole\":\"operator\",\"requestedScopes\":[\"operator.read\"]");
	CHECK(strstr(o.details, "wait_then_retry") == NULL);	/* not for the CLI */
	CHECK(strstr(o.details, "approvedScopes") == NULL);
	CHECK_INT_EQ(reg.npending, 1);
	done(&o);
	/* A new request is announced, once. */
	CHECK_INT_EQ(recorder.nevents, 1);
	CHECK_STR_EQ(recorder.events[0].name, "device.pair.requested");
	CHECK(strstr(recorder.events[0].json, rid) != NULL);
	/* A retry refreshes the same request. */
	decide(&o, &c);
	CHECK_STR_EQ(request_id(&o), rid);
	CHECK_INT_EQ(reg.npending, 1);
	CHECK_INT_EQ(recorder.nevents, 1);
	done(&o);
	recorder_reset();

	CHECK_INT_EQ(pairing_approve(&reg, rid, &pairing_owner, REG_VIA_OWNER, NOW, &d, &missing),
	    PAIRING_OK);
	CHECK_INT_EQ(reg.npending, 0);
	/* Paired, on the shared token: a fresh device token, written to disk (hashed). */
	ino = registry_inode();
	decide(&o, &c);
	CHECK(o.a.accepted);
	CHECK_STR_EQ(o.a.accept.method, "token");
	CHECK_STR_EQ(o.a.accept.device_id, dev.id);
	CHECK_INT_EQ(strlen(o.a.accept.device_token), 43);
	CHECK_INT_EQ(o.a.accept.issued_at_ms, NOW);
	CHECK_INT_EQ(o.a.accept.flags, PROTO_ACCEPT_RECOVERY_MIGRATION);
	CHECK(registry_inode() != ino);
	snprintf(devtok, sizeof(devtok), "%s", o.a.accept.device_token);
	done(&o);

	/* On its device token: accepted, nothing minted, nothing written. */
	c = cli("operator.read");
	c.auth_present = PROTO_AUTH_DEVICE_TOKEN;
	SETF(c.device_token, devtok);
	sign(&c, &dev, NONCE);
	ino = registry_inode();
	decide(&o, &c);
	CHECK(o.a.accepted);
	CHECK_STR_EQ(o.a.accept.method, "device-token");
	CHECK_STR_EQ(o.a.accept.device_token, "");
	CHECK_INT_EQ(registry_inode(), ino);
	CHECK_INT_EQ(reg.unsaved, 1);		/* lastUsed/lastSeen wait for the next save */
	done(&o);
	/* The device token in auth.token works too (step 9's second candidate). */
	c = cli("operator.read");
	SETF(c.token, devtok);
	sign(&c, &dev, NONCE);
	decide(&o, &c);
	CHECK_STR_EQ(o.a.accept.method, "device-token");
	done(&o);

	/* Wrong device token; wider scopes on a device token. */
	c = cli("operator.read");
	c.auth_present = PROTO_AUTH_DEVICE_TOKEN;
	SETF(c.device_token, "not-the-token");
	sign(&c, &dev, NONCE);
	decide(&o, &c);
	CHECK_REJECT(&o, PROTO_CLOSE_POLICY,
	    "unauthorized: device token mismatch (rotate/reissue device token)",
	    "INVALID_REQUEST");
	CHECK_DETAIL(&o, "\"code\":\"AUTH_DEVICE_TOKEN_MISMATCH\"");
	done(&o);
	c = cli("operator.admin");
	c.auth_present = PROTO_AUTH_DEVICE_TOKEN;
	SETF(c.device_token, devtok);
	sign(&c, &dev, NONCE);
	decide(&o, &c);
	CHECK_REJECT(&o, PROTO_CLOSE_POLICY,
	    "unauthorized: device token scope mismatch (re-pair or approve "
	    "scope upgrade)", "INVALID_REQUEST");
	CHECK_DETAIL(&o, "\"authReason\":\"scope_mismatch\"");
	done(&o);

	/* A wrong shared secret in auth.token with a device: told to use its token. */
	c = cli("operator.read");
	SETF(c.token, "wrong");
	sign(&c, &dev, NONCE);
	decide(&o, &c);
	CHECK_DETAIL(&o, "\"canRetryWithDeviceToken\":true,\"recommendedNextStep\":"
	    "\"retry_with_device_token\"");
	done(&o);

	/* A reused or foreign nonce fails even with a valid signature over it. */
	c = cli("operator.read");
	sign(&c, &dev, "8a0e4c55-3b0f-4c8e-9d7a-1f2e3d4c5b6a");
	decide(&o, &c);
	CHECK_REJECT(&o, PROTO_CLOSE_POLICY, "device nonce mismatch", "INVALID_REQUEST");
	CHECK_STR_EQ(o.details, "{\"code\":\"DEVICE_AUTH_NONCE_MISMATCH\",\"reason\":"
	    "\"device-nonce-mismatch\"}");
	done(&o);

	/* More scopes than approved: a scope-upgrade request, its reason cut at 120. */
	c = cli("operator.read");
	c.scopes.n = 2;
	SETF(c.scopes.v[1], "operator.pairing");
	sign(&c, &dev, NONCE);
	decide(&o, &c);
	CHECK_INT_EQ(strlen(o.a.reject.close_reason), 120);
	CHECK(strncmp(o.a.reject.close_reason, "pairing required: device is asking for more "
	    "scopes than currently approved (requestId: ", 85) == 0);
	CHECK_STR_EQ(o.a.reject.error.code, "NOT_PAIRED");
	CHECK_DETAIL(&o, "\"reason\":\"scope-upgrade\"");
	CHECK_DETAIL(&o, "\"approvedRoles\":[\"operator\"],\"approvedScopes\":[\"operator.read\"]");
	done(&o);
	/* A node role for the paired device: role-upgrade. */
	c = cli(NULL);
	SETF(c.role, "node");
	sign(&c, &dev, NONCE);
	decide(&o, &c);
	CHECK_DETAIL(&o, "\"reason\":\"role-upgrade\"");
	done(&o);
	/* A changed platform: metadata-upgrade. */
	c = cli("operator.read");
	SETF(c.client_platform, "macos");
	sign(&c, &dev, NONCE);
	decide(&o, &c);
	CHECK_DETAIL(&o, "\"reason\":\"metadata-upgrade\"");
	done(&o);
	EVP_PKEY_free(dev.key);
}

/* The Control UI gets the wait_then_retry trio; with autoApproveLocal a local
 * connect is approved silently and gets its token at once, a remote one not. */
static void
test_browser_and_silent(void)
{
	struct device ui, far;
	struct proto_connect c;
	struct outcome o;

	device_new(&ui);
	c = cli("operator.admin");
	SETF(c.client_id, "openclaw-control-ui");
	SETF(c.client_mode, "webchat");
	SETF(c.origin, "http://127.0.0.1:18789");
	sign(&c, &ui, NONCE);
	decide(&o, &c);
	CHECK_STR_EQ(o.a.reject.error.code, "NOT_PAIRED");
	CHECK_DETAIL(&o, "\"recommendedNextStep\":\"wait_then_retry\",\"retryable\":true,"
	    "\"pauseReconnect\":false");
	/* The request shows the scopes as asked for: operator.admin alone. */
	CHECK_INT_EQ(TAILQ_LAST(&reg.pending, reg_pending_q)->scopes.n, 1);
	done(&o);
	/* Its request is not silent, so it stays pending even once auto-approval is on. */
	cfg.auto_approve_local = 1;
	decide(&o, &c);
	CHECK(!o.a.accepted);
	done(&o);

	device_new(&far);
	c = cli("operator.read");
	SETF(c.peer_ip, "203.0.113.7");
	sign(&c, &far, NONCE);
	decide(&o, &c);
	CHECK_STR_EQ(o.a.reject.error.code, "NOT_PAIRED");
	done(&o);
	SETF(c.peer_ip, "127.0.0.1");
	decide(&o, &c);		/* AND-ed: the remote request was not silent */
	CHECK(!o.a.accepted);
	done(&o);
	EVP_PKEY_free(far.key);
	device_new(&far);
	c = cli("operator.read");
	sign(&c, &far, NONCE);
	recorder_reset();
	decide(&o, &c);
	CHECK(o.a.accepted);
	/* Approved silently: resolved at once, never announced as requested. */
	CHECK_INT_EQ(recorder.nevents, 1);
	CHECK_STR_EQ(recorder.events[0].name, "device.pair.resolved");
	CHECK(strstr(recorder.events[0].json, "\"decision\":\"approved\"") != NULL);
	CHECK_INT_EQ(strlen(o.a.accept.device_token), 43);
	CHECK_INT_EQ(registry_device_find(&reg, far.id)->approved_via, REG_VIA_SILENT);
	done(&o);
	cfg.auto_approve_local = 0;
	EVP_PKEY_free(ui.key);
	EVP_PKEY_free(far.key);
}

static void
test_password_mode(void)
{
	struct proto_connect c = cli(NULL);
	struct outcome o;

	cfg.auth_mode = AUTH_MODE_PASSWORD;
	decide(&o, &c);
	CHECK_REJECT(&o, PROTO_CLOSE_POLICY,
	    "unauthorized: gateway password not configured on gateway (set "
	    "gateway.auth.password)", "INVALID_REQUEST");
	CHECK_DETAIL(&o, "\"code\":\"AUTH_PASSWORD_NOT_CONFIGURED\"");
	done(&o);
	cfg.password = strdup("pw");
	decide(&o, &c);		/* the token field is compared when no password is sent */
	CHECK_STR_EQ(o.a.reject.close_reason, "unauthorized: gateway password mismatch (use this "
	    "gateway's gateway.auth.password or pair the device)");
	done(&o);
	c.auth_present = PROTO_AUTH_TOKEN | PROTO_AUTH_PASSWORD;
	SETF(c.password, "pw");
	decide(&o, &c);
	CHECK(o.a.accepted);
	CHECK_STR_EQ(o.a.accept.method, "password");
	done(&o);
	free(cfg.password);
	cfg.password = NULL;
	cfg.auth_mode = AUTH_MODE_TOKEN;
}

int
main(void)
{
	if (adm_setup() < 0)
		return 2;
	TEST_RUN(test_close_reason);
	TEST_RUN(test_protocol_and_role);
	TEST_RUN(test_deviceless);
	TEST_RUN(test_pairing_flow);
	TEST_RUN(test_browser_and_silent);
	TEST_RUN(test_password_mode);
	adm_teardown();
	return test_exit();
}
