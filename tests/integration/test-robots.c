/* test-robots.c: robots.txt fetched from the fixture server: the body or the status decides, as RFC 9309 2.3.1 says. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/util.h"
#include "crawl/fetch.h"
#include "crawl/robots.h"
#include "harness/httpd.h"

static struct test_httpd httpd;
static char docroot[256];
static const char robots_txt[] =
    "User-agent: pricewatch\n"
    "Disallow: /checkout/\n"
    "Crawl-delay: 2\n"
    "\n"
    "User-agent: *\n"
    "Disallow: /\n";

static void
setup(void)
{
	char path[512];
	FILE *f;

	cr_assert(fetch_global_init());
	pw_strlcpy(docroot, "/tmp/pw-robots-test-XXXXXX", sizeof docroot);
	cr_assert_not_null(mkdtemp(docroot));
	cr_assert(pw_snprintf(path, sizeof path, "%s/robots.txt", docroot));
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(robots_txt, 1, sizeof robots_txt - 1, f), sizeof robots_txt - 1);
	cr_assert_eq(fclose(f), 0);
	test_httpd_start(&httpd, docroot);
}

static void
teardown(void)
{
	char path[512];

	test_httpd_stop(&httpd);
	if (pw_snprintf(path, sizeof path, "%s/robots.txt", docroot))
		unlink(path);
	rmdir(docroot);
	fetch_global_cleanup();
}

TestSuite(robots_net, .init = setup, .fini = teardown, .timeout = 30);

/* Fetches robots_url as the crawler would and builds the rules from the outcome. */
static struct robots *
fetch_robots(const char *robots_url)
{
	struct fetch_opts o = { .user_agent = "pricewatch/1.0", .timeout_ms = 500, .max_redirects = 5,
		.max_body = ROBOTS_MAX_BYTES + 1 };
	struct fetch_result r;
	struct robots *rb;

	fetch_url(robots_url, &o, &r);
	rb = robots_from_fetch(r.status, r.body, r.len);
	fetch_result_free(&r);
	return rb;
}

Test(robots_net, served_file_is_parsed)
{
	char *page = xasprintf("%s/shop/kettle.html?id=7", httpd.base_url);
	char *robots_url = robots_url_for(page);
	char *want = xasprintf("%s/robots.txt", httpd.base_url);
	struct robots *r;

	cr_assert_str_eq(robots_url, want);
	r = fetch_robots(robots_url);
	cr_assert(robots_allowed(r, "pricewatch/1.0", page));
	cr_assert_not(robots_allowed(r, "pricewatch/1.0", "/checkout/cart"));
	cr_assert_not(robots_allowed(r, "otherbot", page));
	cr_assert_eq(robots_crawl_delay_ms(r, "pricewatch/1.0"), 2000);
	cr_assert_eq(httpd.requests, 1);
	robots_free(r);
	free(want);
	free(robots_url);
	free(page);
}

Test(robots_net, missing_file_allows_everything)
{
	char *url = xasprintf("%s/status/404", httpd.base_url);
	struct robots *r = fetch_robots(url);

	cr_assert(robots_allowed(r, "pricewatch", "/checkout/cart"));
	cr_assert(robots_allowed(r, "otherbot", "/"));
	robots_free(r);
	free(url);
	url = xasprintf("%s/status/403", httpd.base_url);
	r = fetch_robots(url);
	cr_assert(robots_allowed(r, "pricewatch", "/anything"));
	robots_free(r);
	free(url);
}

Test(robots_net, server_errors_and_silence_disallow_everything)
{
	static const char *const paths[] = { "/status/503", "/status/500", "/retry-after/5/9", "/hang" };

	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		char *url = xasprintf("%s%s", httpd.base_url, paths[i]);
		struct robots *r = fetch_robots(url);
		cr_expect_not(robots_allowed(r, "pricewatch", "/shop/kettle.html"), "%s", paths[i]);
		cr_expect(robots_allowed(r, "pricewatch", "/robots.txt"), "%s", paths[i]);
		robots_free(r);
		free(url);
	}
}

Test(robots_net, unreachable_host_disallows_everything)
{
	int port = httpd.port;
	char *url;
	struct robots *r;

	test_httpd_stop(&httpd);
	url = xasprintf("http://127.0.0.1:%d/robots.txt", port);
	r = fetch_robots(url);
	cr_assert_not(robots_allowed(r, "pricewatch", "/"));
	robots_free(r);
	free(url);
}

Test(robots_net, redirect_is_followed)
{
	char *url = xasprintf("%s/redirect-to/%s/robots.txt", httpd.base_url, httpd.base_url);
	struct robots *r = fetch_robots(url);

	cr_assert_not(robots_allowed(r, "pricewatch", "/checkout/x"));
	cr_assert(robots_allowed(r, "pricewatch", "/shop/"));
	robots_free(r);
	free(url);
}
