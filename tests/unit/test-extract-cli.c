/* test-extract-cli.c: "pricewatch extract" on the shop fixture pages, through cli_run: the JSON keys, the text view and the exit codes. */
#include "config.h"

#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "harness/cli-run.h"
#include "common/util.h"

struct run {
	int rc;
	char *out, *err;
	size_t out_len, err_len;
};

static void
run_cli(struct run *r, int argc, const char *const *args)
{
	char *argv[32];

	cr_assert(argc < 32);
	for (int i = 0; i < argc; i++)
		argv[i] = (char *)args[i];
	argv[argc] = NULL;
	r->rc = test_cli_run(argc, (const char *const *)argv, &r->out, &r->err, &r->out_len);
}

static void
run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* The path of a fixture under tests/unit/pages (static buffer, one at a time). */
static const char *
fixture(const char *name)
{
	static char path[1024];
	const char *top = getenv("PW_TOP_SRCDIR");

	if (top != NULL)
		cr_assert(pw_snprintf(path, sizeof path, "%s/tests/unit/pages/%s", top, name));
	else
		cr_assert(pw_snprintf(path, sizeof path, "%.*s/pages/%s",
		    (int)(strrchr(__FILE__, '/') - __FILE__), __FILE__, name));
	return path;
}

static const char *
jstr(json_object *o, const char *key)
{
	json_object *v;

	cr_assert(json_object_object_get_ex(o, key, &v), "key %s missing", key);
	return v == NULL ? NULL : json_object_get_string(v);
}

Test(cli_extract, json_has_the_documented_keys_main_product_first)
{
	struct run r;
	const char *args[] = { "pricewatch", "extract", "--json", "--url",
	    "https://northwind-knits.example/products/merino-crew-sweater", fixture("shops/shopify-product.html") };
	json_object *arr, *o;

	run_cli(&r, 6, args);
	cr_assert_eq(r.rc, CLI_EXIT_OK, "stderr: %s", r.err);
	arr = json_tokener_parse(r.out);
	cr_assert_not_null(arr, "not JSON: %s", r.out);
	cr_assert(json_object_is_type(arr, json_type_array));
	cr_assert_eq(json_object_array_length(arr), 2);
	o = json_object_array_get_idx(arr, 0);
	cr_assert_str_eq(jstr(o, "title"), "Merino Crew Sweater");
	cr_assert_str_eq(jstr(o, "price"), "89.00");
	cr_assert_str_eq(jstr(o, "currency"), "USD");
	cr_assert_null(jstr(o, "price_high"));
	cr_assert_str_eq(jstr(o, "availability"), "InStock");
	cr_assert_str_eq(jstr(o, "sku"), "NK-CREW-NAVY-S");
	cr_assert_str_eq(jstr(o, "gtin"), "4006381333931");
	cr_assert_null(jstr(o, "mpn"));
	cr_assert_str_eq(jstr(o, "brand"), "Northwind Knits");
	cr_assert_not_null(jstr(o, "image"));
	cr_assert_str_eq(jstr(o, "url"), "https://northwind-knits.example/products/merino-crew-sweater?variant=40001");
	cr_assert_str_eq(jstr(o, "extractor"), "jsonld");
	o = json_object_array_get_idx(arr, 1);
	cr_assert_str_eq(jstr(o, "price"), "95.00");
	cr_assert_str_eq(jstr(o, "availability"), "OutOfStock");
	json_object_put(arr);
	run_free(&r);
}

Test(cli_extract, json_range_and_sources)
{
	struct run r;
	const char *args[] = { "pricewatch", "extract", "--json", "--url", "https://vergleich.example/p/alpin-gtx",
	    fixture("shops/microdata-nested.html") };
	json_object *arr, *o, *src;

	run_cli(&r, 6, args);
	cr_assert_eq(r.rc, CLI_EXIT_OK, "stderr: %s", r.err);
	arr = json_tokener_parse(r.out);
	cr_assert_not_null(arr);
	o = json_object_array_get_idx(arr, 0);
	cr_assert_str_eq(jstr(o, "price"), "89.00");
	cr_assert_str_eq(jstr(o, "price_high"), "139.95");
	cr_assert_str_eq(jstr(o, "availability"), "LimitedAvailability");
	cr_assert_null(jstr(o, "gtin"));
	cr_assert(json_object_object_get_ex(o, "sources", &src));
	cr_assert_str_eq(jstr(src, "price"), "microdata");
	/* The invalid GTIN is reported on stderr, not in the JSON. */
	cr_assert_not_null(strstr(r.err, "1 invalid GTIN"), "stderr: %s", r.err);
	json_object_put(arr);
	run_free(&r);
}

Test(cli_extract, text_names_the_extractor_of_borrowed_fields)
{
	struct run r;
	const char *args[] = { "pricewatch", "extract", "-u", "https://boutique.example/sac-de-sport-joust.html",
	    fixture("shops/magento-product.html") };

	run_cli(&r, 5, args);
	cr_assert_eq(r.rc, CLI_EXIT_OK, "stderr: %s", r.err);
	cr_assert_not_null(strstr(r.out, "1. Sac de sport Joust  [microdata]"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "price         1299.00 EUR\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "availability  OutOfStock\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "mb01-blue-0.jpg   (from opengraph)"), "%s", r.out);
	run_free(&r);
}

Test(cli_extract, default_currency_and_exit_codes)
{
	struct run r;
	const char *none[] = { "pricewatch", "extract", fixture("no-jsonld.html") };
	const char *missing[] = { "pricewatch", "extract", "/nonexistent/page.html" };
	const char *badcur[] = { "pricewatch", "extract", "--currency", "EURO", "x.html" };
	const char *noarg[] = { "pricewatch", "extract" };

	run_cli(&r, 3, none);
	cr_assert_eq(r.rc, CLI_EXIT_NOT_FOUND);
	cr_assert_not_null(strstr(r.err, "no listing found"), "%s", r.err);
	run_free(&r);

	run_cli(&r, 3, missing);
	cr_assert_eq(r.rc, CLI_EXIT_ERROR);
	cr_assert_not_null(strstr(r.err, "cannot read /nonexistent/page.html"), "%s", r.err);
	run_free(&r);

	run_cli(&r, 5, badcur);
	cr_assert_eq(r.rc, CLI_EXIT_USAGE);
	run_free(&r);

	run_cli(&r, 2, noarg);
	cr_assert_eq(r.rc, CLI_EXIT_USAGE);
	run_free(&r);

	{
		const char *nzd[] = { "pricewatch", "extract", "--json", "--currency", "NZD", fixture("no-currency.html") };
		json_object *arr;
		run_cli(&r, 6, nzd);
		cr_assert_eq(r.rc, CLI_EXIT_OK, "%s", r.err);
		arr = json_tokener_parse(r.out);
		cr_assert_str_eq(jstr(json_object_array_get_idx(arr, 0), "price"), "7.50");
		cr_assert_str_eq(jstr(json_object_array_get_idx(arr, 0), "currency"), "NZD");
		json_object_put(arr);
		run_free(&r);
	}
}

/* Writes text into a fresh temporary file; returns its path (static buffer, one at a time). */
static const char *
temp_config(const char *text)
{
	static char path[] = "/tmp/pw-extract-cli-XXXXXX";
	int fd;

	memcpy(path + sizeof path - 7, "XXXXXX", 6);
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

Test(cli_extract, source_rules_currency_and_who_filled_what)
{
	static const char conf[] =
	    "[source \"mercado\"]\n"
	    "url = https://mercado.example/s?k=cafetera\n"
	    "currency = MXN\n"
	    "item-xpath = //div[@data-component-type='s-search-result']\n"
	    "title-xpath = .//h2//span\n"
	    "price-xpath = .//span[@class='a-price']/span[@class='a-offscreen']\n"
	    "list-price-xpath = .//span[@data-a-strike='true']/span[@class='a-offscreen']\n"
	    "sku-xpath = @data-asin\n"
	    "seller-xpath = .//span[@class='seller-name']\n"
	    "url-xpath = .//h2/a/@href\n";
	const char *path = temp_config(conf);
	const char *args[] = { "pricewatch", "-c", path, "extract", "--json", "--source", "mercado",
	    fixture("shops/marketplace-mx-rules.html") };
	const char *text[] = { "pricewatch", "-c", path, "extract", "-s", "mercado",
	    fixture("shops/marketplace-mx-rules.html") };
	struct run r;
	json_object *arr, *o, *src;

	run_cli(&r, 8, args);
	cr_assert_eq(r.rc, CLI_EXIT_OK, "stderr: %s", r.err);
	arr = json_tokener_parse(r.out);
	cr_assert_not_null(arr, "not JSON: %s", r.out);
	cr_assert_eq(json_object_array_length(arr), 5);
	o = json_object_array_get_idx(arr, 0);
	cr_assert_str_eq(jstr(o, "title"), "Cafetera de goteo 12 tazas, acero inoxidable");
	cr_assert_str_eq(jstr(o, "price"), "1299.00");
	cr_assert_str_eq(jstr(o, "currency"), "MXN");
	cr_assert_str_eq(jstr(o, "list_price"), "1599.00");
	cr_assert_str_eq(jstr(o, "seller"), "Casa Barista MX");
	cr_assert_str_eq(jstr(o, "url"), "https://mercado.example/mx/dp/B0MX000001?ref=sr_1_1");
	cr_assert_str_eq(jstr(o, "extractor"), "rules");
	cr_assert_str_eq(jstr(o, "listing_id"), "mercado:sku:B0MX000001");
	cr_assert(json_object_object_get_ex(o, "sources", &src));
	cr_assert_str_eq(jstr(src, "price"), "rules");
	cr_assert_str_eq(jstr(src, "seller"), "rules");
	cr_assert_str_eq(jstr(json_object_array_get_idx(arr, 3), "price_high"), "329.00");
	json_object_put(arr);
	run_free(&r);

	run_cli(&r, 7, text);
	cr_assert_eq(r.rc, CLI_EXIT_OK, "stderr: %s", r.err);
	cr_assert_not_null(strstr(r.out, "1. Cafetera de goteo 12 tazas, acero inoxidable  [rules]\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "  list price    1599.00 MXN\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "  seller        Casa Barista MX\n"), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "  listing id    mercado:sku:B0MX000001\n"), "%s", r.out);
	run_free(&r);
	unlink(path);
}

Test(cli_extract, bad_rule_is_reported_with_source_and_expression)
{
	const char *path = temp_config("[source \"broken\"]\nurl = https://hobandhearth.example/x\ncurrency = GBP\n"
	    "price-xpath = //span[@data-price-type='finalPrice'/@data-price-amount\n");
	const char *args[] = { "pricewatch", "-c", path, "extract", "--source", "broken",
	    fixture("shops/rules-vs-jsonld.html") };
	const char *unknown[] = { "pricewatch", "-c", path, "extract", "--source", "nope",
	    fixture("shops/rules-vs-jsonld.html") };
	struct run r;

	/* The JSON-LD still gives the listing; the rule's problem is on stderr, naming source, line and expression. */
	run_cli(&r, 7, args);
	cr_assert_eq(r.rc, CLI_EXIT_OK, "stderr: %s", r.err);
	cr_assert_not_null(strstr(r.out, "[jsonld]"), "%s", r.out);
	cr_assert_not_null(strstr(r.err, "source \"broken\" (line 4): price-xpath \"//span[@data-price-type='finalPrice'"),
	    "%s", r.err);
	run_free(&r);

	run_cli(&r, 7, unknown);
	cr_assert_eq(r.rc, CLI_EXIT_USAGE);
	cr_assert_not_null(strstr(r.err, "no [source \"nope\"]"), "%s", r.err);
	run_free(&r);
	unlink(path);
}
