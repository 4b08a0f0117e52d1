/* jsonld.c: finds schema.org Product/Offer data in a page's JSON-LD blocks and turns it into extract records. */
#include <config.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json.h>
#include <libxml/tree.h>

#include "common/money.h"
#include "common/util.h"
#include "extract/jsonld.h"
#include "extract/price.h"
#include "store/store.h"

/* The schema.org types accepted as a product (Product and its subtypes). */
static const char *const product_types[] = {
	"Product", "IndividualProduct", "ProductModel", "SomeProducts",
};

/* Per-block state while walking one parsed JSON-LD value. */
struct walk {
	const struct extract_ctx *ctx;
	struct extract_result *result;
	int block;                 /* 1-based index of the block, for error messages */
};

/* Product-level fields shared by every offer of one product; malloc'd, freed by fields_free. */
struct product_fields {
	char *title, *brand, *sku, *gtin, *mpn, *image_url, *url;
};

static bool
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Drops prefix from the front of [*p, *end) if it is there (after whitespace). */
static bool
strip_prefix(char **p, char *end, const char *prefix)
{
	size_t l = strlen(prefix);

	while (*p < end && is_space((unsigned char)**p))
		(*p)++;
	if ((size_t)(end - *p) >= l && memcmp(*p, prefix, l) == 0) {
		*p += l;
		return true;
	}
	return false;
}

/* Drops suffix from the back of [p, *end) if it is there (before whitespace). */
static bool
strip_suffix(char *p, char **end, const char *suffix)
{
	size_t l = strlen(suffix);

	while (*end > p && is_space((unsigned char)(*end)[-1]))
		(*end)--;
	if ((size_t)(*end - p) >= l && memcmp(*end - l, suffix, l) == 0) {
		*end -= l;
		return true;
	}
	return false;
}

size_t
jsonld_repair(char *text, size_t len)
{
	static const char *const prefixes[] = { "<!--", "//<![CDATA[", "/*<![CDATA[*/", "<![CDATA[" };
	static const char *const suffixes[] = { "-->", "//]]>", "/*]]>*/", "]]>" };
	char *p = text, *end = text + len;
	bool again = true;
	size_t o = 0;
	bool in_string = false, escaped = false;

	/* Markers may nest ("<!-- //<![CDATA[ ... //]]> -->"): peel until nothing changes. */
	while (again) {
		again = false;
		for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
			again |= strip_prefix(&p, end, prefixes[i]);
		for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
			again |= strip_suffix(p, &end, suffixes[i]);
	}

	/* Copy down, dropping a comma whose next non-space character closes an object or array. */
	for (char *q = p; q < end; q++) {
		char c = *q;
		if (in_string) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == ',') {
			char *n = q + 1;
			while (n < end && is_space((unsigned char)*n))
				n++;
			if (n < end && (*n == '}' || *n == ']'))
				continue;
		}
		text[o++] = c;
	}
	if (o < len)
		text[o] = '\0';
	return o;
}

/* The term of a schema.org IRI: "Product" from "Product", "schema:Product" or "https://schema.org/Product". */
static const char *
iri_tail(const char *name)
{
	const char *tail = name;

	for (const char *p = name; *p != '\0'; p++)
		if (*p == '/' || *p == '#' || *p == ':')
			tail = p + 1;
	return tail;
}

static bool
type_name_is(const char *name, const char *want)
{
	return strcmp(iri_tail(name), want) == 0;
}

/* True when obj's @type (a string or an array of strings) names one of the wanted types. */
static bool
has_type(json_object *obj, const char *const *wanted, size_t n_wanted)
{
	json_object *t;

	if (!json_object_is_type(obj, json_type_object) || !json_object_object_get_ex(obj, "@type", &t))
		return false;
	if (json_object_is_type(t, json_type_string)) {
		for (size_t i = 0; i < n_wanted; i++)
			if (type_name_is(json_object_get_string(t), wanted[i]))
				return true;
		return false;
	}
	if (json_object_is_type(t, json_type_array)) {
		size_t n = json_object_array_length(t);
		for (size_t k = 0; k < n; k++) {
			json_object *e = json_object_array_get_idx(t, k);
			if (!json_object_is_type(e, json_type_string))
				continue;
			for (size_t i = 0; i < n_wanted; i++)
				if (type_name_is(json_object_get_string(e), wanted[i]))
					return true;
		}
	}
	return false;
}

static bool
is_product(json_object *obj)
{
	return has_type(obj, product_types, sizeof product_types / sizeof product_types[0]);
}

static bool
is_type(json_object *obj, const char *type)
{
	return has_type(obj, &type, 1);
}

/* Trimmed copy of s (malloc'd), or NULL when it is empty after trimming. */
static char *
trimmed_dup(const char *s)
{
	const char *end;

	if (s == NULL)
		return NULL;
	while (is_space((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && is_space((unsigned char)end[-1]))
		end--;
	return end > s ? xstrndup(s, (size_t)(end - s)) : NULL;
}

/*
 * Text of a scalar value: a string, or a number as written in the page (json-c keeps the
 * original digits of parsed numbers, so no double is involved). Arrays give their first
 * usable element; JSON-LD value objects give their @value. Returns malloc'd text or NULL.
 */
static char *
value_text(json_object *v, int depth)
{
	if (v == NULL || depth > 4)
		return NULL;
	switch (json_object_get_type(v)) {
	case json_type_string:
	case json_type_int:
	case json_type_double:
		return trimmed_dup(json_object_get_string(v));
	case json_type_array: {
		size_t n = json_object_array_length(v);
		for (size_t i = 0; i < n; i++) {
			char *t = value_text(json_object_array_get_idx(v, i), depth + 1);
			if (t != NULL)
				return t;
		}
		return NULL;
	}
	case json_type_object: {
		json_object *val;
		if (json_object_object_get_ex(v, "@value", &val))
			return value_text(val, depth + 1);
		return NULL;
	}
	default:
		return NULL;
	}
}

static json_object *
member(json_object *obj, const char *key)
{
	json_object *v;

	if (obj == NULL || !json_object_is_type(obj, json_type_object))
		return NULL;
	return json_object_object_get_ex(obj, key, &v) ? v : NULL;
}

static char *
member_text(json_object *obj, const char *key)
{
	return value_text(member(obj, key), 0);
}

/* A Brand/Organization object gives its name; a string gives itself; an array its first. */
static char *
name_text(json_object *v, int depth)
{
	if (v == NULL || depth > 4)
		return NULL;
	if (json_object_is_type(v, json_type_object))
		return member_text(v, "name");
	if (json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);
		for (size_t i = 0; i < n; i++) {
			char *t = name_text(json_object_array_get_idx(v, i), depth + 1);
			if (t != NULL)
				return t;
		}
		return NULL;
	}
	return value_text(v, depth);
}

/* An image is a URL string, an ImageObject (url or contentUrl), or an array of either. */
static char *
image_text(json_object *v, int depth)
{
	if (v == NULL || depth > 4)
		return NULL;
	if (json_object_is_type(v, json_type_object)) {
		char *t = member_text(v, "url");
		return t != NULL ? t : member_text(v, "contentUrl");
	}
	if (json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);
		for (size_t i = 0; i < n; i++) {
			char *t = image_text(json_object_array_get_idx(v, i), depth + 1);
			if (t != NULL)
				return t;
		}
		return NULL;
	}
	return value_text(v, depth);
}

/* The GTIN under any of its schema.org names, most specific first. */
static char *
gtin_text(json_object *obj)
{
	static const char *const keys[] = { "gtin13", "gtin12", "gtin8", "gtin14", "gtin" };

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		char *t = member_text(obj, keys[i]);
		if (t != NULL)
			return t;
	}
	return NULL;
}

/* A URL field resolved against the page URL; malloc'd or NULL. */
static char *
resolved(const struct walk *w, char *ref)
{
	char *abs;

	if (ref == NULL)
		return NULL;
	abs = extract_resolve_url(w->ctx->page_url, ref);
	free(ref);
	return abs;
}

static void
fields_free(struct product_fields *f)
{
	free(f->title);
	free(f->brand);
	free(f->sku);
	free(f->gtin);
	free(f->mpn);
	free(f->image_url);
	free(f->url);
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/* "1299", "1299.00", "19.9": schema.org's own notation, read by money_parse_decimal as it is. */
static bool
plain_decimal(const char *s)
{
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return *p == '\0';
}

/*
 * Fills *out (and *high for a range written as text) from price text and a currency
 * (the offer's, else the page default). Plain decimals go straight to money_parse_decimal
 * ("19.999" USD stays an error: schema.org prices use '.' for decimals); anything else
 * ("1,299.00", "€19,99", "19.99 - 29.99") goes through the locale-aware price parser.
 * A problem is counted and leaves the record without a price rather than guessing.
 */
static void
set_price(const struct walk *w, struct money *out, struct money *high, const char *price,
    const char *currency_text)
{
	char currency[4] = "";
	const char *cur = currency_text ? currency_text : w->ctx->default_currency;
	struct price p;
	struct price_opts o = { 0 };

	if (price == NULL)
		return;
	if (cur != NULL && *cur != '\0') {
		if (strlen(cur) != 3) {
			extract_add_error(w->result, "JSON-LD block %d: unknown currency \"%.16s\"", w->block, cur);
			return;
		}
		for (size_t i = 0; i < 3; i++)
			currency[i] = (char)toupper((unsigned char)cur[i]);
		currency[3] = '\0';
		if (!money_currency_valid(currency)) {
			extract_add_error(w->result, "JSON-LD block %d: unknown currency \"%s\"", w->block, currency);
			return;
		}
	}
	if (plain_decimal(price)) {
		if (currency[0] == '\0') {
			extract_add_error(w->result, "JSON-LD block %d: price \"%.40s\" has no priceCurrency "
			    "and no default currency is set", w->block, price);
			return;
		}
		if (!money_parse_decimal(price, currency, out)) {
			memset(out, 0, sizeof *out);
			extract_add_error(w->result, "JSON-LD block %d: price \"%.40s\" does not fit %s "
			    "(too many decimals or too large)", w->block, price, currency);
		}
		return;
	}
	o.currency_hint = currency[0] != '\0' ? currency : NULL;
	if (!price_parse(price, strlen(price), &o, &p)) {
		extract_add_error(w->result, "JSON-LD block %d: price \"%.40s\": %s", w->block, price, p.error);
		return;
	}
	if (currency_text != NULL && strcmp(p.currency, currency) != 0) {
		extract_add_error(w->result, "JSON-LD block %d: price \"%.40s\" is in %s but priceCurrency says %s",
		    w->block, price, p.currency[0] ? p.currency : "no known currency", currency);
		return;
	}
	if (p.currency[0] == '\0') {
		extract_add_error(w->result, "JSON-LD block %d: price \"%.40s\" has no priceCurrency "
		    "and no default currency is set", w->block, price);
		return;
	}
	if (p.minor.currency[0] == '\0') {
		extract_add_error(w->result, "JSON-LD block %d: price \"%.40s\": %s", w->block, price, p.error);
		return;
	}
	*out = p.minor;
	if (high != NULL && p.has_high && p.minor_high.currency[0] != '\0')
		*high = p.minor_high;
}

/* The first priceSpecification (object or array element) that carries a price. */
static json_object *
price_specification(json_object *offer)
{
	json_object *ps = member(offer, "priceSpecification");

	if (ps == NULL)
		return NULL;
	if (json_object_is_type(ps, json_type_object))
		return ps;
	if (json_object_is_type(ps, json_type_array)) {
		size_t n = json_object_array_length(ps);
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_array_get_idx(ps, i);
			if (member(e, "price") != NULL)
				return e;
		}
	}
	return NULL;
}

/* Adds one record: the product's fields with this offer's price, currency and availability. */
static void
emit_offer(const struct walk *w, const struct product_fields *f, json_object *offer)
{
	struct extract_record *rec = extract_add_record(w->result);
	char *price = NULL, *currency = NULL, *avail, *t;

	rec->extractor = "jsonld";
	rec->title = dup_or_null(f->title);
	rec->brand = dup_or_null(f->brand);
	rec->image_url = dup_or_null(f->image_url);
	/* Offer-level identifiers describe the exact variant sold, so they win. */
	t = member_text(offer, "sku");
	rec->sku = t != NULL ? t : dup_or_null(f->sku);
	t = offer != NULL ? gtin_text(offer) : NULL;
	rec->gtin = t != NULL ? t : dup_or_null(f->gtin);
	t = member_text(offer, "mpn");
	rec->mpn = t != NULL ? t : dup_or_null(f->mpn);
	t = resolved(w, member_text(offer, "url"));
	if (t == NULL)
		t = dup_or_null(f->url);
	if (t == NULL && w->ctx->page_url != NULL)
		t = xstrdup(w->ctx->page_url);
	rec->url = t;
	rec->availability = AVAIL_UNKNOWN;
	if (offer == NULL)
		return;
	/* A marketplace names who sells this offer: "seller": {"@type": "Organization", "name": ...}. */
	rec->seller = name_text(member(offer, "seller"), 0);

	avail = member_text(offer, "availability");
	if (avail != NULL) {
		/* Compact IRIs and other URL forms ("schema:InStock", "https://www.schema.org/InStock"): the term decides. */
		rec->availability = availability_parse(iri_tail(avail));
		free(avail);
	}
	if (is_type(offer, "AggregateOffer")) {
		price = member_text(offer, "lowPrice");
		if (price != NULL)
			rec->extractor = "jsonld:lowPrice";
	}
	if (price == NULL)
		price = member_text(offer, "price");
	currency = member_text(offer, "priceCurrency");
	if (price == NULL) {
		json_object *ps = price_specification(offer);
		price = member_text(ps, "price");
		if (currency == NULL)
			currency = member_text(ps, "priceCurrency");
	}
	set_price(w, &rec->price, &rec->price_high, price, currency);
	if (rec->price.currency[0] != '\0' && is_type(offer, "AggregateOffer")) {
		char *hp = member_text(offer, "highPrice");
		struct money high = { 0 };
		int cmp;
		if (hp != NULL) {
			set_price(w, &high, NULL, hp, rec->price.currency);
			if (money_cmp(&high, &rec->price, &cmp) && cmp >= 0)
				rec->price_high = high;
			free(hp);
		}
	}
	free(price);
	free(currency);
}

/* Adds the records of one Product: one per offer (none: one record without a price). */
static void
emit_product(const struct walk *w, json_object *product, json_object *offers)
{
	struct product_fields f = { 0 };
	size_t emitted = 0;

	f.title = member_text(product, "name");
	f.brand = name_text(member(product, "brand"), 0);
	f.sku = member_text(product, "sku");
	f.gtin = gtin_text(product);
	f.mpn = member_text(product, "mpn");
	f.image_url = resolved(w, image_text(member(product, "image"), 0));
	f.url = resolved(w, member_text(product, "url"));

	if (offers == NULL)
		offers = member(product, "offers");
	if (json_object_is_type(offers, json_type_array)) {
		size_t n = json_object_array_length(offers);
		for (size_t i = 0; i < n; i++) {
			json_object *o = json_object_array_get_idx(offers, i);
			if (json_object_is_type(o, json_type_object)) {
				emit_offer(w, &f, o);
				emitted++;
			}
		}
	} else if (json_object_is_type(offers, json_type_object)) {
		emit_offer(w, &f, offers);
		emitted++;
	}
	if (emitted == 0)
		emit_offer(w, &f, NULL);
	fields_free(&f);
}

/*
 * Visits every object of a block: @graph, top-level arrays, and products nested in
 * other nodes (WebPage.mainEntity, ItemList elements) are all found this way. A product's
 * own members are not searched (isRelatedTo and the like are other products' ads).
 */
static void
walk_value(const struct walk *w, json_object *v, int depth)
{
	if (v == NULL || depth > JSONLD_MAX_DEPTH)
		return;
	if (json_object_is_type(v, json_type_array)) {
		size_t n = json_object_array_length(v);
		for (size_t i = 0; i < n; i++)
			walk_value(w, json_object_array_get_idx(v, i), depth + 1);
		return;
	}
	if (!json_object_is_type(v, json_type_object))
		return;
	if (is_product(v)) {
		emit_product(w, v, NULL);
		return;
	}
	/* An Offer at the top with the product inside it (itemOffered). */
	if (is_type(v, "Offer") || is_type(v, "AggregateOffer")) {
		json_object *item = member(v, "itemOffered");
		if (is_product(item)) {
			emit_product(w, item, v);
			return;
		}
	}
	json_object_object_foreach(v, key, val) {
		(void)key;
		if (json_object_is_type(val, json_type_object) || json_object_is_type(val, json_type_array))
			walk_value(w, val, depth + 1);
	}
}

/* Parses one block (possibly several concatenated values) and walks what parsed. */
static void
parse_block(const struct walk *w, char *text, size_t len)
{
	struct json_tokener *tok;
	size_t off = 0;

	len = jsonld_repair(text, len);
	tok = json_tokener_new_ex(JSONLD_MAX_DEPTH);
	if (tok == NULL) {
		extract_add_error(w->result, "JSON-LD block %d: out of memory", w->block);
		return;
	}
	for (;;) {
		json_object *obj;
		enum json_tokener_error err;

		while (off < len && is_space((unsigned char)text[off]))
			off++;
		if (off >= len)
			break;
		if (len - off > (size_t)INT32_MAX) {
			extract_add_error(w->result, "JSON-LD block %d: too large", w->block);
			break;
		}
		json_tokener_reset(tok);
		obj = json_tokener_parse_ex(tok, text + off, (int)(len - off));
		err = json_tokener_get_error(tok);
		if (obj == NULL || err != json_tokener_success) {
			if (err == json_tokener_continue)
				extract_add_error(w->result, "JSON-LD block %d: unexpected end of JSON", w->block);
			else
				extract_add_error(w->result, "JSON-LD block %d: invalid JSON at offset %zu: %s",
				    w->block, off + json_tokener_get_parse_end(tok),
				    json_tokener_error_desc(err));
			json_object_put(obj);
			break;
		}
		off += json_tokener_get_parse_end(tok);
		walk_value(w, obj, 0);
		json_object_put(obj);
	}
	json_tokener_free(tok);
}

/* True for type="application/ld+json", any case, parameters allowed ("; charset=utf-8"). */
static bool
is_jsonld_type(const xmlChar *type)
{
	static const char want[] = "application/ld+json";
	const char *p = (const char *)type;

	if (p == NULL)
		return false;
	while (is_space((unsigned char)*p))
		p++;
	if (strncasecmp(p, want, sizeof want - 1) != 0)
		return false;
	p += sizeof want - 1;
	while (is_space((unsigned char)*p))
		p++;
	return *p == '\0' || *p == ';';
}

void
jsonld_extract(htmlDocPtr doc, const struct extract_ctx *ctx, struct extract_result *result)
{
	struct walk w = { .ctx = ctx, .result = result, .block = 0 };
	xmlNodePtr n = doc->children;

	/* Iterative pre-order walk: a hostile page's nesting depth must not become stack depth. */
	while (n != NULL) {
		bool descend = n->type == XML_ELEMENT_NODE && n->children != NULL;

		if (n->type == XML_ELEMENT_NODE && n->name != NULL &&
		    xmlStrcasecmp(n->name, (const xmlChar *)"script") == 0) {
			descend = false;
			xmlChar *type = xmlGetProp(n, (const xmlChar *)"type");
			if (is_jsonld_type(type)) {
				xmlChar *content = xmlNodeGetContent(n);
				w.block++;
				if (content != NULL) {
					parse_block(&w, (char *)content, strlen((char *)content));
					xmlFree(content);
				}
			}
			xmlFree(type);
		}
		if (descend) {
			n = n->children;
			continue;
		}
		while (n != NULL && n->next == NULL) {
			n = n->parent;
			if (n == (xmlNodePtr)doc)
				n = NULL;
		}
		if (n != NULL)
			n = n->next;
	}
}
