/* extract.c: parses a fetched page with libxml2 once, hands the DOM to each extractor in turn, and merges their records by precedence. */
#include <config.h>

#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/uri.h>

#include "common/util.h"
#include "extract/extract.h"
#include "extract/extractor.h"
#include "extract/gtin.h"
#include "extract/price.h"
#include "extract/jsonld.h"
#include "extract/microdata.h"
#include "extract/opengraph.h"
#include "common/config.h"

/* Pages larger than this are refused before parsing (the fetcher's default cap is 8 MiB). */
#define EXTRACT_MAX_HTML ((size_t)32 * 1024 * 1024)
/* At most this many record comparisons when merging one extractor's records into the others'. */
#define EXTRACT_MAX_MERGE ((size_t)4 * 1000 * 1000)

/*
 * Extractors in order of trust (precedence): a record from a later one that describes
 * the same product as an earlier one only fills the fields the earlier one lacks.
 * rules_extract does nothing without rules; heuristic_extract only runs on pages the
 * markup extractors found no price on.
 */
static const struct {
	const char *name;
	extractor_fn fn;
} extractors[] = {
	{ "rules", rules_extract },
	{ "jsonld", jsonld_extract },
	{ "microdata", microdata_extract },
	{ "opengraph", opengraph_extract },
	{ "heuristic", heuristic_extract },
};

#define N_EXTRACTORS (sizeof extractors / sizeof extractors[0])

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void
xml_init(void)
{
	xmlInitParser();
}

struct extract_record *
extract_add_record(struct extract_result *result)
{
	struct extract_record *rec;

	result->records = xreallocarray(result->records, result->n_records + 1, sizeof *result->records);
	rec = &result->records[result->n_records++];
	memset(rec, 0, sizeof *rec);
	return rec;
}

void
extract_add_error(struct extract_result *result, const char *fmt, ...)
{
	va_list ap;

	if (result->n_errors < INT_MAX)
		result->n_errors++;
	if (result->error[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(result->error, sizeof result->error, fmt, ap);
	va_end(ap);
}

char *
extract_resolve_url(const char *base, const char *ref)
{
	xmlChar *uri;
	char *out;

	if (ref == NULL || *ref == '\0')
		return NULL;
	if (base == NULL || *base == '\0')
		return xstrdup(ref);
	uri = xmlBuildURI((const xmlChar *)ref, (const xmlChar *)base);
	if (uri == NULL) {
		/* Unescaped spaces and the like: escape, then try once more. */
		xmlChar *esc = xmlURIEscapeStr((const xmlChar *)ref, (const xmlChar *)":/?#[]@!$&'()*+,;=%");
		if (esc != NULL) {
			uri = xmlBuildURI(esc, (const xmlChar *)base);
			xmlFree(esc);
		}
	}
	if (uri == NULL)
		return NULL;
	out = xstrdup((const char *)uri);
	xmlFree(uri);
	return out;
}

char *
extract_clean_text(const char *s, size_t max)
{
	char *out;
	size_t o = 0;
	bool space = false;

	if (s == NULL)
		return NULL;
	out = xmalloc(max + 1);
	for (; *s != '\0' && o < max; s++) {
		unsigned char c = (unsigned char)*s;
		/* NBSP (U+00A0) too: "24&nbsp;cm" in a title is "24 cm" in the markup beside it. */
		if (c == 0xC2 && (unsigned char)s[1] == 0xA0) {
			s++;
			c = ' ';
		}
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
			space = o > 0;
			continue;
		}
		if (space && o < max)
			out[o++] = ' ';
		space = false;
		if (o < max)
			out[o++] = (char)c;
	}
	/* Cut at a character boundary, never inside a UTF-8 sequence. */
	if (*s != '\0')
		while (o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0x80)
			o--;
	if (*s != '\0' && o > 0 && ((unsigned char)out[o - 1] & 0xC0) == 0xC0)
		o--;
	out[o] = '\0';
	if (o == 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* The href of the first <base> among n's children (malloc'd, resolved), or NULL. */
static char *
base_child(xmlNodePtr n, const char *page_url)
{
	for (n = n != NULL ? n->children : NULL; n != NULL; n = n->next) {
		xmlChar *href;
		char *base = NULL;
		if (n->type != XML_ELEMENT_NODE || xmlStrcasecmp(n->name, (const xmlChar *)"base") != 0)
			continue;
		href = xmlGetProp(n, (const xmlChar *)"href");
		if (href != NULL && *href != '\0')
			base = extract_resolve_url(page_url, (const char *)href);
		xmlFree(href);
		if (base != NULL)
			return base;
	}
	return NULL;
}

char *
extract_base_url(htmlDocPtr doc, const char *page_url)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	char *base = base_child(root, page_url);   /* recovered pages may put <base> straight under <html> */

	for (xmlNodePtr n = root != NULL ? root->children : NULL; n != NULL && base == NULL; n = n->next)
		if (n->type == XML_ELEMENT_NODE && xmlStrcasecmp(n->name, (const xmlChar *)"head") == 0)
			base = base_child(n, page_url);
	if (base == NULL && page_url != NULL)
		base = xstrdup(page_url);
	return base;
}

char *
extract_canonical_url(htmlDocPtr doc, const char *page_url)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);
	char *url = NULL;

	for (xmlNodePtr h = root != NULL ? root->children : NULL; h != NULL; h = h->next) {
		if (h->type != XML_ELEMENT_NODE || xmlStrcasecmp(h->name, (const xmlChar *)"head") != 0)
			continue;
		for (xmlNodePtr n = h->children; n != NULL && url == NULL; n = n->next) {
			xmlChar *rel, *href;
			char *base;
			if (n->type != XML_ELEMENT_NODE || xmlStrcasecmp(n->name, (const xmlChar *)"link") != 0)
				continue;
			rel = xmlGetProp(n, (const xmlChar *)"rel");
			if (rel == NULL || xmlStrcasecmp(rel, (const xmlChar *)"canonical") != 0) {
				xmlFree(rel);
				continue;
			}
			xmlFree(rel);
			href = xmlGetProp(n, (const xmlChar *)"href");
			base = extract_base_url(doc, page_url);
			url = extract_resolve_url(base, (const char *)href);
			free(base);
			xmlFree(href);
		}
	}
	return url;
}

/*
 * Records that only know the page URL take the page's canonical URL: the listing's
 * identity (store_listing_id) must not change with the tracking parameters of the
 * link the crawler followed.
 */
static void
use_canonical(htmlDocPtr doc, const char *page_url, struct extract_result *result)
{
	char *canon = NULL;

	if (page_url == NULL)
		return;
	for (size_t i = 0; i < result->n_records; i++) {
		struct extract_record *r = &result->records[i];
		if (r->url == NULL || strcmp(r->url, page_url) != 0)
			continue;
		if (canon == NULL && (canon = extract_canonical_url(doc, page_url)) == NULL)
			return;
		free(r->url);
		r->url = xstrdup(canon);
	}
	free(canon);
}

void
extract_source_label(const struct extract_ctx *ctx, char *buf, size_t buflen)
{
	int line = ctx->rules != NULL ? ctx->rules->line : 0;

	if (ctx->source != NULL && line > 0)
		pw_snprintf(buf, buflen, "source \"%.64s\" (line %d): ", ctx->source, line);
	else if (ctx->source != NULL)
		pw_snprintf(buf, buflen, "source \"%.64s\": ", ctx->source);
	else if (line > 0)
		pw_snprintf(buf, buflen, "rules (line %d): ", line);
	else
		pw_strlcpy(buf, "", buflen);
}

/* "1299", "1299.00": schema.org's own notation. */
static bool
plain_decimal(const char *s)
{
	if (!isdigit((unsigned char)*s))
		return false;
	while (isdigit((unsigned char)*s))
		s++;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return false;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return *s == '\0';
}

bool
extract_price(const struct extract_ctx *ctx, const char *text, const char *currency, bool machine,
    struct money *out, struct money *high, char *err, size_t errlen)
{
	char code[4] = "";
	struct price p;
	struct price_opts o = { 0 };
	const char *cur = currency != NULL && *currency != '\0' ? currency : ctx->default_currency;

	memset(out, 0, sizeof *out);
	if (high != NULL)
		memset(high, 0, sizeof *high);
	if (cur != NULL && *cur != '\0') {
		size_t l = strlen(cur);
		while (l > 0 && (cur[l - 1] == ' ' || cur[l - 1] == '\n' || cur[l - 1] == '\t'))
			l--;
		while (l > 0 && (*cur == ' ' || *cur == '\n' || *cur == '\t')) {
			cur++;
			l--;
		}
		if (l == 3) {
			for (size_t i = 0; i < 3; i++)
				code[i] = (char)toupper((unsigned char)cur[i]);
			code[3] = '\0';
		}
		if (!money_currency_valid(code)) {
			snprintf(err, errlen, "unknown currency \"%.16s\"", cur);
			return false;
		}
	}
	if (machine && plain_decimal(text)) {
		if (code[0] == '\0') {
			snprintf(err, errlen, "price \"%.40s\" names no currency and no default currency is set", text);
			return false;
		}
		if (!money_parse_decimal(text, code, out)) {
			memset(out, 0, sizeof *out);
			snprintf(err, errlen, "price \"%.40s\" does not fit %s (too many decimals or too large)",
			    text, code);
			return false;
		}
		return true;
	}
	o.currency_hint = code[0] != '\0' ? code : NULL;
	o.decimal_separator = ctx->decimal_separator;
	if (!price_parse(text, strlen(text), &o, &p)) {
		snprintf(err, errlen, "price \"%.40s\": %s", text, p.error);
		return false;
	}
	/* A declared currency that the text contradicts ("$5" with priceCurrency EUR): do not guess. */
	if (currency != NULL && *currency != '\0' && p.currency_text[0] != '\0' && strcmp(p.currency, code) != 0) {
		snprintf(err, errlen, "price \"%.40s\" is in %s but the markup says %s", text, p.currency, code);
		return false;
	}
	if (p.currency[0] == '\0') {
		snprintf(err, errlen, "price \"%.40s\" names no currency and no default currency is set", text);
		return false;
	}
	if (p.minor.currency[0] == '\0') {
		snprintf(err, errlen, "price \"%.40s\": %s", text, p.error);
		return false;
	}
	*out = p.minor;
	if (high != NULL && p.has_high)
		*high = p.minor_high;
	return true;
}

const char *
extract_field_name(enum extract_field f)
{
	static const char *const names[EXTRACT_F_COUNT] = {
		[EXTRACT_F_TITLE] = "title", [EXTRACT_F_BRAND] = "brand", [EXTRACT_F_SKU] = "sku",
		[EXTRACT_F_GTIN] = "gtin", [EXTRACT_F_MPN] = "mpn", [EXTRACT_F_IMAGE] = "image",
		[EXTRACT_F_URL] = "url", [EXTRACT_F_PRICE] = "price", [EXTRACT_F_AVAILABILITY] = "availability",
		[EXTRACT_F_LIST_PRICE] = "list_price", [EXTRACT_F_SELLER] = "seller",
	};

	return (unsigned)f < EXTRACT_F_COUNT ? names[f] : "?";
}

char **
extract_record_field(struct extract_record *r, enum extract_field f)
{
	switch (f) {
	case EXTRACT_F_TITLE: return &r->title;
	case EXTRACT_F_BRAND: return &r->brand;
	case EXTRACT_F_SKU: return &r->sku;
	case EXTRACT_F_GTIN: return &r->gtin;
	case EXTRACT_F_MPN: return &r->mpn;
	case EXTRACT_F_IMAGE: return &r->image_url;
	case EXTRACT_F_URL: return &r->url;
	case EXTRACT_F_SELLER: return &r->seller;
	default: return NULL;
	}
}

static bool
field_set(struct extract_record *r, enum extract_field f)
{
	char **s = extract_record_field(r, f);

	if (s != NULL)
		return *s != NULL;
	if (f == EXTRACT_F_PRICE)
		return r->price.currency[0] != '\0';
	if (f == EXTRACT_F_LIST_PRICE)
		return r->list_price.currency[0] != '\0';
	return r->availability != AVAIL_UNKNOWN;
}

/* The family name of an extractor label: "jsonld" for "jsonld:lowPrice". */
static const char *
family(const char *extractor)
{
	/* RDFa Lite shares the microdata extractor (and its precedence) but keeps its own name. */
	if (extractor != NULL && strncmp(extractor, "rdfa", 4) == 0 && (extractor[4] == '\0' || extractor[4] == ':'))
		return "rdfa";
	for (size_t i = 0; i < N_EXTRACTORS; i++) {
		size_t l = strlen(extractors[i].name);
		if (extractor != NULL && strncmp(extractor, extractors[i].name, l) == 0 &&
		    (extractor[l] == '\0' || extractor[l] == ':'))
			return extractors[i].name;
	}
	return extractor;
}

/* After an extractor: GTINs checked (a bad one is dropped and counted), and each filled field credited. */
static void
finish_record(struct extract_result *result, struct extract_record *r)
{
	if (r->gtin != NULL) {
		char norm[GTIN_BUF];
		if (gtin_normalize(r->gtin, norm)) {
			free(r->gtin);
			r->gtin = xstrdup(norm);
		} else {
			if (result->n_invalid_gtin < INT_MAX)
				result->n_invalid_gtin++;
			free(r->gtin);
			r->gtin = NULL;
		}
	}
	for (int f = 0; f < EXTRACT_F_COUNT; f++)
		r->source[f] = field_set(r, (enum extract_field)f) ? family(r->extractor) : NULL;
}

static bool
same_text(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcasecmp(a, b) == 0;
}

/* Do two records name the same product? Identifiers first; a title only when neither has one that differs. */
static bool
same_product(const struct extract_record *a, const struct extract_record *b)
{
	if (a->gtin != NULL && b->gtin != NULL)
		return strcmp(a->gtin, b->gtin) == 0;
	if (a->sku != NULL && b->sku != NULL)
		return strcmp(a->sku, b->sku) == 0;
	return same_text(a->title, b->title);
}

/* Both carry a GTIN or both a SKU, and they differ: certainly other products. */
static bool
conflicting_ids(const struct extract_record *a, const struct extract_record *b)
{
	return (a->gtin != NULL && b->gtin != NULL && strcmp(a->gtin, b->gtin) != 0) ||
	    (a->sku != NULL && b->sku != NULL && strcmp(a->sku, b->sku) != 0);
}

static bool
same_price(const struct extract_record *a, const struct extract_record *b)
{
	return strcmp(a->price.currency, b->price.currency) == 0 && a->price.minor == b->price.minor;
}

/* Fills the fields dst lacks from src (a lower-precedence view of the same product); src is emptied. */
static void
fill_from(struct extract_record *dst, struct extract_record *src)
{
	for (int f = 0; f < EXTRACT_F_COUNT; f++) {
		char **d = extract_record_field(dst, (enum extract_field)f);
		char **s = extract_record_field(src, (enum extract_field)f);
		if (field_set(dst, (enum extract_field)f) || !field_set(src, (enum extract_field)f))
			continue;
		if (d != NULL) {
			*d = *s;
			*s = NULL;
		} else if (f == EXTRACT_F_PRICE) {
			dst->price = src->price;
			dst->price_high = src->price_high;
		} else if (f == EXTRACT_F_LIST_PRICE) {
			dst->list_price = src->list_price;
		} else {
			dst->availability = src->availability;
		}
		dst->source[f] = src->source[f];
	}
}

static void
record_free(struct extract_record *r)
{
	free(r->title);
	free(r->brand);
	free(r->sku);
	free(r->gtin);
	free(r->mpn);
	free(r->image_url);
	free(r->url);
	free(r->seller);
}

/*
 * Merges each lower-precedence record into the higher-precedence record of the same
 * product (same GTIN, else SKU, else title; an extractor that found exactly one
 * product on the page describes the page's main product, which is the first record).
 * A differing price is counted as a disagreement; the higher-precedence one is kept.
 */
static void
merge_records(struct extract_result *result, const size_t *ranges)
{
	size_t o;
	bool *drop;

	if (result->n_records < 2)
		return;
	drop = xcalloc(result->n_records, sizeof *drop);
	for (size_t e = 1; e < N_EXTRACTORS; e++) {
		bool single = ranges[e + 1] - ranges[e] == 1;
		/* Matching is pairwise: a hostile page with huge lists on both sides is not merged. */
		if ((ranges[e + 1] - ranges[e]) > EXTRACT_MAX_MERGE / (ranges[e] + 1)) {
			extract_add_error(result, "too many records to merge (%zu %s after %zu others): kept apart",
			    ranges[e + 1] - ranges[e], extractors[e].name, ranges[e]);
			continue;
		}
		for (size_t k = ranges[e]; k < ranges[e + 1]; k++) {
			struct extract_record *r = &result->records[k];
			struct extract_record *target = NULL;
			for (size_t t = 0; t < ranges[e]; t++) {
				struct extract_record *c = &result->records[t];
				if (drop[t] || !same_product(c, r))
					continue;
				if (target == NULL || (!same_price(target, r) && same_price(c, r)))
					target = c;
			}
			if (target == NULL && single) {
				for (size_t t = 0; t < ranges[e] && target == NULL; t++)
					if (!drop[t] && !conflicting_ids(&result->records[t], r))
						target = &result->records[t];
			}
			if (target == NULL)
				continue;
			if (target->price.currency[0] != '\0' && r->price.currency[0] != '\0' && !same_price(target, r)) {
				char a[48], b[48];
				if (result->n_disagreements < INT_MAX)
					result->n_disagreements++;
				if (!money_format(&target->price, a, sizeof a))
					pw_strlcpy(a, "?", sizeof a);
				if (!money_format(&r->price, b, sizeof b))
					pw_strlcpy(b, "?", sizeof b);
				/* Counted apart from errors: the page is fine, two of its markups differ. */
				if (result->error[0] == '\0')
					snprintf(result->error, sizeof result->error,
					    "price disagreement for \"%.60s\": %s says %s, %s says %s (kept %s)",
					    target->title ? target->title : "(untitled)", family(target->extractor), a,
					    family(r->extractor), b, family(target->extractor));
			}
			fill_from(target, r);
			drop[k] = true;
		}
	}
	o = 0;
	for (size_t k = 0; k < result->n_records; k++) {
		if (drop[k]) {
			record_free(&result->records[k]);
			continue;
		}
		if (o != k)
			result->records[o] = result->records[k];
		o++;
	}
	result->n_records = o;
	free(drop);
}

size_t
extract_page(const char *html, size_t len, const char *page_url,
    const char *default_currency, struct extract_result *result)
{
	const struct extract_opts opts = { .default_currency = default_currency };

	return extract_page_ex(html, len, page_url, &opts, result);
}

size_t
extract_page_ex(const char *html, size_t len, const char *page_url,
    const struct extract_opts *opts, struct extract_result *result)
{
	static const struct extract_opts no_opts;
	const struct extract_opts *o = opts != NULL ? opts : &no_opts;
	const struct extract_ctx ctx = { .page_url = page_url, .default_currency = o->default_currency,
	    .decimal_separator = o->decimal_separator, .rules = rules_present(o->rules) ? o->rules : NULL,
	    .source = o->source };
	size_t ranges[N_EXTRACTORS + 1] = { 0 };   /* records [ranges[i], ranges[i+1]) came from extractor i */
	htmlDocPtr doc;

	memset(result, 0, sizeof *result);
	if (html == NULL || len == 0) {
		extract_add_error(result, "empty page");
		return 0;
	}
	if (len > EXTRACT_MAX_HTML) {
		extract_add_error(result, "page too large (%zu bytes, limit %zu)", len, EXTRACT_MAX_HTML);
		return 0;
	}
	pthread_once(&xml_once, xml_init);
	/*
	 * No forced encoding: libxml2 honours a declared charset, reads undeclared valid
	 * UTF-8 as UTF-8, and falls back to ISO-8859-1 on a stray byte instead of stopping.
	 */
	doc = htmlReadMemory(html, (int)len, page_url, NULL,
	    HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
	if (doc == NULL) {
		extract_add_error(result, "page is not parseable as HTML");
		return 0;
	}
	for (size_t i = 0; i < N_EXTRACTORS; i++) {
		size_t first = result->n_records;
		extractors[i].fn(doc, &ctx, result);
		for (size_t k = first; k < result->n_records; k++)
			finish_record(result, &result->records[k]);
		ranges[i + 1] = result->n_records;
	}
	use_canonical(doc, page_url, result);
	xmlFreeDoc(doc);
	merge_records(result, ranges);
	if (result->n_records == 0 && result->error[0] == '\0')
		pw_strlcpy(result->error, ctx.rules != NULL ? "no product found (the source's XPath rules matched "
		    "nothing, no schema.org Product in JSON-LD or microdata, no OpenGraph product price, no price "
		    "next to a title or buy button)" : "no product found (no schema.org Product in JSON-LD or "
		    "microdata, no OpenGraph product price, no price next to a title or buy button)",
		    sizeof result->error);
	return result->n_records;
}

void
extract_result_free(struct extract_result *result)
{
	if (result == NULL)
		return;
	for (size_t i = 0; i < result->n_records; i++)
		record_free(&result->records[i]);
	free(result->records);
	memset(result, 0, sizeof *result);
}
