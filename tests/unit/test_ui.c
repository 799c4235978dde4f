/* gatewayd/ui: index.html served with brokerd's gatewayctl command, escaped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gatewayd/ui.h"
#include "testutil.h"

/* The response's body, and whether Content-Length matches it. */
static char *
index_body(void)
{
	struct pbuf out;
	const char *sep;
	char *body = NULL;
	size_t len;

	pbuf_init(&out);
	CHECK_INT_EQ(ui_respond("/", &out), 0);
	pbuf_add(&out, "", 1);
	sep = strstr((char *)out.data, "\r\n\r\n");
	CHECK(sep != NULL);
	if (sep != NULL) {
		body = strdup(sep + 4);
		CHECK(sscanf(strstr((char *)out.data, "Content-Length: "), "Content-Length: %zu",
		    &len) == 1);
		CHECK_INT_EQ(len, strlen(body));
	}
	pbuf_free(&out);
	return body;
}

static void
test_index(void)
{
	char *body = index_body();

	/* Before brokerd's settings: the page as embedded. */
	CHECK(body != NULL && strstr(body, "data-gatewayctl=\"gatewayctl\"") != NULL);
	free(body);
	ui_set_gatewayctl("/opt/cg/gatewayctl --socket '/srv/a b/control.sock'");
	body = index_body();
	CHECK(body != NULL && strstr(body, "<html lang=\"en\" data-gatewayctl=\"/opt/cg/gatewayctl "
	    "--socket &#39;/srv/a b/control.sock&#39;\">") != NULL);
	CHECK(body != NULL && strstr(body, "</html>") != NULL);
	free(body);
	/* A new broker's value replaces the old one. */
	ui_set_gatewayctl("\"><script>alert(1)</script>");
	body = index_body();
	CHECK(body != NULL && strstr(body, "data-gatewayctl=\"&quot;&gt;&lt;script&gt;alert(1)"
	    "&lt;/script&gt;\">") != NULL);
	CHECK(body != NULL && strstr(body, "<script>alert") == NULL);
	CHECK(body != NULL && strstr(body, "/opt/cg") == NULL);
	free(body);
	ui_free();
}

/* The command lands in an attribute with & < > " ' as character references. */
static void
escaped(const char *in, const char *want)
{
	char attr[256];
	char *body;

	ui_set_gatewayctl(in);
	body = index_body();
	snprintf(attr, sizeof(attr), "data-gatewayctl=\"%s\">", want);
	testutil_check(body != NULL && strstr(body, attr) != NULL, __FILE__, __LINE__,
	    "index.html has %s", attr);
	free(body);
}

static void
test_escape(void)
{
	escaped("", "");
	escaped("gatewayctl --socket /run/x.sock", "gatewayctl --socket /run/x.sock");
	escaped("<a href=\"x\">'&'</a>", "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
	escaped("caf\xc3\xa9 &amp;", "caf\xc3\xa9 &amp;amp;");
	ui_free();
}

int
main(void)
{
	TEST_RUN(test_index);
	TEST_RUN(test_escape);
	return test_exit();
}
