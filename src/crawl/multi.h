/* multi.h: the crawl fetch engine: many transfers on one libcurl multi handle, polite per host, robots-aware, retrying. */
#ifndef PW_CRAWL_MULTI_H
#define PW_CRAWL_MULTI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "crawl/guard.h"
#include "crawl/retry.h"
#include "daemon/crawler.h"        /* enum crawl_outcome: the engine decides it, the crawler counts it */

/*
 * How requests of one source are made. The caller owns it and keeps it alive
 * (unchanged) while any request that names it is queued or running.
 */
struct mfetch_profile {
	const char *user_agent;    /* NULL: the engine's; also the robots.txt agent */
	const char *proxy;         /* NULL: none; http://, https://, socks5://, socks5h:// */
	struct curl_slist *headers;/* extra request headers, owned by the caller; NULL: none */
	const char *cookie_file;   /* Netscape cookie file read for each request; NULL: none */
	int64_t per_host_delay_ms; /* < 0: the engine's; robots Crawl-delay can only raise it */
	bool ignore_robots;        /* true: robots.txt is neither fetched nor obeyed for these requests */
	struct guard_policy guard; /* what untrusted (page-supplied) URLs may reach; report is ignored */
};

/* Optional shared robots.txt cache (Redis in the daemon). Both run on the engine's thread. */
struct mfetch_robots_cache {
	/* true with *body malloc'd (engine frees; may be NULL when *len is 0) when robots_url is cached */
	bool (*get)(void *arg, const char *robots_url, long *status, char **body, size_t *len);
	/* stores a fresh answer; ttl_ms is the engine's choice (short for "unreachable") */
	void (*put)(void *arg, const char *robots_url, long status, const char *body, size_t len, int64_t ttl_ms);
	void *arg;
};

/* Engine-wide limits; zero sizes, counts and timeouts get the defaults of [crawl] in pricewatch.conf(5). */
struct mfetch_config {
	long concurrency;          /* transfers in flight at once */
	long max_per_host;         /* transfers in flight per scheme/host/port */
	int64_t per_host_delay_ms; /* minimum time between two request starts on one host; used as is (0: none) */
	int64_t connect_timeout_ms, timeout_ms;
	uint64_t low_speed_limit;  /* bytes/s (0: no low-speed check) ... */
	int64_t low_speed_time_ms; /* ... for this long: abort (slowloris) */
	uint64_t max_body, max_image_body;
	long max_redirects;
	int retries;               /* extra attempts after a retryable failure (< 0: none) */
	int64_t retry_delay_ms, retry_max_delay_ms;
	int64_t robots_ttl_ms;     /* how long a fetched robots.txt is used (and cached) */
	const char *user_agent;    /* copied */
	bool respect_robots;
	struct mfetch_robots_cache cache;  /* get == NULL: no shared cache */
};

enum mfetch_priority { MFETCH_PRIO_PAGE = 0, MFETCH_PRIO_IMAGE = 1, MFETCH_PRIO_N };

struct mfetch_response;
typedef void (*mfetch_done_fn)(void *arg, const struct mfetch_response *resp);

/* One URL to fetch. Strings are copied by mfetch_add; profile is borrowed. */
struct mfetch_request {
	const char *url;
	const struct mfetch_profile *profile;  /* NULL: engine defaults */
	enum mfetch_priority priority;         /* images use max_image_body */
	bool untrusted;            /* came from a page (next link, sitemap, image): the SSRF guard applies */
	const char *etag, *last_modified;      /* validators for a conditional GET; NULL: none */
	mfetch_done_fn done;       /* called exactly once, from mfetch_run (or mfetch_add on refusal) */
	void *arg;
};

/* What one request came to; everything is borrowed for the duration of the done callback. */
struct mfetch_response {
	const char *url;           /* as requested */
	const char *effective_url; /* after redirects (url when unknown) */
	const char *host;          /* "host:port" (lower case), for per-host counters */
	enum crawl_outcome outcome;
	long status;               /* last HTTP status, 0 when none */
	const char *body;          /* NUL-terminated; non-NULL only for CRAWL_OK */
	size_t len;
	const char *content_type, *etag, *last_modified;   /* NULL when absent */
	int attempts;              /* tries made, the first included (0: never sent) */
	const char *error;         /* "URL: reason"; "" for ok / not modified */
};

struct mfetch;

/* Creates an engine (curl_global_init must have run). Returns NULL when curl cannot. */
struct mfetch *mfetch_new(const struct mfetch_config *cfg);
/*
 * Ends every queued and running request: each callback runs once with
 * CRAWL_ERROR and "URL: cancelled" (callbacks must not add requests then).
 * The engine stays usable.
 */
void mfetch_cancel_all(struct mfetch *m);
/* mfetch_cancel_all, then frees the engine. NULL is fine. */
void mfetch_free(struct mfetch *m);

/* Queues a request. A URL that cannot be fetched at all (not http/https/file) completes at once with CRAWL_ERROR. */
void mfetch_add(struct mfetch *m, const struct mfetch_request *req);

/*
 * One turn: starts what the limits allow, waits at most max_wait_ms for
 * network activity or the next politeness timer, and completes finished
 * transfers (calling their callbacks, which may add requests). Returns the
 * number of requests still queued or running.
 */
size_t mfetch_run(struct mfetch *m, int64_t max_wait_ms);
/* Requests queued or running. */
size_t mfetch_pending(const struct mfetch *m);

/* Counts, for tests and logs. */
struct mfetch_counts {
	uint64_t started, retried, robots_fetched, robots_cached;
	size_t running, queued, hosts;
	size_t peak_running;
};
void mfetch_counts(const struct mfetch *m, struct mfetch_counts *out);

#endif
