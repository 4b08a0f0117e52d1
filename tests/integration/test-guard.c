/* test-guard.c: the SSRF guard on real connections through libcurl to the fixture server on 127.0.0.1. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <curl/curl.h>

#include "common/util.h"
#include "crawl/fetch.h"
#include "crawl/guard.h"
#include "harness/httpd.h"
#include "harness/run.h"

static struct test_httpd httpd;
static char docroot[256];
static const char page[] = "<html><body>kettle 19.99</body></html>\n";

static void
setup(void)
{
	cr_assert_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	test_httpd_make_docroot(docroot, sizeof docroot, "pw-guard-test");
	test_httpd_write(docroot, "page.html", page);
	test_httpd_start(&httpd, docroot);
}

static void
teardown(void)
{
	test_httpd_stop(&httpd);
	test_remove_tree(docroot);
	curl_global_cleanup();
}

TestSuite(guard_net, .init = setup, .fini = teardown, .timeout = 30);

struct body {
	char data[4096];
	size_t len;
};

static size_t
collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct body *b = userdata;
	size_t n = size * nmemb;

	if (n > sizeof b->data - 1 - b->len)
		return 0;
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* One GET through the guard; resolve (may be NULL) pins a name the way CURLOPT_RESOLVE does. */
static CURLcode
guarded_get(const char *url, const struct guard_policy *policy, const char *resolve, struct body *b,
    long *status)
{
	struct curl_slist *pins = NULL;
	CURL *c = curl_easy_init();
	CURLcode rc;

	cr_assert_not_null(c);
	memset(b, 0, sizeof *b);
	cr_assert_eq(guard_install(c, policy), CURLE_OK);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	if (resolve != NULL) {
		pins = curl_slist_append(NULL, resolve);
		curl_easy_setopt(c, CURLOPT_RESOLVE, pins);
	}
	rc = curl_easy_perform(c);
	*status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	curl_slist_free_all(pins);
	return rc;
}

Test(guard_net, loopback_refused_before_connecting)
{
	struct guard_report report = { 0 };
	struct guard_policy policy = { .report = &report };
	struct body b;
	long status;
	char *url = xasprintf("%s/page.html", httpd.base_url);

	cr_assert_eq(guarded_get(url, &policy, NULL, &b, &status), CURLE_COULDNT_CONNECT);
	cr_assert_eq(status, 0);
	cr_assert_eq(b.len, 0);
	cr_assert_geq(report.refused, 1);
	cr_assert_str_eq(report.reason, "blocked by the SSRF guard: 127.0.0.1 is loopback");
	/* The server never saw a request: the socket was refused before connect(). */
	cr_assert_eq(httpd.requests, 0);
	free(url);
}

Test(guard_net, loopback_allowed_by_the_policy)
{
	struct guard_report report = { 0 };
	struct guard_policy policy = { .allow_loopback = true, .report = &report };
	struct body b;
	long status;
	char *url = xasprintf("%s/page.html", httpd.base_url);

	cr_assert_eq(guarded_get(url, &policy, NULL, &b, &status), CURLE_OK);
	cr_assert_eq(status, 200);
	cr_assert_str_eq(b.data, page);
	cr_assert_eq(report.refused, 0);
	cr_assert_str_eq(report.reason, "");
	cr_assert_eq(httpd.requests, 1);
	free(url);
}

/* An allowed page redirects to the metadata address: the second connection is refused. */
Test(guard_net, redirect_to_metadata_is_refused)
{
	struct guard_report report = { 0 };
	struct guard_policy policy = { .allow_loopback = true, .allow_link_local = true, .report = &report };
	struct body b;
	long status;
	char *url = xasprintf("%s/redirect-to/http://169.254.169.254/latest/meta-data/", httpd.base_url);

	cr_assert_eq(guarded_get(url, &policy, NULL, &b, &status), CURLE_COULDNT_CONNECT);
	cr_assert_eq(report.refused, 1);
	cr_assert_str_eq(report.reason, "blocked by the SSRF guard: 169.254.169.254 is a cloud metadata address");
	cr_assert_eq(httpd.requests, 1);
	free(url);
}

/* A harmless-looking name that resolves (here: is pinned) to loopback, as DNS rebinding would do. */
Test(guard_net, name_resolving_to_loopback_is_refused)
{
	struct guard_report report = { 0 };
	struct guard_policy policy = { .report = &report };
	struct body b;
	long status;
	char *url = xasprintf("http://shop.example:%d/page.html", httpd.port);
	char *pin = xasprintf("shop.example:%d:127.0.0.1", httpd.port);

	cr_assert_eq(guarded_get(url, &policy, pin, &b, &status), CURLE_COULDNT_CONNECT);
	cr_assert_str_eq(report.reason, "blocked by the SSRF guard: 127.0.0.1 is loopback");
	cr_assert_eq(httpd.requests, 0);
	free(url);
	free(pin);

	/* The same through the other loopback spellings curl accepts. */
	url = xasprintf("http://2130706433:%d/page.html", httpd.port);
	report.refused = 0;
	cr_assert_eq(guarded_get(url, &policy, NULL, &b, &status), CURLE_COULDNT_CONNECT);
	cr_assert_eq(report.refused, 1);
	free(url);
	url = xasprintf("http://localhost:%d/page.html", httpd.port);
	report.refused = 0;
	cr_assert_eq(guarded_get(url, &policy, NULL, &b, &status), CURLE_COULDNT_CONNECT);
	cr_assert_geq(report.refused, 1);   /* ::1 and 127.0.0.1 both refused */
	cr_assert_eq(httpd.requests, 0);
	free(url);
}

/* The pre-check and the connection check agree on the fixture's URL. */
Test(guard_net, check_url_agrees)
{
	struct guard_policy none = { 0 }, lo = { .allow_loopback = true };
	char err[256];
	char *url = xasprintf("%s/page.html", httpd.base_url);
	char *want = xasprintf("%s: blocked by the SSRF guard: 127.0.0.1 is loopback", url);

	cr_assert_eq(guard_check_url(url, &none, err, sizeof err), GUARD_BLOCKED);
	cr_assert_str_eq(err, want);
	cr_assert_eq(guard_check_url(url, &lo, err, sizeof err), GUARD_ALLOWED);
	free(want);
	free(url);
}

/* fetch_url with the optional guard: the error names the URL and the reason. */
Test(guard_net, fetch_url_with_a_guard)
{
	struct guard_report report = { 0 };
	struct guard_policy none = { .report = &report }, lo = { .allow_loopback = true };
	struct fetch_opts o = { .timeout_ms = 10000, .max_redirects = 3, .guard = &none };
	struct fetch_result r;
	char *url = xasprintf("%s/page.html", httpd.base_url);
	char *want = xasprintf("%s: blocked by the SSRF guard: 127.0.0.1 is loopback", url);

	cr_assert_not(fetch_url(url, &o, &r));
	cr_assert_str_eq(r.error, want);
	cr_assert_eq(r.status, 0);
	cr_assert_null(r.body);
	cr_assert_eq(report.refused, 1);
	cr_assert_eq(httpd.requests, 0);
	fetch_result_free(&r);

	o.guard = &lo;
	cr_assert(fetch_url(url, &o, &r), "%s", r.error);
	cr_assert_str_eq(r.body, page);
	fetch_result_free(&r);

	/* Allowed start, refused redirect target: the error still names the URL asked for. */
	free(url);
	url = xasprintf("%s/redirect-to/http://10.0.0.1/", httpd.base_url);
	cr_assert_not(fetch_url(url, &o, &r));
	cr_assert_not_null(strstr(r.error, ": blocked by the SSRF guard: 10.0.0.1 is a private address"), "%s",
	    r.error);
	cr_assert_eq(strncmp(r.error, url, strlen(url)), 0, "%s", r.error);
	fetch_result_free(&r);

	/* No guard: behaviour unchanged. */
	free(url);
	url = xasprintf("%s/page.html", httpd.base_url);
	o.guard = NULL;
	cr_assert(fetch_url(url, &o, &r), "%s", r.error);
	cr_assert_str_eq(r.body, page);
	fetch_result_free(&r);
	free(want);
	free(url);
}
