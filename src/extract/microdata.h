/* microdata.h: the microdata and RDFa Lite extractor: schema.org Product/Offer items (itemscope/itemprop, typeof/property). */
#ifndef PW_EXTRACT_MICRODATA_H
#define PW_EXTRACT_MICRODATA_H

#include "extract/extractor.h"

/* At most this many offers are read from one product (a marketplace page lists sellers, not thousands). */
#define MICRODATA_MAX_OFFERS 64

/* Adds one record per offer of each top-level schema.org Product item on the page (extractor "microdata" or "rdfa"). */
void microdata_extract(htmlDocPtr doc, const struct extract_ctx *ctx, struct extract_result *result);

#endif
