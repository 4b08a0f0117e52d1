/* fetch.h: one HTTP(S)/file fetch with libcurl under the configured limits (the crawler issue replaces the loop around it). */
#ifndef PW_CRAWL_FETCH_H
#define PW_CRAWL_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guard_policy;

struct fetch_opts {
	const char *user_agent;
	int64_t connect_timeout_ms;
	int64_t timeout_ms;
	uint64_t max_body;         /* abort beyond this many bytes */
	long max_redirects;
	/* Optional SSRF guard (crawl/guard.h) applied to every connection, redirects included; NULL: none. */
	const struct guard_policy *guard;
};

struct fetch_result {
	long status;               /* HTTP status; 200 for a successful file:// read; 0 on transport error */
	char *body;                /* NUL-terminated, owned; NULL on error */
	size_t len;
	char *content_type;        /* owned, may be NULL */
	char *effective_url;       /* owned: the URL after redirects */
	char error[256];           /* "URL: reason" on failure */
};

/* A response body being received (fetch_url and the multi engine); data is owned, NUL-terminated. */
struct fetch_body {
	char *data;
	size_t len, cap;
};
/*
 * Appends n bytes to b, growing it by doubling but never beyond max + 1 bytes
 * (the caller has checked that len + n <= max). False when out of memory.
 */
bool fetch_body_append(struct fetch_body *b, uint64_t max, const char *p, size_t n);

/* Process-wide libcurl setup; call once before threads start. */
bool fetch_global_init(void);
void fetch_global_cleanup(void);

/* Fetches url. Returns true on a 2xx with a body; false with result->error naming the URL otherwise. */
bool fetch_url(const char *url, const struct fetch_opts *opts, struct fetch_result *result);
void fetch_result_free(struct fetch_result *result);

#endif
