/* test-retry.c: the retry policy's pure functions: retryable outcomes, Retry-After parsing, seeded full-jitter backoff. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <curl/curl.h>

#include "crawl/retry.h"

/* Sun, 06 Nov 1994 08:49:37 GMT, the example date of RFC 9110. */
#define RFC_DATE_MS INT64_C(784111777000)

Test(retry, rng_is_reproducible_and_bounded)
{
	struct retry_rng a, b;
	bool seen[11] = { false };

	retry_rng_seed(&a, 42);
	retry_rng_seed(&b, 42);
	for (int i = 0; i < 100; i++)
		cr_assert_eq(retry_rng_next(&a), retry_rng_next(&b));
	retry_rng_seed(&b, 43);
	cr_assert_neq(retry_rng_next(&a), retry_rng_next(&b));

	for (int i = 0; i < 2000; i++) {
		int64_t v = retry_rng_uniform(&a, 10);
		cr_assert(v >= 0 && v <= 10, "%lld", (long long)v);
		seen[v] = true;
	}
	for (int i = 0; i <= 10; i++)
		cr_assert(seen[i], "value %d never drawn", i);   /* both ends are reachable: full jitter */
	cr_assert_eq(retry_rng_uniform(&a, 0), 0);
	cr_assert_eq(retry_rng_uniform(&a, -5), 0);
	cr_assert_leq(retry_rng_uniform(&a, INT64_MAX), INT64_MAX);
}

Test(retry, retryable_outcomes)
{
	static const struct {
		int curl;
		long status;
		bool want;
	} rows[] = {
		{ CURLE_COULDNT_CONNECT, 0, true }, { CURLE_OPERATION_TIMEDOUT, 0, true },
		{ CURLE_COULDNT_RESOLVE_HOST, 0, true }, { CURLE_GOT_NOTHING, 0, true },
		{ CURLE_RECV_ERROR, 0, true }, { CURLE_SEND_ERROR, 0, true }, { CURLE_PARTIAL_FILE, 200, true },
		{ CURLE_SSL_CONNECT_ERROR, 0, true },
		{ CURLE_TOO_MANY_REDIRECTS, 302, false }, { CURLE_FILESIZE_EXCEEDED, 200, false },
		{ CURLE_WRITE_ERROR, 200, false }, { CURLE_URL_MALFORMAT, 0, false },
		{ CURLE_PEER_FAILED_VERIFICATION, 0, false }, { CURLE_UNSUPPORTED_PROTOCOL, 0, false },
		{ CURLE_OK, 408, true }, { CURLE_OK, 429, true }, { CURLE_OK, 500, true }, { CURLE_OK, 502, true },
		{ CURLE_OK, 503, true }, { CURLE_OK, 599, true },
		{ CURLE_OK, 200, false }, { CURLE_OK, 304, false }, { CURLE_OK, 400, false },
		{ CURLE_OK, 403, false }, { CURLE_OK, 404, false }, { CURLE_OK, 410, false }, { CURLE_OK, 600, false },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		cr_expect_eq(retry_is_retryable(rows[i].curl, rows[i].status), rows[i].want, "curl %d, HTTP %ld",
		    rows[i].curl, rows[i].status);
}

Test(retry, retry_after_delta_seconds)
{
	int64_t d = -1;

	cr_assert(retry_parse_retry_after("120", 0, &d));
	cr_assert_eq(d, 120000);
	cr_assert(retry_parse_retry_after(" 5 \r\n", 0, &d));
	cr_assert_eq(d, 5000);
	cr_assert(retry_parse_retry_after("0", 0, &d));
	cr_assert_eq(d, 0);
	/* An absurd delta saturates instead of overflowing; the caller's cap refuses it. */
	cr_assert(retry_parse_retry_after("99999999999999999999999999", 0, &d));
	cr_assert_gt(d, INT64_C(1000000000000));
	static const char *const bad[] = { "-1", "1.5", "", "   ", "abc", "120s", "1 2", "+3", "0x10", NULL };
	for (size_t i = 0; bad[i] != NULL; i++)
		cr_expect_not(retry_parse_retry_after(bad[i], 0, &d), "'%s'", bad[i]);
	cr_assert_not(retry_parse_retry_after(NULL, 0, &d));
}

Test(retry, retry_after_http_dates)
{
	int64_t d = -1, t = 0;

	/* The three forms of the same instant (RFC 9110 5.6.7). */
	cr_assert(retry_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", &t));
	cr_assert_eq(t, RFC_DATE_MS);
	cr_assert(retry_parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", &t));
	cr_assert_eq(t, RFC_DATE_MS);
	cr_assert(retry_parse_http_date("Sun Nov  6 08:49:37 1994", &t));
	cr_assert_eq(t, RFC_DATE_MS);
	cr_assert(retry_parse_http_date("Thu, 29 Feb 2024 00:00:00 GMT", &t));
	cr_assert_eq(t, INT64_C(1709164800000));
	cr_assert(retry_parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT", &t));
	cr_assert_eq(t, 0);

	cr_assert(retry_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", RFC_DATE_MS - 30000, &d));
	cr_assert_eq(d, 30000);
	/* A date already past means "now". */
	cr_assert(retry_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", RFC_DATE_MS + 5000, &d));
	cr_assert_eq(d, 0);

	static const char *const bad[] = {
		"Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 31 Feb 1994 08:49:37 GMT",
		"Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT junk", "sun, 06 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 94 08:49:37 GMT", "Wed, 29 Feb 2023 00:00:00 GMT", "Sun, 06 Xyz 1994 08:49:37 GMT",
		"Sunday, 06-Nov-1994 08:49:37 GMT", "Sun Nov 6 08:49:37 1994", "Sun,06 Nov 1994 08:49:37 GMT",
		"1994-11-06T08:49:37Z", "Sun, 06 Nov 1994 08:49 GMT", NULL,
	};
	for (size_t i = 0; bad[i] != NULL; i++)
		cr_expect_not(retry_parse_http_date(bad[i], &t), "'%s'", bad[i]);
	cr_assert_not(retry_parse_http_date(NULL, &t));
}

Test(retry, backoff_ceiling_doubles_up_to_the_cap)
{
	struct retry_policy p = { .max_attempts = 100, .base_delay_ms = 100, .max_delay_ms = 1000 };
	static const int64_t want[] = { 100, 200, 400, 800, 1000, 1000, 1000 };
	struct retry_decision d;

	/* Without a generator the delay is the ceiling itself: the schedule is visible. */
	for (int a = 1; a <= 7; a++) {
		d = retry_decide(&p, a, CURLE_OK, 503, NULL, 0, NULL);
		cr_assert(d.retry);
		cr_assert_eq(d.delay_ms, want[a - 1], "attempt %d: %lld", a, (long long)d.delay_ms);
	}
	d = retry_decide(&p, 99, CURLE_COULDNT_CONNECT, 0, NULL, 0, NULL);
	cr_assert(d.retry);
	cr_assert_eq(d.delay_ms, 1000);
	cr_assert_str_eq(d.reason, "transport error, backoff");
}

Test(retry, full_jitter_with_a_seeded_generator)
{
	struct retry_policy p = { .max_attempts = 10, .base_delay_ms = 100, .max_delay_ms = 1000 };
	struct retry_rng r1, r2;
	int64_t first[8];
	bool below_half = false;

	retry_rng_seed(&r1, 7);
	for (int a = 1; a <= 8; a++) {
		struct retry_decision d = retry_decide(&p, a, CURLE_OK, 429, NULL, 0, &r1);
		int64_t ceiling = a >= 5 ? 1000 : 100 << (a - 1);
		cr_assert(d.retry);
		cr_assert(d.delay_ms >= 0 && d.delay_ms <= ceiling, "attempt %d: %lld", a, (long long)d.delay_ms);
		first[a - 1] = d.delay_ms;
	}
	/* Same seed, same delays. */
	retry_rng_seed(&r2, 7);
	for (int a = 1; a <= 8; a++)
		cr_assert_eq(retry_decide(&p, a, CURLE_OK, 429, NULL, 0, &r2).delay_ms, first[a - 1]);
	/* Full jitter spreads over the whole range, not just the top half. */
	for (int i = 0; i < 200 && !below_half; i++)
		below_half = retry_decide(&p, 6, CURLE_OK, 500, NULL, 0, &r1).delay_ms < 500;
	cr_assert(below_half);
}

Test(retry, retry_after_wins_over_backoff)
{
	struct retry_policy p = { .max_attempts = 5, .base_delay_ms = 100, .max_delay_ms = 1000,
		.max_retry_after_ms = 60000 };
	struct retry_rng rng;
	struct retry_decision d;

	retry_rng_seed(&rng, 1);
	d = retry_decide(&p, 1, CURLE_OK, 429, "3", 0, &rng);
	cr_assert(d.retry);
	cr_assert_eq(d.delay_ms, 3000);            /* beyond the backoff cap, and no jitter */
	cr_assert_str_eq(d.reason, "Retry-After");
	d = retry_decide(&p, 2, CURLE_OK, 503, "Sun, 06 Nov 1994 08:49:37 GMT", RFC_DATE_MS - 1500, &rng);
	cr_assert(d.retry);
	cr_assert_eq(d.delay_ms, 1500);
	/* Too long to wait inline: give up now, and say how long the server asked for. */
	d = retry_decide(&p, 1, CURLE_OK, 429, "3600", 0, &rng);
	cr_assert_not(d.retry);
	cr_assert_eq(d.delay_ms, 3600000);
	cr_assert_str_eq(d.reason, "Retry-After beyond the inline limit");
	/* A value that does not parse falls back to backoff. */
	d = retry_decide(&p, 1, CURLE_OK, 429, "soon", 0, NULL);
	cr_assert(d.retry);
	cr_assert_eq(d.delay_ms, 100);
	/* Retry-After on a status that is not retried changes nothing. */
	d = retry_decide(&p, 1, CURLE_OK, 404, "1", 0, &rng);
	cr_assert_not(d.retry);
	cr_assert_str_eq(d.reason, "not retryable");
}

Test(retry, attempt_cap)
{
	struct retry_policy p = { .max_attempts = 3, .base_delay_ms = 10, .max_delay_ms = 100 };
	struct retry_decision d;

	cr_assert(retry_decide(&p, 1, CURLE_OK, 500, NULL, 0, NULL).retry);
	cr_assert(retry_decide(&p, 2, CURLE_OK, 500, NULL, 0, NULL).retry);
	d = retry_decide(&p, 3, CURLE_OK, 500, NULL, 0, NULL);
	cr_assert_not(d.retry);
	cr_assert_str_eq(d.reason, "attempt cap");
	d = retry_decide(&p, 3, CURLE_OK, 429, "1", 0, NULL);
	cr_assert_not(d.retry);
	cr_assert_str_eq(d.reason, "attempt cap");
	/* Defaults with a NULL policy. */
	cr_assert(retry_decide(NULL, RETRY_DEFAULT_MAX_ATTEMPTS - 1, CURLE_OK, 503, NULL, 0, NULL).retry);
	cr_assert_not(retry_decide(NULL, RETRY_DEFAULT_MAX_ATTEMPTS, CURLE_OK, 503, NULL, 0, NULL).retry);
	cr_assert_eq(retry_decide(NULL, 1, CURLE_OK, 503, NULL, 0, NULL).delay_ms, RETRY_DEFAULT_BASE_MS);
	/* Nonsense attempt counts are treated as the first failure. */
	cr_assert_eq(retry_decide(&p, 0, CURLE_OK, 500, NULL, 0, NULL).delay_ms, 10);
}
