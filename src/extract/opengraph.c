/* opengraph.c: reads a product page's OpenGraph/Facebook-catalog <meta> tags into at most one extract record. */
#include <config.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/tree.h>

#include "common/util.h"
#include "extract/opengraph.h"
#include "store/store.h"

/* The meta keys read, in the slots they fill; the first tag of each key wins. */
enum og_key {
	OG_TYPE, OG_TITLE, OG_IMAGE, OG_URL, OG_AMOUNT, OG_CURRENCY, OG_SALE_AMOUNT, OG_SALE_CURRENCY,
	OG_AVAILABILITY, OG_BRAND, OG_SKU, OG_GTIN, OG_MPN, OG_N
};

static const struct {
	const char *name;
	enum og_key key;
} keys[] = {
	{ "og:type", OG_TYPE },
	{ "og:title", OG_TITLE },
	{ "og:image", OG_IMAGE }, { "og:image:url", OG_IMAGE }, { "og:image:secure_url", OG_IMAGE },
	{ "og:url", OG_URL },
	{ "og:price:amount", OG_AMOUNT }, { "product:price:amount", OG_AMOUNT },
	{ "og:price:currency", OG_CURRENCY }, { "product:price:currency", OG_CURRENCY },
	{ "product:sale_price:amount", OG_SALE_AMOUNT }, { "og:sale_price:amount", OG_SALE_AMOUNT },
	{ "product:sale_price:currency", OG_SALE_CURRENCY }, { "og:sale_price:currency", OG_SALE_CURRENCY },
	{ "og:availability", OG_AVAILABILITY }, { "product:availability", OG_AVAILABILITY },
	{ "og:brand", OG_BRAND }, { "product:brand", OG_BRAND },
	{ "product:retailer_item_id", OG_SKU }, { "product:retailer_part_no", OG_SKU },
	{ "product:ean", OG_GTIN }, { "product:upc", OG_GTIN }, { "product:gtin", OG_GTIN },
	{ "og:upc", OG_GTIN }, { "og:ean", OG_GTIN },
	{ "product:mfr_part_no", OG_MPN },
};

/* Trimmed copy (malloc'd) or NULL when empty. */
static char *
trimmed(const char *s)
{
	const char *e;

	if (s == NULL)
		return NULL;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	return e > s ? xstrndup(s, (size_t)(e - s)) : NULL;
}

/* OpenGraph availability words ("instock", "oos", "available for order") to the enum. */
static enum availability
og_availability(const char *v)
{
	if (strcasecmp(v, "oos") == 0)
		return AVAIL_OUT_OF_STOCK;
	if (strcasecmp(v, "available for order") == 0 || strcasecmp(v, "available") == 0)
		return AVAIL_IN_STOCK;
	if (strcasecmp(v, "pending") == 0)
		return AVAIL_PREORDER;
	return availability_parse(v);
}

void
opengraph_extract(htmlDocPtr doc, const struct extract_ctx *ctx, struct extract_result *result)
{
	char *v[OG_N] = { 0 };
	xmlNodePtr root = (xmlNodePtr)doc, n = doc->children;
	const char *amount, *currency;
	bool product;

	while (n != NULL) {
		bool descend = n->type == XML_ELEMENT_NODE;
		if (n->type == XML_ELEMENT_NODE && n->name != NULL && xmlStrcasecmp(n->name, (const xmlChar *)"meta") == 0) {
			/* RDFa-style property=, and name= which many shops use instead. */
			xmlChar *prop = xmlGetProp(n, (const xmlChar *)"property");
			if (prop == NULL)
				prop = xmlGetProp(n, (const xmlChar *)"name");
			if (prop != NULL) {
				for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
					if (xmlStrcasecmp(prop, (const xmlChar *)keys[i].name) != 0 || v[keys[i].key] != NULL)
						continue;
					xmlChar *content = xmlGetProp(n, (const xmlChar *)"content");
					v[keys[i].key] = trimmed((const char *)content);
					xmlFree(content);
				}
				xmlFree(prop);
			}
			descend = false;
		} else if (n->type == XML_ELEMENT_NODE && n->name != NULL &&
		    (xmlStrcasecmp(n->name, (const xmlChar *)"script") == 0 ||
		    xmlStrcasecmp(n->name, (const xmlChar *)"style") == 0)) {
			descend = false;
		}
		if (descend && n->children != NULL) {
			n = n->children;
			continue;
		}
		while (n != NULL && n != root && n->next == NULL)
			n = n->parent;
		if (n == NULL || n == root)
			break;
		n = n->next;
	}

	/* A sale price, when given, is what the page sells at now. */
	amount = v[OG_SALE_AMOUNT] != NULL ? v[OG_SALE_AMOUNT] : v[OG_AMOUNT];
	currency = v[OG_SALE_AMOUNT] != NULL && v[OG_SALE_CURRENCY] != NULL ? v[OG_SALE_CURRENCY] : v[OG_CURRENCY];
	product = amount != NULL || (v[OG_TYPE] != NULL &&
	    (strcasecmp(v[OG_TYPE], "product") == 0 || strcasecmp(v[OG_TYPE], "og:product") == 0 ||
	    strcasecmp(v[OG_TYPE], "product.item") == 0 || strcasecmp(v[OG_TYPE], "product.group") == 0));
	if (product) {
		struct extract_record *rec = extract_add_record(result);
		char err[200];

		rec->extractor = "opengraph";
		rec->title = v[OG_TITLE];
		rec->brand = v[OG_BRAND];
		rec->sku = v[OG_SKU];
		rec->gtin = v[OG_GTIN];
		rec->mpn = v[OG_MPN];
		v[OG_TITLE] = v[OG_BRAND] = v[OG_SKU] = v[OG_GTIN] = v[OG_MPN] = NULL;
		rec->image_url = extract_resolve_url(ctx->page_url, v[OG_IMAGE]);
		rec->url = extract_resolve_url(ctx->page_url, v[OG_URL]);
		if (rec->url == NULL && ctx->page_url != NULL)
			rec->url = xstrdup(ctx->page_url);
		if (v[OG_AVAILABILITY] != NULL)
			rec->availability = og_availability(v[OG_AVAILABILITY]);
		if (amount != NULL &&
		    !extract_price(ctx, amount, currency, true, &rec->price, &rec->price_high, err, sizeof err))
			extract_add_error(result, "OpenGraph: %s", err);
	}
	for (size_t i = 0; i < OG_N; i++)
		free(v[i]);
}
