/* test-fetch.c: fetch_url against the real fixture HTTP server on 127.0.0.1 and against file:// URLs. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/util.h"
#include "crawl/fetch.h"
#include "tests/harness/httpd.h"
#include "tests/harness/run.h"

static struct test_httpd httpd;
static char docroot[256];

static const char page_html[] =
    "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Kettle</title></head>"
    "<body><h1>Stovetop Kettle 2L</h1><p class=\"price\">$19.99</p></body></html>\n";
static const char index_html[] = "<html><body>fixture index</body></html>\n";

#define BIG_SIZE 100000

static void
setup(void)
{
	char *big;

	cr_assert(fetch_global_init());
	test_httpd_make_docroot(docroot, sizeof docroot, "pw-fetch-test");
	test_httpd_write(docroot, "page.html", page_html);
	test_httpd_write(docroot, "index.html", index_html);
	big = xmalloc(BIG_SIZE);
	memset(big, 'b', BIG_SIZE);
	test_httpd_write_file(docroot, "big.txt", big, BIG_SIZE);
	free(big);
	test_httpd_start(&httpd, docroot);
}

static void
teardown(void)
{
	test_httpd_stop(&httpd);
	test_remove_tree(docroot);
	fetch_global_cleanup();
}

TestSuite(fetch, .init = setup, .fini = teardown);

static struct fetch_opts
opts_default(void)
{
	return (struct fetch_opts){
		.user_agent = "pricewatch-test/1",
		.connect_timeout_ms = 5000,
		.timeout_ms = 10000,
		.max_body = 8 * 1024 * 1024,
		.max_redirects = 5,
	};
}

/* Builds base_url + path; the caller frees. */
static char *
url_for(const char *path)
{
	return xasprintf("%s%s", httpd.base_url, path);
}

Test(fetch, ok_200_with_body_and_content_type)
{
	struct fetch_opts o = opts_default();
	struct fetch_result r;
	char *url = url_for("/page.html");

	cr_assert(fetch_url(url, &o, &r), "%s", r.error);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.len, sizeof page_html - 1);
	cr_assert_str_eq(r.body, page_html);
	cr_assert_str_eq(r.content_type, "text/html; charset=utf-8");
	cr_assert_str_eq(r.effective_url, url);
	cr_assert_eq(r.error[0], '\0');
	fetch_result_free(&r);
	cr_assert_null(r.body);
	cr_assert_geq(httpd.requests, 1);
	free(url);
}

Test(fetch, not_found_names_the_url)
{
	struct fetch_opts o = opts_default();
	struct fetch_result r;
	char *url = url_for("/missing.html");
	char *want = xasprintf("%s: HTTP 404", url);

	cr_assert_not(fetch_url(url, &o, &r));
	cr_assert_eq(r.status, 404);
	cr_assert_null(r.body);
	cr_assert_str_eq(r.error, want);
	fetch_result_free(&r);
	free(want);
	free(url);
}

Test(fetch, server_error_status_is_filled)
{
	struct fetch_opts o = opts_default();
	struct fetch_result r;
	char *url = url_for("/status/503");

	cr_assert_not(fetch_url(url, &o, &r));
	cr_assert_eq(r.status, 503);
	cr_assert_not_null(strstr(r.error, "HTTP 503"), "%s", r.error);
	fetch_result_free(&r);
	free(url);
}

Test(fetch, hang_times_out_and_names_the_url)
{
	struct fetch_opts o = opts_default();
	struct fetch_result r;
	char *url = url_for("/hang");
	char *want = xasprintf("%s: timed out after 300 ms", url);

	o.timeout_ms = 300;
	cr_assert_not(fetch_url(url, &o, &r));
	cr_assert_null(r.body);
	cr_assert_eq(r.status, 0);
	cr_assert_str_eq(r.error, want);
	fetch_result_free(&r);
	free(want);
	free(url);
}

Test(fetch, slow_answer_within_the_timeout_succeeds)
{
	struct fetch_opts o = opts_default();
	struct fetch_result r;
	char *url = url_for("/slow/100/page.html");

	cr_assert(fetch_url(url, &o, &r), "%s", r.error);
	cr_assert_str_eq(r.body, page_html);
	fetch_result_free(&r);
	free(url);
}

Test(fetch, max_body_with_content_length)
{
	struct fetch_opts o = opts_default();
	struct fetch_result r;
	char *url = url_for("/big.txt");
	char *want = xasprintf("%s: body exceeds 10240 bytes", url);

	o.max_body = 10240;
	cr_assert_not(fetch_url(url, &o, &r));
	cr_assert_null(r.body);
	cr_assert_str_eq(r.error, want);
	fetch_result_free(&r);

	/* The same file under a limit it fits exactly. */
	o.max_body = BIG_SIZE;
	cr_assert(fetch_url(url, &o, &r), "%s", r.error);
	cr_assert_eq(r.len, BIG_SIZE);
	cr_assert_eq(r.body[0], 'b');
	cr_assert_eq(r.body[BIG_SIZE - 1], 'b');
	cr_assert_eq(r.body[BIG_SIZE], '\0');
	fetch_result_free(&r);
	free(want);
	free(url);
}

Test(fetch, max_body_without_content_length_is_cut_by_the_callback)
{
	struct fetch_opts o = opts_default();
	struct fetch_result r;
	char *url = url_for("/big/3000000");
	char *want = xasprintf("%s: body exceeds 65536 bytes", url);

	o.max_body = 65536;
	cr_assert_not(fetch_url(url, &o, &r));
	cr_assert_null(r.body);
	cr_assert_str_eq(r.error, want);
	fetch_result_free(&r);
	free(want);
	free(url);
}

Test(fetch, default_max_body_applies_when_unset)
{
	struct fetch_opts o = opts_default();
	struct fetch_result r;
	char *url = url_for("/big/9000000");
	char *want = xasprintf("%s: body exceeds 8388608 bytes", url);

	o.max_body = 0;
	cr_assert_not(fetch_url(url, &o, &r));
	cr_assert_str_eq(r.error, want);
	fetch_result_free(&r);
	free(want);
	free(url);
}

Test(fetch, redirect_chain_within_the_limit)
{
	struct fetch_opts o = opts_default();
	struct fetch_result r;
	char *url = url_for("/redirect/3");
	char *final = url_for("/");

	o.max_redirects = 3;
	cr_assert(fetch_url(url, &o, &r), "%s", r.error);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, index_html);
	cr_assert_str_eq(r.effective_url, final);
	fetch_result_free(&r);
	free(final);
	free(url);
}

Test(fetch, redirect_chain_beyond_the_limit)
{
	struct fetch_opts o = opts_default();
	struct fetch_result r;
	char *url = url_for("/redirect/4");

	o.max_redirects = 3;
	cr_assert_not(fetch_url(url, &o, &r));
	cr_assert_null(r.body);
	cr_assert_eq(strncmp(r.error, url, strlen(url)), 0, "%s", r.error);
	cr_assert_not_null(strstr(r.error, "edirect"), "%s", r.error);
	fetch_result_free(&r);

	/* max_redirects 0: the first redirect is already too many. */
	o.max_redirects = 0;
	cr_assert_not(fetch_url(url, &o, &r));
	cr_assert_eq(strncmp(r.error, url, strlen(url)), 0, "%s", r.error);
	fetch_result_free(&r);
	free(url);
}

Test(fetch, file_url_is_read)
{
	struct fetch_opts o = opts_default();
	struct fetch_result r;
	char *url = xasprintf("file://%s/page.html", docroot);

	cr_assert(fetch_url(url, &o, &r), "%s", r.error);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(r.body, page_html);
	fetch_result_free(&r);
	free(url);

	url = xasprintf("file://%s/nonexistent.html", docroot);
	cr_assert_not(fetch_url(url, &o, &r));
	cr_assert_eq(strncmp(r.error, url, strlen(url)), 0, "%s", r.error);
	fetch_result_free(&r);
	free(url);
}

Test(fetch, redirect_to_file_url_is_refused)
{
	struct fetch_opts o = opts_default();
	struct fetch_result r;
	char *url = xasprintf("%s/redirect-to/file://%s/page.html", httpd.base_url, docroot);

	cr_assert_not(fetch_url(url, &o, &r));
	cr_assert_null(r.body);
	cr_assert_eq(strncmp(r.error, url, strlen(url)), 0, "%s", r.error);
	fetch_result_free(&r);
	free(url);
}

Test(fetch, other_protocols_are_refused)
{
	struct fetch_opts o = opts_default();
	struct fetch_result r;
	char *url = xasprintf("ftp://127.0.0.1:%d/page.html", httpd.port);

	cr_assert_not(fetch_url(url, &o, &r));
	cr_assert_eq(strncmp(r.error, url, strlen(url)), 0, "%s", r.error);
	cr_assert_eq(httpd.requests, 0);
	fetch_result_free(&r);
	free(url);
}

Test(fetch, gzip_body_is_decoded)
{
	struct fetch_opts o = opts_default();
	struct fetch_result r;
	char *url = url_for("/gzip/page.html");

	cr_assert(fetch_url(url, &o, &r), "%s", r.error);
	cr_assert_eq(r.len, sizeof page_html - 1);
	cr_assert_str_eq(r.body, page_html);
	fetch_result_free(&r);
	free(url);
}

Test(fetch, path_traversal_is_forbidden)
{
	struct fetch_opts o = opts_default();
	struct fetch_result r;
	char *url = url_for("/%2e%2e/%2e%2e/etc/passwd");

	cr_assert_not(fetch_url(url, &o, &r));
	cr_assert_eq(r.status, 403);
	fetch_result_free(&r);
	free(url);
}

Test(fetch, connection_refused_names_the_url)
{
	struct fetch_opts o = opts_default();
	struct fetch_result r;
	char *url;
	int port = httpd.port;

	/* A port nobody listens on any more: stop the server first. */
	test_httpd_stop(&httpd);
	url = xasprintf("http://127.0.0.1:%d/page.html", port);
	cr_assert_not(fetch_url(url, &o, &r));
	cr_assert_eq(r.status, 0);
	cr_assert_eq(strncmp(r.error, url, strlen(url)), 0, "%s", r.error);
	cr_assert_gt(strlen(r.error), strlen(url) + 2);
	fetch_result_free(&r);
	free(url);
}

Test(fetch, null_opts_use_defaults)
{
	struct fetch_result r;
	char *url = url_for("/page.html");

	cr_assert(fetch_url(url, NULL, &r), "%s", r.error);
	cr_assert_str_eq(r.body, page_html);
	fetch_result_free(&r);
	free(url);
}
