#include "brokerd/tlsgen.h"

#include <ifaddrs.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <openssl/bn.h>
#include <openssl/x509v3.h>

#include "common/ipaddr.h"
#include "common/log.h"
#include "common/random.h"

/* A subjectAltName entry as X509V3_EXT_conf_nid takes it: "DNS:x" or "IP:x". */
#define TLSGEN_NAME_MAX (PROTO_ADDR_MAX + 8)
#define TLSGEN_HOST_MAX 64	/* a DNS label; longer host names are left out */

struct tlsgen_names {
	size_t n;
	char v[TLSGEN_MAX_NAMES][TLSGEN_NAME_MAX];
};

static void
tlsgen_add(struct tlsgen_names *ns, const char *kind, const char *value)
{
	char entry[TLSGEN_NAME_MAX];

	snprintf(entry, sizeof(entry), "%s:%s", kind, value);
	for (size_t i = 0; i < ns->n; i++)
		if (strcmp(ns->v[i], entry) == 0)
			return;
	if (ns->n == TLSGEN_MAX_NAMES) {
		log_info("TLS: the generated certificate names %d hosts and addresses at most: "
		    "%s is left out", TLSGEN_MAX_NAMES, value);
		return;
	}
	memcpy(ns->v[ns->n++], entry, sizeof(entry));
}

/* An address in the form a certificate's IP entry takes, unless it names no
 * one host (0.0.0.0, ::) or only a link (169.254/16, fe80::/10: a browser
 * reaching one needs a zone the certificate cannot name). */
static void
tlsgen_add_addr(struct tlsgen_names *ns, const uint8_t a[16])
{
	static const uint8_t any6[16], any4[16] = { [10] = 0xff, [11] = 0xff };
	char text[PROTO_ADDR_MAX + 1];

	if (memcmp(a, any6, 16) == 0 || memcmp(a, any4, 16) == 0)
		return;
	if ((a[0] == 0xfe && (a[1] & 0xc0) == 0x80) ||
	    (memcmp(a, any4, 12) == 0 && a[12] == 169 && a[13] == 254))
		return;
	ipaddr_format(a, text, sizeof(text));
	tlsgen_add(ns, "IP", text);
}

/* A host name fit for a DNS entry: letters, digits, '-' and '.'. */
static int
tlsgen_dns_ok(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > TLSGEN_HOST_MAX || s[0] == '-' || s[0] == '.')
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") ==
	    len;
}

static void
tlsgen_collect(const struct config *cfg, struct tlsgen_names *ns)
{
	char host[TLSGEN_HOST_MAX + 8];
	struct ifaddrs *ifs, *i;
	uint8_t a[16];

	tlsgen_add(ns, "DNS", "localhost");
	if (gethostname(host, TLSGEN_HOST_MAX + 1) == 0 &&
	    memchr(host, '\0', TLSGEN_HOST_MAX + 1) != NULL && tlsgen_dns_ok(host)) {
		tlsgen_add(ns, "DNS", host);
		/* The name mDNS gives the host on the LAN. */
		if (strchr(host, '.') == NULL && strcmp(host, "localhost") != 0) {
			strcat(host, ".local");
			tlsgen_add(ns, "DNS", host);
		}
	}
	ipaddr_parse("127.0.0.1", a);
	tlsgen_add_addr(ns, a);
	ipaddr_parse("::1", a);
	tlsgen_add_addr(ns, a);
	for (uint32_t b = 0; b < cfg->nbind; b++)
		if (ipaddr_parse(cfg->bind[b], a) == 0)
			tlsgen_add_addr(ns, a);
	if (getifaddrs(&ifs) < 0) {
		log_warn("TLS: cannot list the network interfaces; the generated certificate "
		    "names only localhost, the host name and the bind addresses");
		return;
	}
	for (i = ifs; i != NULL; i = i->ifa_next)
		if (i->ifa_addr != NULL && ipaddr_from_sockaddr(i->ifa_addr, a) == 0)
			tlsgen_add_addr(ns, a);
	freeifaddrs(ifs);
}

static void
tlsgen_ext(X509 *cert, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);

	if (ext == NULL || X509_add_ext(cert, ext, -1) != 1)
		fatalx("TLS: cannot add the extension %s = %s to the certificate",
		    OBJ_nid2sn(nid), value);
	X509_EXTENSION_free(ext);
}

static void
tlsgen_extensions(X509 *cert, const struct tlsgen_names *ns)
{
	char san[TLSGEN_MAX_NAMES * (TLSGEN_NAME_MAX + 1)] = "";
	X509V3_CTX ctx;

	for (size_t i = 0; i < ns->n; i++) {
		if (i > 0)
			strcat(san, ",");
		strcat(san, ns->v[i]);
	}
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	tlsgen_ext(cert, &ctx, NID_basic_constraints, "critical,CA:FALSE");
	tlsgen_ext(cert, &ctx, NID_key_usage, "critical,digitalSignature");
	tlsgen_ext(cert, &ctx, NID_ext_key_usage, "serverAuth");
	tlsgen_ext(cert, &ctx, NID_subject_key_identifier, "hash");
	tlsgen_ext(cert, &ctx, NID_subject_alt_name, san);
}

/* A positive random 128-bit serial: two certificates of one host differ. */
static void
tlsgen_serial(X509 *cert)
{
	uint8_t raw[16];
	BIGNUM *bn;

	random_bytes(raw, sizeof(raw));
	raw[0] &= 0x7f;
	if ((bn = BN_bin2bn(raw, sizeof(raw), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) == NULL)
		fatalx("TLS: cannot set the certificate's serial number");
	BN_free(bn);
}

void
tlsgen_make(const struct config *cfg, EVP_PKEY **keyp, X509 **certp)
{
	struct tlsgen_names ns;
	X509_NAME *name;
	EVP_PKEY *key;
	X509 *cert;
	char cn[TLSGEN_HOST_MAX + 1] = "clawgate";

	memset(&ns, 0, sizeof(ns));
	tlsgen_collect(cfg, &ns);
	if ((key = EVP_EC_gen("P-256")) == NULL || (cert = X509_new()) == NULL)
		fatalx("TLS: cannot generate a P-256 key for the certificate");
	if (gethostname(cn, sizeof(cn)) < 0 || memchr(cn, '\0', sizeof(cn)) == NULL ||
	    !tlsgen_dns_ok(cn))
		snprintf(cn, sizeof(cn), "clawgate");
	if (X509_set_version(cert, X509_VERSION_3) != 1 ||
	    (name = X509_get_subject_name(cert)) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"clawgate (self-signed)", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn,
	    -1, -1, 0) != 1 || X509_set_issuer_name(cert, name) != 1 ||
	    /* An hour back: a client whose clock is a little behind still accepts
	     * it; the whole span stays within TLSGEN_DAYS. */
	    X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(cert), (long)TLSGEN_DAYS * 86400 - 3600) == NULL ||
	    X509_set_pubkey(cert, key) != 1)
		fatalx("TLS: cannot fill in the certificate");
	tlsgen_serial(cert);
	tlsgen_extensions(cert, &ns);
	if (X509_sign(cert, key, EVP_sha256()) <= 0)
		fatalx("TLS: cannot sign the certificate");
	*keyp = key;
	*certp = cert;
}
