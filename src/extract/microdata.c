/* microdata.c: finds schema.org Product items in microdata (itemscope/itemprop) and RDFa Lite (typeof/property) markup and turns their offers into extract records. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/tree.h>

#include "common/util.h"
#include "extract/extractor.h"
#include "extract/microdata.h"
#include "store/store.h"

/* Property values longer than this are cut (a title or a URL, not a page). */
#define MAX_VALUE 2048

/* The string properties of a product or offer; first occurrence wins; malloc'd. */
struct item_fields {
	char *name, *brand, *sku, *gtin, *mpn, *image, *url;
	char *price, *low_price, *high_price, *currency, *availability;
	bool price_machine, low_machine, high_machine;   /* from a content attribute, not visible text */
};

struct offers {
	xmlNodePtr node[MICRODATA_MAX_OFFERS];
	size_t n;
};

static bool
has_attr(xmlNodePtr n, const char *name)
{
	return xmlHasProp(n, (const xmlChar *)name) != NULL;
}

/* The term of an itemtype/IRI: "Product" from "https://schema.org/Product" or "schema:Product". */
static const char *
iri_tail(const char *s)
{
	const char *tail = s;

	for (const char *p = s; *p != '\0'; p++)
		if (*p == '/' || *p == '#' || *p == ':')
			tail = p + 1;
	return tail;
}

/* An item: microdata's itemscope, or RDFa Lite's typeof (the same model with other attribute names). */
static bool
is_scope(xmlNodePtr n)
{
	return has_attr(n, "itemscope") || has_attr(n, "typeof");
}

/* The property names of an element (itemprop, else RDFa's property); xmlFree'd by the caller. */
static xmlChar *
prop_names(xmlNodePtr n)
{
	xmlChar *p = xmlGetProp(n, (const xmlChar *)"itemprop");

	return p != NULL ? p : xmlGetProp(n, (const xmlChar *)"property");
}

static bool
has_prop(xmlNodePtr n)
{
	return has_attr(n, "itemprop") || has_attr(n, "property");
}

/* True when the item's itemtype/typeof (space-separated list) contains one of the wanted types. */
static bool
item_is(xmlNodePtr n, const char *const *types, size_t ntypes)
{
	xmlChar *it = xmlGetProp(n, (const xmlChar *)"itemtype");

	if (it == NULL)
		it = xmlGetProp(n, (const xmlChar *)"typeof");
	bool found = false;
	char *save = NULL;

	if (it == NULL)
		return false;
	for (char *tok = strtok_r((char *)it, " \t\r\n", &save); tok != NULL && !found;
	    tok = strtok_r(NULL, " \t\r\n", &save)) {
		size_t l = strlen(tok);
		while (l > 0 && tok[l - 1] == '/')
			tok[--l] = '\0';
		for (size_t i = 0; i < ntypes; i++)
			if (strcmp(iri_tail(tok), types[i]) == 0)
				found = true;
	}
	xmlFree(it);
	return found;
}

static const char *const product_types[] = { "Product", "IndividualProduct", "ProductModel", "SomeProducts" };
static const char *const offer_types[] = { "Offer", "AggregateOffer" };

static bool
is_product_item(xmlNodePtr n)
{
	return is_scope(n) && item_is(n, product_types, sizeof product_types / sizeof product_types[0]);
}

/* Whitespace collapsed, at most MAX_VALUE bytes (extract.c's helper). */
static char *
clean_text(const char *s)
{
	return extract_clean_text(s, MAX_VALUE);
}

static char *
attr_text(xmlNodePtr n, const char *name)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
	char *t = clean_text((const char *)v);

	xmlFree(v);
	return t;
}

static bool
name_is(xmlNodePtr n, const char *name)
{
	return n->name != NULL && xmlStrcasecmp(n->name, (const xmlChar *)name) == 0;
}

/*
 * A property's value per the microdata spec, with the common deviation that a
 * `content` attribute on any element wins over its text (shops put the machine
 * price there: <span itemprop="price" content="1299.00">1.299,00 €</span>).
 */
static char *
prop_value(const struct extract_ctx *ctx, xmlNodePtr n)
{
	static const char *const src_elems[] = { "audio", "embed", "iframe", "img", "source", "track", "video" };
	static const char *const href_elems[] = { "a", "area", "link" };
	char *v, *abs;

	if (has_attr(n, "content"))
		return attr_text(n, "content");
	if (has_attr(n, "resource") && !is_scope(n)) {
		v = attr_text(n, "resource");   /* RDFa: an IRI value on any element */
		goto url;
	}
	for (size_t i = 0; i < sizeof src_elems / sizeof src_elems[0]; i++)
		if (name_is(n, src_elems[i])) {
			v = attr_text(n, "src");
			goto url;
		}
	for (size_t i = 0; i < sizeof href_elems / sizeof href_elems[0]; i++)
		if (name_is(n, href_elems[i])) {
			v = attr_text(n, "href");
			goto url;
		}
	if (name_is(n, "object")) {
		v = attr_text(n, "data");
		goto url;
	}
	if (name_is(n, "data") || name_is(n, "meter"))
		return attr_text(n, "value");
	if (name_is(n, "time"))
		return attr_text(n, "datetime");
	if (name_is(n, "meta"))
		return NULL;
	{
		xmlChar *c = xmlNodeGetContent(n);
		v = clean_text((const char *)c);
		xmlFree(c);
		return v;
	}
url:
	if (v == NULL)
		return NULL;
	abs = extract_resolve_url(ctx->page_url, v);
	free(v);
	return abs;
}

static void
set_once(char **field, char *value)
{
	if (*field == NULL)
		*field = value;
	else
		free(value);
}

/* The name of a nested Brand/Organization item, or the text of a plain brand property. */
static char *
brand_value(const struct extract_ctx *ctx, xmlNodePtr n);

/*
 * Walks the properties of the item at scope (not crossing into nested items, whose
 * values are the items themselves) and fills f; nested Offer items go to offers.
 */
static void
read_item(const struct extract_ctx *ctx, xmlNodePtr scope, struct item_fields *f, struct offers *offers)
{
	xmlNodePtr n = scope->children;

	while (n != NULL) {
		bool descend = n->type == XML_ELEMENT_NODE;
		if (n->type == XML_ELEMENT_NODE && has_prop(n)) {
			xmlChar *props = prop_names(n);
			bool nested = is_scope(n);
			char *save = NULL;
			for (char *p = strtok_r((char *)props, " \t\r\n", &save); p != NULL;
			    p = strtok_r(NULL, " \t\r\n", &save)) {
				const char *name = iri_tail(p);
				if (strcmp(name, "offers") == 0 && nested) {
					if (offers != NULL && offers->n < MICRODATA_MAX_OFFERS)
						offers->node[offers->n++] = n;
				} else if (strcmp(name, "priceSpecification") == 0 && nested) {
					/* The price lives one item further down; read it into this item. */
					read_item(ctx, n, f, NULL);
				} else if (strcmp(name, "brand") == 0 || strcmp(name, "manufacturer") == 0) {
					if (strcmp(name, "brand") == 0 || f->brand == NULL)
						set_once(&f->brand, brand_value(ctx, n));
				} else if (nested) {
					continue;   /* other nested items (reviews, sellers) are not product fields */
				} else if (strcmp(name, "name") == 0) {
					set_once(&f->name, prop_value(ctx, n));
				} else if (strcmp(name, "sku") == 0) {
					set_once(&f->sku, prop_value(ctx, n));
				} else if (strncmp(name, "gtin", 4) == 0) {
					set_once(&f->gtin, prop_value(ctx, n));
				} else if (strcmp(name, "mpn") == 0) {
					set_once(&f->mpn, prop_value(ctx, n));
				} else if (strcmp(name, "image") == 0) {
					set_once(&f->image, prop_value(ctx, n));
				} else if (strcmp(name, "url") == 0) {
					set_once(&f->url, prop_value(ctx, n));
				} else if (strcmp(name, "price") == 0) {
					if (f->price == NULL)
						f->price_machine = has_attr(n, "content") || name_is(n, "data");
					set_once(&f->price, prop_value(ctx, n));
				} else if (strcmp(name, "lowPrice") == 0) {
					if (f->low_price == NULL)
						f->low_machine = has_attr(n, "content") || name_is(n, "data");
					set_once(&f->low_price, prop_value(ctx, n));
				} else if (strcmp(name, "highPrice") == 0) {
					if (f->high_price == NULL)
						f->high_machine = has_attr(n, "content") || name_is(n, "data");
					set_once(&f->high_price, prop_value(ctx, n));
				} else if (strcmp(name, "priceCurrency") == 0) {
					set_once(&f->currency, prop_value(ctx, n));
				} else if (strcmp(name, "availability") == 0) {
					set_once(&f->availability, prop_value(ctx, n));
				}
			}
			xmlFree(props);
			if (nested)
				descend = false;
		} else if (n->type == XML_ELEMENT_NODE && is_scope(n)) {
			/* An item that is not a property of this one (itemref aside) is someone else's. */
			descend = false;
		}
		if (descend && n->children != NULL) {
			n = n->children;
			continue;
		}
		while (n != NULL && n != scope && n->next == NULL)
			n = n->parent;
		if (n == NULL || n == scope)
			break;
		n = n->next;
	}
}

static void
fields_free(struct item_fields *f)
{
	free(f->name);
	free(f->brand);
	free(f->sku);
	free(f->gtin);
	free(f->mpn);
	free(f->image);
	free(f->url);
	free(f->price);
	free(f->low_price);
	free(f->high_price);
	free(f->currency);
	free(f->availability);
}

static char *
brand_value(const struct extract_ctx *ctx, xmlNodePtr n)
{
	struct item_fields b = { 0 };
	char *name;

	if (!is_scope(n))
		return prop_value(ctx, n);
	read_item(ctx, n, &b, NULL);
	name = b.name;
	b.name = NULL;
	fields_free(&b);
	return name;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* Adds one record from the product's fields and one offer's (offer may be the product itself). */
static void
emit(const struct extract_ctx *ctx, struct extract_result *result, const struct item_fields *pf,
    const struct item_fields *of, int item_no, bool rdfa)
{
	struct extract_record *rec = extract_add_record(result);
	const char *price = of->price, *url;
	bool machine = of->price_machine;
	char err[200];

	rec->extractor = rdfa ? "rdfa" : "microdata";
	rec->title = dup_or_null(pf->name);
	rec->brand = dup_or_null(pf->brand);
	rec->image_url = dup_or_null(pf->image);
	rec->sku = dup_or_null(of->sku != NULL ? of->sku : pf->sku);
	rec->gtin = dup_or_null(of->gtin != NULL ? of->gtin : pf->gtin);
	rec->mpn = dup_or_null(of->mpn != NULL ? of->mpn : pf->mpn);
	url = of->url != NULL ? of->url : pf->url;
	rec->url = dup_or_null(url != NULL ? url : ctx->page_url);
	if (of->availability != NULL)
		rec->availability = availability_parse(iri_tail(of->availability));
	if (of->low_price != NULL && (price == NULL || of != pf)) {
		price = of->low_price;
		machine = of->low_machine;
		rec->extractor = rdfa ? "rdfa:lowPrice" : "microdata:lowPrice";
	}
	if (price == NULL)
		return;
	if (!extract_price(ctx, price, of->currency, machine, &rec->price, &rec->price_high, err, sizeof err)) {
		extract_add_error(result, "%s item %d: %s", rdfa ? "RDFa" : "microdata", item_no, err);
		return;
	}
	if (of->high_price != NULL && rec->price_high.currency[0] == '\0') {
		struct money high;
		int cmp;
		if (extract_price(ctx, of->high_price, rec->price.currency, of->high_machine, &high, NULL, err,
		    sizeof err) &&
		    money_cmp(&high, &rec->price, &cmp) && cmp >= 0)
			rec->price_high = high;
	}
}

static void
emit_product(const struct extract_ctx *ctx, struct extract_result *result, xmlNodePtr item, int item_no)
{
	struct item_fields pf = { 0 };
	struct offers offers = { .n = 0 };
	size_t emitted = 0;

	bool rdfa = !has_attr(item, "itemscope");

	read_item(ctx, item, &pf, &offers);
	for (size_t i = 0; i < offers.n; i++) {
		struct item_fields of = { 0 };
		if (!item_is(offers.node[i], offer_types, sizeof offer_types / sizeof offer_types[0]) &&
		    (has_attr(offers.node[i], "itemtype") || has_attr(offers.node[i], "typeof"))) {
			continue;       /* offers pointing at something that is not an offer */
		}
		read_item(ctx, offers.node[i], &of, NULL);
		emit(ctx, result, &pf, &of, item_no, rdfa);
		emitted++;
		fields_free(&of);
	}
	/* No Offer item: the price (if any) sits on the product itself. */
	if (emitted == 0)
		emit(ctx, result, &pf, &pf, item_no, rdfa);
	fields_free(&pf);
}

void
microdata_extract(htmlDocPtr doc, const struct extract_ctx *ctx, struct extract_result *result)
{
	xmlNodePtr root = (xmlNodePtr)doc, n = doc->children;
	int item_no = 0;

	/* Iterative pre-order walk; a product's own subtree is not searched for more products. */
	while (n != NULL) {
		bool descend = n->type == XML_ELEMENT_NODE;
		if (n->type == XML_ELEMENT_NODE && is_product_item(n)) {
			/* A product that is a property of another product (isRelatedTo) is an ad, not this page's. */
			emit_product(ctx, result, n, ++item_no);
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
}
