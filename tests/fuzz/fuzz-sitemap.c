/* fuzz-sitemap.c: libFuzzer target for sources.c (sitemaps, gzip, URL templates, next-page links); aborts when a result breaks its promises. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crawl/sources.h"

#define MAX_URLS 64
#define TEMPLATE_MAX 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
is_http(const char *u)
{
	return u != NULL && (strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0);
}

static void
check_sitemap(const char *body, size_t size, const char *filter)
{
	struct sitemap_result r;
	char err[256] = "";
	bool ok = sitemap_parse(body, size, "https://fuzz.example/sitemap.xml", filter, MAX_URLS, &r, err, sizeof err);

	if (!ok && (r.n_urls != 0 || r.n_sitemaps != 0 || r.urls != NULL || err[0] == '\0'))
		abort();
	if (r.n_urls + r.n_sitemaps > MAX_URLS || (r.n_urls != 0 && r.n_sitemaps != 0))
		abort();
	for (size_t i = 0; i < r.n_urls; i++)
		if (!is_http(r.urls[i]))
			abort();
	for (size_t i = 0; i < r.n_sitemaps; i++)
		if (!is_http(r.sitemaps[i]))
			abort();
	sitemap_result_free(&r);
}

static void
check_template(const char *tmpl)
{
	char **urls = NULL, err[256] = "";
	size_t n = 0;

	if (sources_expand_template(tmpl, TEMPLATE_MAX, &urls, &n, err, sizeof err)) {
		if (n == 0 || n > TEMPLATE_MAX)
			abort();
		for (size_t i = 0; i < n; i++)
			if (urls[i] == NULL)
				abort();
		/* No braces: the template itself. */
		if (strpbrk(tmpl, "{}") == NULL && (n != 1 || strcmp(urls[0], tmpl) != 0))
			abort();
	} else if (urls != NULL || n != 0 || err[0] == '\0') {
		abort();
	}
	sources_free_urls(urls, n);
}

static void
check_next(const char *html, size_t size, const char *xpath)
{
	char err[256] = "";
	char *next = sources_next_page(html, size, "https://fuzz.example/list?page=1", xpath, err, sizeof err);

	if (next != NULL ? !is_http(next) : err[0] == '\0')
		abort();
	free(next);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	check_sitemap((const char *)data, size, NULL);
	check_sitemap((const char *)data, size, "/p/[0-9]+");
	/* Templates are one line of a config file: the first 200 bytes up to a NUL. */
	if (size <= 200)
		check_template(text);
	if (size > 0) {
		check_next(text, size, "//a[@rel='next']");
		check_next(text, size, "(//link[@rel='next']/@href | //a[contains(@class,'next')])[1]");
	}
	free(text);
	return 0;
}
