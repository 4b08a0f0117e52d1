/* test-sources.c: start URLs of a source: URL templates, sitemaps (fixtures in tests/unit/sitemaps/, also served over a real socket) and next-page links. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/util.h"
#include "crawl/fetch.h"
#include "crawl/sources.h"
#include "harness/httpd.h"
#include "harness/run.h"

#define SITEMAP_URL "https://shop.example.com/sitemap.xml"

/* Path of tests/unit/sitemaps/<name> in the source tree ($PW_TOP_SRCDIR, else relative to this file). */
static void
fixture_path(const char *name, char *path, size_t size)
{
	const char *top = getenv("PW_TOP_SRCDIR");

	if (top != NULL)
		cr_assert(pw_snprintf(path, size, "%s/tests/unit/sitemaps/%s", top, name));
	else
		cr_assert(pw_snprintf(path, size, "%.*s/sitemaps/%s", (int)(strrchr(__FILE__, '/') - __FILE__),
		    __FILE__, name));
}

static char *
load(const char *name, size_t *len)
{
	char path[1024], *body;

	fixture_path(name, path, sizeof path);
	body = read_file(path, 1024 * 1024, len);
	cr_assert_not_null(body, "cannot read fixture %s", path);
	return body;
}

/* Parses a fixture; returns what sitemap_parse returned, err holds its message. */
static bool
parse_fixture(const char *name, const char *filter, size_t max, struct sitemap_result *res, char *err,
    size_t errlen)
{
	size_t len;
	char *body = load(name, &len);
	bool ok;

	err[0] = '\0';
	ok = sitemap_parse(body, len, SITEMAP_URL, filter, max, res, err, errlen);
	free(body);
	return ok;
}

/* ---- URL templates ------------------------------------------------------ */

/* An expected URL at a position of the expansion. */
struct at {
	size_t i;
	const char *url;
};

/* Expands tmpl and checks the count and the URLs at the given positions. */
static void
assert_expansion(const char *tmpl, size_t max, size_t n_want, const struct at *want, size_t n_at)
{
	char err[256] = "";
	char **urls;
	size_t n;

	cr_assert(sources_expand_template(tmpl, max, &urls, &n, err, sizeof err), "%s: %s", tmpl, err);
	cr_assert_str_empty(err);
	cr_assert_eq(n, n_want, "%s: %zu URLs", tmpl, n);
	for (size_t k = 0; k < n_at; k++)
		cr_assert_str_eq(urls[want[k].i], want[k].url, "%s [%zu]", tmpl, want[k].i);
	sources_free_urls(urls, n);
}
#define EXPANDS(tmpl, max, n, ...) do { \
	static const struct at want_[] = { __VA_ARGS__ }; \
	assert_expansion(tmpl, max, n, want_, sizeof want_ / sizeof want_[0]); \
} while (0)

static void
expand_fails(const char *tmpl, size_t max, const char *why)
{
	char err[256] = "";
	char **urls = (char **)1;
	size_t n = 99;

	cr_assert_not(sources_expand_template(tmpl, max, &urls, &n, err, sizeof err), "%s expanded", tmpl);
	cr_assert_null(urls);
	cr_assert_eq(n, 0);
	cr_assert_not_null(strstr(err, tmpl), "error does not name the template: %s", err);
	cr_assert_not_null(strstr(err, why), "error for %s lacks \"%s\": %s", tmpl, why, err);
}

Test(template, without_braces_yields_itself)
{
	EXPANDS("https://shop.example.com/list?page=1", 10, 1, { 0, "https://shop.example.com/list?page=1" });
}

Test(template, range)
{
	EXPANDS("https://s.example/list?page={1..12}&sort=price", 100, 12,
	    { 0, "https://s.example/list?page=1&sort=price" }, { 9, "https://s.example/list?page=10&sort=price" },
	    { 11, "https://s.example/list?page=12&sort=price" });
	EXPANDS("https://s.example/{7..7}", 1, 1, { 0, "https://s.example/7" });
}

Test(template, zero_padding_kept)
{
	EXPANDS("https://s.example/cat-{01..20}.html", 100, 20, { 0, "https://s.example/cat-01.html" },
	    { 8, "https://s.example/cat-09.html" }, { 19, "https://s.example/cat-20.html" });
	/* The wider bound sets the width, as in bash: {8..010} gives 008 009 010. */
	EXPANDS("https://s.example/{8..010}", 100, 3, { 0, "https://s.example/008" }, { 2, "https://s.example/010" });
}

Test(template, descending_range)
{
	EXPANDS("https://s.example/p{3..1}", 10, 3, { 0, "https://s.example/p3" }, { 1, "https://s.example/p2" },
	    { 2, "https://s.example/p1" });
}

Test(template, several_braces_multiply_leftmost_slowest)
{
	EXPANDS("https://s.example/{tools,garden,}/{1..3}", 100, 9,
	    { 0, "https://s.example/tools/1" }, { 1, "https://s.example/tools/2" }, { 2, "https://s.example/tools/3" },
	    { 3, "https://s.example/garden/1" }, { 5, "https://s.example/garden/3" }, { 6, "https://s.example//1" },
	    { 8, "https://s.example//3" });
}

Test(template, errors_name_the_template)
{
	expand_fails("https://s.example/?p={1..100}", 99, "more than the limit of 99");
	expand_fails("https://s.example/{1..10}/{1..10}", 99, "more than 99 URLs");
	expand_fails("https://s.example/?p={1..}", 10, "malformed range");
	expand_fails("https://s.example/?p={a..z}", 10, "malformed range");
	expand_fails("https://s.example/?p={-1..3}", 10, "malformed range");
	expand_fails("https://s.example/?p={0..99999999999999999999}", 10, "malformed range");
	expand_fails("https://s.example/?p={0..999999999999}", 0, "more than the limit of 100000");
	expand_fails("https://s.example/{abc}", 10, "malformed brace");
	expand_fails("https://s.example/{}", 10, "malformed brace");
	expand_fails("https://s.example/{1..2", 10, "never closed");
	expand_fails("https://s.example/{1..{2..3}}", 10, "nested");
	expand_fails("https://s.example/x}y", 10, "without a '{'");
	expand_fails("https://s.example/{1,2}{1,2}{1,2}{1,2}{1,2}{1,2}{1,2}{1,2}{1,2}{1,2}{1,2}{1,2}{1,2}{1,2}{1,2}"
	    "{1,2}{1,2}", 1000000, "more than 16 braces");
}

/* ---- sitemaps ----------------------------------------------------------- */

static const char *const urlset_good[] = {
	"https://shop.example.com/p/1001",
	"https://shop.example.com/p/1002",
	"https://shop.example.com/search?q=drill&page=2",
	"https://shop.example.com/p/1003?ref=a&b=c",
	"http://Shop.Example.com/p/1004",       /* as curl will fetch it: scheme lower-cased */
	"https://shop.example.com/category/tools",
};
#define N_URLSET_GOOD (sizeof urlset_good / sizeof urlset_good[0])
#define N_URLSET_SKIPPED 7

static void
assert_urlset(const struct sitemap_result *r)
{
	cr_assert_eq(r->n_urls, N_URLSET_GOOD, "%zu urls", r->n_urls);
	for (size_t i = 0; i < N_URLSET_GOOD; i++)
		cr_assert_str_eq(r->urls[i], urlset_good[i]);
	cr_assert_eq(r->skipped, N_URLSET_SKIPPED, "%zu skipped", r->skipped);
	cr_assert_eq(r->n_sitemaps, 0);
	cr_assert_eq(r->filtered, 0);
	cr_assert_not(r->truncated);
}

Test(sitemap, urlset_keeps_absolute_http_urls_and_counts_garbage)
{
	struct sitemap_result r;
	char err[256];

	cr_assert(parse_fixture("urlset.xml", NULL, 0, &r, err, sizeof err), "%s", err);
	assert_urlset(&r);
	sitemap_result_free(&r);
	cr_assert_null(r.urls);
}

Test(sitemap, gzip_body_detected_by_magic)
{
	struct sitemap_result r;
	char err[256];

	cr_assert(parse_fixture("urlset.xml.gz", NULL, 0, &r, err, sizeof err), "%s", err);
	assert_urlset(&r);
	sitemap_result_free(&r);
}

Test(sitemap, filter_regex_applies_to_page_urls)
{
	struct sitemap_result r;
	char err[256];

	cr_assert(parse_fixture("urlset.xml", "/p/[0-9]+$", 0, &r, err, sizeof err), "%s", err);
	cr_assert_eq(r.n_urls, 3);
	cr_assert_str_eq(r.urls[0], "https://shop.example.com/p/1001");
	cr_assert_str_eq(r.urls[1], "https://shop.example.com/p/1002");
	cr_assert_str_eq(r.urls[2], "http://Shop.Example.com/p/1004");
	cr_assert_eq(r.filtered, 3);
	cr_assert_eq(r.skipped, N_URLSET_SKIPPED);
	sitemap_result_free(&r);
}

Test(sitemap, bad_regex_is_an_error)
{
	struct sitemap_result r;
	char err[256];

	cr_assert_not(parse_fixture("urlset.xml", "/p/([0-9]+", 0, &r, err, sizeof err));
	cr_assert_not_null(strstr(err, "bad sitemap-filter regex"), "%s", err);
	cr_assert_not_null(strstr(err, SITEMAP_URL), "%s", err);
	cr_assert_eq(r.n_urls, 0);
}

Test(sitemap, index_lists_child_sitemaps_unfiltered)
{
	struct sitemap_result r;
	char err[256];

	cr_assert(parse_fixture("index.xml", "/p/[0-9]+$", 0, &r, err, sizeof err), "%s", err);
	cr_assert_eq(r.n_urls, 0);
	cr_assert_eq(r.n_sitemaps, 3);
	cr_assert_str_eq(r.sitemaps[0], "https://shop.example.com/sitemap-products-1.xml.gz");
	cr_assert_str_eq(r.sitemaps[2], "https://shop.example.com/sitemap-pages.xml");
	cr_assert_eq(r.skipped, 1);
	cr_assert_eq(r.filtered, 0);
	sitemap_result_free(&r);
}

Test(sitemap, stops_at_max_urls)
{
	struct sitemap_result r;
	char err[256];

	cr_assert(parse_fixture("urlset.xml", NULL, 2, &r, err, sizeof err), "%s", err);
	cr_assert_eq(r.n_urls, 2);
	cr_assert_str_eq(r.urls[1], "https://shop.example.com/p/1002");
	cr_assert(r.truncated);
	sitemap_result_free(&r);
	cr_assert(parse_fixture("urlset.xml", NULL, N_URLSET_GOOD, &r, err, sizeof err), "%s", err);
	cr_assert_eq(r.n_urls, N_URLSET_GOOD);
	cr_assert(r.truncated, "the first loc past the limit stops reading");
	sitemap_result_free(&r);
}

Test(sitemap, broken_xml_names_line)
{
	struct sitemap_result r;
	char err[256];

	cr_assert_not(parse_fixture("broken.xml", NULL, 0, &r, err, sizeof err));
	cr_assert_not_null(strstr(err, "not well-formed XML"), "%s", err);
	cr_assert_not_null(strstr(err, "line "), "%s", err);
	cr_assert_not_null(strstr(err, SITEMAP_URL), "%s", err);
	cr_assert_eq(r.n_urls, 0);
	cr_assert_null(r.urls);
}

Test(sitemap, not_a_sitemap)
{
	struct sitemap_result r;
	char err[256];

	cr_assert_not(parse_fixture("notsitemap.xml", NULL, 0, &r, err, sizeof err));
	cr_assert_not_null(strstr(err, "not a sitemap (root element <rss>"), "%s", err);
	cr_assert_not(sitemap_parse("", 0, SITEMAP_URL, NULL, 0, &r, err, sizeof err));
	cr_assert_not_null(strstr(err, "empty body"), "%s", err);
	cr_assert_not(sitemap_parse("<?xml version='1.0'?>", 21, SITEMAP_URL, NULL, 0, &r, err, sizeof err));
	cr_assert_eq(r.n_urls, 0);
}

Test(sitemap, gzip_bomb_is_refused)
{
	struct sitemap_result r;
	char err[256];

	cr_assert_not(parse_fixture("bomb.xml.gz", NULL, 0, &r, err, sizeof err));
	cr_assert_not_null(strstr(err, "inflates to more than 52428800 bytes"), "%s", err);
	cr_assert_eq(r.n_urls, 0);
}

Test(sitemap, truncated_gzip_is_an_error)
{
	struct sitemap_result r;
	char err[256];

	cr_assert_not(parse_fixture("truncated.xml.gz", NULL, 0, &r, err, sizeof err));
	cr_assert_not_null(strstr(err, "bad gzip data"), "%s", err);
}

/* Entities are never expanded: the bomb's loc is skipped, the document's other locs survive. */
Test(sitemap, billion_laughs_is_harmless, .timeout = 20)
{
	struct sitemap_result r;
	char err[256] = "";
	bool ok = parse_fixture("billion-laughs.xml", NULL, 0, &r, err, sizeof err);

	if (ok) {
		cr_assert_eq(r.n_urls, 1);
		cr_assert_str_eq(r.urls[0], "https://shop.example.com/p/after-the-bomb");
		cr_assert_eq(r.skipped, 1);
	} else {
		cr_assert_not_null(strstr(err, SITEMAP_URL), "%s", err);
		cr_assert_eq(r.n_urls, 0);
	}
	for (size_t i = 0; i < r.n_urls; i++)
		cr_assert_null(strstr(r.urls[i], "lol"));
	sitemap_result_free(&r);
}

/* External entities are neither read from disk nor fetched (no XXE). */
Test(sitemap, external_entities_not_loaded)
{
	struct sitemap_result r;
	char err[256];
	size_t hlen = 0;
	char *host = read_file("/etc/hostname", 4096, &hlen);

	cr_assert(parse_fixture("xxe.xml", NULL, 0, &r, err, sizeof err), "%s", err);
	cr_assert_eq(r.n_urls, 1);
	cr_assert_str_eq(r.urls[0], "https://shop.example.com/p/safe");
	cr_assert_eq(r.skipped, 2);
	if (host != NULL && hlen > 1) {
		host[strcspn(host, "\n")] = '\0';
		for (size_t i = 0; i < r.n_urls; i++)
			cr_assert_null(strstr(r.urls[i], host));
	}
	free(host);
	sitemap_result_free(&r);
}

/* ---- next page ---------------------------------------------------------- */

#define PAGE_URL "https://shop.example.com/list/tools?page=2"

static char *
next_page(const char *html, const char *xpath, char *err, size_t errlen)
{
	err[0] = '\0';
	return sources_next_page(html, strlen(html), PAGE_URL, xpath, err, errlen);
}

static void
assert_next(const char *html, const char *xpath, const char *want)
{
	char err[256];
	char *got = next_page(html, xpath, err, sizeof err);

	cr_assert_not_null(got, "%s: %s", xpath, err);
	cr_assert_str_eq(got, want);
	free(got);
}

static void
assert_no_next(const char *html, const char *xpath, const char *why)
{
	char err[256];
	char *got = next_page(html, xpath, err, sizeof err);

	cr_assert_null(got, "%s gave %s", xpath, got);
	cr_assert_not_null(strstr(err, why), "error for %s lacks \"%s\": %s", xpath, why, err);
}

static const char listing_page[] =
	"<html><head><title>Tools</title><link rel=\"next\" href=\"/list/tools?page=3\"></head><body>"
	"<ul><li>Drill</li></ul>"
	"<nav class=pager><a href=\"?page=1\">1</a> <a class=\"next\" href=\"?page=3#top\">Next &raquo;</a>"
	"<span id=\"nexturl\">  page-3.html </span>"
	"<a class=\"js\" href=\"javascript:load(3)\">more</a><a class=\"self\" href=\"#\">here</a>"
	"</nav></body></html>";

Test(next_page, element_href_resolved_against_page)
{
	assert_next(listing_page, "//a[@class='next']", "https://shop.example.com/list/tools?page=3");
	assert_next(listing_page, "//link[@rel='next']/@href", "https://shop.example.com/list/tools?page=3");
	assert_next(listing_page, "//span[@id='nexturl']/text()", "https://shop.example.com/list/page-3.html");
	assert_next(listing_page, "string(//a[@class='next']/@href)", "https://shop.example.com/list/tools?page=3");
	/* Sloppy markup: a space in the link is encoded as curl would send it. */
	assert_next("<a class=next href=' page 3.html '>3</a>", "//a", "https://shop.example.com/list/page%203.html");
}

Test(next_page, first_node_wins)
{
	assert_next(listing_page, "//nav/a", "https://shop.example.com/list/tools?page=1");
}

Test(next_page, base_href_is_honoured)
{
	static const char page[] =
		"<html><head><base href=\"https://mirror.example.net/shop/\"></head>"
		"<body><a rel=next href=\"list?page=3\">next</a></body></html>";
	static const char relbase[] =
		"<html><head><base href=\"/other/\"></head><body><a rel=next href=\"p3\">next</a></body></html>";

	assert_next(page, "//a[@rel='next']", "https://mirror.example.net/shop/list?page=3");
	assert_next(relbase, "//a[@rel='next']", "https://shop.example.com/other/p3");
}

Test(next_page, failures_say_why)
{
	assert_no_next(listing_page, "//a[@class='next'", "is invalid");
	assert_no_next(listing_page, "//a[@class='missing']", "found nothing");
	assert_no_next(listing_page, "//a[@class='js']", "not an http(s) URL");
	assert_no_next(listing_page, "//a[@class='self']", "points to the page itself");
	assert_no_next(listing_page, "count(//a)", "found nothing");
	assert_no_next("<html><body><a href=''>x</a></body></html>", "//a", "found nothing");
	assert_no_next("", "//a", "no page");
}

/* Garbage HTML is recovered, not fatal. */
Test(next_page, broken_html_recovers)
{
	static const char page[] = "<html><body><div><p>unclosed <a class=next href='/p/9'>9</a><td></table>\x01\xff";

	assert_next(page, "//a[@class='next']/@href", "https://shop.example.com/p/9");
}

/* ---- over a real socket ------------------------------------------------- */

static struct test_httpd httpd;
static char docroot[256];

static void
copy_fixture(const char *name)
{
	size_t len;
	char *body = load(name, &len);

	test_httpd_write_file(docroot, name, body, len);
	free(body);
}

static void
net_setup(void)
{
	cr_assert(fetch_global_init());
	test_httpd_make_docroot(docroot, sizeof docroot, "pw-sources-test");
	copy_fixture("urlset.xml");
	copy_fixture("urlset.xml.gz");
	copy_fixture("bomb.xml.gz");
	test_httpd_start(&httpd, docroot);
}

static void
net_teardown(void)
{
	test_httpd_stop(&httpd);
	test_remove_tree(docroot);
	fetch_global_cleanup();
}

TestSuite(sources_net, .init = net_setup, .fini = net_teardown, .timeout = 30);

static struct fetch_result
get(const char *url)
{
	struct fetch_opts o = { .user_agent = "pricewatch-test", .connect_timeout_ms = 5000, .timeout_ms = 10000,
		.max_body = 16 * 1024 * 1024, .max_redirects = 5 };
	struct fetch_result res;

	memset(&res, 0, sizeof res);
	cr_assert(fetch_url(url, &o, &res), "%s", res.error);
	return res;
}

/* A sitemap index on the server lists a gzip file and a gzip-encoded transfer; both give the same urls. */
Test(sources_net, index_then_children)
{
	struct sitemap_result idx, child;
	struct fetch_result res;
	char err[256], url[128], *index;

	index = xasprintf("<?xml version=\"1.0\"?>\n<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n"
	    "<sitemap><loc>%s/urlset.xml.gz</loc></sitemap>\n<sitemap><loc>%s/gzip/urlset.xml</loc></sitemap>\n"
	    "</sitemapindex>\n", httpd.base_url, httpd.base_url);
	test_httpd_write(docroot, "index.xml", index);
	free(index);
	cr_assert(pw_snprintf(url, sizeof url, "%s/index.xml", httpd.base_url));
	res = get(url);
	cr_assert(sitemap_parse(res.body, res.len, url, NULL, 0, &idx, err, sizeof err), "%s", err);
	fetch_result_free(&res);
	cr_assert_eq(idx.n_sitemaps, 2);
	for (size_t i = 0; i < idx.n_sitemaps; i++) {
		res = get(idx.sitemaps[i]);
		cr_assert(sitemap_parse(res.body, res.len, idx.sitemaps[i], NULL, 0, &child, err, sizeof err), "%s", err);
		fetch_result_free(&res);
		assert_urlset(&child);
		sitemap_result_free(&child);
	}
	sitemap_result_free(&idx);
}

Test(sources_net, served_bomb_is_refused)
{
	struct sitemap_result r;
	struct fetch_result res;
	char err[256], url[128];

	cr_assert(pw_snprintf(url, sizeof url, "%s/bomb.xml.gz", httpd.base_url));
	res = get(url);
	cr_assert_not(sitemap_parse(res.body, res.len, url, NULL, 0, &r, err, sizeof err));
	fetch_result_free(&res);
	cr_assert_not_null(strstr(err, url), "%s", err);
	cr_assert_not_null(strstr(err, "inflates to more than"), "%s", err);
}

/* Follows next-page links from the server until the last page: 3 pages, then "points to the page itself". */
Test(sources_net, next_page_chain)
{
	static const char *const pages[] = { "p1.html", "p2.html", "p3.html" };
	static const char *const links[] = { "p2.html", "/p3.html", "p3.html" };
	char err[256], url[128], *next;
	size_t seen = 0;

	for (size_t i = 0; i < 3; i++) {
		char *html = xasprintf("<html><body><a class=next href=\"%s\">next</a></body></html>", links[i]);
		test_httpd_write(docroot, pages[i], html);
		free(html);
	}
	cr_assert(pw_snprintf(url, sizeof url, "%s/p1.html", httpd.base_url));
	next = xstrdup(url);
	while (next != NULL && seen < 10) {
		struct fetch_result res = get(next);

		seen++;
		free(next);
		next = sources_next_page(res.body, res.len, res.effective_url, "//a[@class='next']", err, sizeof err);
		fetch_result_free(&res);
	}
	cr_assert_eq(seen, 3);
	cr_assert_not_null(strstr(err, "points to the page itself"), "%s", err);
}
