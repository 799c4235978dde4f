/* gatewayd/jsonedit and gatewayd/upgrade: what the relay reads and rewrites of
 * frames, and its side of the upstream's upgrade. */
#include <stdio.h>
#include <string.h>

#include "gatewayd/http.h"
#include "gatewayd/jsonedit.h"
#include "gatewayd/upgrade.h"
#include "testutil.h"

static const char *
edited(const char *in, const char *parent, const struct jsonedit_edit *e, size_t n)
{
	static struct pbuf out;

	pbuf_reset(&out);
	if (jsonedit_apply((const uint8_t *)in, strlen(in), parent, e, n, &out) < 0)
		return "(refused)";
	pbuf_add(&out, "", 1);
	return (const char *)out.data;
}

static void
test_edit(void)
{
	static const struct jsonedit_edit strip[] = { { "device", NULL, 0 }, { "auth", NULL, 0 } };
	static const char auth[] = "{\"method\":\"token\",\"scopes\":[\"operator.read\"]}";
	const struct jsonedit_edit put = { "auth", (const uint8_t *)auth, sizeof(auth) - 1 };

	/* The connect handed upstream: device and auth gone, the rest as it was
	 * (numbers keep their text, strings mean the same). */
	CHECK_STR_EQ(edited("{\"type\":\"req\",\"id\":\"1\",\"params\":{\"minProtocol\":4,"
	    "\"auth\":{\"token\":\"secret\"},\"client\":{\"id\":\"cli\",\"auth\":1},"
	    "\"device\":{\"id\":\"d\",\"x\":[1,{\"auth\":2}]},\"n\":1.50e3,\"s\":\"\\u00e9\\n\"},"
	    "\"auth\":\"top\"}", "params", strip, 2),
	    "{\"type\":\"req\",\"id\":\"1\",\"params\":{\"minProtocol\":4,"
	    "\"client\":{\"id\":\"cli\",\"auth\":1},\"n\":1.50e3,\"s\":\"\xc3\xa9\\n\"},"
	    "\"auth\":\"top\"}");
	/* A member named twice goes both times. */
	CHECK_STR_EQ(edited("{\"params\":{\"auth\":1,\"a\":null,\"auth\":{\"b\":[]}}}", "params",
	    strip, 2), "{\"params\":{\"a\":null}}");
	/* hello-ok's auth replaced in place; added when absent; elsewhere untouched. */
	CHECK_STR_EQ(edited("{\"payload\":{\"auth\":{\"method\":\"trusted-proxy\"},\"x\":true}}",
	    "payload", &put, 1), "{\"payload\":{\"auth\":{\"method\":\"token\",\"scopes\":"
	    "[\"operator.read\"]},\"x\":true}}");
	CHECK_STR_EQ(edited("{\"payload\":{\"x\":false},\"auth\":0}", "payload", &put, 1),
	    "{\"payload\":{\"x\":false,\"auth\":{\"method\":\"token\",\"scopes\":"
	    "[\"operator.read\"]}},\"auth\":0}");
	CHECK_STR_EQ(edited("{\"payload\":[{\"auth\":1}]}", "payload", &put, 1),
	    "{\"payload\":[{\"auth\":1}]}");
	/* Only a JSON object is a frame. */
	CHECK_STR_EQ(edited("[1]", "params", strip, 2), "(refused)");
	CHECK_STR_EQ(edited("{\"a\":1} x", "params", strip, 2), "(refused)");
	CHECK_STR_EQ(edited("{\"a\":\"\xff\"}", "params", strip, 2), "(refused)");
}

/* jsonedit_peek, held to its reference wherever the reference accepts. */
static int
peek_n(const char *msg, size_t len, struct jsonedit_peek *p)
{
	struct jsonedit_peek full;
	int r = jsonedit_peek((const uint8_t *)msg, len, p);

	if (jsonedit_peek_full((const uint8_t *)msg, len, &full) == 0) {
		CHECK_INT_EQ(r, 0);
		CHECK_STR_EQ(p->type, full.type);
		CHECK_STR_EQ(p->name, full.name);
		CHECK_STR_EQ(p->id, full.id);
		CHECK_INT_EQ(p->ok, full.ok);
	}
	return r;
}

static int
peek(const char *msg, struct jsonedit_peek *p)
{
	return peek_n(msg, strlen(msg), p);
}

static void
test_peek(void)
{
	struct jsonedit_peek p;

	CHECK_INT_EQ(peek("{\"type\":\"req\",\"id\":\"7\",\"params\":{\"method\":\"x\"},"
	    "\"method\":\"device.pair.list\"}", &p), 0);
	CHECK_STR_EQ(p.type, "req");
	CHECK_STR_EQ(p.name, "device.pair.list");
	CHECK_STR_EQ(p.id, "7");
	/* The last of a member named twice counts, as JSON.parse has it. */
	CHECK_INT_EQ(peek("{\"type\":\"req\",\"method\":\"device.pair.approve\","
	    "\"method\":\"health\"}", &p), 0);
	CHECK_STR_EQ(p.name, "health");
	CHECK_INT_EQ(peek("{\"type\":\"req\",\"method\":\"health\",\"method\":{\"a\":1}}", &p), 0);
	CHECK_STR_EQ(p.name, "");
	CHECK_INT_EQ(peek("{\"type\":\"res\",\"id\":\"c\",\"ok\":true}", &p), 0);
	CHECK_INT_EQ(p.ok, 1);
	CHECK_INT_EQ(peek("{\"type\":\"res\",\"ok\":true,\"ok\":1}", &p), 0);
	CHECK_INT_EQ(p.ok, 0);
	CHECK_INT_EQ(peek("{\"type\":\"event\",\"event\":\"device.pair.requested\"}", &p), 0);
	CHECK_STR_EQ(p.name, "device.pair.requested");
	CHECK_INT_EQ(peek("[\"type\"]", &p), -1);
	CHECK_INT_EQ(peek("{\"type\":", &p), -1);
	CHECK_STR_EQ(p.type, "");
}

/* What the one scan reads itself and what it leaves to yajl. */
static void
test_peek_scan(void)
{
	struct jsonedit_peek p;

	/* Escapes in a top-level key or a value read are decoded, as JSON.parse
	 * does: the routing sees device.pair.approve. */
	CHECK_INT_EQ(peek("{\"type\":\"req\",\"m\\u0065thod\":\"device\\u002epair.approve\","
	    "\"id\":\"a\\\"b\\\\\"}", &p), 0);
	CHECK_STR_EQ(p.name, "device.pair.approve");
	CHECK_STR_EQ(p.id, "a\"b\\");
	CHECK_INT_EQ(peek("{\"\\u0074ype\":\"req\",\"method\":\"health\",\"method\":\"\\u00e9\"}",
	    &p), 0);
	CHECK_STR_EQ(p.type, "req");
	CHECK_STR_EQ(p.name, "\xc3\xa9");
	/* Quotes and backslashes inside strings passed over, at the top and deeper. */
	CHECK_INT_EQ(peek("{\"x\":\"\\\\\",\"type\":\"req\",\"params\":{\"a\":\"\\\"}\\\\\\\"\","
	    "\"method\":\"no\"},\"method\":\"chat.send\",\"y\":\"\\\\\\\\\"}", &p), 0);
	CHECK_STR_EQ(p.type, "req");
	CHECK_STR_EQ(p.name, "chat.send");
	/* A member named twice: the last counts, whatever it is. */
	CHECK_INT_EQ(peek("{\"id\":\"1\",\"type\":\"res\",\"id\":\"2\",\"ok\":false,\"ok\":true}",
	    &p), 0);
	CHECK_STR_EQ(p.id, "2");
	CHECK_INT_EQ(p.ok, 1);
	CHECK_INT_EQ(peek("{\"type\":\"res\",\"id\":\"1\",\"id\":7,\"ok\":true,\"ok\":\"true\","
	    "\"type\":[\"req\"]}", &p), 0);
	CHECK_STR_EQ(p.id, "");
	CHECK_STR_EQ(p.type, "");
	CHECK_INT_EQ(p.ok, 0);
	CHECK_INT_EQ(peek("{\"event\":\"chat\",\"event\":null,\"type\":\"event\",\"seq\":-1.5e-3}",
	    &p), 0);
	CHECK_STR_EQ(p.name, "");
	/* Members of nested objects are not the frame's. */
	CHECK_INT_EQ(peek("{\"type\":\"event\",\"payload\":{\"type\":\"req\",\"method\":\"x\","
	    "\"l\":[{\"id\":\"9\",\"ok\":true}]},\"event\":\"chat\"}", &p), 0);
	CHECK_STR_EQ(p.type, "event");
	CHECK_STR_EQ(p.name, "chat");
	CHECK_STR_EQ(p.id, "");
	CHECK_INT_EQ(p.ok, 0);
	/* yajl's whitespace, \v and \f too, between the tokens and after. */
	CHECK_INT_EQ(peek(" \t{\v\"type\"\f:\r\n\"res\" , \"ok\" : true }\n\v\f", &p), 0);
	CHECK_STR_EQ(p.type, "res");
	CHECK_INT_EQ(p.ok, 1);
	/* Structure is checked all the way down. */
	CHECK_INT_EQ(peek("{\"type\":\"req\",\"params\":{\"a\":[1,]}}", &p), -1);
	CHECK_INT_EQ(peek("{\"type\":\"req\",\"params\":{\"a\":[1}}", &p), -1);
	CHECK_INT_EQ(peek("{\"type\":\"req\",\"params\":{1:2}}", &p), -1);
	CHECK_INT_EQ(peek("{\"type\":\"req\",\"params\":{\"a\" 1}}", &p), -1);
	CHECK_INT_EQ(peek("{\"type\":\"req\",\"params\":[01]}", &p), -1);
	CHECK_INT_EQ(peek("{\"type\":\"req\",\"params\":[1.]}", &p), -1);
	CHECK_INT_EQ(peek("{\"type\":\"req\",\"params\":[nul]}", &p), -1);
	CHECK_INT_EQ(peek("{\"type\":\"req\",\"params\":[truex]}", &p), -1);
	CHECK_INT_EQ(peek("{\"type\":\"req\"}{}", &p), -1);
	CHECK_INT_EQ(peek("{\"type\":\"req\"} x", &p), -1);
	CHECK_INT_EQ(peek("{\"type\":\"req\",}", &p), -1);
	CHECK_INT_EQ(peek("{\"type\":\"req\"\"id\":\"1\"}", &p), -1);
	CHECK_STR_EQ(p.type, "");
	/* Cut anywhere, a frame is refused, never read past its end. */
	{
		static const char f[] = "{\"type\":\"req\",\"id\":\"r\\\"1\",\"method\":\"echo\","
		    "\"params\":{\"a\":[true,-1.5e3,null,{\"b\":\"\\\\\"}]}}";

		for (size_t n = 0; n < sizeof(f) - 1; n++)
			CHECK_INT_EQ(peek_n(f, n, &p), -1);
		CHECK_INT_EQ(peek_n(f, sizeof(f) - 1, &p), 0);
		CHECK_STR_EQ(p.id, "r\"1");
	}
}

/* Deep nesting, and a long string, both ways the peek reads them. */
static void
test_peek_sizes(void)
{
	static char deep[2 * (JSONEDIT_PEEK_DEPTH + 8) + 64];
	static char big[(1 << 20) + 64];
	struct jsonedit_peek p;
	size_t n;

	/* Up to JSONEDIT_PEEK_DEPTH in the scan, and deeper through yajl. */
	for (size_t d = JSONEDIT_PEEK_DEPTH - 2; d <= JSONEDIT_PEEK_DEPTH + 2; d++) {
		n = (size_t)snprintf(deep, sizeof(deep), "{\"type\":\"req\",\"p\":");
		memset(deep + n, '[', d - 1);
		memset(deep + n + d - 1, ']', d - 1);
		n += 2 * (d - 1);
		n += (size_t)snprintf(deep + n, sizeof(deep) - n, ",\"method\":\"m\"}");
		CHECK_INT_EQ(peek_n(deep, n, &p), 0);
		CHECK_STR_EQ(p.name, "m");
		/* The outermost array closed by a brace. */
		deep[n - strlen(",\"method\":\"m\"}") - 1] = '}';
		CHECK_INT_EQ(peek_n(deep, n, &p), -1);
	}
	/* A 1 MiB string payload, ending in an escaped quote. */
	n = (size_t)snprintf(big, sizeof(big), "{\"type\":\"req\",\"id\":\"r1\",\"params\":{\"d\":\"");
	memset(big + n, 'x', 1 << 20);
	n += 1 << 20;
	n += (size_t)snprintf(big + n, sizeof(big) - n, "\\\"\"},\"method\":\"echo\"}");
	CHECK_INT_EQ(peek_n(big, n, &p), 0);
	CHECK_STR_EQ(p.name, "echo");
	CHECK_STR_EQ(p.id, "r1");
}

/* The scan, not yajl, reads an ordinary frame: it passes over the contents of
 * strings it does not keep, so a fault only yajl sees there does not refuse
 * the frame (the far end, which parses it whole, does). */
static void
test_peek_scan_taken(void)
{
	static const char f[] = "{\"type\":\"req\",\"id\":\"1\",\"method\":\"chat.send\","
	    "\"params\":{\"text\":\"\xff\",\"x\":\"\\q\"}}";
	struct jsonedit_peek p;

	CHECK_INT_EQ(jsonedit_peek_full((const uint8_t *)f, sizeof(f) - 1, &p), -1);
	CHECK_INT_EQ(jsonedit_peek((const uint8_t *)f, sizeof(f) - 1, &p), 0);
	CHECK_STR_EQ(p.name, "chat.send");
	/* Not in what it reads: a control character in the method goes to yajl,
	 * which refuses it. */
	CHECK_INT_EQ(peek("{\"type\":\"req\",\"method\":\"a\tb\"}", &p), -1);
	CHECK_INT_EQ(peek("{\"type\":\"req\",\"method\":\"\xff\"}", &p), -1);
	CHECK_INT_EQ(peek("{\"ty\xffpe\":\"req\"}", &p), -1);
}

static enum upgrade_status
parse(const char *answer, const char *accept, struct upgrade_response *r)
{
	return upgrade_parse((const uint8_t *)answer, strlen(answer), accept, r);
}

static void
test_upgrade(void)
{
	static const struct upgrade_header h[] = {
		{ "x-clawgate-user", "clawgate" }, { "x-openclaw-scopes", "" },
	};
	static const struct upgrade_header bad[] = { { "x-a", "1\r\nx-b: 2" } };
	const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
	char accept[HTTP_WS_ACCEPT_LEN + 1];
	struct upgrade_response r;
	struct pbuf out;
	char ok[256];

	pbuf_init(&out);
	CHECK_INT_EQ(upgrade_request(&out, "127.0.0.1:28811", key, h, 2), 0);
	pbuf_add(&out, "", 1);
	CHECK_STR_EQ((const char *)out.data, "GET / HTTP/1.1\r\nHost: 127.0.0.1:28811\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
	    "x-clawgate-user: clawgate\r\nx-openclaw-scopes: \r\n\r\n");
	pbuf_reset(&out);
	CHECK_INT_EQ(upgrade_request(&out, "h", key, bad, 1), -1);
	CHECK_INT_EQ(out.len, 0);
	pbuf_free(&out);

	/* RFC 6455 §1.3's example. */
	http_ws_accept(key, accept, sizeof(accept));
	CHECK_STR_EQ(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	snprintf(ok, sizeof(ok), "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n\x81\x7f", accept);
	/* Frames may follow the head at once. */
	CHECK_INT_EQ(parse(ok, accept, &r), UPGRADE_OK);
	CHECK_INT_EQ(r.head_len, strlen(ok) - 2);
	ok[20] = '\0';
	CHECK_INT_EQ(parse(ok, accept, &r), UPGRADE_MORE);
	CHECK_INT_EQ(parse("HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n", accept, &r),
	    UPGRADE_ERROR);
	CHECK_INT_EQ(r.status, 403);
	CHECK_INT_EQ(parse("HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
	    "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n", accept, &r),
	    UPGRADE_ERROR);
	CHECK_STR_EQ(r.problem, "wrong Sec-WebSocket-Accept");
	CHECK_INT_EQ(parse("HTTP/1.1 101 x\r\nUpgrade: websocket\r\n\r\n", accept, &r),
	    UPGRADE_ERROR);
	CHECK_INT_EQ(parse("HTTP/1.1 101 x\nUpgrade: websocket\r\n\r\n", accept, &r),
	    UPGRADE_ERROR);
	CHECK_INT_EQ(parse("HTTP/1.0 101 x\r\n\r\n", accept, &r), UPGRADE_ERROR);
	CHECK_INT_EQ(parse("HTTP/1.1 101 x\r\n folded\r\n\r\n", accept, &r), UPGRADE_ERROR);
	snprintf(ok, sizeof(ok), "HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
	    accept);
	CHECK_INT_EQ(parse(ok, accept, &r), UPGRADE_ERROR);
}

static void
test_upgrade_limits(void)
{
	static char head[UPGRADE_HEAD_MAX + 64];
	struct upgrade_response r;
	size_t n = 0;

	/* No blank line within the cap: refused rather than awaited. */
	n += (size_t)snprintf(head, sizeof(head), "HTTP/1.1 101 x\r\n");
	while (n + 8 < UPGRADE_HEAD_MAX)
		n += (size_t)snprintf(head + n, sizeof(head) - n, "a: b\r\n");
	memset(head + n, 'x', sizeof(head) - n - 1);
	CHECK_INT_EQ(upgrade_parse((const uint8_t *)head, sizeof(head) - 1, "x", &r),
	    UPGRADE_ERROR);
	CHECK_STR_EQ(r.problem, "answer head too long");
	/* More header lines than UPGRADE_HEADERS_MAX. */
	n = (size_t)snprintf(head, sizeof(head), "HTTP/1.1 101 x\r\n");
	for (int i = 0; i <= UPGRADE_HEADERS_MAX; i++)
		n += (size_t)snprintf(head + n, sizeof(head) - n, "a: b\r\n");
	snprintf(head + n, sizeof(head) - n, "\r\n");
	CHECK_INT_EQ(parse(head, "x", &r), UPGRADE_ERROR);
	CHECK_STR_EQ(r.problem, "too many header lines");
}

int
main(void)
{
	TEST_RUN(test_edit);
	TEST_RUN(test_peek);
	TEST_RUN(test_peek_scan);
	TEST_RUN(test_peek_sizes);
	TEST_RUN(test_peek_scan_taken);
	TEST_RUN(test_upgrade);
	TEST_RUN(test_upgrade_limits);
	return test_exit();
}
