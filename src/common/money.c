/* money.c: the ISO 4217 currency table and exact decimal parsing/formatting of integer minor units. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/money.h"

struct currency {
	char code[4];
	int exponent;
};

/*
 * ISO 4217 list one, active codes with a defined minor unit (funds and
 * metals such as XAU or XDR have none and are left out). Sorted by code:
 * money_exponent() binary-searches it, and the unit test checks the order.
 */
static const struct currency currencies[] = {
	{ "AED", 2 }, { "AFN", 2 }, { "ALL", 2 }, { "AMD", 2 }, { "ANG", 2 },
	{ "AOA", 2 }, { "ARS", 2 }, { "AUD", 2 }, { "AWG", 2 }, { "AZN", 2 },
	{ "BAM", 2 }, { "BBD", 2 }, { "BDT", 2 }, { "BGN", 2 }, { "BHD", 3 },
	{ "BIF", 0 }, { "BMD", 2 }, { "BND", 2 }, { "BOB", 2 }, { "BOV", 2 },
	{ "BRL", 2 }, { "BSD", 2 }, { "BTN", 2 }, { "BWP", 2 }, { "BYN", 2 },
	{ "BZD", 2 }, { "CAD", 2 }, { "CDF", 2 }, { "CHE", 2 }, { "CHF", 2 },
	{ "CHW", 2 }, { "CLF", 4 }, { "CLP", 0 }, { "CNY", 2 }, { "COP", 2 },
	{ "COU", 2 }, { "CRC", 2 }, { "CUC", 2 }, { "CUP", 2 }, { "CVE", 2 },
	{ "CZK", 2 }, { "DJF", 0 }, { "DKK", 2 }, { "DOP", 2 }, { "DZD", 2 },
	{ "EGP", 2 }, { "ERN", 2 }, { "ETB", 2 }, { "EUR", 2 }, { "FJD", 2 },
	{ "FKP", 2 }, { "GBP", 2 }, { "GEL", 2 }, { "GHS", 2 }, { "GIP", 2 },
	{ "GMD", 2 }, { "GNF", 0 }, { "GTQ", 2 }, { "GYD", 2 }, { "HKD", 2 },
	{ "HNL", 2 }, { "HTG", 2 }, { "HUF", 2 }, { "IDR", 2 }, { "ILS", 2 },
	{ "INR", 2 }, { "IQD", 3 }, { "IRR", 2 }, { "ISK", 0 }, { "JMD", 2 },
	{ "JOD", 3 }, { "JPY", 0 }, { "KES", 2 }, { "KGS", 2 }, { "KHR", 2 },
	{ "KMF", 0 }, { "KPW", 2 }, { "KRW", 0 }, { "KWD", 3 }, { "KYD", 2 },
	{ "KZT", 2 }, { "LAK", 2 }, { "LBP", 2 }, { "LKR", 2 }, { "LRD", 2 },
	{ "LSL", 2 }, { "LYD", 3 }, { "MAD", 2 }, { "MDL", 2 }, { "MGA", 2 },
	{ "MKD", 2 }, { "MMK", 2 }, { "MNT", 2 }, { "MOP", 2 }, { "MRU", 2 },
	{ "MUR", 2 }, { "MVR", 2 }, { "MWK", 2 }, { "MXN", 2 }, { "MXV", 2 },
	{ "MYR", 2 }, { "MZN", 2 }, { "NAD", 2 }, { "NGN", 2 }, { "NIO", 2 },
	{ "NOK", 2 }, { "NPR", 2 }, { "NZD", 2 }, { "OMR", 3 }, { "PAB", 2 },
	{ "PEN", 2 }, { "PGK", 2 }, { "PHP", 2 }, { "PKR", 2 }, { "PLN", 2 },
	{ "PYG", 0 }, { "QAR", 2 }, { "RON", 2 }, { "RSD", 2 }, { "RUB", 2 },
	{ "RWF", 0 }, { "SAR", 2 }, { "SBD", 2 }, { "SCR", 2 }, { "SDG", 2 },
	{ "SEK", 2 }, { "SGD", 2 }, { "SHP", 2 }, { "SLE", 2 }, { "SLL", 2 },
	{ "SOS", 2 }, { "SRD", 2 }, { "SSP", 2 }, { "STN", 2 }, { "SVC", 2 },
	{ "SYP", 2 }, { "SZL", 2 }, { "THB", 2 }, { "TJS", 2 }, { "TMT", 2 },
	{ "TND", 3 }, { "TOP", 2 }, { "TRY", 2 }, { "TTD", 2 }, { "TWD", 2 },
	{ "TZS", 2 }, { "UAH", 2 }, { "UGX", 0 }, { "USD", 2 }, { "USN", 2 },
	{ "UYI", 0 }, { "UYU", 2 }, { "UYW", 4 }, { "UZS", 2 }, { "VED", 2 },
	{ "VES", 2 }, { "VND", 0 }, { "VUV", 0 }, { "WST", 2 }, { "XAF", 0 },
	{ "XCD", 2 }, { "XCG", 2 }, { "XOF", 0 }, { "XPF", 0 }, { "YER", 2 },
	{ "ZAR", 2 }, { "ZMW", 2 }, { "ZWG", 2 }, { "ZWL", 2 },
};

static const int64_t pow10_table[] = { 1, 10, 100, 1000, 10000 };

static int
currency_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct currency *)elem)->code);
}

int
money_exponent(const char *code)
{
	const struct currency *c;

	if (code == NULL || strlen(code) != 3)
		return -1;
	c = bsearch(code, currencies, sizeof(currencies) / sizeof(currencies[0]),
	    sizeof(currencies[0]), currency_cmp);
	return c ? c->exponent : -1;
}

bool
money_currency_valid(const char *code)
{
	return money_exponent(code) >= 0;
}

bool
money_parse_decimal(const char *text, const char *currency, struct money *out)
{
	const char *p = text;
	bool negative = false;
	int exponent, frac_digits = 0;
	int64_t v = 0;

	exponent = money_exponent(currency);
	if (exponent < 0 || text == NULL)
		return false;
	if (*p == '-' || *p == '+') {
		negative = *p == '-';
		p++;
	}
	/* At least one integer digit: ".5", "", "-" and " 1" are not amounts. */
	if (*p < '0' || *p > '9')
		return false;

	/*
	 * Accumulate as a negative number so INT64_MIN fits; the sign is
	 * applied at the end. Every step is overflow-checked.
	 */
	for (; *p >= '0' && *p <= '9'; p++) {
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_sub_overflow(v, *p - '0', &v))
			return false;
	}
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return false;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (frac_digits < exponent) {
				if (__builtin_mul_overflow(v, 10, &v) ||
				    __builtin_sub_overflow(v, *p - '0', &v))
					return false;
				frac_digits++;
			} else if (*p != '0') {
				/* More precision than the currency has: never round silently. */
				return false;
			}
		}
	}
	if (*p != '\0')
		return false;
	/* Scale up the missing fraction digits: "19.9" USD is 1990. */
	if (__builtin_mul_overflow(v, pow10_table[exponent - frac_digits], &v))
		return false;
	if (!negative) {
		if (v == INT64_MIN)
			return false;
		v = -v;
	}
	out->minor = v;
	memcpy(out->currency, currency, 3);
	out->currency[3] = '\0';
	return true;
}

bool
money_format_decimal(const struct money *m, char *buf, size_t buflen)
{
	int exponent = money_exponent(m->currency);
	uint64_t mag, scale;
	int r;

	if (exponent < 0 || buflen == 0)
		return false;
	/* Magnitude as unsigned so INT64_MIN does not overflow on negation. */
	mag = m->minor < 0 ? (uint64_t)0 - (uint64_t)m->minor : (uint64_t)m->minor;
	scale = (uint64_t)pow10_table[exponent];
	if (exponent == 0)
		r = snprintf(buf, buflen, "%s%llu", m->minor < 0 ? "-" : "",
		    (unsigned long long)mag);
	else
		r = snprintf(buf, buflen, "%s%llu.%0*llu", m->minor < 0 ? "-" : "",
		    (unsigned long long)(mag / scale), exponent,
		    (unsigned long long)(mag % scale));
	return r >= 0 && (size_t)r < buflen;
}

bool
money_format(const struct money *m, char *buf, size_t buflen)
{
	char amount[32];
	int r;

	if (!money_format_decimal(m, amount, sizeof(amount)))
		return false;
	r = snprintf(buf, buflen, "%s %s", amount, m->currency);
	return r >= 0 && (size_t)r < buflen;
}

bool
money_cmp(const struct money *a, const struct money *b, int *result)
{
	if (strcmp(a->currency, b->currency) != 0)
		return false;
	*result = (a->minor > b->minor) - (a->minor < b->minor);
	return true;
}
