/* test-crawl-engine.c: the multi fetch engine against real fixture servers: robots, per-host delay, Retry-After, 304, stalls, limits, SSRF guard. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <curl/curl.h>

#include "common/util.h"
#include "crawl/multi.h"
#include "harness/httpd.h"
#include "harness/run.h"

#define AGENT "pricewatch/0.1 (+https://example.org/bot)"

static struct test_httpd httpd, httpd2;   /* two hosts: 127.0.0.1 and 127.0.0.2 */
static char docroot[256];
static const char page[] = "<html><body>kettle 19.99</body></html>\n";
static const char *const files[] = {
	"page.html", "a.html", "b.html", "c.html", "d.html", "index.html", "tie.html", "doc.pdf",
};

static void
setup(void)
{
	cr_assert_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	test_httpd_make_docroot(docroot, sizeof docroot, "pw-crawl-engine");
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		test_httpd_write(docroot, files[i], page);
	test_httpd_start(&httpd, docroot);
	test_httpd_start_on(&httpd2, docroot, "127.0.0.2");
}

static void
teardown(void)
{
	test_httpd_stop(&httpd);
	test_httpd_stop(&httpd2);
	test_remove_tree(docroot);
	curl_global_cleanup();
}

TestSuite(crawl_engine, .init = setup, .fini = teardown, .timeout = 60);

/* What the callbacks saw, in completion order. */
struct result {
	char url[256];
	enum crawl_outcome outcome;
	long status;
	size_t len;
	int attempts;
	char etag[80];
	char error[300];
	char body[256];
};
static struct result results[64];
static int n_results;

static void
on_done(void *arg, const struct mfetch_response *resp)
{
	struct result *r;

	(void)arg;
	cr_assert_lt(n_results, 64);
	r = &results[n_results++];
	memset(r, 0, sizeof(*r));
	pw_strlcpy(r->url, resp->url, sizeof r->url);
	r->outcome = resp->outcome;
	r->status = resp->status;
	r->len = resp->len;
	r->attempts = resp->attempts;
	pw_strlcpy(r->etag, resp->etag != NULL ? resp->etag : "", sizeof r->etag);
	pw_strlcpy(r->error, resp->error, sizeof r->error);
	if (resp->body != NULL)
		pw_strlcpy(r->body, resp->body, sizeof r->body);
}

static const struct result *
result_for(const char *url)
{
	for (int i = 0; i < n_results; i++)
		if (strcmp(results[i].url, url) == 0)
			return &results[i];
	cr_assert_fail("no result for %s", url);
	return NULL;
}

static int
result_index(const char *url)
{
	for (int i = 0; i < n_results; i++)
		if (strcmp(results[i].url, url) == 0)
			return i;
	return -1;
}

/* A config with short timeouts, no retries and no delay unless a test asks. */
static struct mfetch_config
base_config(void)
{
	struct mfetch_config mc = {
		.concurrency = 8,
		.max_per_host = 2,
		.per_host_delay_ms = 0,
		.connect_timeout_ms = 2000,
		.timeout_ms = 10000,
		.max_redirects = 5,
		.retries = 0,
		.retry_delay_ms = 100,
		.retry_max_delay_ms = 5000,
		.user_agent = AGENT,
		.respect_robots = true,
	};
	n_results = 0;
	return mc;
}

static void
add(struct mfetch *m, const char *url, const struct mfetch_profile *p, bool untrusted,
    enum mfetch_priority prio, const char *etag)
{
	struct mfetch_request req = {
		.url = url, .profile = p, .priority = prio, .untrusted = untrusted, .etag = etag,
		.done = on_done,
	};

	mfetch_add(m, &req);
}

static void
add_path(struct mfetch *m, const struct test_httpd *h, const char *path, char *url, size_t len)
{
	cr_assert(pw_snprintf(url, len, "%s%s", h->base_url, path));
	add(m, url, NULL, false, MFETCH_PRIO_PAGE, NULL);
}

static void
run_all(struct mfetch *m)
{
	int64_t deadline = time_mono_ms() + 45000;

	while (mfetch_pending(m) > 0 && time_mono_ms() < deadline)
		(void)mfetch_run(m, 50);
	cr_assert_eq(mfetch_pending(m), 0, "the engine did not finish");
}

/* RFC 9309 precedence: the agent's own group, longest match, allow wins a tie, '$' anchors. */
Test(crawl_engine, robots_rules_and_precedence)
{
	struct mfetch_config mc = base_config();
	struct mfetch *m;
	char u[8][128];
	static const char *const paths[] = {
		"/index.html", "/shop/cat.html", "/shop/item1.html", "/tie.html", "/doc.pdf", "/doc.pdf?x=1",
	};

	test_httpd_set_robots(&httpd,
	    200,
	    "User-agent: *\n"
	    "Disallow: /\n"
	    "\n"
	    "User-agent: pricewatch\n"
	    "Disallow: /shop/\n"
	    "Allow: /shop/item\n"
	    "Disallow: /tie\n"
	    "Allow: /tie\n"
	    "Disallow: /*.pdf$\n");
	m = mfetch_new(&mc);
	cr_assert_not_null(m);
	for (size_t i = 0; i < 6; i++)
		add_path(m, &httpd, paths[i], u[i], sizeof u[i]);
	run_all(m);
	cr_assert_eq(n_results, 6);
	cr_assert_eq(result_for(u[0])->outcome, CRAWL_OK, "the pricewatch group replaces '*'");
	cr_assert_eq(result_for(u[1])->outcome, CRAWL_ROBOTS_DENIED);
	cr_assert_eq(result_for(u[2])->outcome, CRAWL_HTTP_4XX, "longer Allow wins: fetched (and 404)");
	cr_assert_eq(result_for(u[3])->outcome, CRAWL_OK, "allow wins a tie");
	cr_assert_eq(result_for(u[4])->outcome, CRAWL_ROBOTS_DENIED, "'$' anchors the end");
	cr_assert_eq(result_for(u[5])->outcome, CRAWL_OK);
	cr_assert_eq(result_for(u[5])->attempts, 1);
	cr_assert_eq(result_for(u[1])->attempts, 0, "a denied URL is never sent");
	/* At the server: robots.txt first and once, denied paths never asked for. */
	cr_assert_eq(test_httpd_find_request(&httpd, "/robots.txt"), 0);
	cr_assert_eq(httpd.requests, 5);
	cr_assert_eq(test_httpd_find_request(&httpd, "/shop/cat.html"), -1);
	cr_assert_eq(test_httpd_find_request(&httpd, "/doc.pdf"), -1);
	cr_assert_neq(test_httpd_find_request(&httpd, "/doc.pdf?x=1"), -1);
	mfetch_free(m);
}

/* 5xx robots.txt: disallow all (RFC 9309 2.3.1.4); 404: allow all; another host is not affected. */
Test(crawl_engine, robots_unreachable_and_missing)
{
	struct mfetch_config mc = base_config();
	struct mfetch *m = mfetch_new(&mc);
	char u1[128], u2[128];

	test_httpd_set_robots(&httpd, 503, "");
	add_path(m, &httpd, "/page.html", u1, sizeof u1);
	add_path(m, &httpd2, "/page.html", u2, sizeof u2);   /* docroot has no robots.txt: 404 */
	run_all(m);
	cr_assert_eq(result_for(u1)->outcome, CRAWL_ROBOTS_DENIED);
	cr_assert_eq(result_for(u2)->outcome, CRAWL_OK);
	cr_assert_eq(httpd.requests, 1, "only robots.txt was asked for");
	cr_assert_eq(httpd2.requests, 2);
	mfetch_free(m);
}

/* Arrival gaps at the server: a lower bound only (half the delay, room for a slow accept under load). */
static void
assert_gaps(const struct test_httpd *h, int first, int last, long long min_gap)
{
	for (int i = first + 1; i <= last; i++)
		cr_assert_geq(h->request_ms[i] - h->request_ms[i - 1], min_gap,
		    "requests %d and %d arrived %lld ms apart", i - 1, i, h->request_ms[i] - h->request_ms[i - 1]);
}

Test(crawl_engine, per_host_delay_measured_at_the_server)
{
	struct mfetch_config mc = base_config();
	struct mfetch *m;
	char u[4][128];
	static const char *const paths[] = { "/a.html", "/b.html", "/c.html", "/d.html" };

	mc.per_host_delay_ms = 300;
	mc.max_per_host = 4;
	mc.respect_robots = false;
	m = mfetch_new(&mc);
	for (int i = 0; i < 4; i++)
		add_path(m, &httpd, paths[i], u[i], sizeof u[i]);
	run_all(m);
	cr_assert_eq(httpd.requests, 4);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(result_for(u[i])->outcome, CRAWL_OK);
	assert_gaps(&httpd, 0, 3, 300 / 2);   /* without the delay they would arrive together */
	mfetch_free(m);
}

/* Crawl-delay raises the configured delay; the per-source override applies to its requests. */
Test(crawl_engine, crawl_delay_raises_the_delay)
{
	struct mfetch_config mc = base_config();
	struct mfetch_profile p = { .user_agent = AGENT, .per_host_delay_ms = 0 };
	struct mfetch *m;
	char u[3][128];

	mc.per_host_delay_ms = 5000;   /* overridden to 0 by the profile, then raised by robots */
	mc.max_per_host = 4;
	test_httpd_set_robots(&httpd, 200, "User-agent: *\nCrawl-delay: 0.4\n");
	m = mfetch_new(&mc);
	for (int i = 0; i < 3; i++) {
		cr_assert(pw_snprintf(u[i], sizeof u[i], "%s/%c.html", httpd.base_url, 'a' + i));
		add(m, u[i], &p, false, MFETCH_PRIO_PAGE, NULL);
	}
	run_all(m);
	cr_assert_eq(httpd.requests, 4);
	cr_assert_eq(test_httpd_find_request(&httpd, "/robots.txt"), 0);
	assert_gaps(&httpd, 1, 3, 400 / 2);
	mfetch_free(m);
}

Test(crawl_engine, retry_after_is_waited_for)
{
	struct mfetch_config mc = base_config();
	struct mfetch *m;
	char u[128];

	mc.retries = 2;
	mc.respect_robots = false;
	m = mfetch_new(&mc);
	add_path(m, &httpd, "/retry-after/1/1/page.html", u, sizeof u);
	run_all(m);
	cr_assert_eq(result_for(u)->outcome, CRAWL_OK);
	cr_assert_eq(result_for(u)->attempts, 2);
	cr_assert_str_eq(result_for(u)->body, page);
	cr_assert_eq(httpd.requests, 2);
	cr_assert_geq(httpd.request_ms[1] - httpd.request_ms[0], 900, "the client came back after %lld ms",
	    httpd.request_ms[1] - httpd.request_ms[0]);
	mfetch_free(m);
}

Test(crawl_engine, retries_5xx_up_to_the_cap)
{
	struct mfetch_config mc = base_config();
	struct mfetch *m;
	char u[128], u404[128];

	mc.retries = 2;
	mc.retry_delay_ms = 10;
	mc.respect_robots = false;
	m = mfetch_new(&mc);
	add_path(m, &httpd, "/status/503", u, sizeof u);
	add_path(m, &httpd2, "/status/404", u404, sizeof u404);
	run_all(m);
	cr_assert_eq(result_for(u)->outcome, CRAWL_HTTP_5XX);
	cr_assert_eq(result_for(u)->attempts, 3);
	cr_assert_eq(httpd.requests, 3);
	cr_assert_eq(result_for(u404)->outcome, CRAWL_HTTP_4XX);
	cr_assert_eq(result_for(u404)->attempts, 1, "a 404 is not retried");
	cr_assert_not_null(strstr(result_for(u404)->error, "HTTP 404"), "%s", result_for(u404)->error);
	mfetch_free(m);
}

Test(crawl_engine, conditional_get_gives_not_modified)
{
	struct mfetch_config mc = base_config();
	struct mfetch *m;
	char u[128], etag[80];

	mc.respect_robots = false;
	m = mfetch_new(&mc);
	add_path(m, &httpd, "/etag/page.html", u, sizeof u);
	run_all(m);
	cr_assert_eq(result_for(u)->outcome, CRAWL_OK);
	cr_assert_neq(result_for(u)->etag[0], '\0');
	pw_strlcpy(etag, result_for(u)->etag, sizeof etag);
	n_results = 0;
	add(m, u, NULL, false, MFETCH_PRIO_PAGE, etag);
	run_all(m);
	cr_assert_eq(result_for(u)->outcome, CRAWL_NOT_MODIFIED);
	cr_assert_eq(result_for(u)->len, 0);
	cr_assert_eq(httpd.not_modified, 1);
	cr_assert_eq(httpd.request_conditional[0], 0);
	cr_assert_eq(httpd.request_conditional[1], 1);
	mfetch_free(m);
}

/* One host that never answers holds its own slot; the other host's pages all finish first. */
Test(crawl_engine, hanging_host_does_not_stall_others)
{
	struct mfetch_config mc = base_config();
	struct mfetch *m;
	char hang[128], u[4][128];
	int hang_at;

	mc.concurrency = 2;
	mc.max_per_host = 1;
	mc.timeout_ms = 4000;
	mc.respect_robots = false;
	m = mfetch_new(&mc);
	add_path(m, &httpd, "/hang", hang, sizeof hang);
	for (int i = 0; i < 4; i++) {
		char path[32];

		cr_assert(pw_snprintf(path, sizeof path, "/%c.html", 'a' + i));
		add_path(m, &httpd2, path, u[i], sizeof u[i]);
	}
	run_all(m);
	cr_assert_eq(n_results, 5);
	hang_at = result_index(hang);
	cr_assert_eq(hang_at, 4, "the hanging request finished last (at %d)", hang_at);
	cr_assert_eq(results[hang_at].outcome, CRAWL_TIMEOUT);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(result_for(u[i])->outcome, CRAWL_OK);
	mfetch_free(m);
}

Test(crawl_engine, body_and_speed_limits_abort)
{
	struct mfetch_config mc = base_config();
	struct mfetch *m;
	char big[128], ok[128], img[128], drip[128];

	mc.max_body = 4096;
	mc.max_image_body = 1000;
	mc.low_speed_limit = 100;
	mc.low_speed_time_ms = 1000;
	mc.respect_robots = false;
	m = mfetch_new(&mc);
	add_path(m, &httpd, "/big/100000", big, sizeof big);
	add_path(m, &httpd, "/page.html", ok, sizeof ok);
	cr_assert(pw_snprintf(img, sizeof img, "%s/big/2000", httpd2.base_url));
	add(m, img, NULL, false, MFETCH_PRIO_IMAGE, NULL);
	add_path(m, &httpd2, "/drip/200", drip, sizeof drip);   /* 5 bytes/s, for ever */
	run_all(m);
	cr_assert_eq(result_for(big)->outcome, CRAWL_TOO_LARGE);
	cr_assert_not_null(strstr(result_for(big)->error, "exceeds 4096 bytes"), "%s", result_for(big)->error);
	cr_assert_eq(result_for(ok)->outcome, CRAWL_OK);
	cr_assert_eq(result_for(img)->outcome, CRAWL_TOO_LARGE, "images have their own limit");
	cr_assert_eq(result_for(drip)->outcome, CRAWL_TIMEOUT);
	cr_assert_not_null(strstr(result_for(drip)->error, "too slow"), "%s", result_for(drip)->error);
	mfetch_free(m);
}

/* Page-supplied URLs to loopback are refused before connect (robots.txt too) unless the profile allows it. */
Test(crawl_engine, ssrf_guard_on_untrusted_urls)
{
	struct mfetch_config mc = base_config();
	struct mfetch_profile closed = { .per_host_delay_ms = -1 };
	struct mfetch_profile open = { .per_host_delay_ms = -1, .guard = { .allow_loopback = true } };
	struct mfetch *m = mfetch_new(&mc);
	char blocked[128], allowed[128], trusted[128];

	cr_assert(pw_snprintf(blocked, sizeof blocked, "%s/a.html", httpd.base_url));
	cr_assert(pw_snprintf(allowed, sizeof allowed, "%s/b.html", httpd2.base_url));
	add(m, blocked, &closed, true, MFETCH_PRIO_PAGE, NULL);
	add(m, allowed, &open, true, MFETCH_PRIO_PAGE, NULL);
	run_all(m);
	cr_assert_eq(result_for(blocked)->outcome, CRAWL_BLOCKED_BY_GUARD);
	cr_assert_not_null(strstr(result_for(blocked)->error, "127.0.0.1 is loopback"), "%s",
	    result_for(blocked)->error);
	cr_assert_eq(httpd.requests, 0, "nothing reached the guarded host");
	cr_assert_eq(result_for(allowed)->outcome, CRAWL_OK);
	/* The same host from configuration (trusted) is fetched. */
	n_results = 0;
	cr_assert(pw_snprintf(trusted, sizeof trusted, "%s/c.html", httpd.base_url));
	add(m, trusted, &closed, false, MFETCH_PRIO_PAGE, NULL);
	run_all(m);
	cr_assert_eq(result_for(trusted)->outcome, CRAWL_OK);
	cr_assert_eq(httpd.requests, 2, "robots.txt and the page");
	mfetch_free(m);
}

Test(crawl_engine, gzip_redirects_and_bad_urls)
{
	struct mfetch_config mc = base_config();
	struct mfetch *m;
	char gz[128], loop[128], ok[128];

	mc.max_redirects = 3;
	mc.respect_robots = false;
	m = mfetch_new(&mc);
	add_path(m, &httpd, "/gzip/page.html", gz, sizeof gz);
	add_path(m, &httpd, "/redirect/10", loop, sizeof loop);
	add_path(m, &httpd2, "/redirect/2", ok, sizeof ok);
	add(m, "gopher://example.org/", NULL, false, MFETCH_PRIO_PAGE, NULL);
	add(m, "file:///etc/passwd", NULL, true, MFETCH_PRIO_PAGE, NULL);
	run_all(m);
	cr_assert_eq(result_for(gz)->outcome, CRAWL_OK);
	cr_assert_str_eq(result_for(gz)->body, page, "decoded");
	cr_assert_eq(result_for(loop)->outcome, CRAWL_ERROR);
	cr_assert_eq(result_for(ok)->outcome, CRAWL_OK, "two redirects, to / (index.html): followed");
	cr_assert_eq(result_for("gopher://example.org/")->outcome, CRAWL_ERROR);
	cr_assert_eq(result_for("file:///etc/passwd")->outcome, CRAWL_ERROR, "a page may not name a local file");
	mfetch_free(m);
}

/* The global limit holds, and pages go before images. */
Test(crawl_engine, concurrency_and_priorities)
{
	struct mfetch_config mc = base_config();
	struct mfetch_counts counts;
	struct mfetch *m;
	char img[128], pg[4][128];

	mc.concurrency = 1;
	mc.respect_robots = false;
	m = mfetch_new(&mc);
	cr_assert(pw_snprintf(img, sizeof img, "%s/page.html?img", httpd.base_url));
	add(m, img, NULL, false, MFETCH_PRIO_IMAGE, NULL);
	for (int i = 0; i < 4; i++) {
		char path[32];

		cr_assert(pw_snprintf(path, sizeof path, "/slow/50/%c.html", 'a' + i));
		add_path(m, &httpd, path, pg[i], sizeof pg[i]);
	}
	run_all(m);
	mfetch_counts(m, &counts);
	cr_assert_eq(counts.peak_running, 1);
	cr_assert_eq(n_results, 5);
	cr_assert_eq(result_index(img), 4, "the image waited for the pages");
	mfetch_free(m);
}

/* A source's User-Agent (robots group included), extra headers and cookie file reach the server. */
Test(crawl_engine, profile_agent_headers_and_cookies)
{
	struct mfetch_config mc = base_config();
	struct mfetch_profile p = { .user_agent = "shopbot/2.0", .per_host_delay_ms = -1 };
	struct curl_slist *hdrs = curl_slist_append(NULL, "X-Test: yes");
	char cookies[512], a[128], b[128], line[256];
	struct mfetch *m;
	FILE *f;
	int ia, ib;

	cr_assert_not_null(hdrs);
	cr_assert(pw_snprintf(cookies, sizeof cookies, "%s/cookies.txt", docroot));
	f = fopen(cookies, "w");
	cr_assert_not_null(f);
	cr_assert(pw_snprintf(line, sizeof line, "127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\tabc\n"));
	fputs("# Netscape HTTP Cookie File\n", f);
	fputs(line, f);
	cr_assert_eq(fclose(f), 0);
	p.headers = hdrs;
	p.cookie_file = cookies;
	test_httpd_set_robots(&httpd, 200, "User-agent: shopbot\nDisallow: /b.html\n\nUser-agent: *\nDisallow: /a.html\n");
	m = mfetch_new(&mc);
	cr_assert(pw_snprintf(a, sizeof a, "%s/a.html", httpd.base_url));
	cr_assert(pw_snprintf(b, sizeof b, "%s/b.html", httpd.base_url));
	add(m, a, &p, false, MFETCH_PRIO_PAGE, NULL);
	add(m, b, &p, false, MFETCH_PRIO_PAGE, NULL);
	run_all(m);
	cr_assert_eq(result_for(a)->outcome, CRAWL_OK, "the shopbot group applies, not '*'");
	cr_assert_eq(result_for(b)->outcome, CRAWL_ROBOTS_DENIED);
	ia = test_httpd_find_request(&httpd, "/a.html");
	cr_assert_geq(ia, 0);
	cr_assert_str_eq(httpd.request_agent[ia], "shopbot/2.0");
	cr_assert_str_eq(httpd.request_x_test[ia], "yes");
	cr_assert_str_eq(httpd.request_cookie[ia], "session=abc");
	/* Without the profile: the engine's agent, no extra header, and '*' denies a.html. */
	n_results = 0;
	add(m, b, NULL, false, MFETCH_PRIO_PAGE, NULL);
	add(m, a, NULL, false, MFETCH_PRIO_PAGE, NULL);
	run_all(m);
	cr_assert_eq(result_for(a)->outcome, CRAWL_ROBOTS_DENIED);
	cr_assert_eq(result_for(b)->outcome, CRAWL_OK);
	ib = test_httpd_find_request(&httpd, "/b.html");
	cr_assert_geq(ib, 0);
	cr_assert_str_eq(httpd.request_agent[ib], AGENT);
	cr_assert_str_eq(httpd.request_x_test[ib], "");
	mfetch_free(m);
	curl_slist_free_all(hdrs);
	unlink(cookies);
}
