/* test-crawl-source.c: whole-source crawls (crawler_crawl_source and "pricewatch crawl") against redis-server and two fixture hosts. */
#include <config.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <json-c/json.h>

#include "common/config.h"
#include "common/util.h"
#include "daemon/crawler.h"
#include "harness/cli-run.h"
#include "harness/httpd.h"
#include "harness/redis.h"
#include "harness/run.h"
#include "store/store.h"

struct fixture {
	char dir[256], docroot[320], conf[320];
	struct test_redis redis;
	struct test_httpd web, web2;   /* 127.0.0.1 and 127.0.0.2 */
	struct store *st;
	struct config cfg;
	bool cfg_loaded;
};

static struct fixture fx;

/* A product page (JSON-LD) whose optional next link goes to next_url. */
static void
write_product(const char *name, const char *sku, const char *price, const char *next_url)
{
	char *html = xasprintf(
	    "<html><head><script type=\"application/ld+json\">"
	    "{\"@context\":\"https://schema.org\",\"@type\":\"Product\",\"name\":\"Kettle %s\","
	    "\"sku\":\"%s\",\"image\":\"/img/%s.webp\",\"offers\":{\"@type\":\"Offer\",\"price\":\"%s\","
	    "\"priceCurrency\":\"EUR\",\"availability\":\"https://schema.org/InStock\"}}"
	    "</script></head><body><h1>Kettle</h1>%s%s%s</body></html>",
	    sku, sku, sku, price, next_url != NULL ? "<a class=\"next\" href=\"" : "",
	    next_url != NULL ? next_url : "", next_url != NULL ? "\">next</a>" : "");

	test_httpd_write(fx.docroot, name, html);
	free(html);
}

static void
setup(void)
{
	struct store_opts so;
	char err[512];

	memset(&fx, 0, sizeof fx);
	cr_assert_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	pw_strlcpy(fx.dir, "/tmp/pw-crawl-source-XXXXXX", sizeof fx.dir);
	cr_assert_not_null(mkdtemp(fx.dir));
	cr_assert(pw_snprintf(fx.docroot, sizeof fx.docroot, "%s/www", fx.dir));
	cr_assert_eq(mkdir(fx.docroot, 0755), 0);
	cr_assert(pw_snprintf(fx.conf, sizeof fx.conf, "%s/pricewatch.conf", fx.dir));
	test_redis_start(&fx.redis);
	test_httpd_start(&fx.web, fx.docroot);
	test_httpd_start_on(&fx.web2, fx.docroot, "127.0.0.2");
	memset(&so, 0, sizeof so);
	so.url = fx.redis.url;
	so.prefix = "pw:";
	so.connect_timeout_ms = 2000;
	so.command_timeout_ms = 2000;
	cr_assert_eq(store_open(&fx.st, &so, err, sizeof err), STORE_OK, "%s", err);
}

static void
teardown(void)
{
	if (fx.cfg_loaded)
		config_free(&fx.cfg);
	store_close(fx.st);
	test_httpd_stop(&fx.web);
	test_httpd_stop(&fx.web2);
	test_redis_stop(&fx.redis);
	test_remove_tree(fx.dir);
	curl_global_cleanup();
}

TestSuite(crawl_source, .init = setup, .fini = teardown, .timeout = 60);

/* Writes the config: [crawl] without delays or retries, then source "s" with the given lines. */
static void
load_config(const char *source_lines)
{
	FILE *f = fopen(fx.conf, "w");
	char err[512];

	cr_assert_not_null(f);
	fprintf(f, "[redis]\nurl = %s\n\n[daemon]\nstate-dir = %s/state\n\n"
	    "[crawl]\ntimeout = 5s\nconnect-timeout = 2s\nper-host-delay = 0s\nretries = 0\n\n"
	    "[source \"s\"]\ninterval = 1h\n%s\n", fx.redis.url, fx.dir, source_lines);
	cr_assert_eq(fclose(f), 0);
	if (fx.cfg_loaded)
		config_free(&fx.cfg);
	cr_assert(config_load(&fx.cfg, fx.conf, err, sizeof err), "%s", err);
	fx.cfg_loaded = true;
}

/* What the watch saw. */
struct seen {
	int pages, failed;
	enum crawl_outcome outcome[32];
	char url[32][200];
	int listings;
};

static void
seen_page(void *arg, const struct crawler_page_report *p)
{
	struct seen *s = arg;

	if (s->pages < 32) {
		s->outcome[s->pages] = p->outcome;
		pw_strlcpy(s->url[s->pages], p->url, sizeof s->url[0]);
	}
	s->pages++;
	if (p->outcome != CRAWL_OK && p->outcome != CRAWL_NOT_MODIFIED)
		s->failed++;
}

static void
seen_listing(void *arg, const struct observation *obs)
{
	(void)obs;
	((struct seen *)arg)->listings++;
}

static enum crawl_outcome
outcome_of(const struct seen *s, const char *url)
{
	for (int i = 0; i < s->pages && i < 32; i++)
		if (strcmp(s->url[i], url) == 0)
			return s->outcome[i];
	cr_assert_fail("%s was not reported", url);
	return CRAWL_ERROR;
}

static bool
crawl(struct crawler *c, struct store *st, struct seen *s)
{
	struct crawler_watch w = { .page = seen_page, .listing = seen_listing, .arg = s };
	volatile sig_atomic_t stop = 0;
	char err[512];

	memset(s, 0, sizeof(*s));
	return crawler_crawl_source(c, st, "s", &w, &stop, err, sizeof err);
}

/* The second crawl gets a 304: listings are touched, nothing is parsed or recorded again. */
Test(crawl_source, not_modified_touches_without_reparsing)
{
	struct crawler *c;
	struct listing l;
	struct seen s;
	char *lines = NULL;
	int64_t first_seen, before;

	write_product("p.html", "K-1", "19.99", NULL);
	lines = xasprintf("url = %s/etag/p.html\n", fx.web.base_url);
	load_config(lines);
	free(lines);
	c = crawler_new(&fx.cfg);
	cr_assert(crawl(c, fx.st, &s));
	cr_assert_eq(crawler_stats(c)->records, 1);
	cr_assert_eq(store_get_listing(fx.st, "s:sku:K-1", &l), STORE_OK);
	cr_assert_eq(l.price.minor, 1999);
	first_seen = l.last_seen_ms;
	store_listing_free(&l);

	usleep(20 * 1000);
	before = time_now_ms();
	cr_assert(crawl(c, fx.st, &s));
	cr_assert_eq(s.pages, 1);
	cr_assert_eq(s.outcome[0], CRAWL_NOT_MODIFIED);
	cr_assert_eq(fx.web.not_modified, 1, "the server answered 304");
	cr_assert_eq(crawler_stats(c)->not_modified, 1);
	cr_assert_eq(crawler_stats(c)->records, 1, "nothing was parsed or recorded again");
	cr_assert_eq(s.listings, 0, "no listing extracted from a 304");
	cr_assert_eq(store_get_listing(fx.st, "s:sku:K-1", &l), STORE_OK);
	cr_assert_geq(l.last_seen_ms, before, "last seen moved");
	cr_assert_gt(l.last_seen_ms, first_seen);
	store_listing_free(&l);
	crawler_free(c);
}

/* A next-page link to 127.0.0.1 on a page of another host is refused; allow-private lets it through. */
Test(crawl_source, guard_blocks_page_supplied_loopback_link)
{
	struct crawler *c;
	const struct crawl_host_counts *hc;
	struct seen s;
	char *next = xasprintf("%s/p2.html", fx.web.base_url), *start = xasprintf("%s/p1.html", fx.web2.base_url);
	char *lines, host[64];
	size_t n, i;
	bool found = false;

	write_product("p1.html", "K-1", "19.99", next);
	write_product("p2.html", "K-2", "29.99", NULL);
	lines = xasprintf("url = %s\nnext-page = //a[@class='next']/@href\n", start);
	load_config(lines);
	free(lines);
	c = crawler_new(&fx.cfg);
	cr_assert_not(crawl(c, NULL, &s));
	cr_assert_eq(s.pages, 2);
	cr_assert_eq(outcome_of(&s, start), CRAWL_OK);
	cr_assert_eq(outcome_of(&s, next), CRAWL_BLOCKED_BY_GUARD);
	cr_assert_eq(fx.web.requests, 0, "nothing reached 127.0.0.1");
	cr_assert_eq(s.listings, 1);
	/* Counted per (source, host). */
	cr_assert(pw_snprintf(host, sizeof host, "127.0.0.1:%d", fx.web.port));
	hc = crawler_outcomes(c, &n);
	for (i = 0; i < n; i++)
		if (strcmp(hc[i].source, "s") == 0 && strcmp(hc[i].host, host) == 0) {
			cr_assert_eq(hc[i].count[CRAWL_BLOCKED_BY_GUARD], 1);
			found = true;
		}
	cr_assert(found, "no outcome counted for %s", host);
	crawler_free(c);

	lines = xasprintf("url = %s\nnext-page = //a[@class='next']/@href\nallow-private = yes\n", start);
	load_config(lines);
	free(lines);
	c = crawler_new(&fx.cfg);
	cr_assert(crawl(c, NULL, &s));
	cr_assert_eq(outcome_of(&s, next), CRAWL_OK);
	cr_assert_eq(s.listings, 2);
	crawler_free(c);
	free(next);
	free(start);
}

/* Templates and a filtered sitemap feed the crawl; max-pages caps it; robots.txt is obeyed. */
Test(crawl_source, templates_sitemaps_robots_and_max_pages)
{
	struct crawler *c;
	struct seen s;
	char *lines, *sitemap;

	for (int i = 1; i <= 6; i++) {
		char name[32], sku[32];

		cr_assert(pw_snprintf(name, sizeof name, "p%d.html", i));
		cr_assert(pw_snprintf(sku, sizeof sku, "K-%d", i));
		write_product(name, sku, "9.50", NULL);
	}
	sitemap = xasprintf("<?xml version=\"1.0\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">"
	    "<url><loc>%s/p5.html</loc></url><url><loc>%s/about.html</loc></url>"
	    "<url><loc>%s/p6.html</loc></url></urlset>\n", fx.web.base_url, fx.web.base_url, fx.web.base_url);
	test_httpd_write(fx.docroot, "sitemap.xml", sitemap);
	free(sitemap);
	test_httpd_set_robots(&fx.web, 200, "User-agent: *\nDisallow: /p6.html\n");
	lines = xasprintf("url = %s/p{1..3}.html\nsitemap = %s/sitemap.xml\nsitemap-filter = /p[0-9]+\\.html$\n"
	    "allow-private = yes\n", fx.web.base_url, fx.web.base_url);
	load_config(lines);
	free(lines);
	c = crawler_new(&fx.cfg);
	cr_assert_not(crawl(c, fx.st, &s), "p6 is disallowed: the crawl reports it");
	cr_assert_eq(s.pages, 6, "sitemap + p1..p3 + p5 + p6");
	cr_assert_eq(s.listings, 4);
	{
		char u[128];

		cr_assert(pw_snprintf(u, sizeof u, "%s/p6.html", fx.web.base_url));
		cr_assert_eq(outcome_of(&s, u), CRAWL_ROBOTS_DENIED);
		cr_assert(pw_snprintf(u, sizeof u, "%s/sitemap.xml", fx.web.base_url));
		cr_assert_eq(outcome_of(&s, u), CRAWL_OK);
	}
	cr_assert_eq(test_httpd_find_request(&fx.web, "/about.html"), -1, "filtered out of the sitemap");
	cr_assert_eq(test_httpd_find_request(&fx.web, "/p6.html"), -1);
	crawler_free(c);

	/* max-pages = 2: two of the template's pages, nothing else. */
	lines = xasprintf("url = %s/p{1..3}.html\nmax-pages = 2\n", fx.web.base_url);
	load_config(lines);
	free(lines);
	c = crawler_new(&fx.cfg);
	cr_assert(crawl(c, NULL, &s));
	cr_assert_eq(s.pages, 2);
	crawler_free(c);
}

/* The image sink is asked per listing and gets the bytes, fetched through the engine. */
struct sink_log {
	int wanted, delivered;
	size_t len;
	char error[200];
};

static bool
sink_want(void *arg, const char *source, const char *listing_id, const char *image_url)
{
	struct sink_log *l = arg;

	cr_assert_str_eq(source, "s");
	cr_assert_str_eq(listing_id, "s:sku:K-1");
	cr_assert_not_null(strstr(image_url, "/img/K-1.webp"));
	l->wanted++;
	return true;
}

static void
sink_deliver(void *arg, const char *source, const char *listing_id, const char *image_url,
    const unsigned char *body, size_t len, const char *error)
{
	struct sink_log *l = arg;

	(void)source;
	(void)listing_id;
	(void)image_url;
	l->delivered++;
	l->len = body != NULL ? len : 0;
	pw_strlcpy(l->error, error != NULL ? error : "", sizeof l->error);
}

/* Crawls source "s" configured by source_lines with the logging image sink (log is reset first). */
static void
crawl_with_sink(struct sink_log *log, const char *source_lines)
{
	struct crawler_image_sink sink = { .want = sink_want, .deliver = sink_deliver, .arg = log };
	struct crawler *c;
	struct seen s;

	memset(log, 0, sizeof *log);
	load_config(source_lines);
	c = crawler_new(&fx.cfg);
	crawler_set_image_sink(c, &sink);
	cr_assert(crawl(c, fx.st, &s));
	crawler_free(c);
}

Test(crawl_source, image_sink_gets_the_image)
{
	struct sink_log log;
	char *lines;

	write_product("p.html", "K-1", "19.99", NULL);
	test_httpd_write(fx.docroot, "img/K-1.webp", "RIFF0000WEBPVP8 fake image bytes");
	lines = xasprintf("url = %s/p.html\nallow-private = yes\n", fx.web.base_url);
	crawl_with_sink(&log, lines);
	free(lines);
	cr_assert_eq(log.wanted, 1);
	cr_assert_eq(log.delivered, 1);
	cr_assert_str_eq(log.error, "");
	cr_assert_eq(log.len, strlen("RIFF0000WEBPVP8 fake image bytes"));
}

/* A file: shop page (a configured start URL) may load file: images below its own directory, nothing else. */
Test(crawl_source, file_page_images_only_from_its_own_tree)
{
	static const char page[] = "<html><head><script type=\"application/ld+json\">"
	    "{\"@type\":\"Product\",\"name\":\"Kettle\",\"sku\":\"K-1\",\"image\":\"%s\","
	    "\"offers\":{\"price\":\"19.99\",\"priceCurrency\":\"EUR\"}}</script></head></html>";
	struct sink_log log;
	char *lines, *html;

	test_httpd_write(fx.docroot, "shop/img/K-1.webp", "RIFF0000WEBPVP8 inside the shop");
	test_httpd_write(fx.docroot, "img/K-1.webp", "RIFF0000WEBPVP8 outside the shop");
	html = xasprintf(page, "img/K-1.webp");
	test_httpd_write(fx.docroot, "shop/in.html", html);
	free(html);
	html = xasprintf(page, "../img/K-1.webp");
	test_httpd_write(fx.docroot, "shop/out.html", html);
	free(html);

	lines = xasprintf("url = file://%s/shop/in.html\n", fx.docroot);
	crawl_with_sink(&log, lines);
	free(lines);
	cr_assert_eq(log.delivered, 1);
	cr_assert_str_eq(log.error, "");
	cr_assert_eq(log.len, strlen("RIFF0000WEBPVP8 inside the shop"));

	lines = xasprintf("url = file://%s/shop/out.html\n", fx.docroot);
	crawl_with_sink(&log, lines);
	free(lines);
	cr_assert_eq(log.delivered, 1);
	cr_assert_eq(log.len, 0);
	cr_assert_not_null(strstr(log.error, "file: URLs only as configured start URLs"), "%s", log.error);
}

/* "pricewatch crawl SOURCE --once": plain lines, JSON, unknown source, and a failing URL. */
Test(crawl_source, cli_crawl_once)
{
	char *out = NULL, *err = NULL, *lines;
	struct json_object *root, *pages, *listings, *first, *v;
	int rc;

	write_product("p.html", "K-1", "19.99", NULL);
	lines = xasprintf("url = %s/p.html, %s/status/404\n", fx.web.base_url, fx.web.base_url);
	load_config(lines);
	free(lines);
	{
		const char *argv[] = { "pricewatch", "-c", fx.conf, "crawl", "s", "--once", "--dry-run" };

		rc = test_cli_run(7, argv, &out, &err, NULL);
	}
	cr_assert_eq(rc, 4, "a failed URL makes exit status 4: %s", err);
	cr_assert_not_null(strstr(out, "s:sku:K-1"), "%s", out);
	cr_assert_not_null(strstr(out, "19.99 EUR"), "%s", out);
	cr_assert_not_null(strstr(out, "http_4xx"), "%s", out);
	cr_assert_not_null(strstr(out, "/status/404: HTTP 404"), "%s", out);
	cr_assert_not_null(strstr(out, "1 URL(s) fetched, 1 failed, 1 listing(s) found (dry run"), "%s", out);
	free(out);
	free(err);
	cr_assert_eq(store_get_listing(fx.st, "s:sku:K-1", &(struct listing){ 0 }), STORE_NOT_FOUND,
	    "a dry run stores nothing");

	{
		const char *argv[] = { "pricewatch", "-c", fx.conf, "crawl", "s", "--once", "--json" };

		rc = test_cli_run(7, argv, &out, &err, NULL);
	}
	cr_assert_eq(rc, 4);
	root = json_tokener_parse(out);
	cr_assert_not_null(root, "not JSON: %s", out);
	cr_assert(json_object_object_get_ex(root, "pages", &pages));
	cr_assert_eq(json_object_array_length(pages), 2);
	cr_assert(json_object_object_get_ex(root, "listings", &listings));
	cr_assert_eq(json_object_array_length(listings), 1);
	first = json_object_array_get_idx(listings, 0);
	cr_assert(json_object_object_get_ex(first, "price", &v));
	cr_assert_str_eq(json_object_get_string(v), "19.99");
	cr_assert(json_object_object_get_ex(root, "ok", &v));
	cr_assert_not(json_object_get_boolean(v));
	json_object_put(root);
	free(out);
	free(err);
	{
		struct listing l;

		cr_assert_eq(store_get_listing(fx.st, "s:sku:K-1", &l), STORE_OK, "stored without --dry-run");
		store_listing_free(&l);
	}

	{
		const char *argv[] = { "pricewatch", "-c", fx.conf, "crawl", "nope", "--once" };

		rc = test_cli_run(6, argv, &out, &err, NULL);
	}
	cr_assert_eq(rc, 1);
	cr_assert_not_null(strstr(err, "no source \"nope\""), "%s", err);
	free(out);
	free(err);
}

/*
 * The daemon's loop runs several jobs at once on the engine: a source whose
 * page never answers is still in flight (no failure yet, 30 s timeout) when
 * the other source's listing is already stored; stopping hands it back.
 */
Test(crawl_source, jobs_run_concurrently_and_stop_hands_back)
{
	FILE *f = fopen(fx.conf, "w");
	volatile sig_atomic_t stop = 0;
	struct crawler *c;
	struct listing l;
	char err[512];
	int64_t deadline;
	bool stored = false;

	write_product("p.html", "K-9", "5.00", NULL);
	cr_assert_not_null(f);
	fprintf(f, "[redis]\nurl = %s\n\n[daemon]\nstate-dir = %s/state\n\n"
	    "[crawl]\ntimeout = 30s\nper-host-delay = 0s\nretries = 0\n\n"
	    "[source \"slow\"]\nurl = %s/hang\ninterval = 1h\n\n"
	    "[source \"fast\"]\nurl = %s/p.html\ninterval = 1h\n",
	    fx.redis.url, fx.dir, fx.web.base_url, fx.web2.base_url);
	cr_assert_eq(fclose(f), 0);
	cr_assert(config_load(&fx.cfg, fx.conf, err, sizeof err), "%s", err);
	fx.cfg_loaded = true;
	c = crawler_new(&fx.cfg);
	crawler_due_now(c);
	deadline = time_mono_ms() + 20000;
	while (!stored && time_mono_ms() < deadline) {
		(void)crawler_run_due(c, fx.st, &stop);
		if (store_get_listing(fx.st, "fast:sku:K-9", &l) == STORE_OK) {
			store_listing_free(&l);
			stored = true;
		}
	}
	cr_assert(stored, "the fast source waited for the hanging one");
	cr_assert_eq(crawler_stats(c)->fetches_failed, 0, "the hanging page is still in flight");
	cr_assert_eq(crawler_stats(c)->jobs_claimed, 2);
	cr_assert_eq(crawler_stats(c)->jobs_acked, 1);
	stop = 1;
	(void)crawler_run_due(c, fx.st, &stop);
	cr_assert_eq(crawler_stats(c)->jobs_released, 1, "the unfinished job was handed back");
	crawler_leave(c, fx.st);
	crawler_free(c);
}

/* Next-page links are followed across pages, and a loop (p1 -> p2 -> p1) ends. */
Test(crawl_source, next_page_chain_and_loop)
{
	char *p1 = xasprintf("%s/p1.html", fx.web.base_url), *p2 = xasprintf("%s/p2.html", fx.web.base_url);
	char *lines = xasprintf("url = %s\nnext-page = //a[@class='next']/@href\nallow-private = yes\n", p1);
	struct crawler *c;
	struct seen s;

	write_product("p1.html", "K-1", "1.00", "p2.html");   /* relative: resolved against the page */
	write_product("p2.html", "K-2", "2.00", p1);
	load_config(lines);
	c = crawler_new(&fx.cfg);
	cr_assert(crawl(c, NULL, &s));
	cr_assert_eq(s.pages, 2);
	cr_assert_eq(outcome_of(&s, p2), CRAWL_OK);
	cr_assert_eq(s.listings, 2);
	cr_assert_eq(fx.web.requests, 3, "robots.txt, p1, p2; p1 not again");
	crawler_free(c);
	free(lines);
	free(p1);
	free(p2);
}

/* robots.txt goes through Redis: a second crawler (another daemon) does not fetch it again. */
Test(crawl_source, robots_txt_is_shared_through_redis)
{
	char *lines = xasprintf("url = %s/p.html, %s/private/x.html\n", fx.web.base_url, fx.web.base_url);
	struct crawler *c1, *c2;
	struct seen s;
	int robots = 0;

	write_product("p.html", "K-1", "3.00", NULL);
	test_httpd_set_robots(&fx.web, 200, "User-agent: *\nDisallow: /private/\n");
	load_config(lines);
	free(lines);
	c1 = crawler_new(&fx.cfg);
	c2 = crawler_new(&fx.cfg);
	cr_assert_not(crawl(c1, fx.st, &s));
	cr_assert_eq(s.failed, 1, "the private page is denied");
	cr_assert_not(crawl(c2, fx.st, &s));
	cr_assert_eq(s.failed, 1, "denied again, from the cached rules");
	for (int i = 0; i < fx.web.requests && i < 64; i++)
		if (strcmp(fx.web.request_path[i], "/robots.txt") == 0)
			robots++;
	cr_assert_eq(robots, 1, "robots.txt fetched once for both crawlers");
	cr_assert_eq(test_httpd_find_request(&fx.web, "/private/x.html"), -1);
	crawler_free(c1);
	crawler_free(c2);
}
