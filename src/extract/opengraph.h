/* opengraph.h: the OpenGraph/meta extractor: og:price:amount, product:price:*, og:availability, og:image, og:title. */
#ifndef PW_EXTRACT_OPENGRAPH_H
#define PW_EXTRACT_OPENGRAPH_H

#include "extract/extractor.h"

/*
 * Adds at most one record: the page's product as its <meta property="og:..."/"product:...">
 * tags describe it, when they carry a price or og:type says it is a product.
 */
void opengraph_extract(htmlDocPtr doc, const struct extract_ctx *ctx, struct extract_result *result);

#endif
