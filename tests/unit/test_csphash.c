/* gatewayd/csphash: the CSP hash sources of a page's inline scripts. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gatewayd/csphash.h"
#include "testutil.h"

static unsigned
hashes(const char *html, char *out, size_t size)
{
	return csphash_scripts((const uint8_t *)html, strlen(html), out, size);
}

static void
test_inline_scripts_only(void)
{
	char out[CSPHASH_SCRIPTS_MAX * CSPHASH_SOURCE_LEN + 1];

	/* The value a browser reports for "alert(1)", and for a multi-line
	 * script whose CR LF and lone CR it reads as LF. */
	CHECK_INT_EQ(hashes("<p><SCRIPT type=module>alert(1)</Script></p>", out, sizeof(out)), 1);
	CHECK_STR_EQ(out, " 'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='");
	CHECK_INT_EQ(hashes("<script src=\"a.js\"></script><script data-x>\r\n  a();\r  b();\n"
	    "</script><scripts>alert(1)</scripts>", out, sizeof(out)), 1);
	CHECK_STR_EQ(out, " 'sha256-YNh7g92k9zwQBLcCu/TOcBf0GxhzmkGFZz7FrhSnIGg='");
	/* data-src is not src; an unterminated script is no script. */
	CHECK_INT_EQ(hashes("<script data-src=x>alert(1)</script><script>b()", out, sizeof(out)), 1);
	CHECK_STR_EQ(out, " 'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='");
	CHECK_INT_EQ(hashes("<p>no scripts</p>", out, sizeof(out)), 0);
	CHECK_STR_EQ(out, "");
}

static void
test_limits(void)
{
	char html[64 * 40], out[CSPHASH_SCRIPTS_MAX * CSPHASH_SOURCE_LEN + 1], small[60];
	size_t used = 0;

	for (int i = 0; i < 40; i++)
		used += (size_t)snprintf(html + used, sizeof(html) - used,
		    "<script>f(%d)</script>", i);
	CHECK_INT_EQ(hashes(html, out, sizeof(out)), 40);
	CHECK_INT_EQ(strlen(out), CSPHASH_SCRIPTS_MAX * CSPHASH_SOURCE_LEN);
	/* Room for one source only. */
	CHECK_INT_EQ(hashes(html, small, sizeof(small)), 40);
	CHECK_INT_EQ(strlen(small), CSPHASH_SOURCE_LEN);
}

int
main(void)
{
	TEST_RUN(test_inline_scripts_only);
	TEST_RUN(test_limits);
	return test_exit();
}
