/* fuzz-extract.c: libFuzzer target for page extraction (HTML, per-source XPath rules, JSON-LD, microdata, OpenGraph, heuristic, merging). */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "extract/extract.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fixed rule sets, so the fuzzer drives the rules path with page content: items, page-level, a broken expression. */
static const struct config_xpath rule_sets[] = {
	{ .line = 0 },
	{ .item = "//li | //div[@data-id] | //*[contains(@class,'product')]", .title = ".//h2 | .//a", .price =
	  ".//*[contains(@class,'price')][1]", .list_price = ".//del | .//s", .currency = ".//@data-currency",
	  .availability = ".//*[contains(@class,'stock')]", .sku = "@data-id", .gtin = ".//@data-gtin",
	  .image = ".//img/@src", .url = ".//a/@href", .seller = ".//*[@class='seller']", .line = 3 },
	{ .title = "//h1", .price = "//*[@itemprop='price']/@content | //span[@class='price']", .brand = "//meta[@name='brand']/@content",
	  .mpn = "string(//*[@data-mpn]/@data-mpn)", .line = 5 },
	{ .item = "//li[", .title = "count(.)", .price = "substring(., 1, 8)", .line = 9 },
};

static bool
known_extractor(const char *e)
{
	static const char *const names[] = { "rules", "jsonld", "microdata", "rdfa", "opengraph", "heuristic" };

	for (size_t i = 0; e != NULL && i < sizeof names / sizeof names[0]; i++)
		if (strncmp(e, names[i], strlen(names[i])) == 0)
			return true;
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct extract_result res;
	struct extract_opts opts = { .default_currency = (size & 1) ? "EUR" : NULL,
	    .decimal_separator = (size & 2) ? ',' : 0, .rules = &rule_sets[(size >> 2) % 4], .source = "fuzz" };
	size_t n = extract_page_ex((const char *)data, size, "https://fuzz.example/p/1", &opts, &res);

	if (n != res.n_records || (n == 0 && res.error[0] == '\0'))
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct extract_record *r = &res.records[i];
		if (!known_extractor(r->extractor))
			abort();
		/* A price always comes with a known currency, and a record's GTIN always passed its check digit. */
		if (r->price.currency[0] != '\0' && strlen(r->price.currency) != 3)
			abort();
		if (r->list_price.currency[0] != '\0' && strlen(r->list_price.currency) != 3)
			abort();
		if (r->gtin != NULL && strlen(r->gtin) > 14)
			abort();
		/* Every filled price names who filled it. */
		if ((r->price.currency[0] != '\0') != (r->source[EXTRACT_F_PRICE] != NULL))
			abort();
	}
	extract_result_free(&res);
	return 0;
}
