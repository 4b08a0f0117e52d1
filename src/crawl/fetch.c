/* fetch.c: fetches one URL with the libcurl easy API under hard limits on time, size, redirects and protocols. */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "common/util.h"
#include "crawl/fetch.h"
#include "crawl/guard.h"

/* Defaults for fields of fetch_opts left at zero (or opts == NULL). */
#define FETCH_DEFAULT_UA "pricewatch/" PACKAGE_VERSION
#define FETCH_DEFAULT_CONNECT_MS 10000
#define FETCH_DEFAULT_TIMEOUT_MS 30000
#define FETCH_DEFAULT_MAX_BODY ((uint64_t)8 * 1024 * 1024)
#define FETCH_DEFAULT_MAX_REDIRECTS 5
/* A transfer slower than 1 byte/s for this long is dropped (unless the total timeout is shorter). */
#define FETCH_LOW_SPEED_SECONDS 30L

/* The body being received; the write callback refuses to grow it beyond max. */
struct body_buf {
	struct fetch_body b;
	uint64_t max;
	bool too_big;              /* set when the server sent more than max (whatever it announced) */
	bool oom;
};

bool
fetch_body_append(struct fetch_body *b, uint64_t max, const char *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t want = b->cap ? b->cap : 16384;
		char *np;

		while (want < b->len + n + 1) {
			if (want > SIZE_MAX / 2)
				return false;
			want *= 2;
		}
		if ((uint64_t)want > max + 1)
			want = (size_t)max + 1;
		np = realloc(b->data, want);
		if (np == NULL)
			return false;
		b->data = np;
		b->cap = want;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return true;
}

static size_t
write_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct body_buf *b = userdata;
	size_t n = size * nmemb;   /* curl guarantees size == 1 */

	if (n == 0)
		return 0;
	if ((uint64_t)b->b.len + n > b->max) {
		b->too_big = true;
		return 0;          /* anything other than n makes curl abort with CURLE_WRITE_ERROR */
	}
	if (!fetch_body_append(&b->b, b->max, ptr, n)) {
		b->oom = true;
		return 0;
	}
	return n;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* Formats "URL: reason" into the result, shortening a very long URL so the reason always fits. */
static void
set_error(struct fetch_result *r, const char *url, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_error(struct fetch_result *r, const char *url, const char *fmt, ...)
{
	char reason[160];
	va_list ap;
	int max_url = 80;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	if (strlen(url) + strlen(reason) + 3 < sizeof r->error)
		pw_snprintf(r->error, sizeof r->error, "%s: %s", url, reason);
	else
		pw_snprintf(r->error, sizeof r->error, "%.*s...: %s", max_url, url, reason);
}

bool
fetch_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

void
fetch_global_cleanup(void)
{
	curl_global_cleanup();
}

/* Restricts protocols: http, https and file as the start URL; only http(s) after a redirect. */
static CURLcode
restrict_protocols(CURL *c)
{
	CURLcode rc;

#if LIBCURL_VERSION_NUM >= 0x075500    /* 7.85.0 added the _STR options and deprecated the masks */
	rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS | CURLPROTO_FILE));
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	return rc;
}

bool
fetch_url(const char *url, const struct fetch_opts *opts, struct fetch_result *result)
{
	static const struct fetch_opts defaults = { 0 };
	char errbuf[CURL_ERROR_SIZE];
	struct body_buf body = { 0 };
	const char *ua;
	int64_t connect_ms, timeout_ms;
	long max_redirects, low_speed_time, status = 0;
	struct guard_policy guard;
	struct guard_report guard_report = { 0 };
	CURL *c;
	CURLcode rc;
	bool ok = false;

	memset(result, 0, sizeof *result);
	if (url == NULL || *url == '\0') {
		set_error(result, "(empty URL)", "no URL given");
		return false;
	}
	if (opts == NULL)
		opts = &defaults;
	ua = opts->user_agent && *opts->user_agent ? opts->user_agent : FETCH_DEFAULT_UA;
	connect_ms = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : FETCH_DEFAULT_CONNECT_MS;
	timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : FETCH_DEFAULT_TIMEOUT_MS;
	body.max = opts->max_body > 0 ? opts->max_body : FETCH_DEFAULT_MAX_BODY;
	if (body.max > (uint64_t)SIZE_MAX / 4)
		body.max = (uint64_t)SIZE_MAX / 4;
	/* Negative would mean "unlimited" to curl; a hostile site must not get that. */
	max_redirects = opts->max_redirects > 0 ? opts->max_redirects : 0;
	/* Whole seconds, at least 1: curl measures the low-speed window in seconds. */
	low_speed_time = (long)((timeout_ms + 999) / 1000);
	if (low_speed_time > FETCH_LOW_SPEED_SECONDS)
		low_speed_time = FETCH_LOW_SPEED_SECONDS;
	if (low_speed_time < 1)
		low_speed_time = 1;

	c = curl_easy_init();
	if (c == NULL) {
		set_error(result, url, "cannot create a curl handle");
		return false;
	}
	errbuf[0] = '\0';
	rc = curl_easy_setopt(c, CURLOPT_URL, url);
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_USERAGENT, ua);
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, low_speed_time);
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)body.max);
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body);
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_MAXREDIRS, max_redirects);
	if (rc == CURLE_OK) rc = restrict_protocols(c);
	/* "" asks for every encoding this libcurl can decode (gzip, deflate, br, zstd as built). */
	if (rc == CURLE_OK) rc = curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	if (rc == CURLE_OK && opts->guard != NULL) {
		/* A private copy whose report this call reads; the caller's report gets a copy after. */
		guard = *opts->guard;
		guard.report = &guard_report;
		rc = guard_install(c, &guard);
	}
	if (rc != CURLE_OK) {
		set_error(result, url, "curl option refused: %s", curl_easy_strerror(rc));
		goto out;
	}

	rc = curl_easy_perform(c);
	if (opts->guard != NULL && opts->guard->report != NULL && guard_report.refused > 0)
		*opts->guard->report = guard_report;

	{
		char *eff = NULL, *ctype = NULL;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff);
		curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ctype);
		result->effective_url = dup_or_null(eff != NULL ? eff : url);
		result->content_type = dup_or_null(ctype);
	}

	if (rc == CURLE_COULDNT_CONNECT && guard_report.refused > 0) {
		set_error(result, url, "%s", guard_report.reason);
		goto out;
	}
	if (body.too_big || rc == CURLE_FILESIZE_EXCEEDED) {
		set_error(result, url, "body exceeds %" PRIu64 " bytes", body.max);
		result->status = status;
		goto out;
	}
	if (body.oom) {
		set_error(result, url, "out of memory reading the body");
		goto out;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		curl_off_t connect_us = 0;
		curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connect_us);
		if (strstr(errbuf, "too slow") != NULL)
			set_error(result, url, "too slow (under 1 byte/s for %ld s)", low_speed_time);
		else if (connect_us == 0 && strncmp(url, "file:", 5) != 0 && strstr(errbuf, "onnect") != NULL)
			set_error(result, url, "timed out after %" PRId64 " ms (connecting)", connect_ms);
		else
			set_error(result, url, "timed out after %" PRId64 " ms", timeout_ms);
		goto out;
	}
	if (rc != CURLE_OK) {
		set_error(result, url, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
		/* curl's buffer often ends with a newline; the log line should not. */
		size_t l = strlen(result->error);
		while (l > 0 && (result->error[l - 1] == '\n' || result->error[l - 1] == '\r'))
			result->error[--l] = '\0';
		result->status = status;
		goto out;
	}

	/* file:// has no status line: a successful read counts as 200. */
	if (status == 0)
		status = 200;
	result->status = status;
	if (status < 200 || status > 299) {
		set_error(result, url, "HTTP %ld", status);
		goto out;
	}
	if (body.b.data == NULL) {
		body.b.data = strdup("");
		if (body.b.data == NULL) {
			set_error(result, url, "out of memory");
			goto out;
		}
	}
	result->body = body.b.data;
	result->len = body.b.len;
	body.b.data = NULL;
	ok = true;

out:
	free(body.b.data);
	curl_easy_cleanup(c);
	return ok;
}

void
fetch_result_free(struct fetch_result *result)
{
	if (result == NULL)
		return;
	free(result->body);
	free(result->content_type);
	free(result->effective_url);
	memset(result, 0, sizeof *result);
}
