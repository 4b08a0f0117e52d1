/* sources.h: a source's start URLs: URL templates with ranges, sitemaps (plain, index, gzip) and "next page" links. */
#ifndef PW_CRAWL_SOURCES_H
#define PW_CRAWL_SOURCES_H

#include <stdbool.h>
#include <stddef.h>

/* Largest inflated sitemap we accept (sitemaps.org caps a sitemap at 50 MB uncompressed). */
#define SITEMAP_MAX_INFLATED ((size_t)50 * 1024 * 1024)
/* Default cap on the URLs one template may expand to. */
#define SOURCES_TEMPLATE_MAX ((size_t)100000)

/*
 * Expands a URL template into *urls (n of them): "{A..B}" integer ranges
 * (ascending or descending; "{01..20}" keeps the zero padding of the wider
 * bound) and "{a,b,c}" alternatives. Several braces multiply, leftmost varying
 * slowest. A template without braces yields itself. More than max results
 * (max 0 means SOURCES_TEMPLATE_MAX), a malformed or nested brace, or an absurd
 * range is an error: returns false, *urls = NULL, *n = 0, and err names the
 * template. On success the caller frees the strings and the array with
 * sources_free_urls.
 */
bool sources_expand_template(const char *tmpl, size_t max, char ***urls, size_t *n, char *err, size_t errlen);
/* Frees an array of n malloc'd strings and the array itself (NULL is fine). */
void sources_free_urls(char **urls, size_t n);

/* What one sitemap document listed. All strings and arrays are owned by the struct. */
struct sitemap_result {
	char **urls;               /* <urlset>: page URLs (absolute http/https), in document order, filtered */
	size_t n_urls;
	char **sitemaps;           /* <sitemapindex>: child sitemap URLs, not filtered */
	size_t n_sitemaps;
	size_t skipped;            /* <loc>s dropped: relative, not http(s), garbage (counted, never fatal) */
	size_t filtered;           /* page URLs that did not match filter_regex */
	bool truncated;            /* max_urls was reached: reading stopped at the next <loc> */
};

/*
 * Parses a sitemaps.org document of len bytes: a <urlset> (locs go to urls,
 * kept only when they match the POSIX extended regex filter_regex; NULL keeps
 * all) or a <sitemapindex> (locs go to sitemaps, unfiltered). A body starting
 * with the gzip magic (1f 8b) is inflated first, at most SITEMAP_MAX_INFLATED
 * bytes (beyond that: an error, not an OOM). XML is parsed with libxml2 without
 * network access and without entity expansion. base_url names the document in
 * messages. URLs come back as curl will fetch them (scheme lower-cased,
 * spaces encoded). At most max_urls URLs and sitemaps together are kept (0: no
 * limit); reading stops there and sets truncated. Returns false with err set
 * (bad regex, bad gzip, gzip bomb, broken XML naming the line, not a sitemap);
 * out is then empty. Free with sitemap_result_free either way.
 */
bool sitemap_parse(const char *body, size_t len, const char *base_url, const char *filter_regex,
    size_t max_urls, struct sitemap_result *out, char *err, size_t errlen);
void sitemap_result_free(struct sitemap_result *r);

/*
 * Finds the "next page" link of an HTML page: evaluates xpath (libxml2 HTML
 * parser, recovering, no network) and takes the first node: an attribute's
 * value, an element's href attribute (else its text), or a text node. The
 * result is resolved against the document's <base href> (itself resolved
 * against base_url), else base_url. Returns a malloc'd absolute http(s) URL the
 * caller frees, or NULL with err saying why (bad XPath, nothing found, not an
 * http(s) URL).
 */
char *sources_next_page(const char *html, size_t len, const char *base_url, const char *xpath,
    char *err, size_t errlen);

#endif
