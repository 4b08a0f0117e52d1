/* extractor.h: the seam between extract.c (the dispatcher) and each extractor (rules.c, jsonld.c, microdata.c, opengraph.c, heuristic.c). */
#ifndef PW_EXTRACT_EXTRACTOR_H
#define PW_EXTRACT_EXTRACTOR_H

#include <libxml/HTMLparser.h>

#include "extract/extract.h"

/* What every extractor knows about the page besides its DOM. */
struct extract_ctx {
	const char *page_url;          /* base for relative URLs; may be NULL */
	const char *default_currency;  /* when the markup names none; may be NULL */
	char decimal_separator;        /* ',' or '.' for visible price text; 0: decide per price */
	const struct config_xpath *rules;  /* per-source XPath rules (rules.c); NULL: none */
	const char *source;            /* source name for messages; may be NULL */
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
/* The string member of a record for a field (owned by the record); NULL for prices and availability. */
char **extract_record_field(struct extract_record *r, enum extract_field f);
/* Resolves ref against base (either may be relative/NULL); returns a malloc'd string or NULL. */
char *extract_resolve_url(const char *base, const char *ref);
/*
 * The base for the page's relative links: <base href> resolved against page_url, else
 * page_url. Returns a malloc'd string (the caller frees it) or NULL when neither exists.
 */
char *extract_base_url(htmlDocPtr doc, const char *page_url);
/* <link rel="canonical"> in <head>, resolved against the base; malloc'd (the caller frees it) or NULL. */
char *extract_canonical_url(htmlDocPtr doc, const char *page_url);
/* Collapses whitespace runs to one space and trims; returns a malloc'd copy (at most max bytes) or NULL when empty. */
char *extract_clean_text(const char *s, size_t max);
/* "label ", "label (line N) " for messages about a source's rules; writes "" when source is NULL. */
void extract_source_label(const struct extract_ctx *ctx, char *buf, size_t buflen);

/* rules.c */
/* Per-source XPath rules (ctx->rules): one record per item-xpath match, or one for the page. */
void rules_extract(htmlDocPtr doc, const struct extract_ctx *ctx, struct extract_result *result);
/* True when rules has an item-xpath or any field expression. */
bool rules_present(const struct config_xpath *rules);

/* heuristic.c */
/* No markup: the price next to the product title (h1) or the buy button; nothing when unsure. */
void heuristic_extract(htmlDocPtr doc, const struct extract_ctx *ctx, struct extract_result *result);
/*
 * Visible availability text in several languages ("Auf Lager", "Épuisé", "Sold out",
 * "在庫あり"), schema.org names and URLs included; AVAIL_UNKNOWN when it says none.
 */
enum availability extract_availability_text(const char *text);

#endif
