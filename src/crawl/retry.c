/* retry.c: the retry policy as pure functions: which outcomes retry, backoff with full jitter, Retry-After parsing. */
#include "config.h"

#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "crawl/retry.h"

void
retry_rng_seed(struct retry_rng *rng, uint64_t seed)
{
	rng->state = seed;
}

uint64_t
retry_rng_next(struct retry_rng *rng)
{
	uint64_t z = (rng->state += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

int64_t
retry_rng_uniform(struct retry_rng *rng, int64_t bound)
{
	uint64_t range, limit, x;

	if (bound <= 0)
		return 0;
	range = (uint64_t)bound + 1;
	/* Rejection sampling: no modulo bias, whatever the bound. */
	limit = UINT64_MAX - UINT64_MAX % range;
	do
		x = retry_rng_next(rng);
	while (x >= limit);
	return (int64_t)(x % range);
}

bool
retry_is_retryable(int curl_code, long status)
{
	if (curl_code != CURLE_OK) {
		switch (curl_code) {
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
		case CURLE_COULDNT_CONNECT:
		case CURLE_OPERATION_TIMEDOUT:
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_GOT_NOTHING:
		case CURLE_PARTIAL_FILE:
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
		case CURLE_WEIRD_SERVER_REPLY:
			return true;
		default:
			return false;
		}
	}
	return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

/* ---- HTTP-date ---- */

static const char *const wkday_short[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
static const char *const wkday_long[] = {
	"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
};
static const char *const month_names[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
days_in_month(int64_t y, int m)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dim[m - 1];
}

/* A cursor over the text being parsed; each step consumes exactly what it matched. */
struct cur {
	const char *p;
};

static bool
lit(struct cur *c, const char *s)
{
	size_t n = strlen(s);

	if (strncmp(c->p, s, n) != 0)
		return false;
	c->p += n;
	return true;
}

/* Exactly n digits. */
static bool
digits(struct cur *c, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (c->p[i] < '0' || c->p[i] > '9')
			return false;
		v = v * 10 + (c->p[i] - '0');
	}
	c->p += n;
	*out = v;
	return true;
}

static bool
name_of(struct cur *c, const char *const *names, size_t n, int *index)
{
	for (size_t i = 0; i < n; i++)
		if (lit(c, names[i])) {
			*index = (int)i;
			return true;
		}
	return false;
}

/* "HH:MM:SS" */
static bool
clock_time(struct cur *c, int *h, int *m, int *s)
{
	return digits(c, 2, h) && lit(c, ":") && digits(c, 2, m) && lit(c, ":") && digits(c, 2, s);
}

static bool
to_epoch(int64_t year, int month, int day, int h, int m, int s, int64_t *ms)
{
	if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) ||
	    h > 23 || m > 59 || s > 60)    /* 60: a leap second is a valid clock reading */
		return false;
	*ms = ((days_from_civil(year, month, day) * 24 + h) * 60 + m) * 60 * 1000 + (int64_t)s * 1000;
	return true;
}

bool
retry_parse_http_date(const char *value, int64_t *epoch_ms)
{
	struct cur c = { value };
	int wd, day, mon, year, h, m, s;

	if (value == NULL)
		return false;
	/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
	if (name_of(&c, wkday_short, 7, &wd) && lit(&c, ", ")) {
		if (digits(&c, 2, &day) && lit(&c, " ") && name_of(&c, month_names, 12, &mon) && lit(&c, " ") &&
		    digits(&c, 4, &year) && lit(&c, " ") && clock_time(&c, &h, &m, &s) && lit(&c, " GMT") &&
		    *c.p == '\0')
			return to_epoch(year, mon + 1, day, h, m, s, epoch_ms);
		return false;
	}
	/* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"; two-digit years within 50 years of 2000. */
	c.p = value;
	if (name_of(&c, wkday_long, 7, &wd) && lit(&c, ", ")) {
		if (digits(&c, 2, &day) && lit(&c, "-") && name_of(&c, month_names, 12, &mon) && lit(&c, "-") &&
		    digits(&c, 2, &year) && lit(&c, " ") && clock_time(&c, &h, &m, &s) && lit(&c, " GMT") &&
		    *c.p == '\0')
			return to_epoch(year < 50 ? 2000 + year : 1900 + year, mon + 1, day, h, m, s, epoch_ms);
		return false;
	}
	/* asctime: "Sun Nov  6 08:49:37 1994" (day padded with a space). */
	c.p = value;
	if (name_of(&c, wkday_short, 7, &wd) && lit(&c, " ") && name_of(&c, month_names, 12, &mon) &&
	    lit(&c, " ")) {
		if (*c.p == ' ') {
			c.p++;
			if (!digits(&c, 1, &day))
				return false;
		} else if (!digits(&c, 2, &day)) {
			return false;
		}
		if (lit(&c, " ") && clock_time(&c, &h, &m, &s) && lit(&c, " ") && digits(&c, 4, &year) &&
		    *c.p == '\0')
			return to_epoch(year, mon + 1, day, h, m, s, epoch_ms);
	}
	(void)wd;                  /* the weekday is checked for form, not for agreement with the date */
	return false;
}

bool
retry_parse_retry_after(const char *value, int64_t now_ms, int64_t *delay_ms)
{
	const char *p, *end;
	int64_t secs = 0, when;

	if (value == NULL)
		return false;
	/* Header values may carry surrounding blanks (OWS); nothing else is tolerated. */
	while (*value == ' ' || *value == '\t')
		value++;
	end = value + strlen(value);
	while (end > value && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	if (end == value)
		return false;
	if (*value >= '0' && *value <= '9') {
		for (p = value; p < end; p++) {
			if (*p < '0' || *p > '9')
				return false;
			/* Saturate: a huge delta is simply "very long", and refused by the caller's cap. */
			if (secs < INT64_MAX / 10000)
				secs = secs * 10 + (*p - '0');
		}
		*delay_ms = secs < INT64_MAX / 10000 ? secs * 1000 : INT64_MAX / 10;
		return true;
	}
	{
		char buf[64];
		size_t n = (size_t)(end - value);
		if (n >= sizeof buf)
			return false;
		memcpy(buf, value, n);
		buf[n] = '\0';
		if (!retry_parse_http_date(buf, &when))
			return false;
	}
	*delay_ms = when > now_ms ? when - now_ms : 0;
	return true;
}

struct retry_decision
retry_decide(const struct retry_policy *policy, int attempts, int curl_code, long status,
    const char *retry_after, int64_t now_ms, struct retry_rng *rng)
{
	static const struct retry_policy defaults = { 0 };
	struct retry_decision d = { false, 0, NULL };
	int max_attempts;
	int64_t base, cap, max_ra, ceiling, ra;

	if (policy == NULL)
		policy = &defaults;
	max_attempts = policy->max_attempts > 0 ? policy->max_attempts : RETRY_DEFAULT_MAX_ATTEMPTS;
	base = policy->base_delay_ms > 0 ? policy->base_delay_ms : RETRY_DEFAULT_BASE_MS;
	cap = policy->max_delay_ms > 0 ? policy->max_delay_ms : RETRY_DEFAULT_MAX_DELAY_MS;
	max_ra = policy->max_retry_after_ms > 0 ? policy->max_retry_after_ms : RETRY_DEFAULT_MAX_RETRY_AFTER_MS;

	if (!retry_is_retryable(curl_code, status)) {
		d.reason = "not retryable";
		return d;
	}
	if (attempts < 1)
		attempts = 1;
	/* Retry-After only means something on an HTTP answer (429, 503, ...). */
	if (curl_code == CURLE_OK && retry_after != NULL && retry_parse_retry_after(retry_after, now_ms, &ra)) {
		d.delay_ms = ra;
		if (attempts >= max_attempts) {
			d.reason = "attempt cap";
			return d;
		}
		if (ra > max_ra) {
			d.reason = "Retry-After beyond the inline limit";
			return d;
		}
		d.retry = true;
		d.reason = "Retry-After";
		return d;
	}
	if (attempts >= max_attempts) {
		d.reason = "attempt cap";
		return d;
	}
	/* base * 2^(attempts-1), computed without overflow and never above cap. */
	ceiling = base < cap ? base : cap;
	for (int i = 1; i < attempts && ceiling < cap; i++)
		ceiling = ceiling > cap / 2 ? cap : ceiling * 2;
	d.retry = true;
	d.delay_ms = rng != NULL ? retry_rng_uniform(rng, ceiling) : ceiling;
	d.reason = curl_code != CURLE_OK ? "transport error, backoff" : "HTTP status, backoff";
	return d;
}
