/* test-guard.c: SSRF guard address classification, loose IPv4 spellings and URL checks (no network needed). */
#include <config.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "crawl/guard.h"

static enum guard_class
v4(const char *text)
{
	struct in_addr a;

	cr_assert_eq(inet_pton(AF_INET, text, &a), 1, "%s", text);
	return guard_classify_ipv4(ntohl(a.s_addr));
}

static enum guard_class
v6(const char *text)
{
	struct in6_addr a;

	cr_assert_eq(inet_pton(AF_INET6, text, &a), 1, "%s", text);
	return guard_classify_ipv6(a.s6_addr);
}

Test(guard, ipv4_classes)
{
	static const struct {
		const char *addr;
		enum guard_class want;
	} rows[] = {
		{ "127.0.0.1", GUARD_LOOPBACK }, { "127.255.255.254", GUARD_LOOPBACK },
		{ "0.0.0.0", GUARD_UNSPECIFIED }, { "0.1.2.3", GUARD_UNSPECIFIED },
		{ "10.0.0.1", GUARD_PRIVATE }, { "10.255.255.255", GUARD_PRIVATE },
		{ "172.16.0.1", GUARD_PRIVATE }, { "172.31.255.255", GUARD_PRIVATE }, { "172.32.0.1", GUARD_PUBLIC },
		{ "172.15.255.255", GUARD_PUBLIC },
		{ "192.168.0.1", GUARD_PRIVATE }, { "192.169.0.1", GUARD_PUBLIC },
		{ "100.64.0.1", GUARD_CGNAT }, { "100.127.255.255", GUARD_CGNAT }, { "100.128.0.1", GUARD_PUBLIC },
		{ "100.63.255.255", GUARD_PUBLIC },
		{ "169.254.169.254", GUARD_METADATA }, { "100.100.100.200", GUARD_METADATA },
		{ "169.254.0.1", GUARD_LINK_LOCAL }, { "169.254.169.253", GUARD_LINK_LOCAL },
		{ "224.0.0.1", GUARD_MULTICAST }, { "239.255.255.250", GUARD_MULTICAST },
		{ "240.0.0.1", GUARD_RESERVED }, { "255.255.255.255", GUARD_RESERVED },
		{ "192.0.2.2", GUARD_RESERVED }, { "198.18.0.1", GUARD_RESERVED },
		{ "8.8.8.8", GUARD_PUBLIC }, { "1.1.1.1", GUARD_PUBLIC }, { "93.184.216.34", GUARD_PUBLIC },
		{ "126.255.255.255", GUARD_PUBLIC }, { "128.0.0.1", GUARD_PUBLIC },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		cr_expect_eq(v4(rows[i].addr), rows[i].want, "%s: got %s", rows[i].addr,
		    guard_class_name(v4(rows[i].addr)));
}

Test(guard, ipv6_classes)
{
	static const struct {
		const char *addr;
		enum guard_class want;
	} rows[] = {
		{ "::1", GUARD_LOOPBACK }, { "::", GUARD_UNSPECIFIED },
		{ "::ffff:127.0.0.1", GUARD_LOOPBACK }, { "::ffff:7f00:1", GUARD_LOOPBACK },
		{ "::ffff:10.1.2.3", GUARD_PRIVATE }, { "::ffff:169.254.169.254", GUARD_METADATA },
		{ "::ffff:8.8.8.8", GUARD_PUBLIC },
		{ "::127.0.0.1", GUARD_LOOPBACK },                       /* IPv4-compatible */
		{ "64:ff9b::a9fe:a9fe", GUARD_METADATA },                /* NAT64 of 169.254.169.254 */
		{ "64:ff9b:1::10.0.0.1", GUARD_PRIVATE },
		{ "2002:7f00:1::1", GUARD_LOOPBACK },                    /* 6to4 of 127.0.0.1 */
		{ "2002:0808:0808::1", GUARD_PUBLIC },
		{ "2001:0:4136:e378:8000:63bf:80ff:fffe", GUARD_LOOPBACK }, /* Teredo client ~0x80fffffe */
		{ "fc00::1", GUARD_PRIVATE }, { "fd12:3456::1", GUARD_PRIVATE },
		{ "fd00:ec2::254", GUARD_METADATA },
		{ "fe80::1", GUARD_LINK_LOCAL }, { "febf::1", GUARD_LINK_LOCAL }, { "fec0::1", GUARD_PRIVATE },
		{ "ff02::1", GUARD_MULTICAST },
		{ "2001:db8::1", GUARD_RESERVED }, { "100::1", GUARD_RESERVED },
		{ "2606:4700::1111", GUARD_PUBLIC }, { "2001:4860:4860::8888", GUARD_PUBLIC },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		cr_expect_eq(v6(rows[i].addr), rows[i].want, "%s: got %s", rows[i].addr,
		    guard_class_name(v6(rows[i].addr)));
}

Test(guard, loose_ipv4_spellings)
{
	static const struct {
		const char *text;
		uint32_t want;
	} ok[] = {
		{ "127.0.0.1", 0x7f000001 }, { "2130706433", 0x7f000001 }, { "0x7f000001", 0x7f000001 },
		{ "0x7f.1", 0x7f000001 }, { "0177.0.0.1", 0x7f000001 }, { "127.1", 0x7f000001 },
		{ "127.0.1", 0x7f000001 }, { "017700000001", 0x7f000001 }, { "127.0.0.1.", 0x7f000001 },
		{ "0X7F.0.0.01", 0x7f000001 }, { "169.254.43518", 0xa9fea9fe }, { "0", 0 },
		{ "4294967295", 0xffffffff },
	};
	static const char *const bad[] = {
		"example.com", "1.2.3.4.5", "256.1.1.1", "1.2.3.256", "08.1.1.1", "0x", "", "1..2", ".",
		"4294967296", "1.16777216", "1.2.65536", "-1", "1.2.3.4x", "0x1g", "127.0.0.1..",
	};
	uint32_t v;

	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		v = 1;
		cr_expect(guard_parse_ipv4(ok[i].text, &v), "%s", ok[i].text);
		cr_expect_eq(v, ok[i].want, "%s: 0x%08x", ok[i].text, v);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_expect_not(guard_parse_ipv4(bad[i], &v), "%s", bad[i]);
	cr_expect_not(guard_parse_ipv4(NULL, &v));
}

Test(guard, policy)
{
	struct guard_policy none = { 0 }, lo = { .allow_loopback = true }, priv = { .allow_private = true },
	    ll = { .allow_link_local = true }, md = { .allow_metadata = true };

	cr_assert(guard_class_allowed(GUARD_PUBLIC, &none));
	cr_assert(guard_class_allowed(GUARD_PUBLIC, NULL));
	cr_assert_not(guard_class_allowed(GUARD_LOOPBACK, NULL));
	cr_assert_not(guard_class_allowed(GUARD_LOOPBACK, &none));
	cr_assert(guard_class_allowed(GUARD_LOOPBACK, &lo));
	cr_assert(guard_class_allowed(GUARD_UNSPECIFIED, &lo));
	cr_assert_not(guard_class_allowed(GUARD_PRIVATE, &lo));
	cr_assert(guard_class_allowed(GUARD_PRIVATE, &priv));
	cr_assert(guard_class_allowed(GUARD_CGNAT, &priv));
	cr_assert_not(guard_class_allowed(GUARD_LINK_LOCAL, &priv));
	cr_assert(guard_class_allowed(GUARD_LINK_LOCAL, &ll));
	cr_assert_not(guard_class_allowed(GUARD_METADATA, &ll));
	cr_assert(guard_class_allowed(GUARD_METADATA, &md));
	/* Nothing opens multicast or reserved addresses. */
	struct guard_policy all = { true, true, true, true, NULL };
	cr_assert_not(guard_class_allowed(GUARD_MULTICAST, &all));
	cr_assert_not(guard_class_allowed(GUARD_RESERVED, &all));
}

/* Literal hosts are checked without any DNS. */
Test(guard, check_url_literals)
{
	struct guard_policy none = { 0 }, lo = { .allow_loopback = true }, ll = { .allow_link_local = true },
	    md = { .allow_metadata = true }, priv = { .allow_private = true };
	char err[256];

	cr_assert_eq(guard_check_url("http://127.0.0.1:8080/x", &none, err, sizeof err), GUARD_BLOCKED);
	cr_assert_str_eq(err, "http://127.0.0.1:8080/x: blocked by the SSRF guard: 127.0.0.1 is loopback");
	cr_assert_eq(guard_check_url("http://127.0.0.1:8080/x", &lo, err, sizeof err), GUARD_ALLOWED);
	cr_assert_str_eq(err, "");

	cr_assert_eq(guard_check_url("http://2130706433/", &none, err, sizeof err), GUARD_BLOCKED);
	cr_assert_not_null(strstr(err, "127.0.0.1"), "%s", err);
	cr_assert_not_null(strstr(err, "loopback"), "%s", err);
	cr_assert_eq(guard_check_url("http://0x7f.1/", &none, err, sizeof err), GUARD_BLOCKED);
	cr_assert_eq(guard_check_url("http://0177.0.0.1/", &none, err, sizeof err), GUARD_BLOCKED);
	cr_assert_eq(guard_check_url("http://0.0.0.0:80/", &none, err, sizeof err), GUARD_BLOCKED);
	cr_assert_not_null(strstr(err, "unspecified"), "%s", err);

	cr_assert_eq(guard_check_url("http://[::1]:8080/", &none, err, sizeof err), GUARD_BLOCKED);
	cr_assert_not_null(strstr(err, "[::1] is ::1, loopback"), "%s", err);
	cr_assert_eq(guard_check_url("http://[::ffff:127.0.0.1]/", &none, err, sizeof err), GUARD_BLOCKED);
	cr_assert_eq(guard_check_url("http://[::ffff:7f00:1]/", &lo, err, sizeof err), GUARD_ALLOWED);
	cr_assert_eq(guard_check_url("http://[fe80::1%25eth0]/", &none, err, sizeof err), GUARD_BLOCKED);
	cr_assert_not_null(strstr(err, "link-local"), "%s", err);

	cr_assert_eq(guard_check_url("http://169.254.169.254/latest/meta-data/", &ll, err, sizeof err),
	    GUARD_BLOCKED);
	cr_assert_not_null(strstr(err, "metadata"), "%s", err);
	cr_assert_eq(guard_check_url("http://169.254.169.254/latest/meta-data/", &md, err, sizeof err),
	    GUARD_ALLOWED);
	cr_assert_eq(guard_check_url("https://10.0.0.1/", &none, err, sizeof err), GUARD_BLOCKED);
	cr_assert_eq(guard_check_url("https://10.0.0.1/", &priv, err, sizeof err), GUARD_ALLOWED);
	cr_assert_eq(guard_check_url("https://100.64.1.1/", &none, err, sizeof err), GUARD_BLOCKED);
	cr_assert_eq(guard_check_url("https://224.0.0.1/", &priv, err, sizeof err), GUARD_BLOCKED);

	/* The host is what curl would connect to, not what a careless reader sees. */
	cr_assert_eq(guard_check_url("http://shop.example@127.0.0.1/", &none, err, sizeof err), GUARD_BLOCKED);
	cr_assert_eq(guard_check_url("http://127.0.0.1#@shop.example/", &none, err, sizeof err), GUARD_BLOCKED);
	cr_assert_eq(guard_check_url("HTTP://127.0.0.1:80/", &none, err, sizeof err), GUARD_BLOCKED);

	cr_assert_eq(guard_check_url("http://8.8.8.8/", &none, err, sizeof err), GUARD_ALLOWED);
	cr_assert_eq(guard_check_url("http://[2606:4700::1111]/", &none, err, sizeof err), GUARD_ALLOWED);
}

Test(guard, check_url_names_and_errors)
{
	struct guard_policy none = { 0 };
	char err[256];

	/* "localhost" comes from /etc/hosts: the name is harmless-looking, the address is not. */
	cr_assert_eq(guard_check_url("http://localhost:9/", &none, err, sizeof err), GUARD_BLOCKED);
	cr_assert_not_null(strstr(err, "localhost is "), "%s", err);
	cr_assert_not_null(strstr(err, "loopback"), "%s", err);

	cr_assert_eq(guard_check_url("not a url", &none, err, sizeof err), GUARD_ERROR);
	cr_assert_not_null(strstr(err, "not a URL"), "%s", err);
	cr_assert_eq(guard_check_url(NULL, &none, err, sizeof err), GUARD_ERROR);
	cr_assert_eq(guard_check_url("http://name.invalid/", &none, err, sizeof err), GUARD_ERROR);
	cr_assert_not_null(strstr(err, "cannot resolve name.invalid"), "%s", err);
	/* A hostile, long URL is shortened in the message, never overflowing it. */
	char longurl[2048];
	memset(longurl, 'a', sizeof longurl);
	memcpy(longurl, "http://127.0.0.1/", 17);
	longurl[sizeof longurl - 1] = '\0';
	cr_assert_eq(guard_check_url(longurl, &none, err, sizeof err), GUARD_BLOCKED);
	cr_assert_not_null(strstr(err, "...: blocked by the SSRF guard: 127.0.0.1 is loopback"), "%s", err);
}
