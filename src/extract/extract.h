/* extract.h: turns a fetched HTML page into listing records (per-source XPath rules, JSON-LD, microdata, OpenGraph, heuristic; merged by precedence). */
#ifndef PW_EXTRACT_EXTRACT_H
#define PW_EXTRACT_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/money.h"
#include "store/store.h"

/* The fields of a record, for saying which extractor filled each one. */
enum extract_field {
	EXTRACT_F_TITLE, EXTRACT_F_BRAND, EXTRACT_F_SKU, EXTRACT_F_GTIN, EXTRACT_F_MPN,
	EXTRACT_F_IMAGE, EXTRACT_F_URL, EXTRACT_F_PRICE, EXTRACT_F_AVAILABILITY,
	/* Added with extract_page_ex (rules and heuristic); appended so older indexes keep their meaning. */
	EXTRACT_F_LIST_PRICE, EXTRACT_F_SELLER,
	EXTRACT_F_COUNT
};

/* One product offer found on a page; every string is owned by the record. */
struct extract_record {
	char *title, *brand, *sku, *gtin, *mpn, *image_url, *url;
	const char *extractor;     /* static: "jsonld", "microdata", "opengraph", ... */
	struct money price;        /* currency[0] == 0: no price on the page */
	enum availability availability;
	/* Added by the second extraction step (zero for older callers to ignore). */
	struct money price_high;   /* high end of a range (AggregateOffer highPrice, "19.99 - 29.99"); currency[0] == 0: none */
	const char *source[EXTRACT_F_COUNT];  /* static extractor name per field; NULL when the field is empty */
	/* Added with extract_page_ex (zero/NULL for older callers to ignore). */
	char *seller;              /* marketplace seller name (rules seller-xpath, JSON-LD offers.seller.name), owned */
	struct money list_price;   /* struck-through / "was" price; currency[0] == 0: none */
};

struct extract_result {
	struct extract_record *records;
	size_t n_records;
	int n_errors;              /* broken JSON-LD blocks etc. (counted, survived) */
	char error[256];           /* first problem, for the log */
	int n_invalid_gtin;        /* GTINs with a wrong length or check digit, kept out of records */
	int n_disagreements;       /* a lower-precedence extractor saw another price for the same product */
};

/*
 * Parses html (len bytes, not necessarily NUL-terminated) fetched from page_url.
 * default_currency (may be NULL) applies when the markup names no currency.
 * Returns the number of records found (0: none, with result->error saying why).
 */
size_t extract_page(const char *html, size_t len, const char *page_url,
    const char *default_currency, struct extract_result *result);
void extract_result_free(struct extract_result *result);

struct config_xpath;               /* common/config.h */

/* Per-source options for extract_page_ex; a zeroed struct behaves like extract_page(..., NULL, ...). */
struct extract_opts {
	const char *default_currency;      /* applies when the markup names no currency; NULL: none */
	char decimal_separator;            /* ',' or '.'; 0: decide per price */
	const struct config_xpath *rules;  /* NULL, or rules->item == NULL and no field set: no rules */
	const char *source;                /* source name for messages; NULL: none */
};

/*
 * Like extract_page, with per-source options (opts may be NULL). Precedence:
 * rules > JSON-LD > microdata/RDFa > OpenGraph > heuristic; each record and field
 * names its extractor ("rules", "jsonld", "microdata", "opengraph", "heuristic").
 * With item rules, every matched item is a record (category and search pages).
 * A bad XPath is counted in n_errors with result->error naming the source, the
 * config line and the expression. Returns the number of records.
 */
size_t extract_page_ex(const char *html, size_t len, const char *page_url,
    const struct extract_opts *opts, struct extract_result *result);

/* "title", "brand", "sku", "gtin", "mpn", "image", "url", "price", "availability", "list_price", "seller". */
const char *extract_field_name(enum extract_field f);

#endif
