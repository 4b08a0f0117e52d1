/* retry.h: when a failed fetch is tried again and after how long (backoff with full jitter, Retry-After, attempt cap). */
#ifndef PW_CRAWL_RETRY_H
#define PW_CRAWL_RETRY_H

#include <stdbool.h>
#include <stdint.h>

/* Defaults for fields left at zero. */
#define RETRY_DEFAULT_MAX_ATTEMPTS 4
#define RETRY_DEFAULT_BASE_MS 500
#define RETRY_DEFAULT_MAX_DELAY_MS 30000
#define RETRY_DEFAULT_MAX_RETRY_AFTER_MS (10 * 60 * 1000)

struct retry_policy {
	int max_attempts;          /* tries in all, the first included */
	int64_t base_delay_ms;     /* backoff ceiling after the first failure; doubles per failure */
	int64_t max_delay_ms;      /* the ceiling never exceeds this */
	int64_t max_retry_after_ms; /* a longer Retry-After is not waited for inline: give up, reschedule */
};

/* A small seeded generator (splitmix64), so tests can reproduce the jitter. */
struct retry_rng {
	uint64_t state;
};

void retry_rng_seed(struct retry_rng *rng, uint64_t seed);
uint64_t retry_rng_next(struct retry_rng *rng);
/* Uniform in [0, bound] (inclusive); bound < 0 gives 0. */
int64_t retry_rng_uniform(struct retry_rng *rng, int64_t bound);

/*
 * Is this outcome worth another try? curl_code is the CURLcode of the transfer
 * (0 = the transfer worked and status is the HTTP status). Retried: connection and
 * transport errors (refused, reset, timeouts, DNS failure, empty reply, partial
 * body, TLS handshake) and HTTP 408, 429 and 5xx. Not retried: anything we aborted
 * ourselves (body too large, too many redirects, write errors), bad URLs,
 * certificate problems and other statuses. A connection refused by the SSRF guard
 * also shows as CURLE_COULDNT_CONNECT: check the guard report first.
 */
bool retry_is_retryable(int curl_code, long status);

/*
 * Parses a Retry-After value: delta-seconds ("120") or an HTTP-date in any of the
 * three forms RFC 9110 5.6.7 makes recipients accept (IMF-fixdate "Sun, 06 Nov 1994
 * 08:49:37 GMT", RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT", asctime "Sun Nov  6
 * 08:49:37 1994"). Strict: anything else is false. A date in the past gives 0.
 */
bool retry_parse_retry_after(const char *value, int64_t now_ms, int64_t *delay_ms);

/* Parses an HTTP-date (the three forms above) into epoch milliseconds. */
bool retry_parse_http_date(const char *value, int64_t *epoch_ms);

struct retry_decision {
	bool retry;
	int64_t delay_ms;          /* wait before the next try; also set when a too-long Retry-After ended it */
	const char *reason;        /* static text for logs: "HTTP 429, Retry-After", "attempt cap", ... */
};

/*
 * Decides after attempts (>= 1) tries have failed with (curl_code, status).
 * retry_after is the raw header value or NULL. A valid Retry-After on a retryable
 * outcome wins over the backoff; otherwise the delay is full jitter: uniform in
 * [0, min(max_delay, base * 2^(attempts-1))]. policy may be NULL for the defaults.
 */
struct retry_decision retry_decide(const struct retry_policy *policy, int attempts, int curl_code,
    long status, const char *retry_after, int64_t now_ms, struct retry_rng *rng);

#endif
