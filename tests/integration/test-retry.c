/* test-retry.c: the retry policy driving real requests: 429 + Retry-After, HTTP-date, 5xx backoff and the attempt cap. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <curl/curl.h>

#include "common/util.h"
#include "crawl/retry.h"
#include "harness/httpd.h"
#include "harness/run.h"

static struct test_httpd httpd;
static char docroot[256];
static const char page[] = "<html><body>kettle 19.99</body></html>\n";

static void
setup(void)
{
	cr_assert_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	test_httpd_make_docroot(docroot, sizeof docroot, "pw-retry-test");
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

TestSuite(retry_net, .init = setup, .fini = teardown, .timeout = 60);

struct reply {
	char body[4096];
	size_t len;
	char retry_after[128];     /* raw header value, "" when absent */
};

static size_t
collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct reply *r = userdata;
	size_t n = size * nmemb;

	if (n > sizeof r->body - 1 - r->len)
		return 0;
	memcpy(r->body + r->len, ptr, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

static size_t
header(char *line, size_t size, size_t nitems, void *userdata)
{
	struct reply *r = userdata;
	size_t n = size * nitems;

	if (n > 12 && strncasecmp(line, "Retry-After:", 12) == 0) {
		size_t vlen = n - 12 < sizeof r->retry_after - 1 ? n - 12 : sizeof r->retry_after - 1;
		memcpy(r->retry_after, line + 12, vlen);
		r->retry_after[vlen] = '\0';   /* OWS and CRLF are the parser's job */
	}
	return n;
}

static CURLcode
get(const char *url, struct reply *r, long *status)
{
	CURL *c = curl_easy_init();
	CURLcode rc;

	cr_assert_not_null(c);
	memset(r, 0, sizeof *r);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	rc = curl_easy_perform(c);
	*status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	return rc;
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* What one fetch with retries did. */
struct run {
	int attempts;
	long statuses[8];
	int64_t delays[8];
	const char *reasons[8];
	const char *final_reason;
	struct reply last;
	CURLcode rc;
};

/* The loop a crawler runs around one URL: fetch, ask the policy, wait, again. */
static void
fetch_with_retries(const char *url, const struct retry_policy *p, uint64_t seed, struct run *run)
{
	struct retry_rng rng;

	memset(run, 0, sizeof *run);
	retry_rng_seed(&rng, seed);
	for (;;) {
		long status;
		struct retry_decision d;

		run->rc = get(url, &run->last, &status);
		cr_assert_lt(run->attempts, 8);
		run->statuses[run->attempts++] = status;
		if (run->rc == CURLE_OK && status >= 200 && status <= 299)
			return;
		d = retry_decide(p, run->attempts, run->rc, status,
		    run->last.retry_after[0] ? run->last.retry_after : NULL, time_now_ms(), &rng);
		run->delays[run->attempts - 1] = d.delay_ms;
		run->reasons[run->attempts - 1] = d.reason;
		if (!d.retry) {
			run->final_reason = d.reason;
			return;
		}
		sleep_ms(d.delay_ms);
	}
}

Test(retry_net, too_many_requests_with_retry_after_seconds)
{
	struct retry_policy p = { .max_attempts = 5, .base_delay_ms = 10, .max_delay_ms = 50 };
	struct run run;
	char *url = xasprintf("%s/retry-after/1/2/page.html", httpd.base_url);

	fetch_with_retries(url, &p, 1, &run);
	cr_assert_eq(run.rc, CURLE_OK);
	cr_assert_eq(run.attempts, 3);
	cr_assert_eq(run.statuses[0], 429);
	cr_assert_eq(run.statuses[1], 429);
	cr_assert_eq(run.statuses[2], 200);
	cr_assert_str_eq(run.last.body, page);
	/* The server's 1 s won over the 50 ms backoff cap. */
	cr_assert_eq(run.delays[0], 1000);
	cr_assert_str_eq(run.reasons[0], "Retry-After");
	cr_assert_eq(run.delays[1], 1000);
	cr_assert_eq(httpd.requests, 3);
	/* Seen from the server: each retry came at least a second after the 429 before it. */
	cr_assert_geq(httpd.request_ms[1] - httpd.request_ms[0], 1000);
	cr_assert_geq(httpd.request_ms[2] - httpd.request_ms[1], 1000);
	free(url);
}

Test(retry_net, too_many_requests_with_an_http_date)
{
	struct retry_policy p = { .max_attempts = 3 };
	struct run run;
	char *url = xasprintf("%s/retry-after-date/1/1/page.html", httpd.base_url);

	fetch_with_retries(url, &p, 1, &run);
	cr_assert_eq(run.rc, CURLE_OK);
	cr_assert_eq(run.attempts, 2);
	cr_assert_eq(run.statuses[0], 429);
	cr_assert_str_eq(run.reasons[0], "Retry-After");
	/* The date has whole seconds: "now + 1 s" is at most a second away. */
	cr_assert(run.delays[0] >= 0 && run.delays[0] <= 1000, "%lld", (long long)run.delays[0]);
	cr_assert_str_eq(run.last.body, page);
	free(url);
}

Test(retry_net, server_errors_back_off_until_the_cap)
{
	struct retry_policy p = { .max_attempts = 3, .base_delay_ms = 20, .max_delay_ms = 40 };
	struct run run;
	char *url = xasprintf("%s/status/503", httpd.base_url);

	fetch_with_retries(url, &p, 99, &run);
	cr_assert_eq(run.attempts, 3);
	cr_assert_eq(run.statuses[2], 503);
	cr_assert_str_eq(run.final_reason, "attempt cap");
	cr_assert(run.delays[0] >= 0 && run.delays[0] <= 20);
	cr_assert(run.delays[1] >= 0 && run.delays[1] <= 40);
	cr_assert_eq(httpd.requests, 3);
	free(url);
}

Test(retry_net, a_long_retry_after_is_not_waited_for)
{
	struct retry_policy p = { .max_attempts = 5, .max_retry_after_ms = 5000 };
	struct run run;
	char *url = xasprintf("%s/retry-after/3600/5", httpd.base_url);

	fetch_with_retries(url, &p, 1, &run);
	cr_assert_eq(run.attempts, 1);
	cr_assert_eq(run.statuses[0], 429);
	cr_assert_str_eq(run.final_reason, "Retry-After beyond the inline limit");
	cr_assert_eq(run.delays[0], 3600000);
	cr_assert_eq(httpd.requests, 1);
	free(url);
}

Test(retry_net, not_found_is_not_retried)
{
	struct run run;
	char *url = xasprintf("%s/missing.html", httpd.base_url);

	fetch_with_retries(url, NULL, 1, &run);
	cr_assert_eq(run.attempts, 1);
	cr_assert_eq(run.statuses[0], 404);
	cr_assert_str_eq(run.final_reason, "not retryable");
	free(url);
}

Test(retry_net, connection_refused_is_retried)
{
	struct retry_policy p = { .max_attempts = 2, .base_delay_ms = 10, .max_delay_ms = 10 };
	struct run run;
	int port = httpd.port;
	char *url;

	test_httpd_stop(&httpd);
	url = xasprintf("http://127.0.0.1:%d/page.html", port);
	fetch_with_retries(url, &p, 1, &run);
	cr_assert_eq(run.rc, CURLE_COULDNT_CONNECT);
	cr_assert_eq(run.attempts, 2);
	cr_assert_str_eq(run.reasons[0], "transport error, backoff");
	cr_assert_str_eq(run.final_reason, "attempt cap");
	free(url);
}
