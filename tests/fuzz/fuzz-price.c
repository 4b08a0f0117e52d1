/* fuzz-price.c: libFuzzer target for the price-text parser; aborts when a result breaks the parser's own promises. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "extract/price.h"

/* The first byte picks the hints, so the fuzzer explores hinted and unhinted paths alike. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const hints[] = { NULL, "USD", "EUR", "JPY", "KWD", "SEK", "CNY", "INR" };
	struct price_opts o = { 0 };
	struct price p;
	char buf[64];

	if (size == 0)
		return 0;
	o.currency_hint = hints[data[0] & 7];
	o.decimal_separator = (data[0] & 0x18) == 0x08 ? '.' : (data[0] & 0x18) == 0x10 ? ',' : 0;
	data++;
	size--;
	if (!price_parse((const char *)data, size, &o, &p)) {
		/* A rejection always says why and never leaves an amount behind. */
		if (p.error[0] == '\0' || p.amount.value != 0 || p.currency[0] != '\0' || p.minor.currency[0] != '\0')
			abort();
		return 0;
	}
	if (p.amount.value < 0 || p.amount.scale < 0 || p.amount.scale > PRICE_MAX_SCALE)
		abort();
	if (p.has_high && (p.high.value < 0 || p.high.scale < 0 || p.high.scale > PRICE_MAX_SCALE))
		abort();
	if (p.minor.currency[0] != '\0' && (strcmp(p.minor.currency, p.currency) != 0 || p.minor.minor < 0))
		abort();
	if (p.has_high && p.minor.currency[0] != '\0' && p.minor_high.currency[0] != '\0' &&
	    p.minor_high.minor < p.minor.minor)
		abort();
	if (!price_format_amount(&p, false, buf, sizeof buf))
		abort();
	return 0;
}
