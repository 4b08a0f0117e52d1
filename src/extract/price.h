/* price.h: the locale-aware price-text parser: "1.299,00 €", "CHF 1'049.95", "₹1,23,456.00" to an exact amount and ISO 4217 code. */
#ifndef PW_EXTRACT_PRICE_H
#define PW_EXTRACT_PRICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/money.h"

/* Texts longer than this are refused (a price is a few words; a page is not a price). */
#define PRICE_MAX_TEXT 4096
/* At most this many digits after the decimal separator. */
#define PRICE_MAX_SCALE 9

/* An exact decimal: value / 10^scale. 29.1583 is {291583, 4}; never a double. */
struct price_decimal {
	int64_t value;
	int scale;
};

/* What the caller knows about the text besides its characters; a zeroed struct (or NULL) knows nothing. */
struct price_opts {
	/*
	 * ISO 4217 code (upper case): the currency when the text names none, and the choice
	 * for an ambiguous symbol that it can stand for ("$" -> CAD, "kr" -> NOK, "¥" -> CNY).
	 * The source's configured default currency goes here.
	 */
	const char *currency_hint;
	/*
	 * '.' or ',' when the site is known to write decimals that way; 0: decide from the
	 * digits. Only consulted when the digits cannot decide ("1,299", "1.299").
	 */
	char decimal_separator;
};

/* A parsed price; every member is plain data (nothing to free). */
struct price {
	struct price_decimal amount;   /* the price, or the low end of a range */
	struct price_decimal high;     /* the high end of a range; valid when has_high */
	bool has_high;
	bool is_free;                  /* "free", "gratis", ...: amount is 0 */
	bool is_from;                  /* "from 9.99", "ab 9,99", "desde": a lower bound */
	char currency[4];              /* ISO 4217, or "" when neither the text nor the hint names one */
	char currency_text[16];        /* the symbol or code as written ("€", "US$", "CHF"); "" when none */
	/*
	 * amount (and high) in the currency's minor units when the currency is known and the
	 * amount has no more decimals than its exponent allows (trailing zeros aside);
	 * otherwise minor.currency[0] == 0 and only the scaled decimal above is exact.
	 */
	struct money minor, minor_high;
	char error[160];               /* why nothing was found, or why minor is empty */
};

/*
 * Parses text (len bytes of UTF-8, not necessarily NUL-terminated). opts may be NULL.
 * Returns true when a price was found (out->amount is valid); false when the text holds
 * no price or a malformed/ambiguous one, with out->error saying which. Never a zero by accident.
 */
bool price_parse(const char *text, size_t len, const struct price_opts *opts, struct price *out);

/* Formats a decimal as "1049.95" / "0.125" / "1500" (scale digits after the point). */
bool price_decimal_format(const struct price_decimal *d, char *buf, size_t buflen);

/*
 * Formats a parsed amount for output: with the currency's exponent when minor is set
 * ("1500" JPY, "19.90" EUR), else the scaled decimal as written ("29.1583").
 */
bool price_format_amount(const struct price *p, bool high, char *buf, size_t buflen);

#endif
