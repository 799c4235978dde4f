/* common/ipaddr: one 16-byte form for both families, classes, CIDR matching. */
#include <string.h>

#include "common/ipaddr.h"
#include "testutil.h"

static int
class_of(const char *text)
{
	uint8_t a[16];

	return ipaddr_parse(text, a) < 0 ? -1 : (int)ipaddr_classify(a);
}

static void
test_classes(void)
{
	CHECK_INT_EQ(class_of("127.0.0.1"), IPADDR_LOOPBACK);
	CHECK_INT_EQ(class_of("127.255.1.2"), IPADDR_LOOPBACK);
	CHECK_INT_EQ(class_of("::1"), IPADDR_LOOPBACK);
	CHECK_INT_EQ(class_of("::ffff:127.0.0.1"), IPADDR_LOOPBACK);
	CHECK_INT_EQ(class_of("10.1.2.3"), IPADDR_PRIVATE);
	CHECK_INT_EQ(class_of("172.16.0.1"), IPADDR_PRIVATE);
	CHECK_INT_EQ(class_of("172.32.0.1"), IPADDR_PUBLIC);
	CHECK_INT_EQ(class_of("192.168.1.1"), IPADDR_PRIVATE);
	CHECK_INT_EQ(class_of("169.254.9.9"), IPADDR_PRIVATE);
	CHECK_INT_EQ(class_of("fd00::2"), IPADDR_PRIVATE);
	CHECK_INT_EQ(class_of("fe80::1"), IPADDR_PRIVATE);
	CHECK_INT_EQ(class_of("203.0.113.9"), IPADDR_PUBLIC);
	CHECK_INT_EQ(class_of("2001:db8::1"), IPADDR_PUBLIC);
	CHECK_INT_EQ(class_of("localhost"), -1);
	CHECK_INT_EQ(class_of("1.2.3"), -1);
}

static void
test_format(void)
{
	uint8_t a[16];
	char out[64];

	CHECK_INT_EQ(ipaddr_parse("::ffff:10.0.0.1", a), 0);
	ipaddr_format(a, out, sizeof(out));
	CHECK(strcmp(out, "10.0.0.1") == 0);
	CHECK_INT_EQ(ipaddr_parse("2001:db8::1", a), 0);
	ipaddr_format(a, out, sizeof(out));
	CHECK(strcmp(out, "2001:db8::1") == 0);
}

static int
in(const char *addr, const char *cidr)
{
	uint8_t a[16], net[16];
	unsigned bits;

	if (ipaddr_parse(addr, a) < 0 || ipaddr_cidr_parse(cidr, net, &bits) < 0)
		return -1;
	return ipaddr_in_cidr(a, net, bits);
}

static void
test_cidr(void)
{
	uint8_t net[16];
	unsigned bits;

	CHECK_INT_EQ(in("10.1.2.3", "10.0.0.0/8"), 1);
	CHECK_INT_EQ(in("11.1.2.3", "10.0.0.0/8"), 0);
	CHECK_INT_EQ(in("192.168.1.77", "192.168.1.64/26"), 1);
	CHECK_INT_EQ(in("192.168.1.128", "192.168.1.64/26"), 0);
	CHECK_INT_EQ(in("127.0.0.1", "127.0.0.1"), 1);
	CHECK_INT_EQ(in("127.0.0.2", "127.0.0.1"), 0);
	CHECK_INT_EQ(in("::ffff:10.9.9.9", "10.0.0.0/8"), 1);
	CHECK_INT_EQ(in("fd00::5", "fc00::/7"), 1);
	CHECK_INT_EQ(in("2001:db8::1", "fc00::/7"), 0);
	CHECK_INT_EQ(in("1.2.3.4", "0.0.0.0/0"), 1);
	CHECK_INT_EQ(ipaddr_cidr_parse("10.0.0.0/33", net, &bits), -1);
	CHECK_INT_EQ(ipaddr_cidr_parse("::/129", net, &bits), -1);
	CHECK_INT_EQ(ipaddr_cidr_parse("10.0.0.0/", net, &bits), -1);
	CHECK_INT_EQ(ipaddr_cidr_parse("10.0.0.0/+8", net, &bits), -1);
	CHECK_INT_EQ(ipaddr_cidr_parse("/8", net, &bits), -1);
	CHECK_INT_EQ(ipaddr_cidr_parse("host.example/8", net, &bits), -1);
}

/* The budget key of text, as text. */
static const char *
key_of(const char *text, char *out, size_t outsz)
{
	uint8_t a[16];

	if (ipaddr_parse(text, a) < 0)
		return "unparsed";
	ipaddr_budget_key(a, a);
	ipaddr_format(a, out, outsz);
	return out;
}

static void
test_budget_key(void)
{
	char out[64];
	uint8_t a[16], key[16];

	CHECK(strcmp(key_of("203.0.113.9", out, sizeof(out)), "203.0.113.9") == 0);
	/* IPv4, mapped or not, is never masked like IPv6. */
	CHECK(strcmp(key_of("::ffff:203.0.113.9", out, sizeof(out)), "203.0.113.9") == 0);
	CHECK(strcmp(key_of("10.1.2.3", out, sizeof(out)), "10.1.2.3") == 0);
	CHECK(strcmp(key_of("2001:db8:1:2:aaaa:bbbb:cccc:dddd", out, sizeof(out)),
	    "2001:db8:1:2::") == 0);
	CHECK(strcmp(key_of("2001:db8:1:2::1", out, sizeof(out)), "2001:db8:1:2::") == 0);
	CHECK(strcmp(key_of("2001:db8:1:3::1", out, sizeof(out)), "2001:db8:1:3::") == 0);
	CHECK(strcmp(key_of("::1", out, sizeof(out)), "::") == 0);
	/* The address itself is left alone when the key goes elsewhere. */
	CHECK_INT_EQ(ipaddr_parse("2001:db8::9", a), 0);
	ipaddr_budget_key(a, key);
	ipaddr_format(a, out, sizeof(out));
	CHECK(strcmp(out, "2001:db8::9") == 0);
	ipaddr_format(key, out, sizeof(out));
	CHECK(strcmp(out, "2001:db8::") == 0);
}

int
main(void)
{
	TEST_RUN(test_classes);
	TEST_RUN(test_format);
	TEST_RUN(test_cidr);
	TEST_RUN(test_budget_key);
	return test_exit();
}
