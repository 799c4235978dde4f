#include "proto/proto.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/utf8.h"
#include "proto/pval.h"

void
proto_error_set(struct proto_error *e, const char *code, const char *fmt, ...)
{
	va_list ap;

	snprintf(e->code, sizeof(e->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

void
proto_kv_scopes(struct pbuf *b, const char *key, const struct proto_scopes *s)
{
	pval_key(b, key);
	pval_arr_begin(b);
	for (uint32_t i = 0; i < s->n; i++)
		pval_str(b, s->v[i]);
	pval_arr_end(b);
}

static void
proto_put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void
proto_put_u32(uint8_t *p, uint32_t v)
{
	proto_put_u16(p, (uint16_t)(v >> 16));
	proto_put_u16(p + 2, (uint16_t)v);
}

void
proto_put_u64(uint8_t *p, uint64_t v)
{
	proto_put_u32(p, (uint32_t)(v >> 32));
	proto_put_u32(p + 4, (uint32_t)v);
}

static uint16_t
proto_get_u16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

uint32_t
proto_get_u32(const uint8_t *p)
{
	return ((uint32_t)proto_get_u16(p) << 16) | proto_get_u16(p + 2);
}

uint64_t
proto_get_u64(const uint8_t *p)
{
	return ((uint64_t)proto_get_u32(p) << 32) | proto_get_u32(p + 4);
}

enum proto_frame_status
proto_hdr_parse(const uint8_t *data, size_t avail, uint32_t max_payload, struct proto_hdr *hdr)
{
	if (avail < PROTO_HDR_LEN)
		return PROTO_FRAME_NEED_MORE;
	hdr->len = proto_get_u32(data);
	hdr->type = proto_get_u16(data + 4);
	hdr->version = proto_get_u16(data + 6);
	hdr->id = proto_get_u32(data + 8);
	hdr->flags = proto_get_u32(data + 12);
	if (hdr->flags != 0 || hdr->len > max_payload)
		return PROTO_FRAME_BAD;
	return PROTO_FRAME_OK;
}

/* ---- message layouts ---- */

/* PK_STRLIST: a u32 count at `off` directly followed by `cnt` char arrays of max+1
 * bytes each (struct proto_scopes, proto_br_hello's bind list). PK_BYTES: exactly
 * `max` raw bytes, no length on the wire (tickets, raw device ids). */
enum proto_kind { PK_U8, PK_U16, PK_U32, PK_U64, PK_I64, PK_STR, PK_STRLIST, PK_BLOB,
	PK_BYTES };

struct proto_field {
	enum proto_kind kind;
	size_t off;
	size_t max;		/* strings: longest value in bytes */
	enum proto_charset cs;
	uint32_t cnt;		/* string lists: most entries */
};

#define F_INT(kind, st, f) { kind, offsetof(st, f), 0, PROTO_CS_ATOM, 0 }
#define F_STR(st, f, cs) { PK_STR, offsetof(st, f), sizeof(((st *)0)->f) - 1, cs, 0 }
#define F_SCOPES(st, f, cs) { PK_STRLIST, offsetof(st, f), PROTO_NAME_MAX, cs, PROTO_MAX_SCOPES }
#define F_BLOB(st, f) { PK_BLOB, offsetof(st, f), 0, PROTO_CS_ATOM, 0 }
#define F_BYTES(st, f) { PK_BYTES, offsetof(st, f), sizeof(((st *)0)->f), PROTO_CS_ATOM, 0 }

/* The string lists' layout that PK_STRLIST relies on. */
_Static_assert(offsetof(struct proto_scopes, v) == sizeof(uint32_t), "scopes layout");
_Static_assert(offsetof(struct proto_br_hello, bind) ==
    offsetof(struct proto_br_hello, nbind) + sizeof(uint32_t), "bind list layout");
_Static_assert(offsetof(struct proto_br_hello, trusted_proxies) ==
    offsetof(struct proto_br_hello, ntrusted_proxies) + sizeof(uint32_t), "proxy list layout");
_Static_assert(offsetof(struct proto_br_hello, relay.required_headers) ==
    offsetof(struct proto_br_hello, relay.nrequired_headers) + sizeof(uint32_t),
    "relay header list layout");
_Static_assert(offsetof(struct proto_br_config, trusted_proxies) ==
    offsetof(struct proto_br_config, ntrusted_proxies) + sizeof(uint32_t),
    "config proxy list layout");
_Static_assert(offsetof(struct proto_br_config, relay.required_headers) ==
    offsetof(struct proto_br_config, relay.nrequired_headers) + sizeof(uint32_t),
    "config relay header list layout");
#define F_ERROR(st, f)                                                          \
	F_STR(st, f.code, PROTO_CS_ATOM), F_STR(st, f.message, PROTO_CS_TEXT),  \
	    F_BLOB(st, f.details), F_INT(PK_U8, st, f.retryable),               \
	    F_INT(PK_I64, st, f.retry_after_ms)

static const struct proto_field fields_gw_hello[] = {
	F_INT(PK_U32, struct proto_gw_hello, pid),
	F_INT(PK_U32, struct proto_gw_hello, worker),
	F_INT(PK_U32, struct proto_gw_hello, workers),
};

static const struct proto_field fields_br_hello[] = {
	F_STR(struct proto_br_hello, version, PROTO_CS_TEXT),
	F_INT(PK_U16, struct proto_br_hello, port),
	{ PK_STRLIST, offsetof(struct proto_br_hello, nbind), PROTO_ADDR_MAX, PROTO_CS_ATOM,
	    PROTO_MAX_BINDS },
	F_INT(PK_U32, struct proto_br_hello, tick_interval_ms),
	F_INT(PK_U32, struct proto_br_hello, handshake_timeout_ms),
	F_INT(PK_U32, struct proto_br_hello, max_payload),
	F_INT(PK_U32, struct proto_br_hello, max_buffered),
	F_INT(PK_U32, struct proto_br_hello, max_preauth_per_ip),
	{ PK_STRLIST, offsetof(struct proto_br_hello, ntrusted_proxies), PROTO_ADDR_MAX,
	    PROTO_CS_ATOM, PROTO_MAX_PROXIES },
	F_INT(PK_U8, struct proto_br_hello, allow_real_ip_fallback),
	F_INT(PK_U8, struct proto_br_hello, tls_enabled),
	F_STR(struct proto_br_hello, tls_cert_path, PROTO_CS_TEXT),
	F_STR(struct proto_br_hello, tls_key_path, PROTO_CS_TEXT),
	F_STR(struct proto_br_hello, tls_cert_der, PROTO_CS_ATOM),
	F_STR(struct proto_br_hello, tls_key_der, PROTO_CS_ATOM),
	F_STR(struct proto_br_hello, ui_root, PROTO_CS_TEXT),
	F_STR(struct proto_br_hello, gatewayctl, PROTO_CS_TEXT),
	F_STR(struct proto_br_hello, relay.addr, PROTO_CS_ATOM),
	F_INT(PK_U16, struct proto_br_hello, relay.port),
	F_STR(struct proto_br_hello, relay.host, PROTO_CS_ATOM),
	F_STR(struct proto_br_hello, relay.user_header, PROTO_CS_ATOM),
	F_STR(struct proto_br_hello, relay.user, PROTO_CS_ATOM),
	{ PK_STRLIST, offsetof(struct proto_br_hello, relay.nrequired_headers), PROTO_NAME_MAX,
	    PROTO_CS_ATOM, PROTO_MAX_RELAY_HEADERS },
	F_STR(struct proto_br_hello, relay.client_ip_placeholder, PROTO_CS_ATOM),
};

static const struct proto_field fields_br_config[] = {
	{ PK_STRLIST, offsetof(struct proto_br_config, ntrusted_proxies), PROTO_ADDR_MAX,
	    PROTO_CS_ATOM, PROTO_MAX_PROXIES },
	F_INT(PK_U8, struct proto_br_config, allow_real_ip_fallback),
	F_STR(struct proto_br_config, gatewayctl, PROTO_CS_TEXT),
	F_INT(PK_U8, struct proto_br_config, tls_enabled),
	F_STR(struct proto_br_config, tls_cert_path, PROTO_CS_TEXT),
	F_STR(struct proto_br_config, tls_key_path, PROTO_CS_TEXT),
	F_STR(struct proto_br_config, tls_cert_der, PROTO_CS_ATOM),
	F_STR(struct proto_br_config, tls_key_der, PROTO_CS_ATOM),
	F_STR(struct proto_br_config, relay.addr, PROTO_CS_ATOM),
	F_INT(PK_U16, struct proto_br_config, relay.port),
	F_STR(struct proto_br_config, relay.host, PROTO_CS_ATOM),
	F_STR(struct proto_br_config, relay.user_header, PROTO_CS_ATOM),
	F_STR(struct proto_br_config, relay.user, PROTO_CS_ATOM),
	{ PK_STRLIST, offsetof(struct proto_br_config, relay.nrequired_headers), PROTO_NAME_MAX,
	    PROTO_CS_ATOM, PROTO_MAX_RELAY_HEADERS },
	F_STR(struct proto_br_config, relay.client_ip_placeholder, PROTO_CS_ATOM),
};

static const struct proto_field fields_gw_refused[] = {
	F_STR(struct proto_gw_refused, kind, PROTO_CS_ATOM),
	F_STR(struct proto_gw_refused, addr, PROTO_CS_ATOM),
	F_STR(struct proto_gw_refused, peer, PROTO_CS_ATOM),
	F_INT(PK_U16, struct proto_gw_refused, code),
	F_STR(struct proto_gw_refused, reason, PROTO_CS_DISPLAY),
	F_STR(struct proto_gw_refused, client_id, PROTO_CS_ATOM),
	F_STR(struct proto_gw_refused, client_mode, PROTO_CS_ATOM),
	F_STR(struct proto_gw_refused, device_id, PROTO_CS_DISPLAY),
	F_STR(struct proto_gw_refused, origin, PROTO_CS_TEXT),
	F_INT(PK_U32, struct proto_gw_refused, count),
};

static const struct proto_field fields_gw_upstream[] = {
	F_INT(PK_U8, struct proto_gw_upstream, reachable),
	F_INT(PK_I64, struct proto_gw_upstream, at_ms),
	F_INT(PK_I64, struct proto_gw_upstream, last_ok_ms),
	F_STR(struct proto_gw_upstream, error, PROTO_CS_DISPLAY),
};

static const struct proto_field fields_conn_ref[] = {
	F_INT(PK_U64, struct proto_conn_ref, conn),
};

static const struct proto_field fields_session_ref[] = {
	F_INT(PK_U64, struct proto_session_ref, conn),
	F_BYTES(struct proto_session_ref, ticket),
};

static const struct proto_field fields_challenge[] = {
	F_INT(PK_U64, struct proto_challenge, conn),
	F_STR(struct proto_challenge, nonce, PROTO_CS_ATOM),
	F_INT(PK_I64, struct proto_challenge, ts),
};

#define C struct proto_connect
static const struct proto_field fields_connect[] = {
	F_INT(PK_U64, C, conn),
	F_STR(C, peer_ip, PROTO_CS_ATOM),
	F_INT(PK_U8, C, proxy_headers),
	F_STR(C, origin, PROTO_CS_TEXT),
	F_STR(C, host, PROTO_CS_TEXT),
	F_INT(PK_I64, C, min_protocol),
	F_INT(PK_I64, C, max_protocol),
	F_STR(C, client_id, PROTO_CS_ATOM),
	F_STR(C, client_mode, PROTO_CS_ATOM),
	F_STR(C, client_version, PROTO_CS_DISPLAY),
	F_STR(C, client_platform, PROTO_CS_DISPLAY),
	F_STR(C, client_device_family, PROTO_CS_DISPLAY),
	F_STR(C, client_display_name, PROTO_CS_DISPLAY),
	F_STR(C, role, PROTO_CS_DISPLAY),
	F_SCOPES(C, scopes, PROTO_CS_DISPLAY),
	F_INT(PK_U8, C, auth_present),
	F_STR(C, token, PROTO_CS_TEXT),
	F_STR(C, password, PROTO_CS_TEXT),
	F_STR(C, device_token, PROTO_CS_TEXT),
	F_STR(C, bootstrap_token, PROTO_CS_TEXT),
	F_INT(PK_U8, C, has_device),
	F_STR(C, device_id, PROTO_CS_DISPLAY),
	F_STR(C, public_key, PROTO_CS_TEXT),
	F_STR(C, signature, PROTO_CS_TEXT),
	F_STR(C, device_nonce, PROTO_CS_TEXT),
	F_INT(PK_I64, C, signed_at),
};
#undef C

#define A struct proto_accept
static const struct proto_field fields_accept[] = {
	F_INT(PK_U64, A, conn),
	F_STR(A, role, PROTO_CS_ATOM),
	F_SCOPES(A, scopes, PROTO_CS_TEXT),
	F_STR(A, method, PROTO_CS_ATOM),
	F_STR(A, device_id, PROTO_CS_ATOM),
	F_STR(A, device_token, PROTO_CS_ATOM),
	F_INT(PK_I64, A, issued_at_ms),
	F_STR(A, recovery_scope, PROTO_CS_ATOM),
	F_INT(PK_U8, A, flags),
	F_STR(A, locality, PROTO_CS_ATOM),
	F_BYTES(A, ticket),
};
#undef A

static const struct proto_field fields_reject[] = {
	F_INT(PK_U64, struct proto_reject, conn),
	F_INT(PK_U16, struct proto_reject, close_code),
	F_STR(struct proto_reject, close_reason, PROTO_CS_TEXT),
	F_INT(PK_U8, struct proto_reject, has_error),
	F_ERROR(struct proto_reject, error),
	F_STR(struct proto_reject, locality, PROTO_CS_ATOM),
	F_STR(struct proto_reject, pairing_request_id, PROTO_CS_ATOM),
	F_INT(PK_U32, struct proto_reject, delay_ms),
};

#define R struct proto_rpc
static const struct proto_field fields_rpc[] = {
	F_INT(PK_U64, R, conn),
	F_BYTES(R, ticket),
	F_STR(R, id, PROTO_CS_TEXT),
	F_STR(R, method, PROTO_CS_ATOM),
	F_INT(PK_U32, R, params),
	F_STR(R, request_id, PROTO_CS_DISPLAY),
	F_STR(R, device_id, PROTO_CS_DISPLAY),
	F_STR(R, role, PROTO_CS_DISPLAY),
	F_STR(R, label, PROTO_CS_DISPLAY),
	F_SCOPES(R, scopes, PROTO_CS_DISPLAY),
};
#undef R

static const struct proto_field fields_rpc_result[] = {
	F_INT(PK_U64, struct proto_rpc_result, conn),
	F_STR(struct proto_rpc_result, id, PROTO_CS_TEXT),
	F_INT(PK_U8, struct proto_rpc_result, ok),
	F_BLOB(struct proto_rpc_result, payload),
	F_ERROR(struct proto_rpc_result, error),
};

static const struct proto_field fields_event[] = {
	F_INT(PK_U8, struct proto_event, audience),
	F_STR(struct proto_event, event, PROTO_CS_ATOM),
	F_BLOB(struct proto_event, payload),
	F_BYTES(struct proto_event, device),
};

static const struct proto_field fields_close[] = {
	F_INT(PK_U8, struct proto_close, target),
	F_BYTES(struct proto_close, device),
	F_INT(PK_U8, struct proto_close, roles),
	F_INT(PK_U64, struct proto_close, except_conn),
	F_INT(PK_U16, struct proto_close, code),
	F_STR(struct proto_close, reason, PROTO_CS_TEXT),
};

static const struct proto_field fields_ctl_target[] = {
	F_STR(struct proto_ctl_target, id, PROTO_CS_TEXT),
	F_INT(PK_U8, struct proto_ctl_target, latest),
};

static const struct proto_field fields_ctl_device[] = {
	F_STR(struct proto_ctl_device, device_id, PROTO_CS_ATOM),
	F_STR(struct proto_ctl_device, role, PROTO_CS_ATOM),
	F_STR(struct proto_ctl_device, label, PROTO_CS_DISPLAY),
	F_INT(PK_U8, struct proto_ctl_device, has_scopes),
	F_SCOPES(struct proto_ctl_device, scopes, PROTO_CS_TEXT),
};

static const struct proto_field fields_ctl_result[] = {
	F_INT(PK_U8, struct proto_ctl_result, ok),
	F_BLOB(struct proto_ctl_result, payload),
	F_ERROR(struct proto_ctl_result, error),
};

struct proto_layout {
	uint16_t type;
	const char *name;
	const struct proto_field *fields;
	size_t nfields;
	size_t size;
};

#define LAYOUT(t, f, st) { t, #t, f, sizeof(f) / sizeof(f[0]), sizeof(st) }
#define LAYOUT_EMPTY(t) { t, #t, NULL, 0, 0 }

static const struct proto_layout layouts[] = {
	LAYOUT(PROTO_GW_HELLO, fields_gw_hello, struct proto_gw_hello),
	LAYOUT(PROTO_GW_CHALLENGE, fields_conn_ref, struct proto_conn_ref),
	LAYOUT(PROTO_GW_CONNECT, fields_connect, struct proto_connect),
	LAYOUT(PROTO_GW_RPC, fields_rpc, struct proto_rpc),
	LAYOUT(PROTO_GW_CLOSED, fields_conn_ref, struct proto_conn_ref),
	LAYOUT(PROTO_GW_SESSION_CLOSED, fields_session_ref, struct proto_session_ref),
	LAYOUT(PROTO_GW_REFUSED, fields_gw_refused, struct proto_gw_refused),
	LAYOUT(PROTO_GW_UPSTREAM, fields_gw_upstream, struct proto_gw_upstream),
	LAYOUT(PROTO_BR_HELLO, fields_br_hello, struct proto_br_hello),
	LAYOUT(PROTO_BR_CHALLENGE, fields_challenge, struct proto_challenge),
	LAYOUT(PROTO_BR_ACCEPT, fields_accept, struct proto_accept),
	LAYOUT(PROTO_BR_REJECT, fields_reject, struct proto_reject),
	LAYOUT(PROTO_BR_RPC_RESULT, fields_rpc_result, struct proto_rpc_result),
	LAYOUT(PROTO_BR_EVENT, fields_event, struct proto_event),
	LAYOUT(PROTO_BR_CLOSE, fields_close, struct proto_close),
	LAYOUT(PROTO_BR_CONFIG, fields_br_config, struct proto_br_config),
	LAYOUT_EMPTY(PROTO_CTL_LIST),
	LAYOUT(PROTO_CTL_APPROVE, fields_ctl_target, struct proto_ctl_target),
	LAYOUT(PROTO_CTL_REJECT, fields_ctl_target, struct proto_ctl_target),
	LAYOUT(PROTO_CTL_REMOVE, fields_ctl_target, struct proto_ctl_target),
	LAYOUT_EMPTY(PROTO_CTL_TOKEN_GENERATE),
	LAYOUT_EMPTY(PROTO_CTL_STATUS),
	LAYOUT(PROTO_CTL_TOKEN_ROTATE, fields_ctl_device, struct proto_ctl_device),
	LAYOUT(PROTO_CTL_TOKEN_REVOKE, fields_ctl_device, struct proto_ctl_device),
	LAYOUT(PROTO_CTL_RENAME, fields_ctl_device, struct proto_ctl_device),
	LAYOUT_EMPTY(PROTO_CTL_AUDIT),
	LAYOUT_EMPTY(PROTO_CTL_DASHBOARD),
	LAYOUT(PROTO_CTL_DOCTOR, fields_ctl_target, struct proto_ctl_target),
	LAYOUT(PROTO_CTL_RESULT, fields_ctl_result, struct proto_ctl_result),
};

static const struct proto_layout *
proto_layout_find(uint16_t type)
{
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (layouts[i].type == type)
			return &layouts[i];
	return NULL;
}

const char *
proto_type_name(uint16_t type)
{
	const struct proto_layout *l = proto_layout_find(type);

	return l ? l->name : "unknown";
}

int
proto_str_ok(const char *s, size_t len, size_t max, enum proto_charset cs)
{
	if (len > max)
		return 0;
	if (cs == PROTO_CS_ATOM) {
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
				return 0;
		return 1;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	if (cs == PROTO_CS_TEXT)
		return utf8_valid((const uint8_t *)s, len);
	for (size_t i = 0, n; i < len; i += n) {
		uint32_t cp;

		if ((n = utf8_decode((const uint8_t *)s + i, len - i, &cp)) == 0 ||
		    utf8_is_hidden(cp))
			return 0;
	}
	return 1;
}

/* ---- encoding ---- */

static void
enc_u32(struct pbuf *b, uint32_t v)
{
	uint8_t p[4];

	proto_put_u32(p, v);
	pbuf_add(b, p, 4);
}

static int
enc_str(struct pbuf *b, const char *s, size_t max, enum proto_charset cs)
{
	size_t len = strnlen(s, max + 1);

	if (!proto_str_ok(s, len, max, cs))
		return -1;
	enc_u32(b, (uint32_t)len);
	pbuf_add(b, s, len);
	return 0;
}

static int
enc_field(struct pbuf *b, const struct proto_field *f, const uint8_t *base)
{
	const void *p = base + f->off;
	uint8_t tmp[8];

	switch (f->kind) {
	case PK_U8:
		pbuf_add(b, p, 1);
		return 0;
	case PK_U16:
		proto_put_u16(tmp, *(const uint16_t *)p);
		pbuf_add(b, tmp, 2);
		return 0;
	case PK_U32:
		enc_u32(b, *(const uint32_t *)p);
		return 0;
	case PK_U64:
	case PK_I64:
		proto_put_u64(tmp, *(const uint64_t *)p);
		pbuf_add(b, tmp, 8);
		return 0;
	case PK_STR:
		return enc_str(b, p, f->max, f->cs);
	case PK_STRLIST: {
		uint32_t n = *(const uint32_t *)p;
		const char *v = (const char *)p + sizeof(uint32_t);

		if (n > f->cnt)
			return -1;
		enc_u32(b, n);
		for (uint32_t i = 0; i < n; i++)
			if (enc_str(b, v + i * (f->max + 1), f->max, f->cs) < 0)
				return -1;
		return 0;
	}
	case PK_BLOB: {
		const struct proto_blob *bl = p;

		enc_u32(b, bl->len);
		pbuf_add(b, bl->data, bl->len);
		return 0;
	}
	case PK_BYTES:
		pbuf_add(b, p, f->max);
		return 0;
	}
	return -1;
}

int
proto_encode(struct pbuf *b, uint16_t type, uint32_t id, const void *msg)
{
	const struct proto_layout *l = proto_layout_find(type);
	size_t start = b->len;
	uint8_t hdr[PROTO_HDR_LEN];

	if (l == NULL)
		return -1;
	memset(hdr, 0, sizeof(hdr));
	pbuf_add(b, hdr, sizeof(hdr));
	for (size_t i = 0; i < l->nfields; i++) {
		if (enc_field(b, &l->fields[i], msg) < 0) {
			b->len = start;
			return -1;
		}
	}
	proto_put_u32(b->data + start, (uint32_t)(b->len - start - PROTO_HDR_LEN));
	proto_put_u16(b->data + start + 4, type);
	proto_put_u16(b->data + start + 6, PROTO_VERSION);
	proto_put_u32(b->data + start + 8, id);
	return 0;
}

/* ---- decoding ---- */

struct pcur {
	const uint8_t *p;
	size_t left;
};

static const uint8_t *
cur_take(struct pcur *c, size_t n)
{
	const uint8_t *p = c->p;

	if (c->left < n)
		return NULL;
	c->p += n;
	c->left -= n;
	return p;
}

static int
dec_str(struct pcur *c, char *dst, size_t max, enum proto_charset cs)
{
	const uint8_t *lp = cur_take(c, 4), *s;
	uint32_t len;

	if (lp == NULL)
		return -1;
	len = proto_get_u32(lp);
	if (len > max || (s = cur_take(c, len)) == NULL)
		return -1;
	if (memchr(s, '\0', len) != NULL || !proto_str_ok((const char *)s, len, max, cs))
		return -1;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

static int
dec_count(struct pcur *c, uint32_t max, uint32_t *n)
{
	const uint8_t *p = cur_take(c, 4);

	if (p == NULL || (*n = proto_get_u32(p)) > max)
		return -1;
	return 0;
}

static int
dec_field(struct pcur *c, const struct proto_field *f, uint8_t *base)
{
	void *dst = base + f->off;
	const uint8_t *p;

	switch (f->kind) {
	case PK_U8:
		if ((p = cur_take(c, 1)) == NULL)
			return -1;
		*(uint8_t *)dst = *p;
		return 0;
	case PK_U16:
		if ((p = cur_take(c, 2)) == NULL)
			return -1;
		*(uint16_t *)dst = proto_get_u16(p);
		return 0;
	case PK_U32:
		if ((p = cur_take(c, 4)) == NULL)
			return -1;
		*(uint32_t *)dst = proto_get_u32(p);
		return 0;
	case PK_U64:
	case PK_I64:
		if ((p = cur_take(c, 8)) == NULL)
			return -1;
		*(uint64_t *)dst = proto_get_u64(p);
		return 0;
	case PK_STR:
		return dec_str(c, dst, f->max, f->cs);
	case PK_STRLIST: {
		uint32_t *n = dst;
		char *v = (char *)dst + sizeof(uint32_t);

		if (dec_count(c, f->cnt, n) < 0)
			return -1;
		for (uint32_t i = 0; i < *n; i++)
			if (dec_str(c, v + i * (f->max + 1), f->max, f->cs) < 0)
				return -1;
		return 0;
	}
	case PK_BLOB: {
		struct proto_blob *bl = dst;

		if ((p = cur_take(c, 4)) == NULL)
			return -1;
		bl->len = proto_get_u32(p);
		if ((bl->data = cur_take(c, bl->len)) == NULL)
			return -1;
		return bl->len == 0 || pval_check(bl->data, bl->len) == 0 ? 0 : -1;
	}
	case PK_BYTES:
		if ((p = cur_take(c, f->max)) == NULL)
			return -1;
		memcpy(dst, p, f->max);
		return 0;
	}
	return -1;
}

int
proto_decode(uint16_t type, const uint8_t *data, size_t len, void *msg, size_t size)
{
	const struct proto_layout *l = proto_layout_find(type);
	struct pcur c = { data, len };

	if (l == NULL || l->size > size)
		return -1;
	if (l->size)
		memset(msg, 0, l->size);
	for (size_t i = 0; i < l->nfields; i++)
		if (dec_field(&c, &l->fields[i], msg) < 0)
			return -1;
	return c.left == 0 ? 0 : -1;
}
