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

int
main(void)
{
	TEST_RUN(test_classes);
	TEST_RUN(test_format);
	TEST_RUN(test_cidr);
	return test_exit();
}
