/* brokerd/configfile: where a configuration file's syntax error is (line and
 * column), what it says about JSON5, and which key names it warns about. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "brokerd/configfile.h"
#include "testutil.h"

/* Parses text (its whole length, NULs included) and returns the error, or "OK". */
static const char *
parse(const char *text, size_t len)
{
	static char err[512];
	yajl_val v = configfile_parse(text, len, err, sizeof(err));

	if (v == NULL)
		return err;
	yajl_tree_free(v);
	return "OK";
}

#define PARSE(s) parse(s, strlen(s))

/* err starts with want_pos ("LINE:COL: ") and contains want_text. */
static void
check_error(const char *text, size_t len, const char *want_pos, const char *want_text,
    int line)
{
	const char *err = parse(text, len);

	testutil_check(strncmp(err, want_pos, strlen(want_pos)) == 0 &&
	    err[strlen(want_pos)] == ':' && strstr(err, want_text) != NULL, __FILE__, line,
	    "error for %s is at %s and says \"%s\"; got \"%s\"", text, want_pos, want_text, err);
}

#define ERR(text, pos, what) check_error(text, strlen(text), pos, what, __LINE__)

#define SYNTAX "clawgate reads JSON with // and /* */ comments, no other JSON5"

static void
test_comments_accepted(void)
{
	CHECK_STR_EQ(PARSE("// OpenClaw's file\n{\n  /* the port */ \"gateway\": {\"port\": 1}\n}\n"),
	    "OK");
	CHECK_STR_EQ(PARSE("{\"a\": \"// not a comment\", \"b\": \"/* nor this */\"}"), "OK");
}

static void
test_json5_refused_with_position(void)
{
	/* The comma is reported, not the bracket after it; comments between them
	 * are skipped. */
	ERR("{\"gateway\": {\"port\": 1,}}", "1:23", "a comma before '}' (a JSON5 trailing comma): "
	    "delete this comma (" SYNTAX ")");
	ERR("{\"a\": [1, 2, // two\n  /* end */ ]}", "1:12", "a comma before ']'");
	ERR("{\n  \"gateway\": {\n    port: 18789\n  }\n}", "3:5",
	    "the key port is not in double quotes (a JSON5 unquoted key): write \"port\"");
	/* A key that starts like true/false/null is still a key. */
	ERR("{\"x\": 1, null: 2}", "1:10", "the key null is not in double quotes");
	ERR("{\"gateway\": {\"bind\": 'lan'}}", "1:22", "a single-quoted string (JSON5): use double "
	    "quotes");
	ERR("{\"a\": 0x1f}", "1:7", "0x1f is not a JSON number (hexadecimal is JSON5)");
	ERR("{\"a\": +1}", "1:7", "a number with a leading '+' (JSON5)");
	ERR("{\"a\": .5}", "1:7", "a number with a leading '.' (JSON5)");
	ERR("{\"a\": 5.}", "1:7", "malformed number, a digit is required after the decimal point");
	ERR("{\"a\": Infinity}", "1:7", "Infinity is JSON5, not JSON");
	ERR("{\"a\": \"two\\\nlines\"}", "1:11", "a backslash escape JSON does not have");
}

static void
test_other_errors(void)
{
	ERR("{\"a\": [1, lan]}", "1:11", "lan is not a JSON value: put text in double quotes "
	    "(\"lan\")");
	ERR("{\"a\": tru}", "1:7", "tru is not a JSON value");
	ERR("{\"a\" 1}", "1:6", "object key and value must be separated by a colon");
	ERR("{\"a\": 1}\n}", "2:1", "text after the end of the top-level object");
	ERR("{\"a\": \"x\ty\"}", "1:9", "a control character");
	ERR("{\"a\": \"\xff\"}", "1:8", "bytes that are not UTF-8");
	ERR("{\"gateway\": {\"port\": 1}", "1:24", "the file ends inside an object, array, string "
	    "or comment");
	ERR("", "1:1", "the file holds no JSON: write {} into it");
	ERR("  // nothing\n", "2:1", "the file holds no JSON");
	/* A NUL is an error where it is, not the end of the text. */
	check_error("{\"a\": \"b\0c\"}", 12, "1:9", "a control character", __LINE__);
	check_error("{\"a\": 1}\0{", 10, "1:9", "text after the end", __LINE__);
}

/* Columns count characters, not bytes. */
static void
test_columns_are_characters(void)
{
	ERR("{\"sch\xc3\xb6n\": \"\xe2\x82\xac\", x: 1}", "1:16", "the key x is not in double quotes");
	ERR("{\n\n\t\"a\": 1,\n\t}", "3:8", "a comma");
	ERR("{\"a\": 1,\n\"b\": 2,\n\"c\": [3,]}", "3:8", "a comma before ']'");
}

static void
test_depth_limit(void)
{
	char deep[2 * (CONFIGFILE_DEPTH_MAX + 1) + 1];

	memset(deep, '[', CONFIGFILE_DEPTH_MAX);
	memset(deep + CONFIGFILE_DEPTH_MAX, ']', CONFIGFILE_DEPTH_MAX);
	deep[2 * CONFIGFILE_DEPTH_MAX] = '\0';
	CHECK_STR_EQ(PARSE(deep), "OK");
	memset(deep, '[', CONFIGFILE_DEPTH_MAX + 1);
	memset(deep + CONFIGFILE_DEPTH_MAX + 1, ']', CONFIGFILE_DEPTH_MAX + 1);
	deep[2 * (CONFIGFILE_DEPTH_MAX + 1)] = '\0';
	ERR(deep, "1:65", "nested more than 64 deep");
}

/* ---- keys ---- */

struct notes {
	char text[2048];
};

static void
collect(enum configfile_note what, const char *path, const char *suggestion, void *arg)
{
	struct notes *n = arg;
	size_t have = strlen(n->text);

	snprintf(n->text + have, sizeof(n->text) - have, "%s%s%s%s;",
	    what == CONFIGFILE_IGNORED ? "ignored " : "unknown ", path,
	    suggestion != NULL ? " -> " : "", suggestion != NULL ? suggestion : "");
}

static const char *
notes_for(const char *json)
{
	static struct notes n;
	static char err[512];
	yajl_val root = configfile_parse(json, strlen(json), err, sizeof(err));

	n.text[0] = '\0';
	if (root == NULL)
		return err;
	configfile_check_keys(root, collect, &n);
	yajl_tree_free(root);
	return n.text;
}

static void
test_known_keys_are_quiet(void)
{
	CHECK_STR_EQ(notes_for("{\"gateway\": {\"port\": 1, \"bind\": \"custom\", "
	    "\"customBindHost\": \"::1\", \"trustedProxies\": [], \"allowRealIpFallback\": true, "
	    "\"auth\": {\"mode\": \"token\", \"token\": \"t\", \"password\": \"p\"}, "
	    "\"tls\": {\"enabled\": false, \"certPath\": \"/c\", \"keyPath\": \"/k\"}, "
	    "\"controlUi\": {\"allowedOrigins\": [], \"root\": \"/r\", "
	    "\"dangerouslyAllowHostHeaderOriginFallback\": false}, "
	    "\"nodes\": {\"pairing\": {\"autoApproveLocal\": false}}}}"), "");
}

/* An openclaw.json: other sections are not clawgate's business, OpenClaw's own
 * gateway keys are ignored (and said so), not called misspelt. */
static void
test_openclaw_keys_are_ignored_not_misspelt(void)
{
	CHECK_STR_EQ(notes_for("{\"agents\": {\"defaults\": {}}, \"models\": {}, \"gatewayx\": 1,"
	    "\"gateway\": {\"mode\": \"local\", \"remote\": {\"url\": \"ws://x\", \"tokn\": 1}, "
	    "\"auth\": {\"rateLimit\": {\"maxAttempts\": 3}}, "
	    "\"controlUi\": {\"enabled\": true, \"basePath\": \"/ui\", \"allowInsecureAuth\": true, "
	    "\"dangerouslyDisableDeviceAuth\": false}, "
	    "\"tls\": {\"autoGenerate\": true, \"caPath\": \"/ca\"}, "
	    "\"nodes\": {\"browser\": {}, \"pairing\": {\"autoApproveCidrs\": []}}}}"),
	    "unknown gatewayx -> gateway;"
	    "ignored gateway.mode;ignored gateway.remote;ignored gateway.auth.rateLimit;"
	    "ignored gateway.controlUi.enabled;ignored gateway.controlUi.basePath;"
	    "ignored gateway.controlUi.allowInsecureAuth;"
	    "ignored gateway.controlUi.dangerouslyDisableDeviceAuth;"
	    "ignored gateway.tls.caPath;"
	    "ignored gateway.nodes.browser;ignored gateway.nodes.pairing.autoApproveCidrs;");
}

/* clawgate's own section is checked like the gateway section. */
static void
test_clawgate_section_keys(void)
{
	CHECK_STR_EQ(notes_for("{\"clawgate\": {\"gatewayctl\": \"gatewayctl\"}}"), "");
	CHECK_STR_EQ(notes_for("{\"clawgate\": {\"gatewayctrl\": \"x\", \"zzz\": 1}, "
	    "\"clawgte\": {}}"),
	    "unknown clawgate.gatewayctrl -> clawgate.gatewayctl;unknown clawgate.zzz;"
	    "unknown clawgte -> clawgate;");
}

static void
test_misspelt_keys_get_suggestions(void)
{
	CHECK_STR_EQ(notes_for("{\"gateway\": {\"prot\": 1, \"Bind\": \"lan\", "
	    "\"auth\": {\"tokn\": \"t\", \"mode\": \"token\"}, "
	    "\"tls\": {\"certpath\": \"/c\", \"enable\": true}, "
	    "\"controlUi\": {\"allowedOrigin\": []}, "
	    "\"nodes\": {\"pairing\": {\"autoAproveLocal\": true}}, "
	    "\"trustedProxy\": []}}"),
	    "unknown gateway.prot -> gateway.port;unknown gateway.Bind -> gateway.bind;"
	    "unknown gateway.auth.tokn -> gateway.auth.token;"
	    "unknown gateway.tls.certpath -> gateway.tls.certPath;"
	    "unknown gateway.tls.enable -> gateway.tls.enabled;"
	    "unknown gateway.controlUi.allowedOrigin -> gateway.controlUi.allowedOrigins;"
	    "unknown gateway.nodes.pairing.autoAproveLocal -> "
	    "gateway.nodes.pairing.autoApproveLocal;"
	    "unknown gateway.trustedProxy -> gateway.trustedProxies;");
	/* Nothing close: no suggestion. "Gateway" is a misspelt section. */
	CHECK_STR_EQ(notes_for("{\"Gateway\": {}, \"gateway\": {\"colour\": 1, \"auth\": "
	    "{\"secret\": \"x\"}}}"),
	    "unknown Gateway -> gateway;unknown gateway.colour;unknown gateway.auth.secret;");
	/* Odd names are shown safely. */
	CHECK_STR_EQ(notes_for("{\"gateway\": {\"a\\u0001b\": 1, \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\": 1}}"),
	    "unknown gateway.a?b;unknown gateway.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxx...;");
}

/* How far a suggestion reaches: a plain edit distance (a swap counts as one edit),
 * up to 3 edits for a long key and 1 for a short one; no key is near "". */
static void
test_suggestion_distance(void)
{
	CHECK_STR_EQ(notes_for("{\"gateway\": {\"controlUi\": {\"alowdOrigin\": [], "
	    "\"alowdOrign\": []}, \"prt\": 1, \"pt\": 1, \"\": 1}}"),
	    "unknown gateway.controlUi.alowdOrigin -> gateway.controlUi.allowedOrigins;"
	    "unknown gateway.controlUi.alowdOrign;"
	    "unknown gateway.prt -> gateway.port;unknown gateway.pt;unknown gateway.;");
}

int
main(void)
{
	TEST_RUN(test_comments_accepted);
	TEST_RUN(test_json5_refused_with_position);
	TEST_RUN(test_other_errors);
	TEST_RUN(test_columns_are_characters);
	TEST_RUN(test_depth_limit);
	TEST_RUN(test_known_keys_are_quiet);
	TEST_RUN(test_openclaw_keys_are_ignored_not_misspelt);
	TEST_RUN(test_clawgate_section_keys);
	TEST_RUN(test_misspelt_keys_get_suggestions);
	TEST_RUN(test_suggestion_distance);
	return test_exit();
}
