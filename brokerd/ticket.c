#include "brokerd/ticket.h"

#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>

#include "brokerd/role.h"
#include "common/log.h"
#include "common/random.h"

#define TICKET_KEY_LEN 32
#define TICKET_MAC_LEN (PROTO_TICKET_LEN - PROTO_TICKET_MAC)

_Static_assert(ROLE_OPERATOR == PROTO_ROLE_OPERATOR && ROLE_NODE == PROTO_ROLE_NODE,
    "tickets and BR_CLOSE number roles as enum role does");
_Static_assert(TICKET_MAC_LEN == 16 && PROTO_TICKET_DEVICE + PROTO_TICKET_DEVICE_LEN ==
    PROTO_TICKET_MAC && DEVPROOF_ID_LEN == 2 * PROTO_TICKET_DEVICE_LEN, "ticket layout");

/* Keyed once; each MAC re-initialises it with the same key. */
static EVP_MAC_CTX *ticket_mac;

void
ticket_init(void)
{
	uint8_t key[TICKET_KEY_LEN];
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);

	if (mac == NULL || (ticket_mac = EVP_MAC_CTX_new(mac)) == NULL)
		fatalx("cannot set up HMAC-SHA256 for session tickets: check OpenSSL");
	EVP_MAC_free(mac);
	random_bytes(key, sizeof(key));
	if (EVP_MAC_init(ticket_mac, key, sizeof(key), params) != 1)
		fatalx("cannot key HMAC-SHA256 for session tickets: check OpenSSL");
	OPENSSL_cleanse(key, sizeof(key));
}

void
ticket_shutdown(void)
{
	EVP_MAC_CTX_free(ticket_mac);
	ticket_mac = NULL;
}

/* The MAC of a ticket's body for a link and conn, cut to the MAC field. */
static void
ticket_mac_of(const uint8_t *body, uint64_t link, uint64_t conn, uint8_t out[TICKET_MAC_LEN])
{
	uint8_t full[EVP_MAX_MD_SIZE], bound[16];
	size_t len;

	proto_put_u64(bound, link);
	proto_put_u64(bound + 8, conn);
	if (EVP_MAC_init(ticket_mac, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(ticket_mac, body, PROTO_TICKET_MAC) != 1 ||
	    EVP_MAC_update(ticket_mac, bound, sizeof(bound)) != 1 ||
	    EVP_MAC_final(ticket_mac, full, &len, sizeof(full)) != 1 || len < TICKET_MAC_LEN)
		fatalx("HMAC-SHA256 of a session ticket failed");
	memcpy(out, full, TICKET_MAC_LEN);
}

void
ticket_seal(const struct ticket_session *s, uint8_t out[PROTO_TICKET_LEN])
{
	size_t len;

	memset(out, 0, PROTO_TICKET_LEN);
	proto_put_u64(out, s->device_epoch);
	proto_put_u64(out + 8, s->shared_epoch);
	proto_put_u32(out + 16, s->scope_mask);
	out[PROTO_TICKET_ROLE] = (uint8_t)s->role;
	out[PROTO_TICKET_FLAGS] = (s->shared_auth ? PROTO_TICKET_SHARED : 0) |
	    (s->device_id[0] != '\0' ? PROTO_TICKET_BOUND : 0);
	/* Device ids are lower-case hex SHA-256 (the registry checks them). */
	if (s->device_id[0] != '\0' && (OPENSSL_hexstr2buf_ex(out + PROTO_TICKET_DEVICE,
	    PROTO_TICKET_DEVICE_LEN, &len, s->device_id, '\0') != 1 ||
	    len != PROTO_TICKET_DEVICE_LEN))
		fatalx("session ticket for device id \"%s\", which is not 64 hex digits",
		    s->device_id);
	ticket_mac_of(out, s->link, s->conn, out + PROTO_TICKET_MAC);
}

int
ticket_open(const uint8_t in[PROTO_TICKET_LEN], uint64_t link, uint64_t conn,
    struct ticket_session *s)
{
	uint8_t mac[TICKET_MAC_LEN];
	uint8_t flags = in[PROTO_TICKET_FLAGS];

	ticket_mac_of(in, link, conn, mac);
	if (CRYPTO_memcmp(mac, in + PROTO_TICKET_MAC, sizeof(mac)) != 0)
		return -1;
	/* Sealed here, so well-formed; checked anyway, cheaply. */
	if (in[PROTO_TICKET_ROLE] >= ROLE_COUNT ||
	    (flags & ~(PROTO_TICKET_SHARED | PROTO_TICKET_BOUND)) != 0)
		return -1;
	memset(s, 0, sizeof(*s));
	s->link = link;
	s->conn = conn;
	s->device_epoch = proto_get_u64(in);
	s->shared_epoch = proto_get_u64(in + 8);
	s->scope_mask = proto_get_u32(in + 16);
	s->role = (enum role)in[PROTO_TICKET_ROLE];
	s->shared_auth = (flags & PROTO_TICKET_SHARED) != 0;
	if (flags & PROTO_TICKET_BOUND)
		sodium_bin2hex(s->device_id, sizeof(s->device_id), in + PROTO_TICKET_DEVICE,
		    PROTO_TICKET_DEVICE_LEN);
	return 0;
}
