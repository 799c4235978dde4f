/* brokerd/dashboard: the URL gatewayctl dashboard prints, for each bind, TLS and
 * auth mode, with the token percent-encoded in the fragment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "brokerd/dashboard.h"
#include "proto/pval.h"
#include "testutil.h"

static struct config cfg;

static void
binds(const char *a, const char *b)
{
	cfg.nbind = 0;
	snprintf(cfg.bind[cfg.nbind++], sizeof(cfg.bind[0]), "%s", a);
	if (b != NULL)
		snprintf(cfg.bind[cfg.nbind++], sizeof(cfg.bind[0]), "%s", b);
}

/* The answer as a yajl tree (the caller frees it). */
static yajl_val
answer(size_t gateways)
{
	struct pbuf b;
	char err[128], *json;
	yajl_val root;

	pbuf_init(&b);
	dashboard_pval(&b, &cfg, gateways);
	json = pval_to_json_string(b.data, b.len, 0);
	pbuf_free(&b);
	CHECK(json != NULL);
	root = json ? yajl_tree_parse(json, err, sizeof(err)) : NULL;
	CHECK(root != NULL);
	free(json);
	return root;
}

static const char *
field(yajl_val root, const char *key)
{
	const char *path[] = { key, NULL };
	yajl_val v = yajl_tree_get(root, path, yajl_t_string);

	return v ? YAJL_GET_STRING(v) : "";
}

static size_t
notes_with(yajl_val root, const char *needle)
{
	const char *path[] = { "notes", NULL };
	yajl_val v = yajl_tree_get(root, path, yajl_t_array);
	size_t n = 0;

	for (size_t i = 0; v != NULL && i < v->u.array.len; i++) {
		const char *note = YAJL_GET_STRING(v->u.array.values[i]);

		n += note != NULL && strstr(note, needle) != NULL;
	}
	return n;
}

static size_t
notes_count(yajl_val root)
{
	const char *path[] = { "notes", NULL };
	yajl_val v = yajl_tree_get(root, path, yajl_t_array);

	return v ? v->u.array.len : 0;
}

/* With gatewayd bound to a (and b), the answer's httpUrl names want, and a note
 * says whether it listens on every address. */
static void
host_is(const char *a, const char *b, const char *want, int want_wildcard)
{
	char url[PROTO_ADDR_MAX + 32];
	yajl_val r;

	binds(a, b);
	cfg.port = 18789;
	cfg.auth_mode = AUTH_MODE_NONE;
	snprintf(url, sizeof(url), "http://%s:18789/", want);
	r = answer(1);
	CHECK_STR_EQ(field(r, "httpUrl"), url);
	CHECK_INT_EQ(notes_with(r, "listens on every address"), want_wildcard);
	yajl_tree_free(r);
}

static void
test_host(void)
{
	host_is("127.0.0.1", "::1", "127.0.0.1", 0);	/* loopback */
	host_is("0.0.0.0", NULL, "127.0.0.1", 1);	/* lan */
	host_is("0.0.0.0", "::", "127.0.0.1", 1);
	host_is("::", NULL, "[::1]", 1);
	host_is("::1", NULL, "[::1]", 0);
	host_is("192.168.1.20", NULL, "192.168.1.20", 0);	/* custom */
	host_is("fd00::20", NULL, "[fd00::20]", 0);
	host_is("127.0.0.2", NULL, "127.0.0.2", 0);
	host_is("192.168.1.20", "127.0.0.1", "127.0.0.1", 0);
}

static void
test_token_mode(void)
{
	yajl_val r;

	binds("127.0.0.1", "::1");
	cfg.port = 18789;
	cfg.auth_mode = AUTH_MODE_TOKEN;
	cfg.token = "Abc-_.~xyz";
	r = answer(1);
	CHECK_STR_EQ(field(r, "url"), "http://127.0.0.1:18789/#token=Abc-_.~xyz");
	CHECK_STR_EQ(field(r, "httpUrl"), "http://127.0.0.1:18789/");
	CHECK_STR_EQ(field(r, "wsUrl"), "ws://127.0.0.1:18789");
	CHECK_STR_EQ(field(r, "authMode"), "token");
	CHECK(YAJL_IS_TRUE(yajl_tree_get(r, (const char *[]){ "tokenIncluded", NULL },
	    yajl_t_any)));
	CHECK_INT_EQ(notes_count(r), 0);
	CHECK(strstr(field(r, "assumes"), "socket activation") != NULL);
	CHECK(strstr(field(r, "assumes"), "defaults") != NULL);
	yajl_tree_free(r);

	/* A configured token may hold anything: encoded so decodeURIComponent gives it back. */
	cfg.token = "a b&c#d%e/f+\xc3\xa9";
	r = answer(1);
	CHECK_STR_EQ(field(r, "url"), "http://127.0.0.1:18789/#token=a%20b%26c%23d%25e%2Ff%2B%C3%A9");
	yajl_tree_free(r);

	/* No gatewayd: said, since the URL would not load. */
	cfg.token = "t";
	r = answer(0);
	CHECK_INT_EQ(notes_with(r, "No gatewayd is connected"), 1);
	yajl_tree_free(r);
}

static void
test_wildcard_and_tls(void)
{
	yajl_val r;

	binds("0.0.0.0", NULL);
	cfg.port = 443;
	cfg.auth_mode = AUTH_MODE_TOKEN;
	cfg.token = "t";
	cfg.tls_enabled = 1;
	cfg.path = "/etc/clawgate/clawgate.json";
	r = answer(2);
	CHECK_STR_EQ(field(r, "url"), "https://127.0.0.1:443/#token=t");
	CHECK_STR_EQ(field(r, "wsUrl"), "wss://127.0.0.1:443");
	CHECK_INT_EQ(notes_with(r, "listens on every address"), 1);
	CHECK_INT_EQ(notes_with(r, "certificate"), 1);
	CHECK(strstr(field(r, "assumes"), "/etc/clawgate/clawgate.json") != NULL);
	yajl_tree_free(r);
	cfg.tls_enabled = 0;
	cfg.path = NULL;

	binds("fd00::20", NULL);
	r = answer(1);
	CHECK_STR_EQ(field(r, "url"), "http://[fd00::20]:443/#token=t");
	CHECK_INT_EQ(notes_count(r), 0);
	yajl_tree_free(r);
}

/* Neither a password nor "no token" goes into the URL; a note says what to do. */
static void
test_other_modes(void)
{
	yajl_val r;

	binds("127.0.0.1", "::1");
	cfg.port = 18789;
	cfg.auth_mode = AUTH_MODE_PASSWORD;
	cfg.token = NULL;
	cfg.password = "hunter2";
	r = answer(1);
	CHECK_STR_EQ(field(r, "url"), "http://127.0.0.1:18789/");
	CHECK_STR_EQ(field(r, "authMode"), "password");
	CHECK(YAJL_IS_FALSE(yajl_tree_get(r, (const char *[]){ "tokenIncluded", NULL },
	    yajl_t_any)));
	CHECK_INT_EQ(notes_with(r, "enter the gateway password"), 1);
	yajl_tree_free(r);

	cfg.auth_mode = AUTH_MODE_NONE;
	cfg.password = NULL;
	r = answer(1);
	CHECK_STR_EQ(field(r, "url"), "http://127.0.0.1:18789/");
	CHECK_INT_EQ(notes_with(r, "asks for no token"), 1);
	yajl_tree_free(r);
}

int
main(void)
{
	TEST_RUN(test_host);
	TEST_RUN(test_token_mode);
	TEST_RUN(test_wildcard_and_tls);
	TEST_RUN(test_other_modes);
	return test_exit();
}
