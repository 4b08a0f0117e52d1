/* jobs.h: crawl jobs through Redis: due times (sorted set), the jobs stream with consumer group "crawlers", leases and per-source state. */
#ifndef PW_STORE_JOBS_H
#define PW_STORE_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/*
 * Keys (under the store's prefix, "pw:" by default):
 *   pw:due          zset   member = source name, score = next due time (epoch ms)
 *   pw:jobs         stream entries {source, url, due, attempt}; group "crawlers"
 *   pw:jobs:open    hash   source name -> id of its newest job (one job per source in flight)
 *   pw:source:NAME  hash   last_ok_ms, last_error, last_error_ms, error_streak, next_due_ms, crawls
 * See docs/crawl-jobs.md for the life of a job.
 */
#define JOBS_GROUP "crawlers"
#define JOBS_ID_MAX 48           /* "<ms>-<seq>" stream ids fit with room to spare */
#define JOBS_SPREAD_MAX_MS 30000 /* first crawls of new sources are spread over min(interval, this) */
#define JOBS_MAX_DELIVERIES 5    /* a job reclaimed this often is dropped and the source marked failing */

/* One configured source as the scheduler sees it; name is borrowed. */
struct jobs_source {
	const char *name;
	int64_t interval_ms;       /* > 0 */
	int64_t jitter_ms;         /* chosen by the caller, within +-10 % of the interval */
	int64_t spread_ms;         /* first-crawl offset when the source is not in pw:due yet */
};

/* A claimed job. Strings are owned by the job (jobs_free). */
struct job {
	char id[JOBS_ID_MAX];      /* stream entry id */
	char *source;
	char *url;                 /* "" : every start URL of the source */
	int64_t due_ms;
	int64_t attempt;           /* deliveries so far when known (reclaimed jobs), else the entry's field */
};

/* Creates the consumer group (and the stream); an existing group is fine. */
enum store_status jobs_init(struct store *st);

/*
 * The scheduler tick, one atomic Lua script so any number of daemons may run
 * it at once: sources missing from pw:due are added at now + spread; every
 * source whose score is <= now gets one job in pw:jobs (unless its previous
 * job is still in the stream) and is re-scored to now + interval + jitter.
 * *enqueued (may be NULL) counts new jobs; *next_due_ms (may be NULL) is the
 * earliest score among these sources after the tick (INT64_MAX when n == 0).
 */
enum store_status jobs_schedule_tick(struct store *st, const struct jobs_source *srcs, size_t n,
    int64_t now_ms, size_t *enqueued, int64_t *next_due_ms);

/*
 * Enqueues one job for each source now, due or not (pricewatchd --once), and
 * pushes its due time to at least now + interval + jitter. ids (n entries)
 * receive the new stream ids.
 */
enum store_status jobs_enqueue_now(struct store *st, const struct jobs_source *srcs, size_t n,
    int64_t now_ms, char (*ids)[JOBS_ID_MAX]);

/*
 * XREADGROUP of up to max new jobs for consumer, blocking up to block_ms (0:
 * do not block). Recreates the group if it vanished (Redis restarted without
 * data). *out is allocated (free with jobs_free); *n_out may be 0.
 */
enum store_status jobs_claim(struct store *st, const char *consumer, size_t max, int64_t block_ms,
    struct job **out, size_t *n_out);

/*
 * XAUTOCLAIM: takes over up to max jobs idle longer than min_idle_ms (their
 * consumer died or hung). Jobs delivered more than JOBS_MAX_DELIVERIES times
 * are acked, dropped, and recorded as an error of their source instead of
 * being returned. Same ownership as jobs_claim.
 */
enum store_status jobs_reclaim(struct store *st, const char *consumer, int64_t min_idle_ms, size_t max,
    struct job **out, size_t *n_out);

/* Renews the lease of a job still held by consumer (XCLAIM JUSTID resets its idle time); *held says whether it was. */
enum store_status jobs_extend(struct store *st, const char *consumer, const char *id, bool *held);

/* XACK + XDEL of a finished job (call only after its observations are stored); clears its open marker. */
enum store_status jobs_ack(struct store *st, const struct job *j);

/*
 * Hands an unstarted or interrupted job back (clean shutdown): the same job is
 * re-added for any daemon to claim now, and the original acked and deleted,
 * atomically, instead of waiting out the lease.
 */
enum store_status jobs_release(struct store *st, const struct job *j);

/* Whether the entry id is still in the stream (not yet acked by anyone). */
enum store_status jobs_exists(struct store *st, const char *id, bool *exists);

/* Removes sources that left the configuration from pw:due and pw:jobs:open. */
enum store_status jobs_forget_sources(struct store *st, const char *const *names, size_t n);

/* Deletes consumer from the group when it holds no pending job (clean exit). */
enum store_status jobs_leave(struct store *st, const char *consumer);

void jobs_free(struct job *jobs, size_t n);

/* The per-source hash, as read back; last_error is owned (source_state_free). */
struct source_state {
	int64_t last_ok_ms, last_error_ms, error_streak, next_due_ms, crawls;
	char *last_error;          /* NULL when none */
};

/* Backoff after streak failures in a row: interval * 2^streak, at most 64 intervals and max(interval, 24 h). */
int64_t jobs_backoff_ms(int64_t interval_ms, int64_t streak);

/*
 * Records the outcome of one crawl of a source, atomically. Success resets the
 * error streak; failure increments it, sets last_error and moves the source's
 * due time to now + jobs_backoff_ms(). *streak and *next_due_ms (may be NULL)
 * receive the new values (next_due 0 when the source is not scheduled).
 */
enum store_status source_state_update(struct store *st, const char *name, bool ok, const char *error,
    int64_t now_ms, int64_t interval_ms, int64_t *streak, int64_t *next_due_ms);

/* Reads pw:source:NAME; STORE_NOT_FOUND when the source never ran. */
enum store_status source_state_get(struct store *st, const char *name, struct source_state *out);
void source_state_free(struct source_state *s);

#endif
