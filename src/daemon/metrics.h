/* metrics.h: a small thread-safe registry of counters, gauges and histograms, rendered in the Prometheus text format 0.0.4. */
#ifndef PW_DAEMON_METRICS_H
#define PW_DAEMON_METRICS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A family (struct metric) has a name, a help text and a fixed list of label
 * names given at registration. Each update names the label values, in the same
 * order, as an array (NULL when the family has no labels); the series for those
 * values is created on first use. Every call takes the registry's one mutex, so
 * any thread may update while the admin thread renders.
 *
 * Names are checked at registration: metric names match [a-zA-Z_:][a-zA-Z0-9_:]*,
 * label names [a-zA-Z_][a-zA-Z0-9_]* and do not start with "__"; a histogram may
 * not use the label "le". A bad registration logs why and returns NULL, and
 * every update function ignores a NULL family, so a typo costs a metric, never
 * the daemon. Label values may hold any text; the writer escapes \, " and
 * newlines and replaces bytes that are not UTF-8 with '?'.
 */

/* Label values for one update: METRIC_LABELS("shopa", "ok"). */
#define METRIC_LABELS(...) ((const char *const[]){ __VA_ARGS__ })

/* A family never has more series than this; updates for new label values beyond it are dropped (and logged once). */
#define METRICS_MAX_SERIES 10000

struct metrics;                /* the registry; owns its families */
struct metric;                 /* one family, owned by its registry */

/* Creates an empty registry; the caller frees it with metrics_free after every user has stopped. */
struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/*
 * Registers a family. labels (nlabels names, borrowed; copied) may be NULL when
 * nlabels is 0. Registering the same name again with the same type and label
 * names returns the existing family (so a reload can re-register); with a
 * different type or labels it is an error (NULL).
 */
struct metric *metrics_counter(struct metrics *m, const char *name, const char *help,
    size_t nlabels, const char *const *labels);
struct metric *metrics_gauge(struct metrics *m, const char *name, const char *help,
    size_t nlabels, const char *const *labels);
/* bounds: nbounds finite upper bounds in increasing order; the +Inf bucket is added by the registry. */
struct metric *metrics_histogram(struct metrics *m, const char *name, const char *help,
    size_t nlabels, const char *const *labels, size_t nbounds, const double *bounds);

/* Counter or gauge += 1. */
void metric_inc(struct metric *f, const char *const *values);
/* Counter += v (v must be >= 0 and finite, else ignored), or gauge += v (any finite v). */
void metric_add(struct metric *f, const char *const *values, double v);
/*
 * Gauge = v. On a counter it mirrors a monotonic count kept elsewhere (such as
 * struct crawl_stats): v is taken only when it is not below the current value.
 */
void metric_set(struct metric *f, const char *const *values, double v);
/* Histogram: counts v in every bucket whose bound is >= v, adds it to _sum, and counts it in _count. */
void metric_observe(struct metric *f, const char *const *values, double v);

/*
 * Current value of a counter or gauge series, or the _count of a histogram
 * series; false when the series does not exist (for tests and health checks).
 */
bool metric_value(struct metric *f, const char *const *values, double *out);

/*
 * Renders every family, in registration order, series in creation order, as
 * Prometheus text exposition format 0.0.4. Returns a NUL-terminated buffer the
 * caller frees, its length in *len (may be NULL), or NULL when out of memory.
 */
char *metrics_render(struct metrics *m, size_t *len);

/* Content-Type of metrics_render's output. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Latency buckets in seconds, 1 ms to 10 s, for fetches and inference. */
extern const double metrics_latency_buckets[];
extern const size_t metrics_latency_nbuckets;

/*
 * pricewatchd's metric families, registered in one place so names, labels and
 * help texts stay consistent (and promtool-clean). Any member may be NULL if
 * registration failed; the update functions accept that.
 */
struct pw_metrics {
	struct metric *fetches;            /* counter {source, host, outcome}: outcomes as crawl_outcome_name() names them */
	struct metric *fetch_seconds;      /* histogram: duration of one page fetch */
	struct metric *last_success;       /* gauge {source}: epoch seconds of the last good crawl (from Redis, see admin_collect_redis) */
	struct metric *error_streak;       /* gauge {source}: failed crawls in a row (from Redis) */
	struct metric *observations;       /* counter: observations recorded */
	struct metric *price_changes;      /* counter: change points written */
	struct metric *extract_errors;     /* counter: pages whose extraction failed */
	struct metric *queue_depth;        /* gauge {queue}: jobs, jobs_claimed, alerts, alerts_dead (from Redis) */
	struct metric *inference_seconds;  /* histogram {backend}: one model run (a batch of images) */
	struct metric *inferences;         /* counter {backend}: inferences run (rate() gives inferences per second) */
	struct metric *alerts;             /* counter {outcome}: sent, failed, dead */
	struct metric *redis_errors;       /* counter: failed Redis commands and connects */
	struct metric *start_time;         /* gauge: process start, epoch seconds */
	struct metric *build_info;         /* gauge {version} = 1 */
};

/*
 * Drops every series of a family (labelled families only), so a gauge refilled
 * from a fresh listing does not keep series of things that went away.
 */
void metric_clear(struct metric *f);

/* Registers every pricewatchd family in m and sets start time and build info. */
void pw_metrics_register(struct metrics *m, struct pw_metrics *pm, double start_time_s);

#endif
