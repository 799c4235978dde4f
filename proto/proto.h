/*
 * The internal wire protocol: gatewayd <-> brokerd and gatewayctl <-> brokerd.
 *
 * Every frame is a 16-byte header in network byte order followed by the payload:
 *   u32 payload length | u16 type | u16 version | u32 request id | u32 flags (0)
 * Payloads are sequences of fields laid out by one descriptor table per message
 * type (proto.c). Integers are big-endian; a string is a u32 length then bytes,
 * checked against a per-field maximum and charset; a blob is a u32 length then a
 * pval value tree (pval.h). The decoder fails on a short read, an over-long or
 * badly-charactered string, a malformed blob, or bytes left over.
 *
 * No JSON crosses this link. Bump PROTO_VERSION whenever anything here changes;
 * peers exchange a hello first and refuse a different version.
 */
#ifndef CLAWGATE_PROTO_H
#define CLAWGATE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "proto/pbuf.h"

#define PROTO_VERSION 15
#define PROTO_HDR_LEN 16
/* Largest payload the broker sends (device lists); gatewayd and gatewayctl accept it. */
#define PROTO_MAX_PAYLOAD (16u << 20)
/* Largest payload the broker accepts from a gateway or a control client. */
#define PROTO_MAX_REQUEST (64u << 10)

enum proto_type {
	/* gateway -> broker requests */
	PROTO_GW_HELLO = 0x0101,
	PROTO_GW_CHALLENGE = 0x0102,
	PROTO_GW_CONNECT = 0x0103,
	PROTO_GW_RPC = 0x0104,
	PROTO_GW_CLOSED = 0x0105,
	PROTO_GW_SESSION_CLOSED = 0x0106,	/* an accepted session ended: its ticket */
	/* gateway -> broker reports, for gatewayctl doctor; no answer */
	PROTO_GW_REFUSED = 0x0107,	/* gatewayd refused a client on its own */
	PROTO_GW_UPSTREAM = 0x0108,	/* relay mode: whether the upstream answers */
	/* broker -> gateway answers */
	PROTO_BR_HELLO = 0x0201,
	PROTO_BR_CHALLENGE = 0x0202,
	PROTO_BR_ACCEPT = 0x0203,
	PROTO_BR_REJECT = 0x0204,
	PROTO_BR_RPC_RESULT = 0x0205,
	/* broker -> gateway pushes */
	PROTO_BR_EVENT = 0x0301,
	PROTO_BR_CLOSE = 0x0302,	/* close the sessions a struct proto_close names */
	PROTO_BR_CONFIG = 0x0303,	/* a reload changed settings gatewayd applies */
	/* gatewayctl -> broker commands */
	PROTO_CTL_LIST = 0x0401,
	PROTO_CTL_APPROVE = 0x0402,
	PROTO_CTL_REJECT = 0x0403,
	PROTO_CTL_REMOVE = 0x0404,
	PROTO_CTL_TOKEN_GENERATE = 0x0405,
	PROTO_CTL_STATUS = 0x0406,
	PROTO_CTL_TOKEN_ROTATE = 0x0407,	/* a device's token: rotate, revoke, rename */
	PROTO_CTL_TOKEN_REVOKE = 0x0408,
	PROTO_CTL_RENAME = 0x0409,
	PROTO_CTL_AUDIT = 0x040a,
	PROTO_CTL_DASHBOARD = 0x040b,	/* the Control UI's URL, with the shared token */
	PROTO_CTL_DOCTOR = 0x040c,	/* recent refusals explained; a target: the device */
	/* broker -> gatewayctl answer */
	PROTO_CTL_RESULT = 0x0501,
};

/* Per-field maxima in bytes (each array below has room for the NUL as well). */
#define PROTO_NAME_MAX 64	/* enums, roles, scopes, method names, error codes */
#define PROTO_ID_MAX 128	/* request ids, device ids, nonces, rpc ids */
#define PROTO_TEXT_MAX 256	/* versions, platforms, display names, labels, origin, host */
#define PROTO_KEY_MAX 512	/* public keys and signatures in whatever encoding was sent */
#define PROTO_TOKEN_MAX 512	/* shared tokens, passwords, device tokens */
#define PROTO_REASON_MAX 123	/* RFC 6455: a close reason fits 123 bytes */
#define PROTO_MESSAGE_MAX 512	/* error messages */
#define PROTO_ADDR_MAX 64	/* textual IPv4/IPv6 address */
#define PROTO_MAX_SCOPES 32
#define PROTO_MAX_BINDS 4
#define PROTO_MAX_PROXIES 16	/* gateway.trustedProxies entries */
#define PROTO_MAX_RELAY_HEADERS 8	/* clawgate.relay.requiredHeaders entries */
#define PROTO_PATH_MAX 1024	/* a file system path (gateway.controlUi.root) */
#define PROTO_COMMAND_MAX 512	/* a shell command line shown to admins (clawgate.gatewayctl) */
/* gateway.tls.autoGenerate's certificate and key as base64 of their DER */
#define PROTO_TLS_CERT_MAX 4096
#define PROTO_TLS_KEY_MAX 512

enum proto_charset {
	PROTO_CS_ATOM,	/* printable ASCII, no space: enums, ids, scopes */
	PROTO_CS_TEXT,	/* valid UTF-8 without control characters */
	/* Text a client chose that admins see (names, platforms, device ids, roles,
	 * scopes): PROTO_CS_TEXT without what utf8_is_hidden() names either (C1
	 * controls, bidirectional formatting, line separators). */
	PROTO_CS_DISPLAY,
};

/* A borrowed view of a pval value (pval.h): inside a decoded frame, or a pbuf's
 * bytes to be encoded. */
struct proto_blob {
	const uint8_t *data;
	uint32_t len;
};

/* The value built in b, as a blob field of a message to encode. */
static inline struct proto_blob
proto_blob_of(const struct pbuf *b)
{
	struct proto_blob bl = { b->data, (uint32_t)b->len };
	return bl;
}

struct proto_scopes {
	uint32_t n;
	char v[PROTO_MAX_SCOPES][PROTO_NAME_MAX + 1];
};

/* Appends "key": [scopes...] to a pval object under construction (pval.h). */
void proto_kv_scopes(struct pbuf *b, const char *key, const struct proto_scopes *s);

struct proto_gw_hello {
	uint32_t pid;
	uint32_t worker;		/* 0..workers-1 */
	uint32_t workers;		/* gatewayd --workers: links brokerd allows */
};

/* The non-secret settings the broker read from the config, for gatewayd. */
/* clawgate.relay (doc/relay.md) as brokerd checked it: where and how gatewayd
 * carries admitted sessions to an OpenClaw gateway. port 0: relay mode is off.
 * addr is numeric: gatewayd looks up no names in its sandbox. */
struct proto_relay {
	char addr[PROTO_ADDR_MAX + 1];
	uint16_t port;
	char host[PROTO_TEXT_MAX + 1];	/* the upgrade's Host: the URL's host[:port] */
	char user_header[PROTO_NAME_MAX + 1];
	char user[PROTO_NAME_MAX + 1];
	uint32_t nrequired_headers;
	char required_headers[PROTO_MAX_RELAY_HEADERS][PROTO_NAME_MAX + 1];
	char client_ip_placeholder[PROTO_ADDR_MAX + 1];
};

struct proto_br_hello {
	char version[PROTO_TEXT_MAX + 1];
	uint16_t port;
	uint32_t nbind;
	char bind[PROTO_MAX_BINDS][PROTO_ADDR_MAX + 1];
	uint32_t tick_interval_ms;
	uint32_t handshake_timeout_ms;
	uint32_t max_payload;
	uint32_t max_buffered;
	/* Unauthenticated WebSocket sockets per client address (doc/protocol.md §1). */
	uint32_t max_preauth_per_ip;
	/* gateway.trustedProxies (addresses or CIDRs) and allowRealIpFallback (§4.2) */
	uint32_t ntrusted_proxies;
	char trusted_proxies[PROTO_MAX_PROXIES][PROTO_ADDR_MAX + 1];
	uint8_t allow_real_ip_fallback;
	/* gateway.tls.enabled, certPath, keyPath: gatewayd opens the files itself.
	 * With gateway.tls.autoGenerate the paths are empty and brokerd sends the
	 * pair it keeps in its state dir (base64 of the DER), which gatewayd could
	 * not read; gatewayd wipes the key once it is loaded. */
	uint8_t tls_enabled;
	char tls_cert_path[PROTO_TEXT_MAX + 1];
	char tls_key_path[PROTO_TEXT_MAX + 1];
	char tls_cert_der[PROTO_TLS_CERT_MAX + 1];
	char tls_key_der[PROTO_TLS_KEY_MAX + 1];
	char ui_root[PROTO_PATH_MAX + 1];	/* gateway.controlUi.root; "": the built-in UI */
	/* How an admin runs gatewayctl on this host ("gatewayctl", or with --socket):
	 * the Control UI shows it in front of `devices approve <requestId>`. */
	char gatewayctl[PROTO_COMMAND_MAX + 1];
	struct proto_relay relay;
};

/* BR_CONFIG: the settings of BR_HELLO that a reload of brokerd's
 * configuration may change while gatewayd runs (it applies them to the
 * connections it accepts and the sessions it relays from then on). */
struct proto_br_config {
	uint32_t ntrusted_proxies;
	char trusted_proxies[PROTO_MAX_PROXIES][PROTO_ADDR_MAX + 1];
	uint8_t allow_real_ip_fallback;
	char gatewayctl[PROTO_COMMAND_MAX + 1];
	/* gateway.tls as in BR_HELLO: gatewayd loads the certificate and key
	 * again (the files, or the generated pair carried here) for new
	 * connections; TLS on or off, or files or generated, as it started. */
	uint8_t tls_enabled;
	char tls_cert_path[PROTO_TEXT_MAX + 1];
	char tls_key_path[PROTO_TEXT_MAX + 1];
	char tls_cert_der[PROTO_TLS_CERT_MAX + 1];
	char tls_key_der[PROTO_TLS_KEY_MAX + 1];
	/* clawgate.relay for new sessions: on, and on the port, it started with */
	struct proto_relay relay;
};

/* GW_REFUSED: gatewayd refused a client without asking brokerd (a WebSocket
 * close or an HTTP error status in code), count times alike within a few
 * seconds (gatewayd coalesces repeats). kind is one of the PROTO_GWREF_*
 * names; addr is the client as attributed, peer the TCP peer when it differs
 * (a trusted proxy) or when it is the address refused for its forwarding
 * headers. The client-chosen fields are what gatewayd had parsed by then. */
#define PROTO_GWREF_PROXY_UNTRUSTED "PROXY_UNTRUSTED"	/* headers from an untrusted peer */
#define PROTO_GWREF_PROXY_NO_CLIENT "PROXY_NO_CLIENT"	/* a trusted proxy named no client */
#define PROTO_GWREF_PREAUTH_LIMIT "PREAUTH_LIMIT"	/* unauthenticated sockets per address */
#define PROTO_GWREF_BAD_UPGRADE "BAD_UPGRADE"		/* an upgrade that is not RFC 6455's */
#define PROTO_GWREF_HANDSHAKE_TIMEOUT "HANDSHAKE_TIMEOUT"	/* no connect in time */
#define PROTO_GWREF_BAD_CONNECT "BAD_CONNECT"		/* a first message that is no connect */
struct proto_gw_refused {
	char kind[PROTO_NAME_MAX + 1];
	char addr[PROTO_ADDR_MAX + 1];
	char peer[PROTO_ADDR_MAX + 1];		/* "" when it is addr */
	uint16_t code;
	char reason[PROTO_REASON_MAX + 1];
	char client_id[PROTO_NAME_MAX + 1];
	char client_mode[PROTO_NAME_MAX + 1];
	char device_id[PROTO_ID_MAX + 1];
	char origin[PROTO_TEXT_MAX + 1];
	uint32_t count;
};

/* GW_UPSTREAM: relay mode, what gatewayd last saw of its upstream (a session's
 * connect to it, or gatewayd's own probe): reachable or not at at_ms, the last
 * time it answered (0: never since gatewayd started), and what failed. */
struct proto_gw_upstream {
	uint8_t reachable;
	int64_t at_ms;
	int64_t last_ok_ms;
	char error[PROTO_TEXT_MAX + 1];		/* "" when reachable */
};

/* The WebSocket close codes (RFC 6455 §7.4.1) clawgate sends a client, whether
 * gatewayd picks them or brokerd does (BR_REJECT's close_code, BR_CLOSE's code).
 * doc/protocol.md §5 says which situation closes with which. */
enum proto_close_code {
	PROTO_CLOSE_NORMAL = 1000,		/* not JSON; the handshake timed out */
	PROTO_CLOSE_PROTOCOL_ERROR = 1002,	/* WebSocket framing; "protocol mismatch" */
	PROTO_CLOSE_UNSUPPORTED_DATA = 1003,	/* a binary message */
	PROTO_CLOSE_INVALID_DATA = 1007,	/* a text message that is not UTF-8 */
	PROTO_CLOSE_POLICY = 1008,		/* refused: auth, pairing, flood, slow consumer */
	PROTO_CLOSE_TOO_BIG = 1009,		/* message or fragment count over the limit */
	PROTO_CLOSE_INTERNAL = 1011,		/* clawgate's own failure */
	PROTO_CLOSE_RESTART = 1012,		/* "service restart" */
	PROTO_CLOSE_TRY_AGAIN = 1013,		/* unavailable or busy now; retry later */
	PROTO_CLOSE_AUTH_CHANGED = 4001,	/* the shared secret this session proved changed */
};

struct proto_conn_ref {
	uint64_t conn;
};

/*
 * A session ticket: on BR_ACCEPT the broker seals into it everything it needs to
 * authorise the session later, so that it keeps nothing per session (doc/design.md
 * §6); gatewayd stores it and sends it back with every GW_RPC and with
 * GW_SESSION_CLOSED. Layout (big-endian), read by brokerd/ticket.c:
 *    0 u64 device epoch (the device's and role's, see brokerd/sessions.h)
 *    8 u64 shared-secret epoch (when PROTO_TICKET_SHARED)
 *   16 u32 scope mask (brokerd/scopes.h)
 *   20 u8  role (PROTO_ROLE_*)
 *   21 u8  flags (PROTO_TICKET_*)
 *   22 32 bytes: the device id as raw SHA-256 (zeros when device-less)
 *   54 16 bytes: HMAC-SHA256, cut, under a key only brokerd holds, of bytes
 *      0-53 followed by the broker's u64 serial of the link and the u64 conn
 *      (not stored: the message carrying the ticket names them)
 * gatewayd cannot forge or alter one, nor use it for another conn or link, but
 * may read role, flags and device to find the sessions a BR_CLOSE names.
 */
#define PROTO_TICKET_LEN 70
#define PROTO_TICKET_ROLE 20
#define PROTO_TICKET_FLAGS 21
#define PROTO_TICKET_DEVICE 22
#define PROTO_TICKET_DEVICE_LEN 32
#define PROTO_TICKET_MAC 54
#define PROTO_TICKET_SHARED 0x01	/* accepted on the shared token or password */
#define PROTO_TICKET_BOUND 0x02		/* bound to a device */
#define PROTO_ROLE_OPERATOR 0		/* roles as tickets and BR_CLOSE number them */
#define PROTO_ROLE_NODE 1

/* GW_SESSION_CLOSED: an accepted session ended (GW_CLOSED is for the others). */
struct proto_session_ref {
	uint64_t conn;
	uint8_t ticket[PROTO_TICKET_LEN];
};

struct proto_challenge {
	uint64_t conn;
	char nonce[PROTO_ID_MAX + 1];
	int64_t ts;
};

/* Which auth.* members were present: "" counts as present for the signed token slot. */
#define PROTO_AUTH_TOKEN 0x01
#define PROTO_AUTH_PASSWORD 0x02
#define PROTO_AUTH_DEVICE_TOKEN 0x04
#define PROTO_AUTH_BOOTSTRAP 0x08

/* The fields of a schema-valid connect request, plus what gatewayd saw of the peer. */
struct proto_connect {
	uint64_t conn;
	char peer_ip[PROTO_ADDR_MAX + 1];
	uint8_t proxy_headers;	/* Forwarded, X-Forwarded-*, X-Real-IP or tailscale-* seen */
	char origin[PROTO_TEXT_MAX + 1];
	char host[PROTO_TEXT_MAX + 1];
	int64_t min_protocol;
	int64_t max_protocol;
	char client_id[PROTO_NAME_MAX + 1];
	char client_mode[PROTO_NAME_MAX + 1];
	char client_version[PROTO_TEXT_MAX + 1];
	char client_platform[PROTO_TEXT_MAX + 1];
	char client_device_family[PROTO_TEXT_MAX + 1];
	char client_display_name[PROTO_TEXT_MAX + 1];
	char role[PROTO_NAME_MAX + 1];	/* empty: absent, meaning operator */
	struct proto_scopes scopes;	/* exactly as sent: order and duplicates kept */
	uint8_t auth_present;
	char token[PROTO_TOKEN_MAX + 1];
	char password[PROTO_TOKEN_MAX + 1];
	char device_token[PROTO_TOKEN_MAX + 1];
	char bootstrap_token[PROTO_TOKEN_MAX + 1];
	uint8_t has_device;
	char device_id[PROTO_ID_MAX + 1];
	char public_key[PROTO_KEY_MAX + 1];
	char signature[PROTO_KEY_MAX + 1];
	char device_nonce[PROTO_ID_MAX + 1];
	int64_t signed_at;
};

#define PROTO_ACCEPT_PAIRING_EVENTS 0x01	/* session may receive device.pair.* events */
#define PROTO_ACCEPT_RECOVERY_MIGRATION 0x02	/* hello-ok auth.recoveryMigrationAllowed */
/* With PROTO_ACCEPT_PAIRING_EVENTS: the events about every device (a device-less
 * session, or one holding operator.admin). Without it the session receives only
 * the events about the device its ticket binds it to, and none if unbound. */
#define PROTO_ACCEPT_PAIRING_ALL 0x04

struct proto_accept {
	uint64_t conn;
	char role[PROTO_NAME_MAX + 1];
	struct proto_scopes scopes;
	char method[PROTO_NAME_MAX + 1];
	char device_id[PROTO_ID_MAX + 1];	/* empty for a device-less session */
	char device_token[PROTO_TOKEN_MAX + 1];	/* empty unless one was minted now */
	int64_t issued_at_ms;
	char recovery_scope[PROTO_ID_MAX + 1];
	uint8_t flags;
	/* For gatewayd's admission log line: the §4.2 locality the broker found
	 * (brokerd/locality.h names). */
	char locality[PROTO_NAME_MAX + 1];
	uint8_t ticket[PROTO_TICKET_LEN];	/* gatewayd sends it with the session's RPCs */
};

/* An OpenClaw error object: {code, message, details?, retryable?, retryAfterMs?}. */
struct proto_error {
	char code[PROTO_NAME_MAX + 1];
	char message[PROTO_MESSAGE_MAX + 1];
	struct proto_blob details;	/* empty: no details */
	uint8_t retryable;		/* 0 absent, 1 false, 2 true */
	int64_t retry_after_ms;		/* < 0: absent */
};

struct proto_reject {
	uint64_t conn;
	uint16_t close_code;
	char close_reason[PROTO_REASON_MAX + 1];
	uint8_t has_error;		/* send a res frame before the close */
	struct proto_error error;
	/* For gatewayd's rejection log line: the locality as in proto_accept and
	 * the pairing request the refusal created or refreshed ("" if none). */
	char locality[PROTO_NAME_MAX + 1];
	char pairing_request_id[PROTO_ID_MAX + 1];
	/* doc/protocol.md §4.6: how long gatewayd holds the answer back (a wrong secret
	 * from loopback is slowed down, never locked out); 0: answer at once. */
	uint32_t delay_ms;
};

/* Which RPC params were present. */
#define PROTO_RPC_REQUEST_ID 0x01
#define PROTO_RPC_DEVICE_ID 0x02
#define PROTO_RPC_ROLE 0x04
#define PROTO_RPC_LABEL 0x08
#define PROTO_RPC_SCOPES 0x10

struct proto_rpc {
	uint64_t conn;
	uint8_t ticket[PROTO_TICKET_LEN];	/* the session's, from BR_ACCEPT */
	char id[PROTO_ID_MAX + 1];
	char method[PROTO_NAME_MAX + 1];
	uint32_t params;
	char request_id[PROTO_ID_MAX + 1];
	char device_id[PROTO_ID_MAX + 1];
	char role[PROTO_NAME_MAX + 1];
	char label[PROTO_TEXT_MAX + 1];
	struct proto_scopes scopes;
};

struct proto_rpc_result {
	uint64_t conn;
	char id[PROTO_ID_MAX + 1];
	uint8_t ok;
	struct proto_blob payload;	/* when ok */
	struct proto_error error;	/* when not ok */
};

enum proto_audience {
	PROTO_AUDIENCE_PAIRING = 1,	/* sessions accepted with PROTO_ACCEPT_PAIRING_EVENTS */
};

/* BR_EVENT: every device.pair.* event is about one device, whose id (as in a
 * ticket) lets gatewayd hold it back from the sessions bound to other devices. */
struct proto_event {
	uint8_t audience;
	char event[PROTO_NAME_MAX + 1];
	struct proto_blob payload;
	uint8_t device[PROTO_TICKET_DEVICE_LEN];
};

/* BR_CLOSE: gatewayd closes, with that close frame, every session whose ticket
 * matches: for PROTO_CLOSE_TARGET_DEVICE those bound to device in a role of roles
 * (1 << PROTO_ROLE_*) but except_conn (0: none), the caller's own session whose
 * request caused the close; for PROTO_CLOSE_TARGET_SHARED those accepted on the
 * shared secret. The broker refuses those sessions' RPCs from now on in any case. */
#define PROTO_CLOSE_TARGET_DEVICE 0
#define PROTO_CLOSE_TARGET_SHARED 1

struct proto_close {
	uint8_t target;
	uint8_t device[PROTO_TICKET_DEVICE_LEN];
	uint8_t roles;
	uint64_t except_conn;
	uint16_t code;
	char reason[PROTO_REASON_MAX + 1];
};

/* approve / reject / remove: a request id or device id; approve may ask for --latest. */
struct proto_ctl_target {
	char id[PROTO_ID_MAX + 1];
	uint8_t latest;
};

/* devices rotate / revoke / rename: a device id, the token's role (rotate, revoke),
 * a label (rename) and, for rotate, the scopes the new token gets if has_scopes. */
struct proto_ctl_device {
	char device_id[PROTO_ID_MAX + 1];
	char role[PROTO_NAME_MAX + 1];
	char label[PROTO_TEXT_MAX + 1];
	uint8_t has_scopes;
	struct proto_scopes scopes;
};

struct proto_ctl_result {
	uint8_t ok;
	struct proto_blob payload;
	struct proto_error error;
};

/* Fills code and message (printf-style, truncated to fit); details etc. untouched. */
void proto_error_set(struct proto_error *e, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

struct proto_hdr {
	uint32_t len;
	uint16_t type;
	uint16_t version;
	uint32_t id;
	uint32_t flags;
};

enum proto_frame_status { PROTO_FRAME_NEED_MORE, PROTO_FRAME_OK, PROTO_FRAME_BAD };

/* Reads a header from the first bytes of a stream; BAD if flags are set or the
 * payload exceeds max_payload. The version is the caller's to check. */
enum proto_frame_status proto_hdr_parse(const uint8_t *data, size_t avail,
    uint32_t max_payload, struct proto_hdr *hdr);

const char *proto_type_name(uint16_t type);

/* Appends one frame of the given type with msg laid out by that type's table.
 * msg may be NULL for types without fields. Returns -1 if a string in msg is
 * too long or has characters its field does not allow (nothing is appended). */
int proto_encode(struct pbuf *b, uint16_t type, uint32_t id, const void *msg);
/* Decodes a payload into msg, which has room for size bytes: the struct for that
 * type (or a union holding it), zeroed first. Blobs in msg point into data.
 * Returns -1 on any violation, and for a type whose struct does not fit in size
 * (msg is untouched then); after a violation msg is unspecified. */
int proto_decode(uint16_t type, const uint8_t *data, size_t len, void *msg, size_t size);

/* Whether s[0..len) fits a field of that maximum and charset. */
int proto_str_ok(const char *s, size_t len, size_t max, enum proto_charset cs);

/* Big-endian integers at p (the link's byte order), for fixed layouts outside the
 * message tables, such as brokerd's session tickets. */
void proto_put_u32(uint8_t *p, uint32_t v);
void proto_put_u64(uint8_t *p, uint64_t v);
uint32_t proto_get_u32(const uint8_t *p);
uint64_t proto_get_u64(const uint8_t *p);

#endif
