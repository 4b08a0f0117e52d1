/* recognise.c: the daemon's recognition worker: queues listing images, embeds them in batches, matches, stores, alerts. */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "alert/alert.h"
#include "common/log.h"
#include "common/util.h"
#include "daemon/recognise.h"
#include "match/catalog.h"
#include "match/descriptor.h"
#include "match/matcher.h"
#include "store/store.h"

#define QUEUE_MAX_JOBS 1024
#define QUEUE_MAX_BYTES ((size_t)64 << 20)  /* image bytes held in the queue at most */
#define BATCH 8                             /* images per batched inference */
#define IDLE_CHECK_MS 5000                  /* how often an idle worker looks whether the catalogue is empty */
#define WARM_WAIT_S 5                       /* recognise_start waits this long at most for pw:img:* */
#define KNOWN_MAX ((size_t)1 << 18)         /* URL hashes remembered in memory (then the set starts over) */

/* One listing image: bytes fetched by the crawler, or none when its URL was embedded before; url "" (and no
 * bytes): a listing without an image, matched by identifiers and title. */
struct job {
	char *source, *listing_id, *url;
	unsigned char *bytes;      /* NULL: look the descriptor up through pw:img */
	size_t len;
};

/* The counters, updated by the crawler's thread and the worker, read by anyone. */
struct counters {
	_Atomic uint64_t offered, known, fetched, fetch_failed, decoded, rejected, inferences, cache_hits;
	_Atomic uint64_t matches, new_matches, no_match, alerts, dropped, errors;
};

struct recognise {
	struct recognise_opts opts;
	struct crawler_image_sink sink;
	pthread_t thread;

	pthread_mutex_t lock;      /* guards everything below */
	pthread_cond_t wake;
	struct job *q;             /* ring of QUEUE_MAX_JOBS */
	size_t head, n, bytes;
	bool stopping;
	int64_t drain_until;       /* monotonic ms: give up on what is still queued after this */
	unsigned reload_gen;
	uint64_t *known;           /* open-addressing set of URL hashes already embedded (0 = empty slot) */
	size_t nknown;

	/* False once the worker saw an empty catalogue: no image is fetched for nothing. Starts true so that
	 * the first crawl does not race the worker's first look. */
	_Atomic bool active;
	bool warmed;               /* the worker has read pw:img:* into known (recognise_start waits for it) */
	char model_id[RECOGNISE_MODEL_ID_MAX];     /* of the model opened last, "" before; for pricewatch status */
	char backend[RECOGNISE_BACKEND_MAX];       /* the backend its session ran on last */
	struct counters c;
};

/* ---- URLs already embedded --------------------------------------------------------------------------- */

/* The first 16 lower-case hex digits as a number (never 0: that marks an empty slot); 0 on a bad digit. */
static uint64_t
hex_u64(const char *hex)
{
	uint64_t h = 0;

	for (int i = 0; i < 16; i++) {
		char c = hex[i];

		if (c >= '0' && c <= '9')
			h = h << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			h = h << 4 | (uint64_t)(c - 'a' + 10);
		else
			return 0;
	}
	return h != 0 ? h : 1;
}

static uint64_t
url_hash(const char *url)
{
	char hex[65];

	catalog_sha256_hex(url, strlen(url), hex);
	return hex_u64(hex);
}

/* Caller holds the lock. insert: add h; else remove it. Returns whether h was there. */
static bool
known_op(struct recognise *r, uint64_t h, int op)
{
	size_t cap = 2 * KNOWN_MAX, i = (size_t)(h % cap);

	if (op > 0 && r->nknown >= KNOWN_MAX) {
		/* Full: forget everything (those images are fetched once more and found by content). */
		memset(r->known, 0, cap * sizeof(*r->known));
		r->nknown = 0;
	}
	for (;; i = (i + 1) % cap) {
		if (r->known[i] == h) {
			if (op < 0) {
				/* Backward-shift deletion would be exact; a tombstone-free rebuild of the run is simpler. */
				size_t j = (i + 1) % cap;

				r->known[i] = 0;
				r->nknown--;
				while (r->known[j] != 0) {
					uint64_t v = r->known[j];

					r->known[j] = 0;
					r->nknown--;
					(void)known_op(r, v, 1);
					j = (j + 1) % cap;
				}
			}
			return true;
		}
		if (r->known[i] == 0) {
			if (op > 0) {
				r->known[i] = h;
				r->nknown++;
			}
			return false;
		}
	}
}

/* ---- the sink (crawler's thread: never blocks beyond the queue lock) --------------------------------- */

static void
job_free(struct job *j)
{
	free(j->source);
	free(j->listing_id);
	free(j->url);
	free(j->bytes);
	memset(j, 0, sizeof(*j));
}

/* Queues a job (strings copied, bytes taken over); false when the queue is full or stopping. */
static bool
enqueue(struct recognise *r, const char *source, const char *listing_id, const char *url, unsigned char *bytes,
    size_t len)
{
	struct job *j;

	pthread_mutex_lock(&r->lock);
	if (r->stopping || r->n == QUEUE_MAX_JOBS || r->bytes + len > QUEUE_MAX_BYTES) {
		pthread_mutex_unlock(&r->lock);
		atomic_fetch_add(&r->c.dropped, 1);
		return false;
	}
	j = &r->q[(r->head + r->n) % QUEUE_MAX_JOBS];
	j->source = xstrdup(source != NULL ? source : "");
	j->listing_id = xstrdup(listing_id);
	j->url = xstrdup(url);
	j->bytes = bytes;
	j->len = len;
	r->n++;
	r->bytes += len;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	return true;
}

static bool
sink_want(void *arg, const char *source, const char *listing_id, const char *image_url)
{
	struct recognise *r = arg;
	bool known, full;

	if (listing_id == NULL || image_url == NULL || image_url[0] == '\0' || !atomic_load(&r->active))
		return false;
	atomic_fetch_add(&r->c.offered, 1);
	pthread_mutex_lock(&r->lock);
	known = known_op(r, url_hash(image_url), 0);
	full = r->stopping || r->n == QUEUE_MAX_JOBS;
	pthread_mutex_unlock(&r->lock);
	if (full) {
		atomic_fetch_add(&r->c.dropped, 1);
		return false;
	}
	if (!known)
		return true;
	/* Embedded before: match again from the cache (the catalogue may have changed), no fetch. */
	atomic_fetch_add(&r->c.known, 1);
	(void)enqueue(r, source, listing_id, image_url, NULL, 0);
	return false;
}

/* A listing without an image: matched by identifiers and title only (a job with no URL and no bytes). */
static void
sink_match_no_image(void *arg, const char *source, const char *listing_id)
{
	struct recognise *r = arg;

	if (listing_id == NULL || !atomic_load(&r->active))
		return;
	(void)enqueue(r, source, listing_id, "", NULL, 0);
}

static void
sink_deliver(void *arg, const char *source, const char *listing_id, const char *image_url,
    const unsigned char *body, size_t len, const char *error)
{
	struct recognise *r = arg;
	unsigned char *copy;

	if (body == NULL) {
		atomic_fetch_add(&r->c.fetch_failed, 1);
		log_debug("image of %s not fetched: %s", listing_id, error != NULL ? error : "no body");
		return;
	}
	atomic_fetch_add(&r->c.fetched, 1);
	copy = xmalloc(len > 0 ? len : 1);
	memcpy(copy, body, len);
	if (!enqueue(r, source, listing_id, image_url, copy, len)) {
		free(copy);
		log_debug("image of %s dropped: the recognition queue is full", listing_id);
	}
}

/* ---- the worker -------------------------------------------------------------------------------------- */

/* What the worker owns; rebuilt on reload. */
struct worker {
	struct config cfg;
	bool cfg_ok;
	struct alert_engine *engine;
	struct descriptor_model *model;
	struct matcher *matcher;
	struct store *st;
	int64_t next_store_try;
	bool model_failed;         /* do not retry opening it until the configuration is reloaded */
};

static bool worker_store(struct worker *w, const char *url);

static void
worker_release(struct worker *w)
{
	matcher_free(w->matcher);
	descriptor_model_free(w->model);
	alert_engine_free(w->engine);
	config_free(&w->cfg);
	w->matcher = NULL;
	w->model = NULL;
	w->engine = NULL;
	w->cfg_ok = false;
	w->model_failed = false;
	memset(&w->cfg, 0, sizeof(w->cfg));
}

static void
worker_load(struct recognise *r, struct worker *w)
{
	char err[1024];

	worker_release(w);
	if (!r->opts.load_config(r->opts.load_arg, &w->cfg, err, sizeof(err))) {
		log_warnx("recognition: %s; images wait until the configuration is fixed", err);
		return;
	}
	if (!alert_engine_new(&w->engine, &w->cfg, err, sizeof(err))) {
		log_warnx("recognition: %s; matches raise no alerts", err);
		w->engine = NULL;
	}
	w->cfg_ok = true;
}

/* Opens the model on first use: a daemon whose catalogue stays empty never loads it. */
static bool
worker_model(struct worker *w)
{
	char err[1024];
	struct descriptor_model_opts mo = {
		.model_path = w->cfg.inference.model,
		.output_name = w->cfg.match.embedding_output,
		.backend = w->cfg.inference.backend,
		.threads = (int)w->cfg.inference.threads,
		.limits = { .max_bytes = (size_t)w->cfg.crawl.max_image_body,
		    .max_pixels = (uint64_t)w->cfg.match.max_image_pixels },
		.plugin_dir = w->cfg.inference.plugin_dir,
		.cache_dir = w->cfg.daemon.state_dir,
	};
	struct matcher_opts mto = {
		.threshold = w->cfg.match.threshold != NULL ? strtof(w->cfg.match.threshold, NULL) : -1.0f,
		.top_k = (size_t)w->cfg.match.top_k,
		.cnn_min_side = (uint32_t)w->cfg.match.min_image_px,
		.storage = VINDEX_I8,
	};

	if (w->model != NULL)
		return true;
	if (!w->cfg_ok || w->model_failed)
		return false;
	if (!descriptor_model_open(&w->model, &mo, err, sizeof(err))) {
		log_warnx("recognition: cannot open the image model: %s; listing images are not matched", err);
		w->model = NULL;
		w->model_failed = true;
		return false;
	}
	(void)matcher_new(&w->matcher, w->model, &mto);
	log_info("recognition: model %s on backend %s, threshold %.2f", descriptor_model_id(w->model),
	    descriptor_model_backend(w->model), (double)mto.threshold);
	return true;
}

/* Copies the model's id and current backend where recognise_model_info reads them. */
static void
publish_model(struct recognise *r, struct worker *w)
{
	const char *id = descriptor_model_id(w->model), *backend = descriptor_model_backend(w->model);

	pthread_mutex_lock(&r->lock);
	(void)pw_strlcpy(r->model_id, id, sizeof(r->model_id));
	(void)pw_strlcpy(r->backend, backend, sizeof(r->backend));
	pthread_mutex_unlock(&r->lock);
}

/* One batched model run, timed for the latency histogram (the backend may change during the run: read after). */
static void
timed_compute(struct recognise *r, struct worker *w, size_t m, const unsigned char *const *bytes,
    const size_t *lens, const char *const *labels, struct descriptor *out, bool *good, char (*errs)[256])
{
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	(void)descriptor_compute_batch(w->model, m, bytes, lens, labels, out, good, errs);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	publish_model(r, w);
	if (r->opts.on_inference != NULL)
		r->opts.on_inference(r->opts.inference_arg, descriptor_model_backend(w->model), m,
		    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
}

/* Whether the catalogue has products, for want(); keeps the previous answer when Redis cannot say. */
static void
worker_check_active(struct recognise *r, struct worker *w)
{
	int64_t n;

	if (!w->cfg_ok || !worker_store(w, r->opts.redis_url))
		return;
	if (catalog_count(w->st, &n) == STORE_OK)
		atomic_store(&r->active, n > 0);
}

static bool
worker_store(struct worker *w, const char *url)
{
	char err[512];
	struct store_opts so = {
		.url = url, .prefix = w->cfg.redis.prefix, .user = w->cfg.redis.user,
		.password = w->cfg.redis.password,
		.connect_timeout_ms = w->cfg.redis.connect_timeout_ms,
		.command_timeout_ms = w->cfg.redis.command_timeout_ms,
	};

	if (w->st != NULL)
		return true;
	if (time_mono_ms() < w->next_store_try)
		return false;
	if (store_open(&w->st, &so, err, sizeof(err)) != STORE_OK) {
		log_warnx("recognition: %s", err);
		store_close(w->st);
		w->st = NULL;
		w->next_store_try = time_mono_ms() + 5000;
		return false;
	}
	return true;
}

/* The descriptor of a job without bytes, through pw:img (URL -> content hash) and pw:emb. */
static bool
known_descriptor(struct recognise *r, struct worker *w, const struct job *j, struct descriptor *d)
{
	char hex[65];
	bool found = false;

	if (catalog_img_get(w->st, j->url, hex, &found) == STORE_OK && found &&
	    catalog_emb_get(w->st, w->model, hex, d, &found) == STORE_OK && found)
		return true;
	/* Gone, or made by another model: fetch it again next time. */
	pthread_mutex_lock(&r->lock);
	(void)known_op(r, url_hash(j->url), -1);
	pthread_mutex_unlock(&r->lock);
	return false;
}

/* Matches one listing whose image descriptor is known (NULL: a listing without an image, by identifiers and
 * title), stores the verdict, raises the alerts of a new match. */
static void
match_listing(struct recognise *r, struct worker *w, const struct job *j, const struct descriptor *d)
{
	struct listing l;
	struct matcher_candidate best;
	struct matcher_query q;
	bool is_new = false;
	enum store_status s;
	int64_t now = time_now_ms();

	if ((s = store_get_listing(w->st, j->listing_id, &l)) != STORE_OK) {
		if (s != STORE_NOT_FOUND) {
			atomic_fetch_add(&r->c.errors, 1);
			log_warnx("recognition: %s", store_error(w->st));
		}
		return;
	}
	q = (struct matcher_query){ .listing_id = l.id, .title = l.title, .brand = l.brand, .gtin = l.gtin,
	    .mpn = l.mpn };
	if (matcher_rank(w->matcher, w->st, &q, d, &best, 1) == 0 || !best.match) {
		atomic_fetch_add(&r->c.no_match, 1);
		if (matcher_store_result(w->st, l.id, NULL, now, NULL) != STORE_OK)
			atomic_fetch_add(&r->c.errors, 1);
		store_listing_free(&l);
		return;
	}
	if (matcher_store_result(w->st, l.id, &best, now, &is_new) != STORE_OK) {
		atomic_fetch_add(&r->c.errors, 1);
		log_warnx("recognition: %s", store_error(w->st));
		store_listing_free(&l);
		return;
	}
	atomic_fetch_add(&r->c.matches, 1);
	if (is_new) {
		char reasons[256];

		atomic_fetch_add(&r->c.new_matches, 1);
		(void)fuse_reasons_format(&best.fused, reasons, sizeof(reasons));
		log_info("recognition: %s matches catalogue product %s (score %.3f: %s)", l.id, best.sku,
		    (double)best.score, reasons);
	}
	/* Every match, not only new ones: undercut compares the prices each time (its rule state keeps it
	 * from firing twice); is_new drives new-match. */
	if (w->engine != NULL) {
		struct match_event ev = {
			.listing_id = l.id, .source = l.source, .url = l.url, .title = l.title, .sku = best.sku,
			.product_title = best.title, .listing_price = l.price, .product_price = best.price,
			.score = best.score, .is_new = is_new, .time_ms = now,
		};
		size_t fired = 0;

		if (alert_on_match(w->engine, w->st, &ev, &fired) != STORE_OK) {
			atomic_fetch_add(&r->c.errors, 1);
			log_warnx("recognition: alerts for %s: %s", l.id, store_error(w->st));
		}
		atomic_fetch_add(&r->c.alerts, fired);
	}
	store_listing_free(&l);
}

/* A deep copy of src into dst (the embedding is duplicated; dst freed with descriptor_free). */
static void
descriptor_copy(struct descriptor *dst, const struct descriptor *src)
{
	*dst = *src;
	if (src->embedding != NULL) {
		dst->embedding = xcalloc(src->dim, sizeof(float));
		memcpy(dst->embedding, src->embedding, src->dim * sizeof(float));
	}
}

/* Embeds the fetched images of a batch (cache first, then one batched inference for the misses). */
static void
describe_batch(struct recognise *r, struct worker *w, struct job *jobs, size_t n, struct descriptor *ds, bool *ok)
{
	const unsigned char *bytes[BATCH];
	size_t lens[BATCH], idx[BATCH], m = 0;
	const char *labels[BATCH];
	struct descriptor out[BATCH];
	bool good[BATCH];
	char (*errs)[256] = xcalloc(BATCH, sizeof(*errs));
	char hex[BATCH][65];
	size_t dup_of[BATCH];

	for (size_t i = 0; i < n; i++) {
		bool found = false;

		dup_of[i] = SIZE_MAX;
		if (jobs[i].url[0] == '\0')
			continue;   /* no image: matched without a descriptor */
		if (jobs[i].bytes == NULL) {
			ok[i] = known_descriptor(r, w, &jobs[i], &ds[i]);
			continue;
		}
		catalog_sha256_hex(jobs[i].bytes, jobs[i].len, hex[i]);
		/* The same bytes twice in one batch (one image under two URLs): embedded once. */
		for (size_t k = 0; k < i && dup_of[i] == SIZE_MAX; k++)
			if (jobs[k].bytes != NULL && dup_of[k] == SIZE_MAX && strcmp(hex[k], hex[i]) == 0)
				dup_of[i] = k;
		if (dup_of[i] != SIZE_MAX)
			continue;
		if (catalog_emb_get(w->st, w->model, hex[i], &ds[i], &found) == STORE_OK && found) {
			atomic_fetch_add(&r->c.cache_hits, 1);
			ok[i] = true;
			continue;
		}
		bytes[m] = jobs[i].bytes;
		lens[m] = jobs[i].len;
		labels[m] = jobs[i].url;
		idx[m++] = i;
	}
	if (m > 0) {
		memset(out, 0, sizeof(out));
		timed_compute(r, w, m, bytes, lens, labels, out, good, errs);
		for (size_t k = 0; k < m; k++) {
			size_t i = idx[k];

			if (!good[k]) {
				atomic_fetch_add(&r->c.rejected, 1);
				log_warnx("recognition: listing %s: %s", jobs[i].listing_id, errs[k]);
				continue;
			}
			atomic_fetch_add(&r->c.inferences, 1);
			ds[i] = out[k];
			ok[i] = true;
			if (catalog_emb_put(w->st, w->model, &ds[i]) != STORE_OK)
				atomic_fetch_add(&r->c.errors, 1);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (dup_of[i] != SIZE_MAX && ok[dup_of[i]]) {
			descriptor_copy(&ds[i], &ds[dup_of[i]]);
			ok[i] = true;
			atomic_fetch_add(&r->c.cache_hits, 1);
		}
		if (!ok[i] || jobs[i].bytes == NULL)
			continue;
		atomic_fetch_add(&r->c.decoded, 1);
		if (catalog_img_put(w->st, jobs[i].url, hex[i]) != STORE_OK)
			atomic_fetch_add(&r->c.errors, 1);
		pthread_mutex_lock(&r->lock);
		(void)known_op(r, url_hash(jobs[i].url), 1);
		pthread_mutex_unlock(&r->lock);
	}
	free(errs);
}

static void
process_batch(struct recognise *r, struct worker *w, struct job *jobs, size_t n)
{
	struct descriptor ds[BATCH];
	bool ok[BATCH] = { false };

	if (!w->cfg_ok || !worker_store(w, r->opts.redis_url) || !worker_model(w)) {
		atomic_fetch_add(&r->c.dropped, n);
		return;
	}
	publish_model(r, w);
	if (matcher_sync(w->matcher, w->st, NULL) != STORE_OK) {
		atomic_fetch_add(&r->c.errors, 1);
		log_warnx("recognition: loading the catalogue: %s", store_error(w->st));
		return;
	}
	memset(ds, 0, sizeof(ds));
	describe_batch(r, w, jobs, n, ds, ok);
	for (size_t i = 0; i < n; i++) {
		if (ok[i])
			match_listing(r, w, &jobs[i], &ds[i]);
		else if (jobs[i].url[0] == '\0')
			match_listing(r, w, &jobs[i], NULL);   /* identifiers and title only */
		descriptor_free(&ds[i]);
	}
}

/*
 * Fills the set of embedded URLs from <prefix>img:* (SCAN, at most KNOWN_MAX), so a restarted daemon does not
 * fetch again the images it embedded before; then tells recognise_start it may install the sink.
 */
static void
warm_known(struct recognise *r, struct worker *w)
{
	char cursor[32] = "0", *pattern = NULL;
	size_t plen = 0, loaded = 0;

	if (w->st != NULL) {
		pattern = xasprintf("%simg:*", store_prefix(w->st));
		plen = strlen(pattern) - 1;
	}
	while (pattern != NULL && loaded < KNOWN_MAX) {
		const char *argv[] = { "SCAN", cursor, "MATCH", pattern, "COUNT", "1000" };
		redisReply *rep;

		if (store_command(w->st, 6, argv, &rep) != STORE_OK)
			break;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 || rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[1]->type != REDIS_REPLY_ARRAY) {
			freeReplyObject(rep);
			break;
		}
		(void)pw_strlcpy(cursor, rep->element[0]->str, sizeof(cursor));
		pthread_mutex_lock(&r->lock);
		for (size_t i = 0; i < rep->element[1]->elements && loaded < KNOWN_MAX; i++) {
			const redisReply *k = rep->element[1]->element[i];
			uint64_t h;

			if (k->type == REDIS_REPLY_STRING && k->len == plen + 64 && (h = hex_u64(k->str + plen)) != 0) {
				(void)known_op(r, h, 1);
				loaded++;
			}
		}
		pthread_mutex_unlock(&r->lock);
		freeReplyObject(rep);
		if (strcmp(cursor, "0") == 0)
			break;
	}
	free(pattern);
	pthread_mutex_lock(&r->lock);
	r->warmed = true;
	pthread_cond_broadcast(&r->wake);
	pthread_mutex_unlock(&r->lock);
}

static void *
worker_main(void *arg)
{
	struct recognise *r = arg;
	struct worker w;
	unsigned gen;

	memset(&w, 0, sizeof(w));
	pthread_mutex_lock(&r->lock);
	gen = r->reload_gen;
	pthread_mutex_unlock(&r->lock);
	worker_load(r, &w);
	worker_check_active(r, &w);
	warm_known(r, &w);
	for (;;) {
		struct job jobs[BATCH];
		size_t n = 0;
		bool reload;

		bool idle = false;

		pthread_mutex_lock(&r->lock);
		while (r->n == 0 && !r->stopping && r->reload_gen == gen && !idle) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += IDLE_CHECK_MS / 1000;
			idle = pthread_cond_timedwait(&r->wake, &r->lock, &ts) != 0;
		}
		reload = r->reload_gen != gen;
		gen = r->reload_gen;
		if (r->stopping && (r->n == 0 || time_mono_ms() > r->drain_until)) {
			pthread_mutex_unlock(&r->lock);
			break;
		}
		while (n < BATCH && r->n > 0) {
			jobs[n] = r->q[r->head];
			r->bytes -= jobs[n].len;
			r->head = (r->head + 1) % QUEUE_MAX_JOBS;
			r->n--;
			n++;
		}
		pthread_mutex_unlock(&r->lock);
		if (reload)
			worker_load(r, &w);
		if (n == 0) {
			worker_check_active(r, &w);
			continue;
		}
		process_batch(r, &w, jobs, n);
		for (size_t i = 0; i < n; i++)
			job_free(&jobs[i]);
	}
	store_close(w.st);
	worker_release(&w);
	return NULL;
}

/* ---- life cycle -------------------------------------------------------------------------------------- */

struct recognise *
recognise_start(const struct recognise_opts *opts)
{
	struct recognise *r;

	if (!opts->cfg->match.enabled) {
		log_info("recognition: off ([match] enabled = no)");
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->opts = *opts;
	r->q = xcalloc(QUEUE_MAX_JOBS, sizeof(*r->q));
	r->known = xcalloc(2 * KNOWN_MAX, sizeof(*r->known));
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	atomic_init(&r->active, true);
	r->sink = (struct crawler_image_sink){ .want = sink_want, .deliver = sink_deliver, .arg = r,
		.match_no_image = sink_match_no_image };
	if (pthread_create(&r->thread, NULL, worker_main, r) != 0) {
		log_warn("recognition: cannot start the worker thread; listing images are not matched");
		pthread_cond_destroy(&r->wake);
		pthread_mutex_destroy(&r->lock);
		free(r->known);
		free(r->q);
		free(r);
		return NULL;
	}
	/* Wait (briefly: Redis answered the daemon a moment ago) until the known URLs are loaded. */
	{
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += WARM_WAIT_S;
		pthread_mutex_lock(&r->lock);
		while (!r->warmed)
			if (pthread_cond_timedwait(&r->wake, &r->lock, &ts) != 0)
				break;
		pthread_mutex_unlock(&r->lock);
	}
	return r;
}

const struct crawler_image_sink *
recognise_sink(struct recognise *r)
{
	return &r->sink;
}

void
recognise_reload(struct recognise *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->reload_gen++;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
}

bool
recognise_model_info(struct recognise *r, char *model, char *backend)
{
	bool known;

	model[0] = backend[0] = '\0';
	if (r == NULL)
		return false;
	pthread_mutex_lock(&r->lock);
	(void)pw_strlcpy(model, r->model_id, RECOGNISE_MODEL_ID_MAX);
	(void)pw_strlcpy(backend, r->backend, RECOGNISE_BACKEND_MAX);
	known = model[0] != '\0';
	pthread_mutex_unlock(&r->lock);
	return known;
}

void
recognise_stats_get(struct recognise *r, struct recognise_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (r == NULL)
		return;
	out->images_offered = atomic_load(&r->c.offered);
	out->images_known = atomic_load(&r->c.known);
	out->images_fetched = atomic_load(&r->c.fetched);
	out->fetch_failed = atomic_load(&r->c.fetch_failed);
	out->images_decoded = atomic_load(&r->c.decoded);
	out->images_rejected = atomic_load(&r->c.rejected);
	out->inferences = atomic_load(&r->c.inferences);
	out->cache_hits = atomic_load(&r->c.cache_hits);
	out->matches = atomic_load(&r->c.matches);
	out->new_matches = atomic_load(&r->c.new_matches);
	out->no_match = atomic_load(&r->c.no_match);
	out->alerts = atomic_load(&r->c.alerts);
	out->dropped = atomic_load(&r->c.dropped);
	out->errors = atomic_load(&r->c.errors);
}

void
recognise_stop(struct recognise *r, int64_t drain_ms)
{
	struct recognise_stats s;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->stopping = true;
	r->drain_until = time_mono_ms() + drain_ms;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	for (; r->n > 0; r->n--, r->head = (r->head + 1) % QUEUE_MAX_JOBS)
		job_free(&r->q[r->head]);
	recognise_stats_get(r, &s);
	log_info("recognition: %llu images fetched (%llu failed), %llu embedded, %llu from the cache, %llu known by URL "
	    "(not fetched again), %llu rejected, %llu matches (%llu new), %llu without a match, %llu alerts, "
	    "%llu dropped",
	    (unsigned long long)s.images_fetched, (unsigned long long)s.fetch_failed,
	    (unsigned long long)s.inferences, (unsigned long long)s.cache_hits, (unsigned long long)s.images_known,
	    (unsigned long long)s.images_rejected, (unsigned long long)s.matches, (unsigned long long)s.new_matches,
	    (unsigned long long)s.no_match, (unsigned long long)s.alerts, (unsigned long long)s.dropped);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r->known);
	free(r->q);
	free(r);
}
