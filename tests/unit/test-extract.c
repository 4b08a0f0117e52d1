/* test-extract.c: JSON-LD extraction from real-looking product pages in tests/unit/pages, and hostile input. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/util.h"
#include "extract/extract.h"
#include "store/store.h"

#define PAGE_URL "https://shop.example.com/p/item?id=7"

/* Reads tests/unit/pages/<name> from the source tree ($PW_TOP_SRCDIR, else relative to this file). */
static char *
load_page(const char *name, size_t *len)
{
	const char *top = getenv("PW_TOP_SRCDIR");
	char path[1024], *body;

	if (top != NULL)
		cr_assert(pw_snprintf(path, sizeof path, "%s/tests/unit/pages/%s", top, name));
	else
		cr_assert(pw_snprintf(path, sizeof path, "%.*s/pages/%s",
		    (int)(strrchr(__FILE__, '/') - __FILE__), __FILE__, name));
	body = read_file(path, 1024 * 1024, len);
	cr_assert_not_null(body, "cannot read fixture %s", path);
	return body;
}

/* Extracts a fixture page; the caller frees the result. */
static size_t
extract_fixture(const char *name, const char *default_currency, struct extract_result *res)
{
	size_t len;
	char *html = load_page(name, &len);
	size_t n = extract_page(html, len, PAGE_URL, default_currency, res);

	free(html);
	cr_assert_eq(n, res->n_records);
	return n;
}

static void
assert_price(const struct extract_record *r, int64_t minor, const char *currency)
{
	cr_assert_str_eq(r->price.currency, currency);
	cr_assert_eq(r->price.minor, minor, "price %lld, want %lld", (long long)r->price.minor,
	    (long long)minor);
}

Test(extract, simple_product)
{
	struct extract_result res;

	cr_assert_eq(extract_fixture("simple.html", NULL, &res), 1);
	const struct extract_record *r = &res.records[0];
	cr_assert_str_eq(r->title, "Stovetop Kettle 2L, brushed steel");
	cr_assert_str_eq(r->brand, "Hearthware");
	cr_assert_str_eq(r->sku, "KT-2000-BS");
	cr_assert_str_eq(r->mpn, "KT2000");
	cr_assert_str_eq(r->gtin, "4006381333931");
	cr_assert_str_eq(r->image_url, "https://shop.example.com/media/catalog/kettle-2l-front.jpg");
	cr_assert_str_eq(r->url, "https://shop.example.com/p/stovetop-kettle-2l");
	cr_assert_str_eq(r->extractor, "jsonld");
	assert_price(r, 1999, "USD");
	cr_assert_eq(r->availability, AVAIL_IN_STOCK);
	cr_assert_eq(res.n_errors, 0);
	extract_result_free(&res);
	cr_assert_eq(res.n_records, 0);
	cr_assert_null(res.records);
}

Test(extract, offers_array_gives_one_record_per_offer)
{
	struct extract_result res;

	cr_assert_eq(extract_fixture("offers-array.html", NULL, &res), 2);
	cr_assert_str_eq(res.records[0].title, "Cordless Drill 18V");
	cr_assert_str_eq(res.records[1].title, "Cordless Drill 18V");
	cr_assert_str_eq(res.records[0].brand, "Voltix");
	assert_price(&res.records[0], 7900, "EUR");
	assert_price(&res.records[1], 7450, "EUR");
	cr_assert_eq(res.records[0].availability, AVAIL_OUT_OF_STOCK);
	cr_assert_eq(res.records[1].availability, AVAIL_IN_STOCK);
	cr_assert_str_eq(res.records[0].url, "https://toolsmarket.example/drill-18v?seller=alpha");
	cr_assert_str_eq(res.records[1].url, "https://toolsmarket.example/drill-18v?seller=beta");
	/* The offer's own sku names the variant sold; the product's is the fallback. */
	cr_assert_str_eq(res.records[0].sku, "VX-D18");
	cr_assert_str_eq(res.records[1].sku, "VX-D18-B");
	cr_assert_str_eq(res.records[0].gtin, "0123456789012");
	/* image array: the first one. */
	cr_assert_str_eq(res.records[0].image_url, "https://cdn.toolsmarket.example/img/drill-18v-1.jpg");
	extract_result_free(&res);
}

Test(extract, aggregate_offer_uses_low_price)
{
	struct extract_result res;

	cr_assert_eq(extract_fixture("aggregate.html", NULL, &res), 1);
	assert_price(&res.records[0], 18900, "GBP");
	cr_assert_str_eq(res.records[0].extractor, "jsonld:lowPrice");
	cr_assert_str_eq(res.records[0].image_url, "https://img.compare.example/ergopro.webp");
	cr_assert_str_eq(res.records[0].brand, "SitWell");
	cr_assert_str_eq(res.records[0].mpn, "EP-300");
	cr_assert_null(res.records[0].sku);
	/* No url anywhere in the markup: the page's own URL. */
	cr_assert_str_eq(res.records[0].url, PAGE_URL);
	extract_result_free(&res);
}

Test(extract, graph_with_type_array)
{
	struct extract_result res;

	cr_assert_eq(extract_fixture("graph.html", NULL, &res), 1);
	cr_assert_str_eq(res.records[0].title, "Espressomaschine Barista S");
	cr_assert_str_eq(res.records[0].sku, "BS-100");
	assert_price(&res.records[0], 34900, "EUR");
	cr_assert_eq(res.records[0].availability, AVAIL_PREORDER);
	/* Relative to the page directory, not the host root. */
	cr_assert_str_eq(res.records[0].image_url, "https://shop.example.com/p/images/barista-s.jpg");
	extract_result_free(&res);
}

Test(extract, price_as_json_number_is_exact)
{
	struct extract_result res;

	cr_assert_eq(extract_fixture("price-number.html", NULL, &res), 1);
	assert_price(&res.records[0], 1999, "USD");
	cr_assert_eq(res.records[0].availability, AVAIL_IN_STOCK);
	extract_result_free(&res);
}

Test(extract, price_number_jpy_has_no_minor_digits)
{
	struct extract_result res;

	cr_assert_eq(extract_fixture("jpy.html", NULL, &res), 1);
	assert_price(&res.records[0], 1500, "JPY");
	cr_assert_str_eq(res.records[0].title, "緑茶 100g");
	extract_result_free(&res);
}

Test(extract, kwd_three_decimals)
{
	struct extract_result res;

	cr_assert_eq(extract_fixture("kwd.html", NULL, &res), 1);
	assert_price(&res.records[0], 12345, "KWD");
	cr_assert_eq(res.records[0].availability, AVAIL_LIMITED);
	extract_result_free(&res);
}

Test(extract, price_specification)
{
	struct extract_result res;

	cr_assert_eq(extract_fixture("price-spec.html", NULL, &res), 1);
	assert_price(&res.records[0], 2490, "CHF");
	cr_assert_str_eq(res.records[0].gtin, "96385074");
	cr_assert_eq(res.records[0].availability, AVAIL_BACKORDER);
	extract_result_free(&res);
}

Test(extract, broken_block_is_counted_and_the_next_used)
{
	struct extract_result res;

	cr_assert_eq(extract_fixture("broken-then-good.html", NULL, &res), 1);
	cr_assert_eq(res.n_errors, 1);
	cr_assert_not_null(strstr(res.error, "JSON-LD block 1"), "error: %s", res.error);
	cr_assert_str_eq(res.records[0].title, "Garden Hose 25m");
	assert_price(&res.records[0], 3495, "AUD");
	extract_result_free(&res);
}

Test(extract, trailing_commas_and_comment_wrapper_tolerated)
{
	struct extract_result res;

	cr_assert_eq(extract_fixture("trailing-comma.html", NULL, &res), 1, "error: %s", res.error);
	cr_assert_eq(res.n_errors, 0, "error: %s", res.error);
	/* The comma inside the string is data, not breakage. */
	cr_assert_str_eq(res.records[0].title, "LED Desk Lamp [3 modes,]");
	cr_assert_str_eq(res.records[0].brand, "Lumo");
	/* Lower-case currency code, full-URL @type, "schema:" availability. */
	assert_price(&res.records[0], 2900, "CAD");
	cr_assert_eq(res.records[0].availability, AVAIL_IN_STOCK);
	extract_result_free(&res);
}

Test(extract, no_jsonld_gives_zero_records_and_a_message)
{
	struct extract_result res;

	cr_assert_eq(extract_fixture("no-jsonld.html", NULL, &res), 0);
	cr_assert_null(res.records);
	cr_assert_not_null(strstr(res.error, "no product found"), "error: %s", res.error);
	cr_assert_eq(res.n_errors, 0);
	extract_result_free(&res);
}

Test(extract, thousands_separator_in_a_jsonld_price_is_read_exactly)
{
	struct extract_result res;

	/* "1,299.00" is not schema.org notation, but the locale-aware parser reads it exactly. */
	cr_assert_eq(extract_fixture("thousands.html", NULL, &res), 1);
	cr_assert_eq(res.n_errors, 0, "error: %s", res.error);
	assert_price(&res.records[0], 129900, "USD");
	cr_assert_str_eq(res.records[0].title, "Road Bike Carbon 56cm");
	extract_result_free(&res);
}

Test(extract, jsonld_price_text_that_contradicts_its_currency_is_an_error)
{
	static const char html[] = "<script type=\"application/ld+json\">"
	    "{\"@type\":\"Product\",\"name\":\"Q\",\"offers\":{\"price\":\"$5.00\",\"priceCurrency\":\"EUR\"}}"
	    "</script>";
	struct extract_result res;

	cr_assert_eq(extract_page(html, sizeof html - 1, PAGE_URL, NULL, &res), 1);
	cr_assert_eq(res.n_errors, 1);
	cr_assert_not_null(strstr(res.error, "USD but priceCurrency says EUR"), "error: %s", res.error);
	cr_assert_eq(res.records[0].price.currency[0], '\0');
	extract_result_free(&res);
}

Test(extract, jsonld_locale_prices_and_ranges)
{
	static const struct {
		const char *price, *currency;
		int64_t minor, high;
		const char *want_cur;
	} cases[] = {
		{ "1.299,00 €", "EUR", 129900, -1, "EUR" },
		{ "€1,299.00", NULL, 129900, -1, "EUR" },
		{ "19,99", "EUR", 1999, -1, "EUR" },
		{ "CHF 1'049.95", "CHF", 104995, -1, "CHF" },
		{ "$5", "CAD", 500, -1, "CAD" },
		{ "19.99 - 29.99", "USD", 1999, 2999, "USD" },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct extract_result res;
		char *html = xasprintf("<script type=\"application/ld+json\">{\"@type\":\"Product\",\"name\":\"P\","
		    "\"offers\":{\"price\":\"%s\"%s%s%s}}</script>", cases[i].price,
		    cases[i].currency ? ",\"priceCurrency\":\"" : "", cases[i].currency ? cases[i].currency : "",
		    cases[i].currency ? "\"" : "");
		cr_assert_eq(extract_page(html, strlen(html), PAGE_URL, NULL, &res), 1);
		cr_assert_eq(res.n_errors, 0, "%s: %s", cases[i].price, res.error);
		assert_price(&res.records[0], cases[i].minor, cases[i].want_cur);
		if (cases[i].high >= 0)
			cr_assert_eq(res.records[0].price_high.minor, cases[i].high, "%s", cases[i].price);
		else
			cr_assert_eq(res.records[0].price_high.currency[0], '\0', "%s", cases[i].price);
		extract_result_free(&res);
		free(html);
	}
}

Test(extract, aggregate_offer_high_price)
{
	struct extract_result res;

	cr_assert_eq(extract_fixture("aggregate.html", NULL, &res), 1);
	cr_assert_str_eq(res.records[0].price_high.currency, "GBP");
	cr_assert_eq(res.records[0].price_high.minor, 24990);
	extract_result_free(&res);
}

Test(extract, invalid_gtin_is_dropped_and_counted)
{
	static const char html[] = "<script type=\"application/ld+json\">["
	    "{\"@type\":\"Product\",\"name\":\"A\",\"gtin13\":\"4006381333932\"},"
	    "{\"@type\":\"Product\",\"name\":\"B\",\"gtin\":\"4006-381 333931\"},"
	    "{\"@type\":\"Product\",\"name\":\"C\",\"gtin\":\"12345\"},"
	    "{\"@type\":\"Product\",\"name\":\"D\",\"gtin12\":\"036000291452\"},"
	    "{\"@type\":\"Product\",\"name\":\"E\",\"gtin8\":\"96385074\"},"
	    "{\"@type\":\"Product\",\"name\":\"F\",\"gtin14\":\"10012345678902\"},"
	    "{\"@type\":\"Product\",\"name\":\"G\",\"gtin14\":\"1001234567890X\"}]</script>";
	struct extract_result res;

	cr_assert_eq(extract_page(html, sizeof html - 1, PAGE_URL, NULL, &res), 7);
	cr_assert_null(res.records[0].gtin);
	cr_assert_str_eq(res.records[1].gtin, "4006381333931");
	cr_assert_null(res.records[2].gtin);
	cr_assert_str_eq(res.records[3].gtin, "036000291452");
	cr_assert_str_eq(res.records[4].gtin, "96385074");
	cr_assert_str_eq(res.records[5].gtin, "10012345678902");
	cr_assert_null(res.records[6].gtin);
	cr_assert_eq(res.n_invalid_gtin, 3);
	cr_assert_str_eq(res.records[1].source[EXTRACT_F_GTIN], "jsonld");
	cr_assert_null(res.records[0].source[EXTRACT_F_GTIN]);
	extract_result_free(&res);
}

Test(extract, default_currency_applies_when_markup_has_none)
{
	struct extract_result res;

	cr_assert_eq(extract_fixture("no-currency.html", "NZD", &res), 1);
	assert_price(&res.records[0], 750, "NZD");
	cr_assert_str_eq(res.records[0].gtin, "036000291452");
	cr_assert_eq(res.records[0].availability, AVAIL_DISCONTINUED);
	extract_result_free(&res);

	/* Without a default the price cannot be placed: counted, no price. */
	cr_assert_eq(extract_fixture("no-currency.html", NULL, &res), 1);
	cr_assert_eq(res.n_errors, 1);
	cr_assert_eq(res.records[0].price.currency[0], '\0');
	cr_assert_not_null(strstr(res.error, "priceCurrency"), "error: %s", res.error);
	extract_result_free(&res);
}

Test(extract, availability_url_forms)
{
	static const struct {
		const char *text;
		enum availability want;
	} cases[] = {
		{ "https://schema.org/InStock", AVAIL_IN_STOCK },
		{ "http://schema.org/InStock", AVAIL_IN_STOCK },
		{ "schema:OutOfStock", AVAIL_OUT_OF_STOCK },
		{ "OutOfStock", AVAIL_OUT_OF_STOCK },
		{ "https://schema.org/PreOrder", AVAIL_PREORDER },
		{ "http://schema.org/Discontinued", AVAIL_DISCONTINUED },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct extract_result res;
		char *html = xasprintf("<html><head><script type=\"application/ld+json\">"
		    "{\"@type\":\"Product\",\"name\":\"X\",\"offers\":{\"@type\":\"Offer\","
		    "\"price\":\"1.00\",\"priceCurrency\":\"USD\",\"availability\":\"%s\"}}"
		    "</script></head><body></body></html>", cases[i].text);
		cr_assert_eq(extract_page(html, strlen(html), PAGE_URL, NULL, &res), 1);
		cr_assert_eq(res.records[0].availability, cases[i].want, "%s", cases[i].text);
		extract_result_free(&res);
		free(html);
	}
}

Test(extract, too_many_decimals_for_currency_is_an_error)
{
	static const char html[] = "<script type=\"application/ld+json\">"
	    "{\"@type\":\"Product\",\"name\":\"Y\",\"offers\":{\"price\":\"19.999\",\"priceCurrency\":\"USD\"}}"
	    "</script>";
	struct extract_result res;

	cr_assert_eq(extract_page(html, sizeof html - 1, PAGE_URL, NULL, &res), 1);
	cr_assert_eq(res.n_errors, 1);
	cr_assert_eq(res.records[0].price.currency[0], '\0');
	cr_assert_eq(res.records[0].price.minor, 0);
	extract_result_free(&res);
}

Test(extract, offer_with_item_offered_and_at_graph_array_top_level)
{
	static const char html[] = "<html><body><script type='application/ld+json'>"
	    "[{\"@type\":\"Organization\",\"name\":\"Shop\"},"
	    " {\"@type\":\"Offer\",\"price\":\"5\",\"priceCurrency\":\"EUR\","
	    "  \"itemOffered\":{\"@type\":\"Product\",\"name\":\"Socks\",\"sku\":\"S-1\"}}]"
	    "</script></body></html>";
	struct extract_result res;

	cr_assert_eq(extract_page(html, sizeof html - 1, PAGE_URL, NULL, &res), 1, "%s", res.error);
	cr_assert_str_eq(res.records[0].title, "Socks");
	assert_price(&res.records[0], 500, "EUR");
	extract_result_free(&res);
}

Test(extract, product_without_offers_has_no_price)
{
	static const char html[] = "<script type=\"application/ld+json\">"
	    "{\"@type\":\"Product\",\"name\":\"Catalogue only\",\"gtin14\":10012345678902}</script>";
	struct extract_result res;

	cr_assert_eq(extract_page(html, sizeof html - 1, PAGE_URL, NULL, &res), 1);
	cr_assert_eq(res.n_errors, 0);
	cr_assert_eq(res.records[0].price.currency[0], '\0');
	cr_assert_eq(res.records[0].availability, AVAIL_UNKNOWN);
	/* A numeric GTIN keeps its digits exactly (leading digit and all). */
	cr_assert_str_eq(res.records[0].gtin, "10012345678902");
	extract_result_free(&res);
}

Test(extract, garbage_input_does_not_crash)
{
	struct extract_result res;
	unsigned char bin[4096];
	uint32_t x = 2463534242u;

	/* Binary noise, NULs included. */
	for (size_t i = 0; i < sizeof bin; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		bin[i] = (unsigned char)x;
	}
	cr_assert_eq(extract_page((const char *)bin, sizeof bin, PAGE_URL, NULL, &res), 0);
	cr_assert_neq(res.error[0], '\0');
	extract_result_free(&res);

	/* Empty input. */
	cr_assert_eq(extract_page("", 0, PAGE_URL, NULL, &res), 0);
	cr_assert_str_eq(res.error, "empty page");
	extract_result_free(&res);

	/* Tag soup. */
	static const char soup[] = "<<<html><scr<ipt type=application/ld+json>{]</b></i></script <p <<!---";
	cr_assert_eq(extract_page(soup, sizeof soup - 1, NULL, NULL, &res), 0);
	extract_result_free(&res);
}

Test(extract, truncated_page_at_every_length_does_not_crash)
{
	size_t len;
	char *html = load_page("simple.html", &len);

	/* Every cut inside the JSON-LD block, and a few elsewhere, must be survived. */
	for (size_t cut = 1; cut < len; cut += (cut > 200 && cut < 1300) ? 7 : 97) {
		struct extract_result res;
		size_t n = extract_page(html, cut, PAGE_URL, NULL, &res);
		cr_assert(n <= 1);
		if (n == 0)
			cr_assert_neq(res.error[0], '\0');
		extract_result_free(&res);
	}
	free(html);
}

Test(extract, deeply_nested_json_is_refused_not_crashed)
{
	const size_t depth = 100000;
	static const char head[] = "<script type=\"application/ld+json\">";
	static const char good[] = "</script><script type=\"application/ld+json\">"
	    "{\"@type\":\"Product\",\"name\":\"Deep\",\"offers\":{\"price\":\"2.50\",\"priceCurrency\":\"EUR\"}}"
	    "</script>";
	size_t len = sizeof head - 1 + 2 * depth + sizeof good - 1;
	char *html = xmalloc(len + 1), *p = html;
	struct extract_result res;

	memcpy(p, head, sizeof head - 1);
	p += sizeof head - 1;
	memset(p, '[', depth);
	p += depth;
	memset(p, ']', depth);
	p += depth;
	memcpy(p, good, sizeof good);

	cr_assert_eq(extract_page(html, len, PAGE_URL, NULL, &res), 1);
	cr_assert_eq(res.n_errors, 1);
	cr_assert_not_null(strstr(res.error, "JSON-LD block 1"), "error: %s", res.error);
	assert_price(&res.records[0], 250, "EUR");
	extract_result_free(&res);

	/* Deep objects that parse within the limit but hide a product far down. */
	char *deep = xmalloc(64 * 12 + 256);
	size_t o = 0;
	o += (size_t)snprintf(deep + o, 64, "<script type=\"application/ld+json\">");
	for (int i = 0; i < 60; i++)
		o += (size_t)snprintf(deep + o, 16, "{\"a\":");
	o += (size_t)snprintf(deep + o, 64, "{\"@type\":\"Product\",\"name\":\"N\"}");
	for (int i = 0; i < 60; i++)
		deep[o++] = '}';
	o += (size_t)snprintf(deep + o, 16, "</script>");
	cr_assert_eq(extract_page(deep, o, PAGE_URL, NULL, &res), 1, "%s", res.error);
	cr_assert_str_eq(res.records[0].title, "N");
	extract_result_free(&res);
	free(deep);
	free(html);
}

Test(extract, deeply_nested_html_does_not_crash)
{
	const size_t depth = 50000;
	static const char tail[] = "<script type=\"application/ld+json\">{\"@type\":\"Product\",\"name\":\"Z\"}</script>";
	size_t len = depth * 5 + sizeof tail - 1;
	char *html = xmalloc(len + 1);
	struct extract_result res;

	for (size_t i = 0; i < depth; i++)
		memcpy(html + i * 5, "<div>", 5);
	memcpy(html + depth * 5, tail, sizeof tail);
	cr_assert(extract_page(html, len, PAGE_URL, NULL, &res) <= 1);
	extract_result_free(&res);
	free(html);
}

Test(extract, several_products_and_types_not_product)
{
	static const char html[] = "<script type=\"application/ld+json\">"
	    "{\"@type\":\"ItemList\",\"itemListElement\":["
	    "{\"@type\":\"ListItem\",\"item\":{\"@type\":\"Product\",\"name\":\"A\",\"url\":\"a.html\"}},"
	    "{\"@type\":\"ListItem\",\"item\":{\"@type\":\"http://schema.org/Product\",\"name\":\"B\"}}]}"
	    "</script><script type=\"application/ld+json\">{\"@type\":\"Productivity\",\"name\":\"no\"}</script>";
	struct extract_result res;

	cr_assert_eq(extract_page(html, sizeof html - 1, PAGE_URL, NULL, &res), 2);
	cr_assert_str_eq(res.records[0].title, "A");
	cr_assert_str_eq(res.records[0].url, "https://shop.example.com/p/a.html");
	cr_assert_str_eq(res.records[1].title, "B");
	extract_result_free(&res);
}

Test(extract, encoding_utf8_default_and_declared_latin1)
{
	/* No charset declared: UTF-8, not libxml2's ISO-8859-1 guess. */
	static const char utf8[] = "<html><head><script type=\"application/ld+json\">"
	    "{\"@type\":\"Product\",\"name\":\"Caf\xc3\xa9 cr\xc3\xa8me\"}</script></head></html>";
	/* A declared charset wins: é is one byte 0xE9 here. */
	static const char latin1[] = "<html><head><meta http-equiv=\"Content-Type\" "
	    "content=\"text/html; charset=iso-8859-1\"><script type=\"application/ld+json\">"
	    "{\"@type\":\"Product\",\"name\":\"Caf\xe9\"}</script></head></html>";
	struct extract_result res;

	cr_assert_eq(extract_page(utf8, sizeof utf8 - 1, PAGE_URL, NULL, &res), 1);
	cr_assert_str_eq(res.records[0].title, "Caf\xc3\xa9 cr\xc3\xa8me");
	extract_result_free(&res);
	cr_assert_eq(extract_page(latin1, sizeof latin1 - 1, PAGE_URL, NULL, &res), 1);
	cr_assert_str_eq(res.records[0].title, "Caf\xc3\xa9");
	extract_result_free(&res);
}

Test(extract, stray_latin1_byte_without_charset_is_survived)
{
	static const char html[] = "<html><head><title>Caf\xe9</title><script type=\"application/ld+json\">"
	    "{\"@type\":\"Product\",\"name\":\"Tea\",\"offers\":{\"price\":\"3\",\"priceCurrency\":\"EUR\"}}"
	    "</script></head></html>";
	struct extract_result res;

	cr_assert_eq(extract_page(html, sizeof html - 1, PAGE_URL, NULL, &res), 1, "%s", res.error);
	cr_assert_str_eq(res.records[0].title, "Tea");
	assert_price(&res.records[0], 300, "EUR");
	extract_result_free(&res);
}
