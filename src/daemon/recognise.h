/* recognise.h: product recognition in pricewatchd: the crawler's image sink and the matching worker thread. */
#ifndef PW_DAEMON_RECOGNISE_H
#define PW_DAEMON_RECOGNISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "daemon/crawler.h"

/* Running totals (the ops helper mirrors them into /metrics). */
struct recognise_stats {
	uint64_t images_offered;   /* listings with an image URL the crawler asked about */
	uint64_t images_known;     /* ... whose URL was already embedded: matched from the cache, not fetched */
	uint64_t images_fetched;   /* bodies delivered by the crawler */
	uint64_t fetch_failed;     /* deliveries with an error instead of a body */
	uint64_t images_decoded;   /* descriptors computed or read back */
	uint64_t images_rejected;  /* corrupt, truncated, too large, unsupported format */
	uint64_t inferences;       /* descriptors computed (one model run per distinct image) */
	uint64_t cache_hits;       /* pw:emb reused for new bytes (same content elsewhere) */
	uint64_t matches;          /* listings matched to a catalogue product */
	uint64_t new_matches;      /* ... to a product they were not matched to before */
	uint64_t no_match;         /* listings below the threshold */
	uint64_t alerts;           /* alerts appended by the match rules */
	uint64_t dropped;          /* images refused because the queue was full or the worker had no store */
	uint64_t errors;           /* Redis errors and other failures of the worker */
};

struct recognise_opts {
	const struct config *cfg;  /* read at start only ([match] enabled) */
	const char *redis_url;     /* borrowed: must outlive recognise_stop */
	/* Loads the current configuration for the worker's own copy (at start and after recognise_reload). */
	bool (*load_config)(void *arg, struct config *cfg, char *err, size_t errlen);
	void *load_arg;
	/*
	 * Called on the worker thread after each model run (one batched inference of images images) with the
	 * backend that ran it and its wall-clock time; NULL: not called. Feeds the daemon's latency histogram.
	 */
	void (*on_inference)(void *arg, const char *backend, size_t images, double seconds);
	void *inference_arg;
};

/* Longest model id and backend name recognise_model_info returns, terminator included. */
#define RECOGNISE_MODEL_ID_MAX 160
#define RECOGNISE_BACKEND_MAX 64

struct recognise;              /* owns the worker thread, its queue, its store connection, model and alert engine */

/* Starts the worker; NULL when [match] enabled is off or the thread cannot start (logged). */
struct recognise *recognise_start(const struct recognise_opts *opts);
/* The sink to install with crawler_set_image_sink (owned by r). */
const struct crawler_image_sink *recognise_sink(struct recognise *r);
/* The worker reloads its configuration (after SIGHUP). */
void recognise_reload(struct recognise *r);
/* Stops taking images, finishes what is queued for at most drain_ms, joins the thread and frees r. */
void recognise_stop(struct recognise *r, int64_t drain_ms);
/*
 * The model id (descriptor_model_id) and inference backend of the model the worker opened last, copied into
 * model (RECOGNISE_MODEL_ID_MAX bytes) and backend (RECOGNISE_BACKEND_MAX bytes); false (both "") while no
 * model has been opened, or r is NULL. Any thread.
 */
bool recognise_model_info(struct recognise *r, char *model, char *backend);
/* A snapshot of the totals (any thread). */
void recognise_stats_get(struct recognise *r, struct recognise_stats *out);

#endif
