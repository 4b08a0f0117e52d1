/* money.h: exact prices as integer minor units plus the ISO 4217 currency and its exponent. */
#ifndef PW_COMMON_MONEY_H
#define PW_COMMON_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A price never lives in a double: 19.99 USD is {1999, "USD"}; 1500 JPY is {1500, "JPY"}. */
struct money {
	int64_t minor;       /* amount in the currency's minor unit */
	char currency[4];    /* ISO 4217 alphabetic code, upper case, NUL-terminated */
};

/* Returns the ISO 4217 exponent (0..4) of a known code, or -1 if the code is unknown. */
int money_exponent(const char *code);
/* True when the code is a known ISO 4217 currency (case-sensitive, upper case). */
bool money_currency_valid(const char *code);

/*
 * Parses a plain decimal amount in C notation ("1999", "19.99", "19.9", "-3.5",
 * "1e3" is rejected) for a currency. Extra fraction digits beyond the exponent
 * are rejected unless they are all zero ("19.990" USD is fine, "19.991" is not),
 * so a price is never silently rounded. Fails on overflow.
 */
bool money_parse_decimal(const char *text, const char *currency, struct money *out);

/* Formats as plain decimal with exactly the exponent's digits: "19.99", "1500", "1.250". */
bool money_format_decimal(const struct money *m, char *buf, size_t buflen);
/* Formats for people: "19.99 USD". */
bool money_format(const struct money *m, char *buf, size_t buflen);

/* Compares two amounts of the same currency; returns false when the currencies differ. */
bool money_cmp(const struct money *a, const struct money *b, int *result);

#endif
