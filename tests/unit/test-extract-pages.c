/* test-extract-pages.c: shop-shaped fixture pages (Shopify, WooCommerce, Magento, marketplaces, RDFa, OpenGraph-only, per-source rules, no markup) against their expected records, as data. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "common/config.h"
#include "common/util.h"
#include "extract/extract.h"
#include "extract/extractor.h"
#include "store/store.h"

#define MAX_WANT 6

/* Table rows leave the members added later (list price, seller, rules) at zero: "none". */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

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
	int64_t list_minor;        /* struck-through list price in the same currency; 0 = none */
	const char *seller;
	const char *price_source;  /* which extractor gave the price; NULL = not checked */
};

struct want_page {
	const char *file;          /* under tests/unit/pages/shops */
	const char *page_url;
	const char *default_currency;
	size_t n_records;
	int disagreements, invalid_gtin, errors;
	struct want_record rec[MAX_WANT];
	/* The source's options, as the crawler passes them (zero: none). */
	const struct config_xpath *rules;
	char decimal_separator;
};

/* Rules as a user would write them in [source] sections for these fixture pages. */
static const struct config_xpath shopify_collection_rules = {
	.item = "//ul[@id='product-grid']/li",
	.title = ".//h3[contains(@class,'card__heading')]/a",
	.price = ".//span[contains(@class,'price-item--last')]",
	.list_price = ".//s[contains(@class,'price-item--regular')]",
	.availability = ".//span[contains(@class,'badge')]",
	.image = ".//img/@src",
	.url = ".//h3/a/@href",
	.line = 12,
};

static const struct config_xpath marketplace_rules = {
	.item = "//div[@data-component-type='s-search-result']",
	.title = ".//h2//span",
	.price = ".//span[@class='a-price']/span[@class='a-offscreen']",
	.list_price = ".//span[@data-a-strike='true']/span[@class='a-offscreen']",
	.availability = ".//span[@class='availability']",
	.sku = "@data-asin",
	.seller = ".//span[@class='seller-name']",
	.image = ".//img[@class='s-image']/@src",
	.url = ".//h2/a/@href",
	.line = 20,
};

/* No item-xpath: the rules describe the page's one product, and read the machine price attribute. */
static const struct config_xpath magento_page_rules = {
	.title = "//h1/span",
	.price = "//span[@data-price-type='finalPrice']/@data-price-amount",
	.list_price = "//span[@data-price-type='oldPrice']/@data-price-amount",
	.line = 31,
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
		  "https://kaffeehaus-mueller.example/produkt/espressomuehle-kegelmahlwerk/", "jsonld", 0,
		  "Kaffeehaus Müller", "jsonld" },
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
	{ "shopify-collection.html", "https://alpenwolle.example/collections/muetzen-schals", "EUR", 4, 0, 0, 0, {
		{ "Beanie Merino, grau", 2995, "EUR", -1, AVAIL_UNKNOWN, NULL, NULL, NULL, "rules",
		  "https://alpenwolle.example/cdn/shop/files/beanie-grau.jpg?v=1712&width=533",
		  "https://alpenwolle.example/collections/muetzen-schals/products/beanie-merino-grau", "rules", 0, NULL,
		  "rules" },
		{ "Schal Alpaka, rot", 4425, "EUR", -1, AVAIL_UNKNOWN, NULL, NULL, NULL, "rules",
		  "https://alpenwolle.example/cdn/shop/files/schal-rot.jpg?v=1712&width=533",
		  "https://alpenwolle.example/collections/muetzen-schals/products/schal-alpaka-rot", "rules", 5900, NULL,
		  "rules" },
		{ "Winterset Deluxe (Mütze, Schal, Handschuhe)", 104900, "EUR", -1, AVAIL_OUT_OF_STOCK, NULL, NULL, NULL,
		  "rules", "*", "https://alpenwolle.example/collections/muetzen-schals/products/winterset-deluxe", "rules",
		  0, NULL, "rules" },
		{ "Stirnband, Zopfmuster", 950, "EUR", -1, AVAIL_UNKNOWN, NULL, NULL, NULL, "rules",
		  "https://alpenwolle.example/cdn/shop/files/stirnband.jpg?v=1712&width=533",
		  "https://alpenwolle.example/collections/muetzen-schals/products/stirnband", "rules", 0, NULL, "rules" },
	}, &shopify_collection_rules, ',' },
	{ "marketplace-mx-rules.html", "https://mercado.example/s?k=cafetera", "MXN", 5, 0, 0, 0, {
		{ "Cafetera de goteo 12 tazas, acero inoxidable", 129900, "MXN", -1, AVAIL_IN_STOCK, "B0MX000001", NULL,
		  NULL, "rules", "https://img.mercado.example/I/61cafetera-12t.jpg",
		  "https://mercado.example/mx/dp/B0MX000001?ref=sr_1_1", "rules", 159900, "Casa Barista MX", "rules" },
		{ "Cafetera italiana moka 6 tazas", 38950, "MXN", -1, AVAIL_LIMITED, "B0MX000002", NULL, NULL, "rules",
		  "*", "https://mercado.example/mx/dp/B0MX000002?ref=sr_1_2", "rules", 0, "Tienda Oaxaca", "rules" },
		/* A sponsored listing that is sold out shows no price: kept, without one. */
		{ "Cafetera espresso 15 bar con espumador", 0, "", -1, AVAIL_OUT_OF_STOCK, "B0MX000003", NULL, NULL,
		  "rules", "*", "https://mercado.example/mx/dp/B0MX000003?ref=sspa", "rules", 0, "ElectroHogar", NULL },
		{ "Prensa francesa 1 L", 24900, "MXN", 32900, AVAIL_PREORDER, "B0MX000004", NULL, NULL, "rules", "*",
		  "https://mercado.example/mx/dp/B0MX000004?ref=sr_1_4", "rules", 0, "Casa Barista MX", "rules" },
		{ "Filtros de papel #4, 100 piezas", 8990, "MXN", -1, AVAIL_UNKNOWN, "B0MX000005", NULL, NULL, "rules",
		  "*", "https://mercado.example/mx/dp/B0MX000005?ref=sr_1_5", "rules", 0, "Mercado.example", "rules" },
	}, &marketplace_rules, 0 },
	{ "rules-vs-jsonld.html", "https://hobandhearth.example/enamel-dutch-oven-24.html", "GBP", 1, 1, 0, 0, {
		{ "Enamel Dutch Oven 24 cm", 4999, "GBP", -1, AVAIL_IN_STOCK, "HH-DO24-SAGE", "5012345678900",
		  "Hob & Hearth", "rules", "https://hobandhearth.example/media/catalog/product/d/o/do24-sage.jpg",
		  "https://hobandhearth.example/enamel-dutch-oven-24.html", "jsonld", 5999, NULL, "rules" },
	}, &magento_page_rules, 0 },
	{ "woocommerce-no-markup-fr.html", "https://maison-du-the.example/produit/theiere-fonte-08l/?ref=nl", NULL, 1,
	  0, 0, 0, {
		{ "Théière en fonte 0,8 l", 3990, "EUR", -1, AVAIL_IN_STOCK, NULL, NULL, NULL, "heuristic", NULL,
		  "https://maison-du-the.example/produit/theiere-fonte-08l/", NULL, 4990, NULL, "heuristic" },
	} },
	{ "plain-shop-sv.html", "https://snickeriet.example/ekpall", "SEK", 1, 0, 0, 0, {
		{ NULL, 129900, "SEK", -1, AVAIL_IN_STOCK, NULL, NULL, NULL, "heuristic", NULL,
		  "https://snickeriet.example/ekpall", NULL, 0, NULL, "heuristic" },
	} },
	/* "1 299 kr" without the source's currency is ambiguous (SEK, NOK, DKK): no guess, no record. */
	{ "plain-shop-sv.html", "https://snickeriet.example/ekpall", NULL, 0, 0, 0, 0, { { 0 } } },
	{ "heuristic-category-none.html", "https://brewhouse.example/c/kettles", "GBP", 0, 0, 0, 0, { { 0 } } },
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

		const struct extract_opts opts = { .default_currency = w->default_currency,
		    .decimal_separator = w->decimal_separator, .rules = w->rules, .source = "fixture" };

		extract_page_ex(html, len, w->page_url, &opts, &res);
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
			if (e->list_minor == 0)
				cr_expect_eq(r->list_price.currency[0], '\0', "%s record %zu: unexpected list price %lld",
				    w->file, i, (long long)r->list_price.minor);
			else
				cr_expect(strcmp(r->list_price.currency, e->currency) == 0 && r->list_price.minor == e->list_minor,
				    "%s record %zu: list price %lld %s, want %lld", w->file, i, (long long)r->list_price.minor,
				    r->list_price.currency, (long long)e->list_minor);
			expect_str(w->file, i, "seller", r->seller, e->seller);
			if (e->price_source != NULL)
				expect_str(w->file, i, "price source", r->source[EXTRACT_F_PRICE], e->price_source);
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

/* Runs extract_page_ex on a NUL-terminated page with rules (may be NULL) and a default currency. */
static size_t
extract_with(const char *html, const struct config_xpath *rules, const char *currency, struct extract_result *res)
{
	const struct extract_opts opts = { .default_currency = currency, .rules = rules, .source = "shop" };

	return extract_page_ex(html, strlen(html), "https://shop.example/p/1", &opts, res);
}

Test(extract_rules, bad_xpath_names_the_source_line_and_expression)
{
	static const char html[] = "<ul><li><b>A</b><i>$5</i></li></ul>"
	    "<script type='application/ld+json'>{\"@type\":\"Product\",\"name\":\"A\",\"offers\":{\"price\":\"5.00\","
	    "\"priceCurrency\":\"USD\"}}</script>";
	const struct config_xpath bad_item = { .item = "//li[", .title = "b", .price = "i", .line = 7 };
	const struct config_xpath bad_field = { .item = "//li", .title = "b", .price = "i[@x=", .line = 9 };
	struct extract_result res;

	/* The rules are out, the page's JSON-LD still counts. */
	cr_assert_eq(extract_with(html, &bad_item, NULL, &res), 1);
	cr_assert_str_eq(res.records[0].extractor, "jsonld");
	cr_assert_eq(res.n_errors, 1);
	cr_assert_not_null(strstr(res.error, "source \"shop\" (line 7): item-xpath \"//li[\" is not a valid XPath "
	    "expression: "), "%s", res.error);
	extract_result_free(&res);

	/* A bad field is skipped; the other fields of every item are read. */
	cr_assert_eq(extract_with(html, &bad_field, "USD", &res), 1);
	cr_assert_str_eq(res.records[0].source[EXTRACT_F_TITLE], "rules");
	cr_assert_str_eq(res.records[0].source[EXTRACT_F_PRICE], "jsonld");
	cr_assert_eq(res.records[0].price.minor, 500);
	cr_assert_not_null(strstr(res.error, "(line 9): price-xpath \"i[@x=\""), "%s", res.error);
	extract_result_free(&res);
}

Test(extract_rules, item_xpath_must_select_nodes_and_values_are_checked)
{
	static const char html[] = "<ul><li><b>Big</b><i>99999999999999999999999 €</i></li>"
	    "<li><b>Bad\xff\xfe name</b><i data-p='12.50'>12,50 €</i></li></ul>";
	const struct config_xpath count = { .item = "count(//li)", .title = "b" };
	const struct config_xpath items = { .item = "//li", .title = "b", .price = "i/@data-p | i[not(@data-p)]",
	    .currency = "'EUR'" };
	struct extract_result res;

	cr_assert_eq(extract_with(html, &count, NULL, &res), 0);
	cr_assert_not_null(strstr(res.error, "gives a value, not nodes"), "%s", res.error);
	extract_result_free(&res);

	/*
	 * An absurd amount is an error naming the item; a page with invalid UTF-8 is read as
	 * ISO-8859-1 (valid UTF-8 out); the attribute is a machine value.
	 */
	cr_assert_eq(extract_with(html, &items, NULL, &res), 2);
	cr_assert_eq(res.records[0].price.currency[0], '\0');
	cr_assert_eq(res.n_errors, 1);
	cr_assert_not_null(strstr(res.error, "item 1: price-xpath"), "%s", res.error);
	cr_assert_str_eq(res.records[1].title, "Bad\xc3\xbf\xc3\xbe name");
	cr_assert_str_eq(res.records[1].price.currency, "EUR");
	cr_assert_eq(res.records[1].price.minor, 1250);
	extract_result_free(&res);
}

Test(extract_rules, a_pathological_expression_stops_at_the_op_limit)
{
	const size_t n = 20000;
	char *html = xmalloc(n * 9 + 16);
	const struct config_xpath slow = { .item = "//p[count(//p) > 1]", .title = "." };
	struct extract_result res;
	size_t o = 0;

	for (size_t i = 0; i < n; i++, o += 9)
		memcpy(html + o, "<p>x</p>\n", 9);
	html[o] = '\0';
	/* 20000 x 20000 steps would take minutes: the page's XPath budget ends it with a clear error. */
	cr_assert_eq(extract_with(html, &slow, NULL, &res), 0);
	cr_assert_not_null(strstr(res.error, "item-xpath \"//p[count(//p) > 1]\" failed on https://shop.example/p/1: "
	    "too much work for one page"), "%s", res.error);
	cr_assert_eq(res.n_errors, 1);
	extract_result_free(&res);
	free(html);
}

Test(extract_heuristic, broken_json_ld_is_counted_and_the_visible_price_used)
{
	static const char html[] = "<script type='application/ld+json'>{\"@type\": Product, price: 12}</script>"
	    "<div class='product'><h1>Garden hose 25 m</h1><div class='price-box'><span class='price'>€24,95</span>"
	    "</div><button class='add-to-cart'>In den Warenkorb</button></div>";
	struct extract_result res;

	cr_assert_eq(extract_with(html, NULL, NULL, &res), 1);
	cr_assert_eq(res.n_errors, 1);
	cr_assert_str_eq(res.records[0].extractor, "heuristic");
	cr_assert_str_eq(res.records[0].title, "Garden hose 25 m");
	cr_assert_str_eq(res.records[0].price.currency, "EUR");
	cr_assert_eq(res.records[0].price.minor, 2495);
	cr_assert_str_eq(res.records[0].url, "https://shop.example/p/1");
	extract_result_free(&res);
}

Test(extract_heuristic, unsure_pages_give_no_price)
{
	/* Two different current prices equally near the title: which one? None. */
	static const char two[] = "<div><h1>Coffee beans 1 kg</h1><div><span class='price'>€18,90</span></div>"
	    "<div><span class='price'>€16,90</span></div></div>";
	/* Only a struck-through price, shipping and instalment amounts: no current price. */
	static const char struck[] = "<div><h1>Lamp</h1><p><del>$49.99</del></p><p>Free shipping over $50</p>"
	    "<p>or 4 payments of $12.50</p><button>Add to cart</button></div>";
	/* A price but neither a title nor a single buy button to tie it to the product. */
	static const char loose[] = "<div><p>Lamp</p><span>$49.99</span></div>";
	struct extract_result res;

	cr_assert_eq(extract_with(two, NULL, NULL, &res), 0, "%s", res.error);
	extract_result_free(&res);
	cr_assert_eq(extract_with(struck, NULL, NULL, &res), 0, "%s", res.error);
	extract_result_free(&res);
	cr_assert_eq(extract_with(loose, NULL, NULL, &res), 0, "%s", res.error);
	extract_result_free(&res);
}

Test(extract_heuristic, markup_wins_and_the_heuristic_stays_out)
{
	/* JSON-LD has the price: the visible (different) one is not a second opinion that counts. */
	static const char html[] = "<script type='application/ld+json'>{\"@type\":\"Product\",\"name\":\"Mug\","
	    "\"offers\":{\"price\":\"9.00\",\"priceCurrency\":\"GBP\"}}</script><h1>Mug</h1><span>£12.00</span>";
	struct extract_result res;

	cr_assert_eq(extract_with(html, NULL, NULL, &res), 1);
	cr_assert_str_eq(res.records[0].extractor, "jsonld");
	cr_assert_eq(res.records[0].price.minor, 900);
	cr_assert_eq(res.n_disagreements, 0);
	extract_result_free(&res);
}

Test(extract_heuristic, availability_words_in_several_languages)
{
	static const struct {
		const char *text;
		enum availability want;
	} cases[] = {
		{ "In stock", AVAIL_IN_STOCK }, { "Auf Lager", AVAIL_IN_STOCK }, { "Nicht auf Lager", AVAIL_OUT_OF_STOCK },
		{ "Derzeit nicht verfügbar", AVAIL_OUT_OF_STOCK }, { "Épuisé", AVAIL_OUT_OF_STOCK },
		{ "Agotado", AVAIL_OUT_OF_STOCK }, { "Niedostępny", AVAIL_OUT_OF_STOCK }, { "Dostępny", AVAIL_IN_STOCK }, { "Sold out", AVAIL_OUT_OF_STOCK },
		{ "Currently unavailable.", AVAIL_OUT_OF_STOCK }, { "Pre-order now", AVAIL_PREORDER },
		{ "在庫あり", AVAIL_IN_STOCK }, { "在庫切れ", AVAIL_OUT_OF_STOCK }, { "Finns i lager", AVAIL_IN_STOCK },
		{ "Slut i lager", AVAIL_OUT_OF_STOCK }, { "https://schema.org/BackOrder", AVAIL_BACKORDER },
		{ "Only 2 left in stock", AVAIL_LIMITED }, { "Add to cart", AVAIL_UNKNOWN }, { "", AVAIL_UNKNOWN },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		cr_expect_eq(extract_availability_text(cases[i].text), cases[i].want, "\"%s\": %s, want %s", cases[i].text,
		    availability_name(extract_availability_text(cases[i].text)), availability_name(cases[i].want));
	cr_expect_eq(extract_availability_text(NULL), AVAIL_UNKNOWN);
}

Test(extract_bad_input, truncated_fixture_pages_with_rules_do_not_crash)
{
	static const struct {
		const char *file;
		const struct config_xpath *rules;
	} pages_rules[] = {
		{ "shopify-collection.html", &shopify_collection_rules },
		{ "marketplace-mx-rules.html", &marketplace_rules },
		{ "rules-vs-jsonld.html", &magento_page_rules },
		{ "woocommerce-no-markup-fr.html", NULL },
	};

	for (size_t p = 0; p < sizeof pages_rules / sizeof pages_rules[0]; p++) {
		size_t len;
		char *html = load_shop_page(pages_rules[p].file, &len);
		const struct extract_opts opts = { .default_currency = "EUR", .rules = pages_rules[p].rules };
		for (size_t cut = 1; cut < len; cut += 61) {
			struct extract_result res;
			size_t n = extract_page_ex(html, cut, "https://shop.example/", &opts, &res);
			cr_assert_eq(n, res.n_records);
			cr_assert(n > 0 || res.error[0] != '\0', "%s cut at %zu: no records and no reason", pages_rules[p].file,
			    cut);
			extract_result_free(&res);
		}
		free(html);
	}
}

/* Fills buf with <div> opened count times around a price, for the huge-page tests. */
static size_t
nested_page(char *buf, size_t count)
{
	static const char mid[] = "<h1>Deep</h1><span class='price'>€5,00</span><button>Add to cart</button>";
	size_t o = 0;

	for (size_t i = 0; i < count; i++, o += 5)
		memcpy(buf + o, "<div>", 5);
	memcpy(buf + o, mid, sizeof mid - 1);
	return o + sizeof mid - 1;
}

Test(extract_bad_input, fifty_megabytes_of_nested_tags, .timeout = 120)
{
	const size_t big = (size_t)50 * 1024 * 1024 / 5, under = (size_t)31 * 1024 * 1024 / 5;
	char *html = xmalloc(big * 5 + 128);
	const struct config_xpath rules = { .item = "//div[span]", .title = "preceding::h1[1]", .price = "span" };
	const struct extract_opts opts = { .rules = &rules, .source = "deep" };
	struct extract_result res;
	size_t len = nested_page(html, big);

	/* 50 MB: refused before parsing, with the reason. */
	cr_assert_eq(extract_page_ex(html, len, "https://shop.example/", &opts, &res), 0);
	cr_assert_not_null(strstr(res.error, "page too large"), "%s", res.error);
	extract_result_free(&res);

	/* 31 MB of nesting, just under the cap: parsed; whatever the parser keeps, the answer is clean and leak-free. */
	len = nested_page(html, under);
	extract_page_ex(html, len, "https://shop.example/", &opts, &res);
	cr_assert(res.n_records > 0 || res.error[0] != '\0');
	for (size_t i = 0; i < res.n_records; i++)
		cr_assert(res.records[i].price.currency[0] == '\0' || res.records[i].price.minor == 500);
	extract_result_free(&res);
	free(html);
}

Test(extract_identity, a_record_that_only_knows_the_page_url_takes_the_canonical_one)
{
	static const char html[] = "<html><head><base href='https://shop.example/de/'>"
	    "<link rel='Canonical' href='produkte/tasse'></head><body>"
	    "<script type='application/ld+json'>{\"@type\":\"Product\",\"name\":\"Tasse\",\"sku\":\"T-1\","
	    "\"offers\":{\"price\":\"7.00\",\"priceCurrency\":\"EUR\"}}</script></body></html>";
	const struct extract_opts opts = { 0 };
	struct extract_result res;

	cr_assert_eq(extract_page_ex(html, sizeof html - 1, "https://shop.example/de/produkte/tasse?utm_source=nl&gclid=x",
	    &opts, &res), 1);
	cr_assert_str_eq(res.records[0].url, "https://shop.example/de/produkte/tasse");
	extract_result_free(&res);

	/* Without a page URL there is nothing to replace. */
	cr_assert_eq(extract_page_ex(html, sizeof html - 1, NULL, NULL, &res), 1);
	cr_assert_null(res.records[0].url);
	extract_result_free(&res);
}

Test(extract_heuristic, a_range_is_read_whole_not_by_its_pieces)
{
	/* Alone, "139,95 €" reads like a price; inside "ab 89,00 € bis 139,95 €" it is the top of a range. */
	static const char html[] = "<article><h1>Wanderschuh Alpin GTX</h1><div class='offer'><span>ab 89,00 €</span>"
	    " bis <span>139,95 €</span></div><p class='stock'>Nur noch 2 Paar</p></article>";
	struct extract_result res;

	cr_assert_eq(extract_with(html, NULL, NULL, &res), 1, "%s", res.error);
	cr_assert_str_eq(res.records[0].price.currency, "EUR");
	cr_assert_eq(res.records[0].price.minor, 8900);
	cr_assert_eq(res.records[0].price_high.minor, 13995);
	cr_assert_eq(res.records[0].availability, AVAIL_LIMITED);
	extract_result_free(&res);
}

Test(extract_rules, the_sources_decimal_separator_settles_ambiguous_text)
{
	/* "1.299" alone: grouping or decimals? The source says how it writes prices. */
	static const char html[] = "<div id='p'><h2>Stuhl</h2><b>1.299 €</b></div>";
	const struct config_xpath rules = { .title = "//h2", .price = "//b" };
	struct extract_opts opts = { .rules = &rules, .decimal_separator = ',' };
	struct extract_result res;

	cr_assert_eq(extract_page_ex(html, sizeof html - 1, "https://shop.example/", &opts, &res), 1);
	cr_assert_str_eq(res.records[0].price.currency, "EUR");
	cr_assert_eq(res.records[0].price.minor, 129900);
	extract_result_free(&res);

	/* With '.', 1.299 has three decimals: too many for EUR, so no price rather than a rounded one. */
	opts.decimal_separator = '.';
	cr_assert_eq(extract_page_ex(html, sizeof html - 1, "https://shop.example/", &opts, &res), 1);
	cr_assert_eq(res.records[0].price.currency[0], '\0');
	cr_assert_eq(res.n_errors, 1, "%s", res.error);
	extract_result_free(&res);
}
