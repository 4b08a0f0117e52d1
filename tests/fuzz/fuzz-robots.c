/* fuzz-robots.c: libFuzzer target for the robots.txt parser and matcher; aborts when a result breaks its promises. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crawl/robots.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const agents[] = { "pricewatch/1.0", "foobot", "googlebot-news", "", "*" };
	static const char *const paths[] = { "/", "/a/b?c=d", "/x.gif", "https://h/p%41th$*", "//h" };
	struct robots *r = robots_parse((const char *)data, size);
	const struct robots_stats *st = robots_stats(r);
	char *norm, path[128];
	size_t plen;

	if (st->ignored > st->lines || st->rules > st->lines || st->groups > st->lines)
		abort();
	if ((st->ignored == 0) != (st->first_ignored_line == 0) || st->first_ignored_line > st->lines)
		abort();
	for (size_t a = 0; a < sizeof agents / sizeof agents[0]; a++) {
		/* The file itself is always fetchable; a delay is -1 or within a day. */
		if (!robots_allowed(r, agents[a], "/robots.txt"))
			abort();
		int64_t d = robots_crawl_delay_ms(r, agents[a]);
		if (d < -1 || d > 86400000)
			abort();
		for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++)
			(void)robots_allowed(r, agents[a], paths[p]);
	}
	/* The input's first bytes as a path, against the rules the input itself defines. */
	plen = size < sizeof path - 2 ? size : sizeof path - 2;
	path[0] = '/';
	for (size_t i = 0; i < plen; i++)
		path[i + 1] = data[i] != 0 ? (char)data[i] : '0';
	path[plen + 1] = '\0';
	if (robots_allowed(r, "pricewatch", path) != robots_allowed(r, "pricewatch", path))
		abort();
	for (size_t i = 0; i < robots_sitemap_count(r); i++)
		if (robots_sitemap(r, i) == NULL || robots_sitemap(r, i)[0] == '\0')
			abort();
	robots_free(r);

	/* Normalising twice changes nothing more (it is idempotent). */
	norm = robots_normalise((const char *)data, size);
	char *again = robots_normalise(norm, strlen(norm));
	if (strcmp(norm, again) != 0)
		abort();
	free(again);
	free(norm);
	return 0;
}
