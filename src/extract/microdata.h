/* microdata.h: the microdata extractor: schema.org Product/Offer items marked with itemscope/itemprop. */
#ifndef PW_EXTRACT_MICRODATA_H
#define PW_EXTRACT_MICRODATA_H

#include "extract/extractor.h"

/* At most this many offers are read from one product (a marketplace page lists sellers, not thousands). */
#define MICRODATA_MAX_OFFERS 64

/* Adds one record per offer of each top-level schema.org Product item on the page. */
void microdata_extract(htmlDocPtr doc, const struct extract_ctx *ctx, struct extract_result *result);

#endif
