/* extractor.h: the seam between extract.c (the dispatcher) and each extractor (jsonld.c, later microdata, ...). */
#ifndef PW_EXTRACT_EXTRACTOR_H
#define PW_EXTRACT_EXTRACTOR_H

#include <libxml/HTMLparser.h>

#include "extract/extract.h"

/* What every extractor knows about the page besides its DOM. */
struct extract_ctx {
	const char *page_url;          /* base for relative URLs; may be NULL */
	const char *default_currency;  /* when the markup names none; may be NULL */
};

/* An extractor walks the parsed document and adds records and errors to the result. */
typedef void (*extractor_fn)(htmlDocPtr doc, const struct extract_ctx *ctx, struct extract_result *result);

/* extract.c */
/* Appends a zeroed record to result and returns it (owned by result; valid until the next add). */
struct extract_record *extract_add_record(struct extract_result *result);
/* Counts one survived problem; the first one's text is kept in result->error. */
void extract_add_error(struct extract_result *result, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Resolves ref against base (either may be relative/NULL); returns a malloc'd string or NULL. */
char *extract_resolve_url(const char *base, const char *ref);

#endif
