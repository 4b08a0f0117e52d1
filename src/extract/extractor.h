/* extractor.h: the seam between extract.c (the dispatcher) and each extractor (jsonld.c, microdata.c, opengraph.c). */
#ifndef PW_EXTRACT_EXTRACTOR_H
#define PW_EXTRACT_EXTRACTOR_H

#include <libxml/HTMLparser.h>

#include "extract/extract.h"

/* What every extractor knows about the page besides its DOM. */
struct extract_ctx {
	const char *page_url;          /* base for relative URLs; may be NULL */
	const char *default_currency;  /* when the markup names none; may be NULL */
};

/* An extractor walks the parsed document and adds records and errors to the result. */
typedef void (*extractor_fn)(htmlDocPtr doc, const struct extract_ctx *ctx, struct extract_result *result);

/* extract.c */
/* Appends a zeroed record to result and returns it (owned by result; valid until the next add). */
struct extract_record *extract_add_record(struct extract_result *result);
/* Counts one survived problem; the first one's text is kept in result->error. */
void extract_add_error(struct extract_result *result, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * A price from markup: text ("1299.00", "€1.299,00", "19.99 - 29.99") with its declared
 * currency (may be NULL: then ctx's default, or what the text names) to exact money, and
 * the range's high end into *high (may be NULL). machine: the text is a machine value
 * (a content attribute, a meta tag), where a plain "19.999" is schema.org notation with
 * '.' as the decimal point, not visible text where it may group thousands. False with
 * err set when it cannot be placed without guessing (no currency, ambiguous symbol,
 * contradicting currencies, more decimals than the currency has).
 */
bool extract_price(const struct extract_ctx *ctx, const char *text, const char *currency, bool machine,
    struct money *out, struct money *high, char *err, size_t errlen);
/* Resolves ref against base (either may be relative/NULL); returns a malloc'd string or NULL. */
char *extract_resolve_url(const char *base, const char *ref);

#endif
