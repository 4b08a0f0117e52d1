/* fuzz-extract.c: libFuzzer target for page extraction (HTML, JSON-LD, microdata, OpenGraph, merging). */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "extract/extract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct extract_result res;
	size_t n = extract_page((const char *)data, size, "https://fuzz.example/p/1", (size & 1) ? "EUR" : NULL, &res);

	if (n != res.n_records || (n == 0 && res.error[0] == '\0'))
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct extract_record *r = &res.records[i];
		if (r->extractor == NULL)
			abort();
		/* A price always comes with a known currency, and a record's GTIN always passed its check digit. */
		if (r->price.currency[0] != '\0' && strlen(r->price.currency) != 3)
			abort();
		if (r->gtin != NULL && strlen(r->gtin) > 14)
			abort();
	}
	extract_result_free(&res);
	return 0;
}
