/* crawler.h: the daemon's crawl loop over Redis jobs: schedule due sources, claim a job, fetch, extract, record, ack. */
#ifndef PW_DAEMON_CRAWLER_H
#define PW_DAEMON_CRAWLER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "store/store.h"

/* Counters the daemon logs at exit (and /metrics exposes once the operations issue lands). */
struct crawl_stats {
	uint64_t fetches_ok, fetches_failed;
	uint64_t records, changes, alerts_raised;
	uint64_t pages_without_price, extract_errors;
	uint64_t store_errors, pending_flushed;
	uint64_t jobs_enqueued, jobs_claimed, jobs_reclaimed, jobs_acked, jobs_released;
	uint64_t jobs_unfinished;  /* --once: jobs that were still not done at the deadline */
	uint64_t not_modified;     /* fetches answered 304 (also counted in fetches_ok) */
};

struct crawler;                /* owns the consumer name, the --once bookkeeping and the observations not yet stored */

/* Creates a crawler for cfg's sources (borrowed: cfg must outlive it or be replaced by crawler_reconfigure). */
struct crawler *crawler_new(const struct config *cfg);
/*
 * Swaps in a new config after SIGHUP. The schedule lives in Redis, so kept
 * sources keep their due times; new ones get a first crawl spread over
 * min(interval, 30 s); removed ones are taken out of pw:due by this daemon.
 */
void crawler_reconfigure(struct crawler *c, const struct config *cfg);
void crawler_free(struct crawler *c);

/*
 * One turn of the loop: stores observations queued while Redis was away, runs
 * the scheduler tick (due sources become jobs), reclaims jobs whose daemon
 * died, claims a job (blocking briefly in XREADGROUP) and crawls it, stopping
 * between URLs when *stop becomes non-zero. A job is acked only after all its
 * observations are stored. Returns milliseconds to sleep before the next turn
 * (0 when Redis itself already made us wait).
 */
int64_t crawler_run_due(struct crawler *c, struct store *st, volatile sig_atomic_t *stop);
/* --once: the next turn enqueues one job per enabled source, due or not; see crawler_once_done. */
void crawler_due_now(struct crawler *c);
/* --once: true when every job crawler_due_now enqueued is done (by us or another daemon), or its deadline passed. */
bool crawler_once_done(struct crawler *c, struct store *st);
/* Writes observations queued while Redis was away; true when none are left. */
bool crawler_flush(struct crawler *c, struct store *st);
/* Clean exit: leaves the consumer group when this daemon holds no job. */
void crawler_leave(struct crawler *c, struct store *st);
/* True when observations are waiting for Redis. */
bool crawler_has_pending(const struct crawler *c);
/* "host:pid", the consumer name in the group "crawlers". Owned by the crawler. */
const char *crawler_consumer(const struct crawler *c);
const struct crawl_stats *crawler_stats(const struct crawler *c);

/* What happened to one fetch, counted per (source, host) for /metrics (see crawler_outcomes). */
enum crawl_outcome {
	CRAWL_OK = 0,
	CRAWL_NOT_MODIFIED,        /* 304 on a conditional GET */
	CRAWL_HTTP_4XX,
	CRAWL_HTTP_5XX,
	CRAWL_TIMEOUT,             /* connect/total timeout or low-speed limit */
	CRAWL_TOO_LARGE,           /* body over max-body (or max-image-size) */
	CRAWL_ROBOTS_DENIED,
	CRAWL_BLOCKED_BY_GUARD,    /* SSRF guard refused the resolved address */
	CRAWL_ERROR,               /* any other transport error (DNS, refused, TLS, ...) */
	CRAWL_OUTCOME_N,
};
/* "ok", "not_modified", "http_4xx", "http_5xx", "timeout", "too_large", "robots_denied", "blocked_by_guard", "error". */
const char *crawl_outcome_name(enum crawl_outcome o);

/* Running totals for one (source, host) pair; the crawler owns them. */
struct crawl_host_counts {
	const char *source;        /* owned by the crawler */
	const char *host;          /* owned by the crawler */
	uint64_t count[CRAWL_OUTCOME_N];
};
/* The per-(source, host) outcome totals so far; *n gets the count. Valid until the next crawler call. */
const struct crawl_host_counts *crawler_outcomes(const struct crawler *c, size_t *n);

/*
 * Where listing images go (product recognition). The crawler asks want() for
 * each recorded listing that has an image URL; when it says yes the image is
 * fetched through the same engine (politeness, limits, SSRF guard) at a lower
 * priority than pages, and deliver() gets the bytes (borrowed for the call) or
 * body NULL and an error text. Both run on the crawler's thread and must not
 * block: queue the work for another thread.
 */
struct crawler_image_sink {
	bool (*want)(void *arg, const char *source, const char *listing_id, const char *image_url);
	void (*deliver)(void *arg, const char *source, const char *listing_id, const char *image_url,
	    const unsigned char *body, size_t len, const char *error);
	void *arg;
	/* Called instead of want() for each recorded listing without an image URL, so it can still be matched
	 * by identifiers and title; NULL: not called. Same rules: crawler's thread, must not block. */
	void (*match_no_image)(void *arg, const char *source, const char *listing_id);
};
/* Installs (or with NULL removes) the image sink; copied. Without one no images are fetched. */
void crawler_set_image_sink(struct crawler *c, const struct crawler_image_sink *sink);

/* One fetched URL of a foreground crawl; strings borrowed for the callback. */
struct crawler_page_report {
	const char *source;
	const char *kind;          /* "page", "sitemap" or "image" */
	const char *url;
	enum crawl_outcome outcome;
	long status;               /* HTTP status, 0 when none */
	size_t listings;           /* listings found (pages), URLs listed (sitemaps) */
	const char *error;         /* "" or NULL when fine */
};

/* What crawler_crawl_source reports as it goes; any member may be NULL. */
struct crawler_watch {
	void (*page)(void *arg, const struct crawler_page_report *p);
	void (*listing)(void *arg, const struct observation *obs);   /* borrowed for the call */
	void *arg;
};

/*
 * `pricewatch crawl SOURCE --once`: crawls one source now on this crawler's
 * engine (same politeness, robots, guard and limits as the daemon), without the
 * jobs stream. st NULL is a dry run: nothing is stored, no HTTP cache is used.
 * Returns true when every URL was fetched and every observation stored; else
 * false with err set (the first problem). Stops early when *stop becomes non-zero.
 */
bool crawler_crawl_source(struct crawler *c, struct store *st, const char *source,
    const struct crawler_watch *watch, volatile sig_atomic_t *stop, char *err, size_t errlen);

#endif
