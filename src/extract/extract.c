/* extract.c: parses a fetched page with libxml2 once and hands the DOM to each extractor in turn. */
#include <config.h>

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/uri.h>

#include "common/util.h"
#include "extract/extract.h"
#include "extract/extractor.h"
#include "extract/jsonld.h"

/* Pages larger than this are refused before parsing (the fetcher's default cap is 8 MiB). */
#define EXTRACT_MAX_HTML ((size_t)32 * 1024 * 1024)

/* Extractors in order of trust; the later microdata/OpenGraph/XPath ones slot in here. */
static const struct {
	const char *name;
	extractor_fn fn;
} extractors[] = {
	{ "jsonld", jsonld_extract },
};

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

size_t
extract_page(const char *html, size_t len, const char *page_url,
    const char *default_currency, struct extract_result *result)
{
	const struct extract_ctx ctx = { .page_url = page_url, .default_currency = default_currency };
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
	for (size_t i = 0; i < sizeof extractors / sizeof extractors[0]; i++)
		extractors[i].fn(doc, &ctx, result);
	xmlFreeDoc(doc);
	if (result->n_records == 0 && result->error[0] == '\0')
		pw_strlcpy(result->error, "no schema.org Product in JSON-LD", sizeof result->error);
	return result->n_records;
}

void
extract_result_free(struct extract_result *result)
{
	if (result == NULL)
		return;
	for (size_t i = 0; i < result->n_records; i++) {
		struct extract_record *r = &result->records[i];
		free(r->title);
		free(r->brand);
		free(r->sku);
		free(r->gtin);
		free(r->mpn);
		free(r->image_url);
		free(r->url);
	}
	free(result->records);
	memset(result, 0, sizeof *result);
}
