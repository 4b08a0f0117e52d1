/* gtin.h: GTIN-8/12/13/14 (EAN/UPC) check-digit validation, so a mistyped barcode never becomes a listing identity. */
#ifndef PW_EXTRACT_GTIN_H
#define PW_EXTRACT_GTIN_H

#include <stdbool.h>
#include <stddef.h>

/* A normalised GTIN is at most 14 digits plus the NUL. */
#define GTIN_BUF 15

/*
 * Validates text as a GTIN-8, -12, -13 or -14: spaces and hyphens between digits are
 * dropped, anything else fails, and the last digit must be the GS1 mod-10 check digit.
 * On success out (GTIN_BUF bytes) holds the bare digits; on failure out is "".
 */
bool gtin_normalize(const char *text, char out[GTIN_BUF]);

#endif
