/* jsonld.h: the JSON-LD extractor: schema.org Product/Offer from <script type="application/ld+json">. */
#ifndef PW_EXTRACT_JSONLD_H
#define PW_EXTRACT_JSONLD_H

#include "extract/extractor.h"

/* Nesting deeper than this in one JSON-LD block is refused (the block counts as an error). */
#define JSONLD_MAX_DEPTH 64

/* Adds one record per Product offer found in the page's JSON-LD blocks; broken blocks count in n_errors. */
void jsonld_extract(htmlDocPtr doc, const struct extract_ctx *ctx, struct extract_result *result);

/*
 * Repairs common breakage in place before parsing: a surrounding HTML comment or CDATA
 * marker, and trailing commas before } or ] (outside strings). The repaired text starts
 * at text[0]; returns its new length (text is NUL-terminated again when len < its size).
 */
size_t jsonld_repair(char *text, size_t len);

#endif
