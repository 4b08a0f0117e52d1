/* test-extract-pages.c: shop-shaped fixture pages (Shopify, WooCommerce, Magento, marketplace, RDFa, OpenGraph-only) against their expected records, as data. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/util.h"
#include "extract/extract.h"
#include "store/store.h"

#define MAX_WANT 4

/* One expected record; NULL strings must be absent, "*" means "not checked". */
struct want_record {
	const char *title;
	int64_t minor;
	const char *currency;      /* "" = no price */
	int64_t high;              /* -1 = no range */
	enum availability availability;
	const char *sku, *gtin, *brand;
	const char *extractor;
	const char *image;
	const char *url;
	const char *image_source;  /* which extractor gave the image */
};

struct want_page {
	const char *file;          /* under tests/unit/pages/shops */
	const char *page_url;
	const char *default_currency;
	size_t n_records;
	int disagreements, invalid_gtin, errors;
	struct want_record rec[MAX_WANT];
};

static const struct want_page pages[] = {
	{ "shopify-product.html", "https://northwind-knits.example/products/merino-crew-sweater", NULL, 2, 0, 0, 0, {
		{ "Merino Crew Sweater", 8900, "USD", -1, AVAIL_IN_STOCK, "NK-CREW-NAVY-S", "4006381333931",
		  "Northwind Knits", "jsonld",
		  "https://northwind-knits.example/cdn/shop/products/crew-navy.jpg?v=1700000000&width=1920",
		  "https://northwind-knits.example/products/merino-crew-sweater?variant=40001", "jsonld" },
		{ "Merino Crew Sweater", 9500, "USD", -1, AVAIL_OUT_OF_STOCK, "NK-CREW-NAVY-XL", NULL,
		  "Northwind Knits", "jsonld", "*",
		  "https://northwind-knits.example/products/merino-crew-sweater?variant=40004", "jsonld" },
	} },
	{ "woocommerce-product.html", "https://kaffeehaus-mueller.example/produkt/espressomuehle-kegelmahlwerk/", NULL,
	  1, 1, 0, 0, {
		{ "Espressomühle Kegelmahlwerk", 129900, "EUR", -1, AVAIL_IN_STOCK, "KM-EM-40", "4012345678901",
		  "Mahlwerk & Co", "jsonld", "https://kaffeehaus-mueller.example/wp-content/uploads/2026/03/muehle-1.jpg",
		  "https://kaffeehaus-mueller.example/produkt/espressomuehle-kegelmahlwerk/", "jsonld" },
	} },
	{ "magento-product.html", "https://boutique.example/sac-de-sport-joust.html", NULL, 1, 0, 0, 0, {
		{ "Sac de sport Joust", 129900, "EUR", -1, AVAIL_OUT_OF_STOCK, "24-MB01", NULL, NULL, "microdata",
		  "https://boutique.example/media/catalog/product/cache/1/image/265x265/mb01-blue-0.jpg",
		  "https://boutique.example/sac-de-sport-joust.html", "opengraph" },
	} },
	{ "marketplace-search.html", "https://targ.example/szukaj?q=czajnik", NULL, 3, 0, 0, 0, {
		{ "Czajnik stalowy 1,7 l", 12999, "PLN", -1, AVAIL_IN_STOCK, "TG-1001", NULL, "Hearthware", "microdata",
		  "https://img.targ.example/1001.jpg", "https://targ.example/oferta/czajnik-stalowy-17l-1001", "microdata" },
		{ "Czajnik elektryczny 2200 W", 104900, "PLN", -1, AVAIL_OUT_OF_STOCK, "TG-1002", "5901234123457", NULL,
		  "microdata", NULL, "https://targ.example/oferta/czajnik-elektryczny-1002", NULL },
		{ "Czajnik szklany", 7900, "PLN", -1, AVAIL_PREORDER, "TG-1003", NULL, NULL, "microdata", NULL,
		  "https://targ.example/oferta/czajnik-szklany-1003", NULL },
	} },
	{ "opengraph-only.html", "https://atelier-klei.example/mok-blauw?utm_source=x", NULL, 1, 0, 0, 0, {
		{ "Handgemaakte mok, blauw glazuur", 1990, "EUR", -1, AVAIL_IN_STOCK, "AK-MOK-B", NULL, "Atelier Klei",
		  "opengraph", "https://atelier-klei.example/img/mok-blauw.jpg", "https://atelier-klei.example/mok-blauw",
		  "opengraph" },
	} },
	{ "microdata-nested.html", "https://vergleich.example/p/alpin-gtx", NULL, 1, 0, 1, 0, {
		{ "Wanderschuh Alpin GTX", 8900, "EUR", 13995, AVAIL_LIMITED, NULL, NULL, "Gipfelwerk",
		  "microdata:lowPrice", "https://vergleich.example/img/alpin-gtx.jpg", "https://vergleich.example/p/alpin-gtx",
		  "microdata" },
	} },
	{ "rdfa-lite-product.html", "https://ferrum.example/p/FE-SK28", NULL, 1, 0, 0, 0, {
		{ "Cast Iron Skillet 28 cm", 5495, "GBP", -1, AVAIL_BACKORDER, "FE-SK28", "4006381333931", "Ferrum", "rdfa",
		  "https://ferrum.example/img/skillet-28.jpg", "https://ferrum.example/skillet-28", "rdfa" },
	} },
	{ "rakuten-style-jp.html", "https://shop.example.jp/item/kt-10-ss", NULL, 1, 0, 0, 0, {
		{ "電気ケトル 1.0L ステンレス", 12800, "JPY", -1, AVAIL_IN_STOCK, "KT-10-SS", NULL, NULL, "microdata",
		  "https://shop.example.jp/img/kettle.jpg", "https://shop.example.jp/item/kt-10-ss", "opengraph" },
	} },
};

static char *
load_shop_page(const char *name, size_t *len)
{
	const char *top = getenv("PW_TOP_SRCDIR");
	char path[1024], *body;

	if (top != NULL)
		cr_assert(pw_snprintf(path, sizeof path, "%s/tests/unit/pages/shops/%s", top, name));
	else
		cr_assert(pw_snprintf(path, sizeof path, "%.*s/pages/shops/%s",
		    (int)(strrchr(__FILE__, '/') - __FILE__), __FILE__, name));
	body = read_file(path, 1024 * 1024, len);
	cr_assert_not_null(body, "cannot read fixture %s", path);
	return body;
}

static void
expect_str(const char *page, size_t i, const char *what, const char *got, const char *want)
{
	if (want != NULL && strcmp(want, "*") == 0)
		return;
	if (want == NULL)
		cr_expect_null(got, "%s record %zu: %s is \"%s\", want none", page, i, what, got);
	else
		cr_expect(got != NULL && strcmp(got, want) == 0, "%s record %zu: %s is \"%s\", want \"%s\"", page, i,
		    what, got ? got : "(null)", want);
}

Test(extract_pages, every_fixture_gives_its_expected_records)
{
	for (size_t p = 0; p < sizeof pages / sizeof pages[0]; p++) {
		const struct want_page *w = &pages[p];
		struct extract_result res;
		size_t len;
		char *html = load_shop_page(w->file, &len);

		extract_page(html, len, w->page_url, w->default_currency, &res);
		free(html);
		cr_expect_eq(res.n_records, w->n_records, "%s: %zu records, want %zu (%s)", w->file, res.n_records,
		    w->n_records, res.error);
		cr_expect_eq(res.n_disagreements, w->disagreements, "%s: %d disagreements (%s)", w->file,
		    res.n_disagreements, res.error);
		cr_expect_eq(res.n_invalid_gtin, w->invalid_gtin, "%s: %d invalid GTINs", w->file, res.n_invalid_gtin);
		cr_expect_eq(res.n_errors, w->errors, "%s: %d errors (%s)", w->file, res.n_errors, res.error);
		for (size_t i = 0; i < w->n_records && i < res.n_records; i++) {
			const struct want_record *e = &w->rec[i];
			const struct extract_record *r = &res.records[i];
			expect_str(w->file, i, "title", r->title, e->title);
			expect_str(w->file, i, "currency", r->price.currency, e->currency);
			cr_expect_eq(r->price.minor, e->minor, "%s record %zu: price %lld, want %lld", w->file, i,
			    (long long)r->price.minor, (long long)e->minor);
			if (e->high < 0)
				cr_expect_eq(r->price_high.currency[0], '\0', "%s record %zu: unexpected range", w->file, i);
			else
				cr_expect_eq(r->price_high.minor, e->high, "%s record %zu: high %lld, want %lld", w->file, i,
				    (long long)r->price_high.minor, (long long)e->high);
			cr_expect_eq(r->availability, e->availability, "%s record %zu: availability %s, want %s", w->file,
			    i, availability_name(r->availability), availability_name(e->availability));
			expect_str(w->file, i, "sku", r->sku, e->sku);
			expect_str(w->file, i, "gtin", r->gtin, e->gtin);
			expect_str(w->file, i, "brand", r->brand, e->brand);
			expect_str(w->file, i, "extractor", r->extractor, e->extractor);
			expect_str(w->file, i, "image", r->image_url, e->image);
			expect_str(w->file, i, "url", r->url, e->url);
			expect_str(w->file, i, "image source", r->source[EXTRACT_F_IMAGE], e->image_source);
		}
		extract_result_free(&res);
	}
}

Test(extract_pages, disagreement_keeps_the_higher_precedence_price_and_says_so)
{
	struct extract_result res;
	size_t len;
	char *html = load_shop_page("woocommerce-product.html", &len);

	cr_assert_eq(extract_page(html, len, "https://kaffeehaus-mueller.example/x", NULL, &res), 1);
	cr_assert_eq(res.records[0].price.minor, 129900);
	cr_assert_str_eq(res.records[0].source[EXTRACT_F_PRICE], "jsonld");
	cr_assert_not_null(strstr(res.error, "jsonld says 1299.00 EUR, opengraph says 1349.00 EUR"), "%s", res.error);
	extract_result_free(&res);
	free(html);
}

Test(extract_pages, microdata_content_attribute_wins_over_text)
{
	static const char html[] = "<div itemscope itemtype='http://schema.org/Product'><span itemprop='name'>  Lamp \n"
	    "  X </span><div itemprop='offers' itemscope itemtype='http://schema.org/Offer'>"
	    "<span itemprop='price' content='1049.95'>CHF 1'049,95 statt 1'199.–</span>"
	    "<span itemprop='priceCurrency' content='CHF'>Fr.</span></div></div>";
	struct extract_result res;

	cr_assert_eq(extract_page(html, sizeof html - 1, "https://x.example/", NULL, &res), 1, "%s", res.error);
	cr_assert_str_eq(res.records[0].title, "Lamp X");
	cr_assert_str_eq(res.records[0].price.currency, "CHF");
	cr_assert_eq(res.records[0].price.minor, 104995);
	extract_result_free(&res);
}

Test(extract_pages, microdata_price_without_offer_and_ambiguous_symbol)
{
	/* Price on the product itself, "kr" and no currency anywhere: counted, no guess. */
	static const char html[] = "<div itemscope itemtype='https://schema.org/Product'><h1 itemprop='name'>Stol</h1>"
	    "<span itemprop='price'>1 299 kr</span></div>";
	struct extract_result res;

	cr_assert_eq(extract_page(html, sizeof html - 1, "https://x.example/", NULL, &res), 1);
	cr_assert_eq(res.records[0].price.currency[0], '\0');
	cr_assert_eq(res.n_errors, 1);
	cr_assert_not_null(strstr(res.error, "ambiguous currency \"kr\""), "%s", res.error);
	extract_result_free(&res);

	/* The source's default currency settles it. */
	cr_assert_eq(extract_page(html, sizeof html - 1, "https://x.example/", "NOK", &res), 1);
	cr_assert_str_eq(res.records[0].price.currency, "NOK");
	cr_assert_eq(res.records[0].price.minor, 129900);
	cr_assert_eq(res.n_errors, 0);
	extract_result_free(&res);
}

Test(extract_pages, opengraph_needs_a_product_signal)
{
	static const char about[] = "<meta property='og:title' content='About us'><meta property='og:type' content='website'>";
	static const char sale[] = "<meta property='og:type' content='product'><meta property='og:title' content='Mug'>"
	    "<meta property='product:price:amount' content='12.00'><meta property='product:price:currency' content='GBP'>"
	    "<meta property='product:sale_price:amount' content='9.00'><meta property='product:sale_price:currency' content='GBP'>"
	    "<meta property='og:availability' content='oos'><meta property='product:ean' content='4006381333932'>";
	struct extract_result res;

	cr_assert_eq(extract_page(about, sizeof about - 1, "https://x.example/", NULL, &res), 0);
	extract_result_free(&res);
	cr_assert_eq(extract_page(sale, sizeof sale - 1, "https://x.example/", NULL, &res), 1);
	cr_assert_eq(res.records[0].price.minor, 900);
	cr_assert_eq(res.records[0].availability, AVAIL_OUT_OF_STOCK);
	cr_assert_null(res.records[0].gtin);
	cr_assert_eq(res.n_invalid_gtin, 1);
	extract_result_free(&res);
}

Test(extract_pages, hostile_microdata_and_meta_do_not_crash)
{
	const size_t depth = 60000;
	static const char head[] = "<meta property='og:price:amount' content='99999999999999999999999'>"
	    "<meta property='og:price:currency' content='EURO'>"
	    "<div itemscope itemtype='http://schema.org/Product'><span itemprop='name'>Deep</span>"
	    "<div itemprop='offers' itemscope itemtype='http://schema.org/Offer'><span itemprop='price'>";
	static const char tail[] = "19,99 €</span></div></div>";
	size_t len = sizeof head - 1 + depth * 5 + sizeof tail - 1, o = 0;
	char *html = xmalloc(len + 1);
	struct extract_result res;

	memcpy(html, head, sizeof head - 1);
	o = sizeof head - 1;
	for (size_t i = 0; i < depth; i++, o += 5)
		memcpy(html + o, "<div>", 5);
	memcpy(html + o, tail, sizeof tail);
	/* Whatever the parser makes of 60000 open tags, the answer is clean and the OpenGraph junk is counted. */
	extract_page(html, len, "https://x.example/", NULL, &res);
	cr_assert_geq(res.n_records, 1);
	cr_assert_str_eq(res.records[0].title, "Deep");
	cr_assert_geq(res.n_errors, 1);
	cr_assert_not_null(strstr(res.error, "unknown currency \"EURO\""), "%s", res.error);
	extract_result_free(&res);

	/* Many products on both sides: merged pairwise only within a bound, never quadratic without end. */
	{
		const size_t n = 3000;
		char *big = xmalloc(n * 200 + 64);
		size_t b = 0;
		b += (size_t)snprintf(big + b, 64, "<script type='application/ld+json'>[");
		for (size_t i = 0; i < n; i++)
			b += (size_t)snprintf(big + b, 100, "%s{\"@type\":\"Product\",\"name\":\"P%zu\"}", i ? "," : "", i);
		b += (size_t)snprintf(big + b, 64, "]</script>");
		for (size_t i = 0; i < n; i++)
			b += (size_t)snprintf(big + b, 120, "<p itemscope itemtype='http://schema.org/Product'>"
			    "<b itemprop='name'>Q%zu</b></p>", i);
		extract_page(big, b, "https://x.example/", NULL, &res);
		cr_assert_eq(res.n_records, 2 * n);
		cr_assert_not_null(strstr(res.error, "too many records to merge"), "%s", res.error);
		extract_result_free(&res);
		free(big);
	}
	free(html);
}

Test(extract_pages, machine_values_use_schema_org_notation_visible_text_the_locale)
{
	/* content="19.999" is 19.999 (too many decimals for EUR: an error), visible "1.299" is 1299 euros. */
	static const char machine[] = "<div itemscope itemtype='http://schema.org/Product'><b itemprop='name'>M</b>"
	    "<span itemprop='price' content='19.999'>19,99 €</span><meta itemprop='priceCurrency' content='EUR'></div>";
	static const char visible[] = "<div itemscope itemtype='http://schema.org/Product'><b itemprop='name'>V</b>"
	    "<span itemprop='price'>1.299</span><meta itemprop='priceCurrency' content='EUR'></div>";
	struct extract_result res;

	cr_assert_eq(extract_page(machine, sizeof machine - 1, "https://x.example/", NULL, &res), 1);
	cr_assert_eq(res.records[0].price.currency[0], '\0');
	cr_assert_eq(res.n_errors, 1);
	cr_assert_not_null(strstr(res.error, "does not fit EUR"), "%s", res.error);
	extract_result_free(&res);

	cr_assert_eq(extract_page(visible, sizeof visible - 1, "https://x.example/", NULL, &res), 1);
	cr_assert_str_eq(res.records[0].price.currency, "EUR");
	cr_assert_eq(res.records[0].price.minor, 129900);
	extract_result_free(&res);
}
