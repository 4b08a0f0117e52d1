/* test-money.c: ISO 4217 exponents and exact decimal parse/format of money amounts. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "common/money.h"

Test(money, exponents_of_a_spread_of_codes)
{
	static const struct {
		const char *code;
		int exponent;
	} cases[] = {
		{ "AED", 2 }, { "BHD", 3 }, { "BIF", 0 }, { "CLF", 4 }, { "CLP", 0 },
		{ "EUR", 2 }, { "GBP", 2 }, { "IQD", 3 }, { "ISK", 0 }, { "JOD", 3 },
		{ "JPY", 0 }, { "KRW", 0 }, { "KWD", 3 }, { "LYD", 3 }, { "OMR", 3 },
		{ "TND", 3 }, { "USD", 2 }, { "UYW", 4 }, { "VND", 0 }, { "XOF", 0 },
		{ "ZWL", 2 }, { "ZAR", 2 }, { "CHF", 2 }, { "XPF", 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(money_exponent(cases[i].code), cases[i].exponent, "%s", cases[i].code);
}

Test(money, unknown_codes)
{
	const char *bad[] = { "usd", "XXX", "XAU", "US", "USDD", "", "ABC", "AAA", "ZZZ" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(money_exponent(bad[i]), -1, "%s", bad[i]);
		cr_expect_not(money_currency_valid(bad[i]), "%s", bad[i]);
	}
	cr_expect_eq(money_exponent(NULL), -1);
	cr_expect(money_currency_valid("USD"));
	/* The first and last table entries are found (binary search edges). */
	cr_expect(money_currency_valid("AED"));
	cr_expect(money_currency_valid("ZWL"));
}

static void
expect_parse(const char *text, const char *cur, int64_t minor)
{
	struct money m;

	cr_assert(money_parse_decimal(text, cur, &m), "parse %s %s", text, cur);
	cr_expect_eq(m.minor, minor, "%s %s -> %lld", text, cur, (long long)m.minor);
	cr_expect_str_eq(m.currency, cur);
}

Test(money, parse_valid)
{
	expect_parse("1999", "USD", 199900);
	expect_parse("19.99", "USD", 1999);
	expect_parse("19.9", "USD", 1990);
	expect_parse("19.990", "USD", 1999);
	expect_parse("-3.5", "USD", -350);
	expect_parse("0", "USD", 0);
	expect_parse("-0", "EUR", 0);
	expect_parse("0.00", "EUR", 0);
	expect_parse("1500", "JPY", 1500);
	expect_parse("1500.00", "JPY", 1500);
	expect_parse("1.250", "KWD", 1250);
	expect_parse("1.25", "KWD", 1250);
	expect_parse("0.0001", "CLF", 1);
	expect_parse("+7", "EUR", 700);
	expect_parse("007.50", "EUR", 750);
	expect_parse("92233720368547758.07", "USD", INT64_MAX);
	expect_parse("-92233720368547758.08", "USD", INT64_MIN);
	expect_parse("9223372036854775807", "JPY", INT64_MAX);
	expect_parse("-9223372036854775808", "JPY", INT64_MIN);
}

Test(money, parse_rejects_junk_and_rounding)
{
	const char *bad[] = {
		"1,99", "", "1.2.3", " 1", "1 ", "1e3", "+-1", "-", "+", ".", "1.", ".5",
		"19.991", "0.001", "abc", "1O", "--1", "0x10", "1\n", "١",
	};
	struct money m = { 42, "USD" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_not(money_parse_decimal(bad[i], "USD", &m), "accepted '%s'", bad[i]);
	cr_expect_not(money_parse_decimal("1.5", "JPY", &m));
	cr_expect_not(money_parse_decimal("1.0001", "KWD", &m));
	cr_expect_not(money_parse_decimal("1", "XYZ", &m));
	cr_expect_not(money_parse_decimal("1", "usd", &m));
	cr_expect_not(money_parse_decimal(NULL, "USD", &m));
	/* A failed parse leaves the output alone. */
	cr_expect_eq(m.minor, 42);
}

Test(money, parse_rejects_overflow)
{
	struct money m;

	cr_expect_not(money_parse_decimal("92233720368547758.08", "USD", &m));
	cr_expect_not(money_parse_decimal("-92233720368547758.09", "USD", &m));
	cr_expect_not(money_parse_decimal("9223372036854775808", "JPY", &m));
	/* 92233720368547758 USD is 9223372036854775800 minor units: fits. */
	cr_expect(money_parse_decimal("92233720368547758", "USD", &m));
	cr_expect_eq(m.minor, 9223372036854775800LL);
	cr_expect_not(money_parse_decimal("92233720368547759", "USD", &m));
	cr_expect_not(money_parse_decimal("99999999999999999999999999", "USD", &m));
}

static void
expect_format(int64_t minor, const char *cur, const char *want)
{
	struct money m = { .minor = minor };
	char buf[64];

	memcpy(m.currency, cur, 4);
	cr_assert(money_format_decimal(&m, buf, sizeof(buf)));
	cr_expect_str_eq(buf, want);
}

Test(money, format_decimal)
{
	expect_format(1999, "USD", "19.99");
	expect_format(1500, "JPY", "1500");
	expect_format(1250, "KWD", "1.250");
	expect_format(0, "USD", "0.00");
	expect_format(0, "JPY", "0");
	expect_format(5, "EUR", "0.05");
	expect_format(-5, "EUR", "-0.05");
	expect_format(-350, "USD", "-3.50");
	expect_format(1, "CLF", "0.0001");
	expect_format(INT64_MAX, "USD", "92233720368547758.07");
	expect_format(INT64_MIN, "USD", "-92233720368547758.08");
	expect_format(INT64_MIN, "JPY", "-9223372036854775808");
}

Test(money, format_with_currency_and_limits)
{
	struct money m = { 1999, "USD" };
	char buf[16], tiny[5];

	cr_assert(money_format(&m, buf, sizeof(buf)));
	cr_expect_str_eq(buf, "19.99 USD");
	cr_expect_not(money_format_decimal(&m, tiny, sizeof(tiny)), "19.99 does not fit in 5 bytes");
	cr_expect_not(money_format(&m, tiny, sizeof(tiny)));
	memcpy(m.currency, "QQQ", 4);
	cr_expect_not(money_format_decimal(&m, buf, sizeof(buf)));
}

Test(money, round_trips)
{
	static const struct {
		const char *text;
		const char *cur;
	} cases[] = {
		{ "0.00", "USD" }, { "-0.01", "USD" }, { "19.99", "EUR" }, { "1500", "JPY" },
		{ "-1.250", "KWD" }, { "0.0001", "CLF" }, { "92233720368547758.07", "USD" },
		{ "-92233720368547758.08", "USD" }, { "-9223372036854775808", "KRW" },
		{ "922337203685477.5807", "UYW" }, { "123456.789", "BHD" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct money m;
		char buf[64];

		cr_assert(money_parse_decimal(cases[i].text, cases[i].cur, &m), "%s", cases[i].text);
		cr_assert(money_format_decimal(&m, buf, sizeof(buf)));
		cr_expect_str_eq(buf, cases[i].text);
	}
}

Test(money, compare)
{
	struct money a = { 100, "USD" }, b = { 200, "USD" }, c = { 100, "EUR" };
	int r = 99;

	cr_assert(money_cmp(&a, &b, &r));
	cr_expect_eq(r, -1);
	cr_assert(money_cmp(&b, &a, &r));
	cr_expect_eq(r, 1);
	cr_assert(money_cmp(&a, &a, &r));
	cr_expect_eq(r, 0);
	r = 99;
	cr_expect_not(money_cmp(&a, &c, &r));
	cr_expect_eq(r, 99);
}
