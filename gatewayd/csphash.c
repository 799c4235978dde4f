#include "gatewayd/csphash.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <openssl/evp.h>

#include "common/log.h"

/* The first case-insensitive occurrence of needle in h[from..len), or len. */
static size_t
csphash_find(const uint8_t *h, size_t len, size_t from, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = from; i + n <= len; i++)
		if (strncasecmp((const char *)h + i, needle, n) == 0)
			return i;
	return len;
}

/* Whether the start tag h[0..len) carries a src attribute. */
static int
csphash_has_src(const uint8_t *h, size_t len)
{
	for (size_t i = 1; i + 3 <= len; i++)
		if ((h[i - 1] == ' ' || h[i - 1] == '\t' || h[i - 1] == '\n' ||
		    h[i - 1] == '\r' || h[i - 1] == '\f') && strncasecmp((const char *)h + i,
		    "src", 3) == 0 && (i + 3 == len || h[i + 3] == '=' || h[i + 3] == ' ' ||
		    h[i + 3] == '>' || h[i + 3] == '/'))
			return 1;
	return 0;
}

/* SHA-256 of text with line breaks as the HTML parser reads them. */
static void
csphash_digest(const uint8_t *text, size_t len, uint8_t md[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	static const uint8_t lf = '\n';
	size_t from = 0;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		fatalx("cannot hash a Control UI script: out of memory");
	for (size_t i = 0; i < len; i++) {
		if (text[i] != '\r')
			continue;
		EVP_DigestUpdate(ctx, text + from, i - from);
		EVP_DigestUpdate(ctx, &lf, 1);
		from = i + 1 < len && text[i + 1] == '\n' ? i + 2 : i + 1;
	}
	EVP_DigestUpdate(ctx, text + from, len - from);
	EVP_DigestFinal_ex(ctx, md, NULL);
	EVP_MD_CTX_free(ctx);
}

unsigned
csphash_scripts(const uint8_t *html, size_t len, char *out, size_t size)
{
	size_t pos = 0, used = 0;
	unsigned found = 0;

	out[0] = '\0';
	while ((pos = csphash_find(html, len, pos, "<script")) < len) {
		size_t tag = pos + 7, gt, end;
		uint8_t md[32];
		unsigned char b64[48];

		/* "<scripts>" or "<script-x>" is another element. */
		if (tag < len && html[tag] != '>' && html[tag] != ' ' && html[tag] != '\t' &&
		    html[tag] != '\n' && html[tag] != '\r' && html[tag] != '\f' && html[tag] != '/') {
			pos = tag;
			continue;
		}
		if ((gt = csphash_find(html, len, tag, ">")) == len ||
		    (end = csphash_find(html, len, gt + 1, "</script")) == len)
			break;
		pos = end + 8;
		if (csphash_has_src(html + tag, gt - tag))
			continue;
		if (++found > CSPHASH_SCRIPTS_MAX || used + CSPHASH_SOURCE_LEN + 1 > size)
			continue;
		csphash_digest(html + gt + 1, end - gt - 1, md);
		EVP_EncodeBlock(b64, md, sizeof(md));
		used += (size_t)snprintf(out + used, size - used, " 'sha256-%s'", b64);
	}
	return found;
}
