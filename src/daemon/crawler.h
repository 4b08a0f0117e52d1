/* crawler.h: the daemon's minimal crawl loop: sources on their interval, fetch, extract, record. */
#ifndef PW_DAEMON_CRAWLER_H
#define PW_DAEMON_CRAWLER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "store/store.h"

/* Counters the daemon logs at exit (and /metrics exposes once the operations issue lands). */
struct crawl_stats {
	uint64_t fetches_ok, fetches_failed;
	uint64_t records, changes;
	uint64_t pages_without_price, extract_errors;
	uint64_t store_errors, pending_flushed;
};

struct crawler;                /* owns the schedule and the observations not yet stored */

/* Creates a crawler for cfg's sources (borrowed: cfg must outlive it or be replaced by crawler_reconfigure). */
struct crawler *crawler_new(const struct config *cfg);
/* Swaps in a new config after SIGHUP: kept sources keep their schedule, new ones are due at once. */
void crawler_reconfigure(struct crawler *c, const struct config *cfg);
void crawler_free(struct crawler *c);

/*
 * Crawls every source that is due, stopping between URLs when *stop becomes
 * non-zero. Observations that cannot be stored (Redis away) stay queued in
 * memory and are written first on the next call, so nothing seen is lost while
 * the daemon runs. Returns milliseconds until the next source is due.
 */
int64_t crawler_run_due(struct crawler *c, struct store *st, volatile sig_atomic_t *stop);
/* Makes every source due now (--once, and `pricewatch crawl --once` later). */
void crawler_due_now(struct crawler *c);
/* True when observations are waiting for Redis. */
bool crawler_has_pending(const struct crawler *c);
const struct crawl_stats *crawler_stats(const struct crawler *c);

#endif
