/* httpcache.h: crawl state shared by all daemons in Redis: HTTP validators per page URL and cached robots.txt per host. */
#ifndef PW_STORE_HTTPCACHE_H
#define PW_STORE_HTTPCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/*
 * What the last 200 of a page left for the next conditional GET, and which
 * listings it held (so a 304 can touch them). Strings owned by the struct
 * (http_validators_free); any of them may be NULL / empty.
 */
struct http_validators {
	char *etag, *last_modified;
	char **listing_ids;
	size_t n_listing_ids;
};

/*
 * Key <prefix>page:<first 32 hex of SHA-256 of url>, a hash with fields url,
 * etag, last_modified, listings (ids joined by '\n'). Returns STORE_NOT_FOUND
 * when none is stored (or the hash belongs to another URL); out is zeroed on any
 * failure.
 */
enum store_status httpcache_get(struct store *st, const char *url, struct http_validators *out);
/* Replaces the page's hash; ttl_ms > 0 sets PEXPIRE, else it never expires. NULL fields are stored empty. */
enum store_status httpcache_put(struct store *st, const char *url, const struct http_validators *v, int64_t ttl_ms);
void http_validators_free(struct http_validators *v);

/*
 * Key <prefix>robots:<robots_url>, a hash with fields status, body (binary
 * safe), fetched_ms; expires after the ttl given to robots_cache_put.
 * get returns STORE_NOT_FOUND when absent or expired; *body (malloc'd, caller
 * frees, NUL-terminated after *len bytes) is set only on STORE_OK.
 */
enum store_status robots_cache_get(struct store *st, const char *robots_url, long *status, char **body, size_t *len);
/* body may be NULL when len is 0; ttl_ms must be > 0 (robots.txt is always re-fetched eventually). */
enum store_status robots_cache_put(struct store *st, const char *robots_url, long status, const char *body,
    size_t len, int64_t ttl_ms);

#endif
