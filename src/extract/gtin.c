/* gtin.c: GS1 mod-10 check digits for GTIN-8/12/13/14 (see gtin.h). */
#include <config.h>

#include <string.h>

#include "extract/gtin.h"

bool
gtin_normalize(const char *text, char out[GTIN_BUF])
{
	size_t n = 0;
	int sum = 0;

	out[0] = '\0';
	if (text == NULL)
		return false;
	for (const char *p = text; *p != '\0'; p++) {
		if (*p == ' ' || *p == '-')
			continue;
		if (*p < '0' || *p > '9' || n >= GTIN_BUF - 1)
			return false;
		out[n++] = *p;
	}
	out[n] = '\0';
	if (n != 8 && n != 12 && n != 13 && n != 14) {
		out[0] = '\0';
		return false;
	}
	/* Weights 3,1,3,1... from the digit left of the check digit leftwards. */
	for (size_t i = 0; i + 1 < n; i++) {
		int d = out[n - 2 - i] - '0';
		sum += (i % 2 == 0) ? 3 * d : d;
	}
	if ((10 - sum % 10) % 10 != out[n - 1] - '0') {
		out[0] = '\0';
		return false;
	}
	return true;
}
