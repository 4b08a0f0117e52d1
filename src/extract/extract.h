/* extract.h: turns a fetched HTML page into listing records (JSON-LD schema.org Product for now). */
#ifndef PW_EXTRACT_EXTRACT_H
#define PW_EXTRACT_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/money.h"
#include "store/store.h"

/* One product offer found on a page; every string is owned by the record. */
struct extract_record {
	char *title, *brand, *sku, *gtin, *mpn, *image_url, *url;
	const char *extractor;     /* static: "jsonld", ... */
	struct money price;        /* currency[0] == 0: no price on the page */
	enum availability availability;
};

struct extract_result {
	struct extract_record *records;
	size_t n_records;
	int n_errors;              /* broken JSON-LD blocks etc. (counted, survived) */
	char error[256];           /* first problem, for the log */
};

/*
 * Parses html (len bytes, not necessarily NUL-terminated) fetched from page_url.
 * default_currency (may be NULL) applies when the markup names no currency.
 * Returns the number of records found (0: none, with result->error saying why).
 */
size_t extract_page(const char *html, size_t len, const char *page_url,
    const char *default_currency, struct extract_result *result);
void extract_result_free(struct extract_result *result);

#endif
