/* WebSocket client framing for the load generator (see wsc.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/sha.h>
#include <sodium.h>

#include "common/random.h"
#include "tests/tools/wsframe.h"
#include "wsc.h"

#define WSC_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

size_t
wsc_upgrade_request(char *buf, size_t bufsz, const char *host, int port,
    char key[WSC_KEY_LEN + 1])
{
	uint8_t raw[16];
	int n;

	random_bytes(raw, sizeof(raw));
	sodium_bin2base64(key, WSC_KEY_LEN + 1, raw, sizeof(raw), sodium_base64_VARIANT_ORIGINAL);
	/* The header set of the Node ws client the CLI uses, minus the deflate offer
	 * (the server must not negotiate it anyway). */
	n = snprintf(buf, bufsz, "GET / HTTP/1.1\r\nHost: %s:%d\r\nConnection: Upgrade\r\n"
	    "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n\r\n",
	    host, port, key);
	return n < 0 || (size_t)n >= bufsz ? 0 : (size_t)n;
}

/* Finds header name (case-insensitive) in the head and returns its trimmed value. */
static const char *
wsc_header(const char *head, size_t len, const char *name, size_t *vlen)
{
	size_t nlen = strlen(name);
	const char *p = memchr(head, '\n', len), *end = head + len;

	while (p != NULL && ++p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));

		if (eol == NULL)
			break;
		if ((size_t)(eol - p) > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
			const char *v = p + nlen + 1, *ve = eol;

			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			*vlen = (size_t)(ve - v);
			return v;
		}
		p = eol;
	}
	return NULL;
}

long
wsc_upgrade_response(const char *buf, size_t len, size_t max, const char *key,
    int *status, int *accept_ok)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4), *v;
	char cat[WSC_KEY_LEN + sizeof(WSC_GUID)], want[32];
	uint8_t digest[SHA_DIGEST_LENGTH];
	size_t hlen, vlen;

	if (end == NULL)
		return len > max ? -1 : 0;
	hlen = (size_t)(end - buf) + 4;
	if (hlen > max)
		return -1;
	*status = 0;
	if (hlen > 12 && memcmp(buf, "HTTP/1.1 ", 9) == 0)
		sscanf(buf + 9, "%3d", status);
	snprintf(cat, sizeof(cat), "%s%s", key, WSC_GUID);
	SHA1((const uint8_t *)cat, strlen(cat), digest);
	sodium_bin2base64(want, sizeof(want), digest, sizeof(digest),
	    sodium_base64_VARIANT_ORIGINAL);
	v = wsc_header(buf, hlen, "Sec-WebSocket-Accept", &vlen);
	*accept_ok = v != NULL && vlen == strlen(want) && memcmp(v, want, vlen) == 0;
	return (long)hlen;
}

int
wsc_frame_parse(const uint8_t *buf, size_t len, size_t max, struct wsc_frame *f)
{
	struct wsframe_head h;
	int rc;

	if ((rc = wsframe_parse(buf, len, 0, &h)) <= 0)
		return rc;	/* -1: reserved bits, or a masked server frame */
	f->fin = h.fin;
	f->opcode = h.opcode;
	if ((f->opcode >= WSC_OP_CLOSE && (h.len > 125 || !f->fin)) || h.len > max)
		return -1;
	if (len - h.size < h.len)
		return 0;
	f->payload = buf + h.size;
	f->len = (size_t)h.len;
	f->size = h.size + (size_t)h.len;
	return 1;
}

/* Masking keys need not be secret here (the peer is our own loopback server and
 * the load generator must not spend its CPU budget on a CSPRNG per frame), only
 * different per frame: an xorshift generator seeded once per process. */
static uint32_t
wsc_mask_key(void)
{
	static uint32_t state;

	if (state == 0)
		random_bytes((uint8_t *)&state, sizeof(state));
	state ^= state << 13;
	state ^= state >> 17;
	state ^= state << 5;
	if (state == 0)
		state = 0x9e3779b9u;
	return state;
}

size_t
wsc_frame_build(uint8_t *out, size_t outsz, int opcode, const void *payload, size_t len)
{
	const uint8_t *in = payload;
	uint32_t key = wsc_mask_key();
	uint8_t mask[4];
	size_t hdr;

	if (outsz < WSC_FRAME_HDR_MAX || len > outsz - WSC_FRAME_HDR_MAX)
		return 0;
	hdr = wsframe_header(out, opcode, len, 1);
	memcpy(mask, &key, 4);
	memcpy(out + hdr, mask, 4);
	hdr += 4;
	for (size_t i = 0; i < len; i++)
		out[hdr + i] = in[i] ^ mask[i & 3];
	return hdr + len;
}
