/* crawler.c: the daemon's crawl loop over Redis jobs: schedule due sources, claim jobs, crawl them on one fetch engine, record, ack. */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert/alert.h"
#include "common/log.h"
#include "common/util.h"
#include "crawl/multi.h"
#include "crawl/sources.h"
#include "daemon/crawler.h"
#include "extract/extract.h"
#include "store/httpcache.h"
#include "store/jobs.h"

/*
 * Observations that could not be written (Redis away) wait here, oldest first.
 * The bound keeps a long outage from eating memory; when it is hit the oldest
 * entry is dropped with a log line, because the newest price is the one users
 * need. The job that produced them is not acked, so it is crawled again after
 * its lease (docs/crawl-jobs.md).
 */
#define PENDING_MAX 10000

#define TICK_MS 250                /* shortest tick period: due times are met within this */
#define TICK_MAX_MS 5000           /* longest: picks up due times other programs changed */
#define CLAIM_BLOCK_MS 250         /* XREADGROUP BLOCK: short, so signals and the tick are served */
#define REDIS_RETRY_MS 1000        /* turn period while Redis does not answer */
#define JOB_TIMEOUT_MIN_MS 60000
#define TURN_MAX_MS 1000           /* a busy turn returns this often (reloads, metrics, watchdog) */
#define ENGINE_SLICE_MS 100        /* longest wait inside the fetch engine per step */
#define TEMPLATE_MAX_URLS 100000    /* a start URL template expanding to more is a config error */
#define SITEMAP_MAX_DOCS 64        /* sitemap documents read per crawl (bounds an index's fan-out) */
#define PAGE_CACHE_TTL_MS ((int64_t)30 * 24 * 3600 * 1000)  /* validators of a page not seen for a month go */

struct pending {
	char *source, *listing_id, *url, *title, *brand, *sku, *gtin, *mpn, *image_url;
	const char *extractor;     /* static string from the extractor */
	struct money price;
	enum availability availability;
	int64_t observed_ms;
};

struct once_job {
	char id[JOBS_ID_MAX];
	bool done;
};

struct crawler {
	const struct config *cfg;  /* borrowed */
	char consumer[320];        /* host:pid */
	char **names;              /* source names of the current config, to notice removals on reload */
	size_t n_names;
	char **forget;             /* removed sources still to take out of pw:due */
	size_t n_forget;
	bool group_ready;
	int64_t next_tick_ms, next_reclaim_ms;     /* monotonic */
	uint64_t rng;
	bool once_requested, once_enqueued;
	struct once_job *once;
	size_t n_once;
	int64_t once_deadline_ms;  /* monotonic */
	struct pending *pending;   /* ring would be tidier; a compacted array is simpler and bounded */
	size_t n_pending;
	struct alert_engine *alerts;   /* rules of the current config; NULL when it has none or is broken */
	struct crawl_stats stats;
	struct mfetch *engine;     /* the fetch engine all runs share; created on first use */
	bool engine_stale;         /* a reload changed [crawl]: recreated once no run is in flight */
	bool stopping;             /* requests are being cancelled: callbacks record nothing */
	struct store *st;          /* the store of the current turn (robots cache); NULL: none */
	struct run *runs;          /* crawls in flight */
	int64_t next_claim_ms;     /* monotonic: next non-blocking claim while busy */
	struct crawl_host_counts *outcomes;
	size_t n_outcomes;
	struct crawler_image_sink sink;
};

/* What became of one observation. */
enum rec_result {
	REC_STORED,
	REC_PENDING,               /* Redis away: queued in memory */
	REC_REJECTED,              /* Redis refused it: counted and logged; retrying cannot help */
};

static void
pending_clear(struct pending *p)
{
	free(p->source);
	free(p->listing_id);
	free(p->url);
	free(p->title);
	free(p->brand);
	free(p->sku);
	free(p->gtin);
	free(p->mpn);
	free(p->image_url);
	memset(p, 0, sizeof(*p));
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void
pending_push(struct crawler *c, const struct observation *obs)
{
	struct pending *p;

	if (c->n_pending == PENDING_MAX) {
		log_warnx("pending queue full (%d observations while Redis is away): dropping the oldest, %s",
		    PENDING_MAX, c->pending[0].listing_id);
		pending_clear(&c->pending[0]);
		memmove(&c->pending[0], &c->pending[1], (c->n_pending - 1) * sizeof(c->pending[0]));
		c->n_pending--;
	}
	if (c->pending == NULL)
		c->pending = xcalloc(PENDING_MAX, sizeof(*c->pending));
	p = &c->pending[c->n_pending++];
	p->source = dup_or_null(obs->source);
	p->listing_id = dup_or_null(obs->listing_id);
	p->url = dup_or_null(obs->url);
	p->title = dup_or_null(obs->title);
	p->brand = dup_or_null(obs->brand);
	p->sku = dup_or_null(obs->sku);
	p->gtin = dup_or_null(obs->gtin);
	p->mpn = dup_or_null(obs->mpn);
	p->image_url = dup_or_null(obs->image_url);
	p->extractor = obs->extractor;
	p->price = obs->price;
	p->availability = obs->availability;
	p->observed_ms = obs->observed_ms;
}

static void
pending_to_observation(const struct pending *p, struct observation *obs)
{
	memset(obs, 0, sizeof(*obs));
	obs->source = p->source;
	obs->listing_id = p->listing_id;
	obs->url = p->url;
	obs->title = p->title;
	obs->brand = p->brand;
	obs->sku = p->sku;
	obs->gtin = p->gtin;
	obs->mpn = p->mpn;
	obs->image_url = p->image_url;
	obs->extractor = p->extractor;
	obs->price = p->price;
	obs->availability = p->availability;
	obs->observed_ms = p->observed_ms;
}

/*
 * Runs the alert rules on a change store_record just wrote. The alert and its
 * rule state are appended in one atomic step, so a change evaluated twice
 * raises its alerts once; delivery is the notifier thread's job.
 */
static void
raise_alerts(struct crawler *c, struct store *st, const struct observation *obs)
{
	struct change ch;
	size_t fired = 0;

	if (c->alerts == NULL)
		return;
	if (alert_change_from_store(st, obs, &ch) != STORE_OK ||
	    alert_on_change(c->alerts, st, &ch, &fired) != STORE_OK) {
		log_warnx("%s: alerts for %s not evaluated: %s", obs->source, obs->listing_id, store_error(st));
		return;
	}
	c->stats.alerts_raised += fired;
}

/*
 * Writes queued observations in order; stops at the first one Redis cannot
 * take because it is away, so order is kept. One that Redis refuses outright
 * is logged and dropped: it would be refused again and block the rest.
 */
static bool
pending_flush(struct crawler *c, struct store *st)
{
	size_t done = 0, stored = 0;

	while (done < c->n_pending) {
		struct observation obs;
		bool changed = false;
		enum store_status rc;

		pending_to_observation(&c->pending[done], &obs);
		rc = alert_store_record(c->alerts, st, &obs, &changed);
		if (rc == STORE_UNREACHABLE)
			break;
		if (rc != STORE_OK) {
			c->stats.store_errors++;
			log_warnx("%s: dropping queued observation of %s: %s", obs.source, obs.listing_id, store_error(st));
		} else {
			if (changed) {
				c->stats.changes++;
				raise_alerts(c, st, &obs);
			}
			c->stats.records++;
			c->stats.pending_flushed++;
			stored++;
		}
		pending_clear(&c->pending[done]);
		done++;
	}
	if (done > 0) {
		memmove(&c->pending[0], &c->pending[done], (c->n_pending - done) * sizeof(c->pending[0]));
		c->n_pending -= done;
		log_info("stored %zu observations queued while Redis was away", stored);
	}
	return c->n_pending == 0;
}

static enum rec_result
record_observation(struct crawler *c, struct store *st, const struct observation *obs)
{
	bool changed = false;
	enum store_status rc;

	/* Queue behind older observations so history stays in time order. */
	if (c->n_pending > 0 && !pending_flush(c, st)) {
		pending_push(c, obs);
		return REC_PENDING;
	}
	rc = alert_store_record(c->alerts, st, obs, &changed);
	if (rc == STORE_UNREACHABLE) {
		c->stats.store_errors++;
		log_warnx("%s: cannot store observation of %s: %s (kept in memory, retried later)",
		    obs->source, obs->listing_id, store_error(st));
		pending_push(c, obs);
		return REC_PENDING;
	}
	if (rc != STORE_OK) {
		c->stats.store_errors++;
		log_warnx("%s: Redis refused the observation of %s: %s", obs->source, obs->listing_id,
		    store_error(st));
		return REC_REJECTED;
	}
	c->stats.records++;
	if (changed) {
		char price[64] = "-";

		c->stats.changes++;
		if (obs->price.currency[0] != '\0')
			money_format(&obs->price, price, sizeof(price));
		log_info("%s: %s now %s, %s", obs->source, obs->listing_id, price,
		    availability_name(obs->availability));
		raise_alerts(c, st, obs);
	}
	return REC_STORED;
}

/* ---- the page pipeline: runs of a source on the shared fetch engine ----- */

/* How one job went, URL by URL. */
struct job_outcome {
	bool fetch_failed;         /* some URL could not be fetched: the source backs off */
	bool unstored;             /* some observation is not in Redis yet (queued or refused): no ack */
	char error[256];           /* the first fetch or store error, for pw:source:NAME */
};

/* A page URL waiting to be handed to the engine. */
struct feed_item {
	char *url;
	bool untrusted;            /* page-supplied (next link, sitemap entry): SSRF guard */
};

/*
 * One crawl of one source: a claimed job, or `pricewatch crawl`. Owns copies
 * of everything it needs, so a reload (which frees the old config) only has to
 * re-point src (crawler_reconfigure).
 */
struct run {
	struct run *next;
	struct crawler *c;
	struct store *st;          /* borrowed; NULL: dry run (nothing stored, no HTTP caches) */
	const struct config_source *src;  /* NULL when a reload removed the source: results dropped */
	char *name;
	struct job job;            /* strings owned; valid when has_job */
	bool has_job, one_url;
	char *user_agent, *proxy, *cookie_file;
	struct mfetch_profile profile;
	struct feed_item *feed;    /* FIFO: feed[feed_head .. n_feed) */
	size_t feed_head, n_feed, cap_feed;
	size_t pages;              /* page URLs accepted (max-pages) */
	uint64_t *seen;            /* open-addressing set of the accepted URLs' hashes (0: empty slot) */
	size_t n_seen, cap_seen;
	size_t skipped;            /* page URLs refused by max-pages */
	size_t sitemap_docs;
	size_t inflight;           /* requests in the engine */
	struct job_outcome out;
	int64_t renewed_ms;        /* monotonic: last lease renewal */
	const struct crawler_watch *watch;
};

enum req_kind { REQ_PAGE, REQ_SITEMAP, REQ_IMAGE };

/* The arg of one engine request; freed by on_response. */
struct req_ctx {
	struct run *run;
	enum req_kind kind;
	struct http_validators v;  /* pages: what the last 200 left (listing ids for a 304) */
	char *listing_id;          /* images */
};

static const char *const outcome_names[CRAWL_OUTCOME_N] = {
	[CRAWL_OK] = "ok",
	[CRAWL_NOT_MODIFIED] = "not_modified",
	[CRAWL_HTTP_4XX] = "http_4xx",
	[CRAWL_HTTP_5XX] = "http_5xx",
	[CRAWL_TIMEOUT] = "timeout",
	[CRAWL_TOO_LARGE] = "too_large",
	[CRAWL_ROBOTS_DENIED] = "robots_denied",
	[CRAWL_BLOCKED_BY_GUARD] = "blocked_by_guard",
	[CRAWL_ERROR] = "error",
};

const char *
crawl_outcome_name(enum crawl_outcome o)
{
	return (unsigned)o < CRAWL_OUTCOME_N ? outcome_names[o] : "unknown";
}

static void
count_outcome(struct crawler *c, const char *source, const char *host, enum crawl_outcome o)
{
	size_t i;

	if ((unsigned)o >= CRAWL_OUTCOME_N)
		o = CRAWL_ERROR;
	for (i = 0; i < c->n_outcomes; i++)
		if (strcmp(c->outcomes[i].source, source) == 0 && strcmp(c->outcomes[i].host, host) == 0)
			break;
	if (i == c->n_outcomes) {
		c->outcomes = xreallocarray(c->outcomes, c->n_outcomes + 1, sizeof(*c->outcomes));
		memset(&c->outcomes[i], 0, sizeof(c->outcomes[i]));
		c->outcomes[i].source = xstrdup(source);
		c->outcomes[i].host = xstrdup(host);
		c->n_outcomes++;
	}
	c->outcomes[i].count[o]++;
}

/* Robots cache callbacks for the engine: Redis through the store the current turn uses. */
static bool
robots_get_cb(void *arg, const char *robots_url, long *status, char **body, size_t *len)
{
	struct crawler *c = arg;

	return c->st != NULL && robots_cache_get(c->st, robots_url, status, body, len) == STORE_OK;
}

static void
robots_put_cb(void *arg, const char *robots_url, long status, const char *body, size_t len, int64_t ttl_ms)
{
	struct crawler *c = arg;

	if (c->st != NULL && robots_cache_put(c->st, robots_url, status, body, len, ttl_ms) != STORE_OK)
		log_debug("cannot cache %s: %s", robots_url, store_error(c->st));
}

/* The engine, created from [crawl] on first use (and again after a reload changed it, once idle). */
static struct mfetch *
engine_get(struct crawler *c)
{
	const struct config_crawl *cc = &c->cfg->crawl;

	if (c->engine != NULL && c->engine_stale && c->runs == NULL) {
		mfetch_free(c->engine);
		c->engine = NULL;
	}
	if (c->engine == NULL) {
		struct mfetch_config mc = {
			.concurrency = (long)cc->concurrency,
			.max_per_host = (long)cc->max_per_host,
			.per_host_delay_ms = cc->per_host_delay_ms,
			.connect_timeout_ms = cc->connect_timeout_ms,
			.timeout_ms = cc->timeout_ms,
			.low_speed_limit = cc->low_speed_limit,
			.low_speed_time_ms = cc->low_speed_time_ms,
			.max_body = cc->max_body,
			.max_image_body = cc->max_image_body,
			.max_redirects = (long)cc->max_redirects,
			.retries = (int)cc->retries,
			.retry_delay_ms = cc->retry_delay_ms,
			.retry_max_delay_ms = cc->retry_max_delay_ms,
			.robots_ttl_ms = cc->robots_ttl_ms,
			.user_agent = cc->user_agent,
			.respect_robots = cc->respect_robots,
			.cache = { .get = robots_get_cb, .put = robots_put_cb, .arg = c },
		};

		c->engine = mfetch_new(&mc);
		if (c->engine == NULL)
			fatalx("cannot create the libcurl multi handle");
		c->engine_stale = false;
	}
	return c->engine;
}

static void
run_error(struct run *r, const char *msg)
{
	if (!r->out.fetch_failed && !r->out.unstored)
		(void)pw_snprintf(r->out.error, sizeof(r->out.error), "%s", msg);
}

static void
watch_page(struct run *r, const char *kind, const char *url, enum crawl_outcome o, long status,
    size_t listings, const char *error)
{
	struct crawler_page_report p = {
		.source = r->name, .kind = kind, .url = url, .outcome = o, .status = status,
		.listings = listings, .error = error,
	};

	if (r->watch != NULL && r->watch->page != NULL)
		r->watch->page(r->watch->arg, &p);
}

/* FNV-1a of a URL, never 0 (0 marks an empty slot of the seen set). */
static uint64_t
url_hash(const char *url)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *url != '\0'; url++) {
		h ^= (unsigned char)*url;
		h *= 1099511628211ULL;
	}
	return h != 0 ? h : 1;
}

/* Adds url to the run's seen set; false when it was already there (a next-page loop, a repeated sitemap entry). */
static bool
run_see(struct run *r, const char *url)
{
	uint64_t h = url_hash(url);
	size_t i;

	if (2 * (r->n_seen + 1) > r->cap_seen) {
		size_t cap = r->cap_seen ? r->cap_seen * 2 : 64;
		uint64_t *t = xcalloc(cap, sizeof(*t));

		for (i = 0; i < r->cap_seen; i++) {
			size_t k;

			if (r->seen[i] == 0)
				continue;
			for (k = (size_t)(r->seen[i] % cap); t[k] != 0; k = (k + 1) % cap)
				;
			t[k] = r->seen[i];
		}
		free(r->seen);
		r->seen = t;
		r->cap_seen = cap;
	}
	for (i = (size_t)(h % r->cap_seen); r->seen[i] != 0; i = (i + 1) % r->cap_seen)
		if (r->seen[i] == h)
			return false;
	r->seen[i] = h;
	r->n_seen++;
	return true;
}

/* Accepts a page URL into the run's feed unless it was seen in this crawl or max-pages is reached. */
static void
run_accept(struct run *r, const char *url, bool untrusted)
{
	int64_t max = r->src != NULL ? r->src->max_pages : 0;

	if (!run_see(r, url)) {
		log_debug("%s: %s already crawled in this pass", r->name, url);
		return;
	}

	if (max > 0 && r->pages >= (size_t)max) {
		if (r->skipped++ == 0)
			log_warnx("%s: max-pages (%" PRId64 ") reached; %s and later pages are not crawled", r->name,
			    max, url);
		return;
	}
	r->pages++;
	if (r->n_feed == r->cap_feed) {
		if (r->feed_head > 0) {
			memmove(r->feed, r->feed + r->feed_head, (r->n_feed - r->feed_head) * sizeof(*r->feed));
			r->n_feed -= r->feed_head;
			r->feed_head = 0;
		}
		if (r->n_feed == r->cap_feed) {
			r->cap_feed = r->cap_feed ? r->cap_feed * 2 : 32;
			r->feed = xreallocarray(r->feed, r->cap_feed, sizeof(*r->feed));
		}
	}
	r->feed[r->n_feed].url = xstrdup(url);
	r->feed[r->n_feed].untrusted = untrusted;
	r->n_feed++;
}

static void on_response(void *arg, const struct mfetch_response *resp);

/* Hands one request to the engine; ctx is consumed (freed by on_response). */
static void
run_submit(struct run *r, struct req_ctx *ctx, const char *url, bool untrusted, enum mfetch_priority prio)
{
	struct mfetch_request req = {
		.url = url,
		.profile = &r->profile,
		.priority = prio,
		.untrusted = untrusted,
		.etag = ctx->v.etag,
		.last_modified = ctx->v.last_modified,
		.done = on_response,
		.arg = ctx,
	};

	ctx->run = r;
	r->inflight++;
	mfetch_add(engine_get(r->c), &req);
}

static struct req_ctx *
ctx_new(enum req_kind kind)
{
	struct req_ctx *ctx = xcalloc(1, sizeof(*ctx));

	ctx->kind = kind;
	return ctx;
}

static void
ctx_free(struct req_ctx *ctx)
{
	http_validators_free(&ctx->v);
	free(ctx->listing_id);
	free(ctx);
}

/*
 * Moves page URLs from the feed into the engine while the engine has less
 * than two rounds of work queued: the queue is streamed, so memory stays flat
 * however many pages a source has.
 */
static void
run_pump(struct run *r)
{
	size_t limit = 2 * (size_t)r->c->cfg->crawl.concurrency + 16;

	while (r->feed_head < r->n_feed && mfetch_pending(engine_get(r->c)) < limit) {
		struct feed_item it = r->feed[r->feed_head++];
		struct req_ctx *ctx = ctx_new(REQ_PAGE);

		/* Conditional GET: the validators the last 200 of this page left in Redis. */
		if (r->st != NULL && httpcache_get(r->st, it.url, &ctx->v) != STORE_OK)
			http_validators_free(&ctx->v);
		run_submit(r, ctx, it.url, it.untrusted, MFETCH_PRIO_PAGE);
		free(it.url);
	}
	if (r->feed_head == r->n_feed)
		r->feed_head = r->n_feed = 0;
}

static void
run_add_sitemap(struct run *r, const char *url, bool untrusted)
{
	if (r->sitemap_docs >= SITEMAP_MAX_DOCS) {
		log_warnx("%s: more than %d sitemap documents; %s not read", r->name, SITEMAP_MAX_DOCS, url);
		return;
	}
	r->sitemap_docs++;
	run_submit(r, ctx_new(REQ_SITEMAP), url, untrusted, MFETCH_PRIO_PAGE);
}

/*
 * A file: image named by a file: page is as trusted as the page itself (a
 * configured start URL: untrusted file: URLs never get fetched) when it lies
 * in the page's directory or below it, with no ".." segment: a local shop
 * mirror's images load, and a page cannot point the crawler at /etc.
 */
static bool
file_image_in_page_tree(const char *page_url, const char *image_url)
{
	const char *slash;
	size_t dirlen;

	if (page_url == NULL || strncmp(page_url, "file:", 5) != 0 || strncmp(image_url, "file:", 5) != 0)
		return false;
	slash = strrchr(page_url, '/');
	if (slash == NULL)
		return false;
	dirlen = (size_t)(slash - page_url) + 1;
	if (strncmp(image_url, page_url, dirlen) != 0)
		return false;
	return strstr(image_url + dirlen, "/../") == NULL && strncmp(image_url + dirlen, "../", 3) != 0 &&
	    strchr(image_url + dirlen, '?') == NULL && strchr(image_url + dirlen, '%') == NULL;
}

/* Asks the image sink about a recorded listing and fetches its image at low priority when wanted. */
static void
maybe_fetch_image(struct run *r, const struct observation *obs, const char *page_url)
{
	const struct crawler_image_sink *sink = &r->c->sink;
	struct req_ctx *ctx;

	if (obs->image_url == NULL || obs->image_url[0] == '\0') {
		if (sink->match_no_image != NULL)
			sink->match_no_image(sink->arg, obs->source, obs->listing_id);
		return;
	}
	if (sink->want == NULL || !sink->want(sink->arg, obs->source, obs->listing_id, obs->image_url))
		return;
	ctx = ctx_new(REQ_IMAGE);
	ctx->listing_id = xstrdup(obs->listing_id);
	run_submit(r, ctx, obs->image_url, !file_image_in_page_tree(page_url, obs->image_url), MFETCH_PRIO_IMAGE);
}

/* Extracts a fetched page and records its listings; ids gets the listing ids (caller frees). Returns the count. */
static size_t
page_extract(struct run *r, const struct mfetch_response *resp, char ***ids_out, bool *all_stored)
{
	struct crawler *c = r->c;
	const struct config_source *src = r->src;
	const char *page_url = resp->effective_url != NULL ? resp->effective_url : resp->url;
	struct extract_opts eo = {
		.default_currency = src->currency,
		.decimal_separator = src->decimal_separator,
		.rules = &src->xpath,
		.source = src->name,
	};
	struct extract_result er;
	char **ids;
	int64_t now = time_now_ms();
	size_t i, n, kept = 0;

	memset(&er, 0, sizeof(er));
	n = extract_page_ex(resp->body, resp->len, page_url, &eo, &er);
	c->stats.extract_errors += (uint64_t)er.n_errors;
	if (n == 0) {
		c->stats.pages_without_price++;
		log_warnx("%s: %s: %s", src->name, resp->url, er.error[0] != '\0' ? er.error : "no listing found");
	}
	ids = xcalloc(n + 1, sizeof(*ids));
	for (i = 0; i < n; i++) {
		const struct extract_record *rec = &er.records[i];
		const char *rurl = rec->url != NULL ? rec->url : resp->url;
		char id[512];
		struct observation obs;

		if (!store_listing_id(src->name, rec->sku, rec->gtin, rurl, id, sizeof(id))) {
			log_warnx("%s: %s: cannot build a listing id", src->name, resp->url);
			continue;
		}
		if (rec->price.currency[0] == '\0')
			c->stats.pages_without_price++;
		memset(&obs, 0, sizeof(obs));
		obs.source = src->name;
		obs.listing_id = id;
		obs.url = rurl;
		obs.title = rec->title;
		obs.brand = rec->brand;
		obs.sku = rec->sku;
		obs.gtin = rec->gtin;
		obs.mpn = rec->mpn;
		obs.image_url = rec->image_url;
		obs.extractor = rec->extractor;
		obs.price = rec->price;
		obs.availability = rec->availability;
		obs.observed_ms = now;
		ids[kept++] = xstrdup(id);
		if (r->watch != NULL && r->watch->listing != NULL)
			r->watch->listing(r->watch->arg, &obs);
		if (r->st != NULL && record_observation(c, r->st, &obs) != REC_STORED) {
			char msg[300];

			(void)pw_snprintf(msg, sizeof(msg), "%s: cannot store %s: %s", resp->url, id, store_error(r->st));
			run_error(r, msg);
			r->out.unstored = true;
			*all_stored = false;
		}
		maybe_fetch_image(r, &obs, page_url);
	}
	extract_result_free(&er);
	*ids_out = ids;
	return kept;
}

/* Follows the source's next-page link, if any, as a page-supplied URL. */
static void
page_follow_next(struct run *r, const struct mfetch_response *resp)
{
	const char *base = resp->effective_url != NULL ? resp->effective_url : resp->url;
	char err[256], *next;

	if (r->src->next_page == NULL)
		return;
	next = sources_next_page(resp->body, resp->len, base, r->src->next_page, err, sizeof(err));
	if (next == NULL) {
		log_debug("%s: %s: no next page: %s", r->name, resp->url, err);
		return;
	}
	run_accept(r, next, true);
	free(next);
}

static void
page_done(struct run *r, struct req_ctx *ctx, const struct mfetch_response *resp)
{
	struct crawler *c = r->c;
	size_t listings = 0, i;

	if (resp->outcome == CRAWL_OK) {
		struct http_validators v = { 0 };
		bool all_stored = true;

		c->stats.fetches_ok++;
		listings = page_extract(r, resp, &v.listing_ids, &all_stored);
		v.n_listing_ids = listings;
		page_follow_next(r, resp);
		/* Validators only once every listing is in Redis: a 304 must never hide a lost observation. */
		if (r->st != NULL && all_stored && (resp->etag != NULL || resp->last_modified != NULL)) {
			v.etag = (char *)(uintptr_t)resp->etag;
			v.last_modified = (char *)(uintptr_t)resp->last_modified;
			if (httpcache_put(r->st, resp->url, &v, PAGE_CACHE_TTL_MS) != STORE_OK)
				log_debug("%s: cannot keep the validators of %s: %s", r->name, resp->url,
				    store_error(r->st));
			v.etag = v.last_modified = NULL;
		}
		http_validators_free(&v);
	} else if (resp->outcome == CRAWL_NOT_MODIFIED) {
		/* Seen, unchanged: the listings it held are touched, nothing is parsed. */
		c->stats.fetches_ok++;
		c->stats.not_modified++;
		listings = ctx->v.n_listing_ids;
		for (i = 0; r->st != NULL && i < ctx->v.n_listing_ids; i++)
			if (store_touch(r->st, ctx->v.listing_ids[i], time_now_ms()) != STORE_OK)
				log_debug("%s: cannot touch %s: %s", r->name, ctx->v.listing_ids[i], store_error(r->st));
	} else {
		c->stats.fetches_failed++;
		log_warnx("%s: %s", r->name, resp->error);
		run_error(r, resp->error);
		r->out.fetch_failed = true;
	}
	watch_page(r, "page", resp->url, resp->outcome, resp->status, listings, resp->error);
}

static void
sitemap_done(struct run *r, const struct mfetch_response *resp)
{
	struct sitemap_result sm;
	char err[256];
	size_t i, room = 0;

	memset(&sm, 0, sizeof(sm));
	if (resp->outcome == CRAWL_OK) {
		if (r->src->max_pages > 0 && (size_t)r->src->max_pages > r->pages)
			room = (size_t)r->src->max_pages - r->pages;
		if (sitemap_parse(resp->body, resp->len, resp->url, r->src->sitemap_filter, room > 0 ? room : 1,
		    &sm, err, sizeof(err))) {
			for (i = 0; i < sm.n_urls; i++)
				run_accept(r, sm.urls[i], true);
			for (i = 0; i < sm.n_sitemaps; i++)
				run_add_sitemap(r, sm.sitemaps[i], true);
		} else {
			log_warnx("%s: %s", r->name, err);
			run_error(r, err);
			r->out.fetch_failed = true;
		}
		r->c->stats.fetches_ok++;
	} else {
		r->c->stats.fetches_failed++;
		log_warnx("%s: sitemap %s", r->name, resp->error);
		run_error(r, resp->error);
		r->out.fetch_failed = true;
	}
	watch_page(r, "sitemap", resp->url, resp->outcome, resp->status, sm.n_urls,
	    resp->outcome == CRAWL_OK ? "" : resp->error);
	sitemap_result_free(&sm);
}

static void
image_done(struct run *r, struct req_ctx *ctx, const struct mfetch_response *resp)
{
	const struct crawler_image_sink *sink = &r->c->sink;

	if (resp->outcome != CRAWL_OK)
		log_info("%s: image of %s: %s", r->name, ctx->listing_id, resp->error);
	if (sink->deliver != NULL)
		sink->deliver(sink->arg, r->name, ctx->listing_id, resp->url,
		    resp->outcome == CRAWL_OK ? (const unsigned char *)resp->body : NULL, resp->len,
		    resp->outcome == CRAWL_OK ? NULL : resp->error);
	watch_page(r, "image", resp->url, resp->outcome, resp->status, 0, resp->error);
}

/* The engine's callback for every request of every run. */
static void
on_response(void *arg, const struct mfetch_response *resp)
{
	struct req_ctx *ctx = arg;
	struct run *r = ctx->run;

	r->inflight--;
	/* Stopping (requests cancelled) or the source left the config on a reload: nothing to record. */
	if (r->c->stopping || r->src == NULL) {
		log_debug("%s: %s", r->name, resp->error);
		ctx_free(ctx);
		return;
	}
	count_outcome(r->c, r->name, resp->host, resp->outcome);
	switch (ctx->kind) {
	case REQ_PAGE:
		page_done(r, ctx, resp);
		break;
	case REQ_SITEMAP:
		sitemap_done(r, resp);
		break;
	case REQ_IMAGE:
		image_done(r, ctx, resp);
		break;
	}
	ctx_free(ctx);
}

/* Builds a run for src; job (may be NULL) is copied. */
static struct run *
run_new(struct crawler *c, struct store *st, const struct config_source *src, const struct job *job,
    const struct crawler_watch *watch)
{
	struct run *r = xcalloc(1, sizeof(*r));
	size_t i;

	r->c = c;
	r->st = st;
	r->src = src;
	r->name = xstrdup(src->name);
	r->watch = watch;
	r->renewed_ms = time_mono_ms();
	if (job != NULL) {
		r->has_job = true;
		r->job = *job;
		r->job.source = xstrdup(job->source);
		r->job.url = xstrdup(job->url != NULL ? job->url : "");
	}
	/* Copies: a reload frees the config these came from while the run may still be going. */
	r->user_agent = dup_or_null(src->user_agent);
	r->proxy = dup_or_null(src->proxy);
	r->cookie_file = dup_or_null(src->cookie_file);
	r->profile.user_agent = r->user_agent;
	r->profile.proxy = r->proxy;
	r->profile.cookie_file = r->cookie_file;
	r->profile.per_host_delay_ms = src->per_host_delay_ms;
	for (i = 0; i < src->n_headers; i++) {
		struct curl_slist *t = curl_slist_append(r->profile.headers, src->headers[i]);

		if (t != NULL)
			r->profile.headers = t;
	}
	/* allow-private: the tests' and intranets' loopback and private nets; never link-local or metadata. */
	r->profile.guard.allow_loopback = src->allow_private;
	r->profile.guard.allow_private = src->allow_private;
	return r;
}

static void
run_free(struct run *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = r->feed_head; i < r->n_feed; i++)
		free(r->feed[i].url);
	free(r->feed);
	free(r->seen);
	curl_slist_free_all(r->profile.headers);
	free(r->user_agent);
	free(r->proxy);
	free(r->cookie_file);
	free(r->name);
	if (r->has_job) {
		free(r->job.source);
		free(r->job.url);
	}
	free(r);
}

/* Queues the run's sitemaps and start URLs (templates expanded) and links it into the crawler. */
static void
run_start(struct run *r)
{
	const struct config_source *src = r->src;
	size_t u, i;

	r->next = r->c->runs;
	r->c->runs = r;
	for (u = 0; u < src->n_sitemaps && !r->one_url; u++)
		run_add_sitemap(r, src->sitemaps[u], false);
	for (u = 0; u < src->n_urls; u++) {
		char **urls = NULL, err[256];
		size_t n = 0;

		if (r->one_url && strcmp(src->urls[u], r->job.url) != 0)
			continue;
		/* max-pages is applied by run_accept, with a warning; this only bounds a runaway template. */
		if (!sources_expand_template(src->urls[u], TEMPLATE_MAX_URLS, &urls, &n, err, sizeof(err))) {
			log_warnx("%s: %s", src->name, err);
			run_error(r, err);
			r->out.fetch_failed = true;
			watch_page(r, "page", src->urls[u], CRAWL_ERROR, 0, 0, err);
			continue;
		}
		for (i = 0; i < n; i++)
			run_accept(r, urls[i], false);
		sources_free_urls(urls, n);
	}
	run_pump(r);
}

static bool
run_finished(const struct run *r)
{
	return r->inflight == 0 && r->feed_head == r->n_feed;
}

/* One slice of the engine for every run: feed, fetch, complete. */
static void
runs_step(struct crawler *c, int64_t max_wait_ms)
{
	struct run *r;

	for (r = c->runs; r != NULL; r = r->next)
		run_pump(r);
	(void)mfetch_run(engine_get(c), max_wait_ms);
	for (r = c->runs; r != NULL; r = r->next)
		run_pump(r);
}

/* Unlinks r from the crawler's list of runs (does not free it). */
static void
run_unlink(struct crawler *c, struct run *r)
{
	struct run **pp;

	for (pp = &c->runs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			r->next = NULL;
			return;
		}
}

/* Cancels every request in flight (their callbacks see c->stopping). */
static void
runs_cancel(struct crawler *c)
{
	if (c->engine == NULL)
		return;
	c->stopping = true;
	mfetch_cancel_all(c->engine);
	c->stopping = false;
}

/* ---- scheduling --------------------------------------------------------- */

/* xorshift64*: jitter only needs to differ between daemons and runs, not to be secret. */
static uint64_t
rng_next(struct crawler *c)
{
	uint64_t x = c->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	c->rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, n); n > 0. */
static int64_t
rng_below(struct crawler *c, int64_t n)
{
	return n > 0 ? (int64_t)(rng_next(c) % (uint64_t)n) : 0;
}

static int64_t
source_interval(const struct config_source *src)
{
	return src->interval_ms > 0 ? src->interval_ms : 60000;
}

/* Lease of a claimed job: crawl.job-timeout, or twice the transfer timeout and at least a minute. */
static int64_t
job_timeout_ms(const struct crawler *c)
{
	int64_t t = c->cfg->crawl.job_timeout_ms;

	if (t > 0)
		return t;
	t = c->cfg->crawl.timeout_ms > INT64_MAX / 2 ? INT64_MAX : 2 * c->cfg->crawl.timeout_ms;
	return t > JOB_TIMEOUT_MIN_MS ? t : JOB_TIMEOUT_MIN_MS;
}

/*
 * The enabled sources, with a fresh jitter (+-10 % of the interval) and a
 * first-crawl offset. The offsets spread sources evenly, in config order, over
 * min(interval, 30 s): every daemon computes the same ones, and the order the
 * user wrote is the order a fresh start crawls in. Caller frees.
 */
static struct jobs_source *
tick_sources(struct crawler *c, size_t *n_out)
{
	const struct config *cfg = c->cfg;
	struct jobs_source *js = xcalloc(cfg->n_sources > 0 ? cfg->n_sources : 1, sizeof(*js));
	size_t i, n = 0, enabled = 0;

	for (i = 0; i < cfg->n_sources; i++)
		if (cfg->sources[i].enabled)
			enabled++;
	for (i = 0; i < cfg->n_sources; i++) {
		const struct config_source *src = &cfg->sources[i];
		int64_t iv = source_interval(src), tenth = iv / 10;
		int64_t window = iv < JOBS_SPREAD_MAX_MS ? iv : JOBS_SPREAD_MAX_MS;

		if (!src->enabled)
			continue;
		js[n].name = src->name;
		js[n].interval_ms = iv;
		js[n].jitter_ms = tenth > 0 ? rng_below(c, 2 * tenth + 1) - tenth : 0;
		js[n].spread_ms = window / (int64_t)enabled * (int64_t)n;
		n++;
	}
	*n_out = n;
	return js;
}

static void
names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static bool
names_contain(char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

void
crawler_reconfigure(struct crawler *c, const struct config *cfg)
{
	char **next = xcalloc(cfg->n_sources > 0 ? cfg->n_sources : 1, sizeof(*next));
	char err[512];
	size_t i;

	for (i = 0; i < cfg->n_sources; i++)
		next[i] = xstrdup(cfg->sources[i].name);
	/* Removed sources: this daemon noticed, so this daemon takes them out of the shared schedule. */
	for (i = 0; i < c->n_names; i++) {
		if (names_contain(next, cfg->n_sources, c->names[i]) ||
		    names_contain(c->forget, c->n_forget, c->names[i]))
			continue;
		c->forget = xreallocarray(c->forget, c->n_forget + 1, sizeof(*c->forget));
		c->forget[c->n_forget++] = xstrdup(c->names[i]);
	}
	/* A source added back before the removal reached Redis stays. */
	for (i = 0; i < c->n_forget;) {
		if (names_contain(next, cfg->n_sources, c->forget[i])) {
			free(c->forget[i]);
			c->forget[i] = c->forget[--c->n_forget];
		} else
			i++;
	}
	names_free(c->names, c->n_names);
	c->names = next;
	c->n_names = cfg->n_sources;
	c->cfg = cfg;
	alert_engine_free(c->alerts);
	c->alerts = NULL;
	if (cfg->n_rules > 0 && !alert_engine_new(&c->alerts, cfg, err, sizeof(err)))
		log_warnx("alert rules disabled: %s", err);
	c->next_tick_ms = 0;       /* new sources enter pw:due on the next turn */
	/* Crawls in flight go on with the new settings of their source, or record nothing if it left. */
	for (struct run *r = c->runs; r != NULL; r = r->next) {
		r->src = config_find_source(cfg, r->name);
		if (r->src != NULL && !r->src->enabled)
			r->src = NULL;
	}
	c->engine_stale = true;
}

struct crawler *
crawler_new(const struct config *cfg)
{
	struct crawler *c = xcalloc(1, sizeof(*c));
	char host[256];

	if (gethostname(host, sizeof(host)) != 0)
		(void)pw_snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	(void)pw_snprintf(c->consumer, sizeof(c->consumer), "%s:%ld", host, (long)getpid());
	c->rng = (uint64_t)time_now_ms() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)time_mono_ms() << 7;
	if (c->rng == 0)
		c->rng = 0x9E3779B97F4A7C15ULL;
	crawler_reconfigure(c, cfg);
	return c;
}

void
crawler_free(struct crawler *c)
{
	size_t i;

	if (c == NULL)
		return;
	if (c->n_pending > 0)
		log_warnx("exiting with %zu observations that Redis never accepted", c->n_pending);
	for (i = 0; i < c->n_pending; i++)
		pending_clear(&c->pending[i]);
	free(c->pending);
	names_free(c->names, c->n_names);
	names_free(c->forget, c->n_forget);
	alert_engine_free(c->alerts);
	free(c->once);
	runs_cancel(c);
	while (c->runs != NULL) {
		struct run *r = c->runs;

		run_unlink(c, r);
		run_free(r);
	}
	mfetch_free(c->engine);
	for (i = 0; i < c->n_outcomes; i++) {
		free((char *)(uintptr_t)c->outcomes[i].source);
		free((char *)(uintptr_t)c->outcomes[i].host);
	}
	free(c->outcomes);
	free(c);
}

/* ---- jobs ----------------------------------------------------------------- */

static void
once_mark_done(struct crawler *c, const char *id)
{
	for (size_t i = 0; i < c->n_once; i++)
		if (strcmp(c->once[i].id, id) == 0)
			c->once[i].done = true;
}

/* Hands a job back for another daemon (we are stopping); on failure the lease runs out instead. */
static void
release_job(struct crawler *c, struct store *st, const struct job *j)
{
	if (jobs_release(st, j) == STORE_OK) {
		c->stats.jobs_released++;
		log_debug("job %s (%s) handed back: stopping", j->id, j->source);
	} else
		log_debug("job %s (%s) left to its lease: %s", j->id, j->source, store_error(st));
}

/*
 * Starts the crawl of a claimed job on the shared engine. A job for a source
 * this daemon does not run is acked and dropped at once.
 */
static void
start_job(struct crawler *c, struct store *st, const struct job *j)
{
	const struct config_source *src = config_find_source(c->cfg, j->source);
	struct run *r;
	size_t u;

	if (src == NULL || !src->enabled) {
		/* See docs/crawl-jobs.md: daemons sharing a prefix should share the source list. */
		log_warnx("job %s names source \"%s\", which is %s in this daemon's configuration: dropped "
		    "(daemons sharing a Redis prefix should run the same sources)", j->id, j->source,
		    src == NULL ? "not" : "disabled");
		if (jobs_ack(st, j) == STORE_OK)
			c->stats.jobs_acked++;
		once_mark_done(c, j->id);
		return;
	}
	r = run_new(c, st, src, j, NULL);
	if (j->url[0] != '\0') {
		/* Only a URL the source really has: the stream is shared, its content is not trusted. */
		for (u = 0; u < src->n_urls; u++)
			if (strcmp(src->urls[u], j->url) == 0)
				r->one_url = true;
		if (!r->one_url)
			log_warnx("job %s: %s is not a start URL of source %s; crawling the whole source", j->id,
			    j->url, src->name);
	}
	log_debug("job %s: crawling %s (attempt %" PRId64 ")", j->id, src->name, j->attempt);
	run_start(r);
}

static void
start_jobs(struct crawler *c, struct store *st, struct job *jobs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		start_job(c, st, &jobs[i]);
}

/* A finished job: its outcome goes to pw:source:NAME, and it is acked when every observation is stored. */
static void
finish_job(struct crawler *c, struct store *st, struct run *r)
{
	const struct job *j = &r->job;
	int64_t streak = 0, next = 0;
	int64_t interval = r->src != NULL ? source_interval(r->src) : 60000;

	once_mark_done(c, j->id);
	if (r->src == NULL) {
		/* The source left the configuration while it was being crawled. */
		if (jobs_ack(st, j) == STORE_OK)
			c->stats.jobs_acked++;
		return;
	}
	if (source_state_update(st, r->name, !r->out.fetch_failed && !r->out.unstored, r->out.error,
	    time_now_ms(), interval, &streak, &next) != STORE_OK)
		log_debug("%s: cannot record the source state: %s", r->name, store_error(st));
	else if (streak > 0)
		log_info("%s: %" PRId64 " failing crawl(s) in a row, next try in %" PRId64 " s", r->name, streak,
		    next > 0 ? (next - time_now_ms() + 999) / 1000 : 0);
	if (r->out.unstored) {
		/* Nothing observed is lost: without the ack the lease runs out and the page is crawled again. */
		log_warnx("job %s (%s) not acknowledged: some observations are not in Redis yet", j->id, r->name);
		return;
	}
	if (jobs_ack(st, j) == STORE_OK)
		c->stats.jobs_acked++;
	else
		log_warnx("job %s (%s): %s (it will be crawled again after its lease)", j->id, r->name,
		    store_error(st));
}

/* Retires finished runs; jobs are recorded and acked. */
static void
runs_reap(struct crawler *c, struct store *st)
{
	struct run *r = c->runs, *next;

	for (; r != NULL; r = next) {
		next = r->next;
		if (!run_finished(r))
			continue;
		run_unlink(c, r);
		if (r->has_job)
			finish_job(c, st, r);
		run_free(r);
	}
}

/* Renews the lease of every job in flight that is a third through it. */
static void
runs_renew(struct crawler *c, struct store *st)
{
	int64_t lease = job_timeout_ms(c), now = time_mono_ms();

	for (struct run *r = c->runs; r != NULL; r = r->next) {
		bool held = true;

		if (!r->has_job || now - r->renewed_ms <= lease / 3)
			continue;
		if (jobs_extend(st, c->consumer, r->job.id, &held) == STORE_OK && !held)
			log_warnx("job %s (%s) ran past crawl.job-timeout and was taken over by another daemon",
			    r->job.id, r->name);
		r->renewed_ms = now;
	}
}

/* Stop requested: transfers are dropped and unfinished jobs handed back for another daemon. */
static void
runs_stop(struct crawler *c, struct store *st)
{
	struct run *r;

	runs_cancel(c);
	while ((r = c->runs) != NULL) {
		run_unlink(c, r);
		if (r->has_job)
			release_job(c, st, &r->job);
		run_free(r);
	}
}

static size_t
runs_count(const struct crawler *c)
{
	size_t n = 0;

	for (const struct run *r = c->runs; r != NULL; r = r->next)
		n++;
	return n;
}

/* --once: one job per enabled source, now. */
static bool
once_enqueue(struct crawler *c, struct store *st)
{
	struct jobs_source *js;
	char (*ids)[JOBS_ID_MAX];
	size_t i, n, u, urls = 0;
	enum store_status s;

	js = tick_sources(c, &n);
	ids = xcalloc(n > 0 ? n : 1, sizeof(*ids));
	s = jobs_enqueue_now(st, js, n, time_now_ms(), ids);
	if (s == STORE_OK) {
		free(c->once);
		c->once = xcalloc(n > 0 ? n : 1, sizeof(*c->once));
		for (i = 0; i < n; i++)
			(void)pw_snprintf(c->once[i].id, sizeof(c->once[i].id), "%s", ids[i]);
		c->n_once = n;
		c->once_enqueued = true;
		c->stats.jobs_enqueued += n;
		/* Generous: every page at its full timeout, plus a lease for a job another daemon dropped. */
		for (i = 0; i < c->cfg->n_sources; i++)
			for (u = 0; u < c->cfg->sources[i].n_urls; u++)
				urls++;
		c->once_deadline_ms = time_mono_ms() + 2 * job_timeout_ms(c) + 30000 +
		    (int64_t)urls * (c->cfg->crawl.timeout_ms + c->cfg->crawl.connect_timeout_ms);
	} else
		log_warnx("cannot enqueue the --once jobs: %s", store_error(st));
	free(ids);
	free(js);
	return s == STORE_OK;
}

/* The scheduler tick (see docs/crawl-jobs.md); false when Redis failed. */
static bool
schedule_tick(struct crawler *c, struct store *st)
{
	struct jobs_source *js;
	size_t ns, added = 0;
	int64_t now = time_mono_ms(), wall = time_now_ms(), next_due = INT64_MAX, until;

	js = tick_sources(c, &ns);
	if (jobs_schedule_tick(st, js, ns, wall, &added, &next_due) != STORE_OK) {
		free(js);
		log_warnx("scheduler tick failed: %s", store_error(st));
		return false;
	}
	free(js);
	c->stats.jobs_enqueued += added;
	if (added > 0)
		log_debug("scheduled %zu due source(s)", added);
	/*
	 * Sleep the tick until the earliest due time: other daemons only ever
	 * push due times later (or remove them), and a reload re-arms it.
	 */
	until = next_due - wall;
	if (next_due == INT64_MAX || until > TICK_MAX_MS)
		until = TICK_MAX_MS;
	if (until < TICK_MS)
		until = TICK_MS;
	c->next_tick_ms = now + until;
	return true;
}

/* XAUTOCLAIM of jobs whose daemon died, when it is time; they start at once. */
static void
maybe_reclaim(struct crawler *c, struct store *st)
{
	struct job *jobs = NULL;
	size_t n = 0;
	int64_t now = time_mono_ms(), lease = job_timeout_ms(c), period = lease / 4;

	if (now < c->next_reclaim_ms)
		return;
	if (period > 5000)
		period = 5000;
	if (period < TICK_MS)
		period = TICK_MS;
	c->next_reclaim_ms = now + period;
	if (jobs_reclaim(st, c->consumer, lease, 1, &jobs, &n) == STORE_OK && n > 0) {
		log_info("took over job %s (%s) from a daemon that died or hung (delivery %" PRId64 ")",
		    jobs[0].id, jobs[0].source, jobs[0].attempt);
		c->stats.jobs_reclaimed += n;
		start_jobs(c, st, jobs, n);
	}
	jobs_free(jobs, n);
}

/* Claims one more job when the engine has room (block_ms 0: do not wait); false when Redis failed. */
static bool
claim_more(struct crawler *c, struct store *st, int64_t block_ms)
{
	struct job *jobs = NULL;
	size_t n = 0;

	if (jobs_claim(st, c->consumer, 1, block_ms, &jobs, &n) != STORE_OK) {
		log_warnx("cannot claim crawl jobs: %s", store_error(st));
		return false;
	}
	c->stats.jobs_claimed += n;
	start_jobs(c, st, jobs, n);
	jobs_free(jobs, n);
	return true;
}

/*
 * Drives the crawls in flight for at most TURN_MAX_MS; with claim, takes more
 * jobs (without blocking) while the engine has room, up to the global limit.
 * The runs carry on in the next turn, so that the daemon serves reloads,
 * metrics and its watchdog in between.
 */
static void
runs_turn(struct crawler *c, struct store *st, volatile sig_atomic_t *stop, bool claim)
{
	int64_t turn_end = time_mono_ms() + TURN_MAX_MS;

	while (c->runs != NULL && !*stop && time_mono_ms() < turn_end) {
		runs_step(c, ENGINE_SLICE_MS);
		runs_reap(c, st);
		runs_renew(c, st);
		if (claim && time_mono_ms() >= c->next_claim_ms &&
		    mfetch_pending(engine_get(c)) < (size_t)c->cfg->crawl.concurrency &&
		    runs_count(c) < (size_t)c->cfg->crawl.concurrency) {
			c->next_claim_ms = time_mono_ms() + CLAIM_BLOCK_MS;
			(void)claim_more(c, st, 0);
		}
	}
	if (*stop && c->runs != NULL)
		runs_stop(c, st);
}

int64_t
crawler_run_due(struct crawler *c, struct store *st, volatile sig_atomic_t *stop)
{
	int64_t block, cmd_timeout = c->cfg->redis.command_timeout_ms;

	c->st = st;
	if (*stop && c->runs != NULL) {
		runs_stop(c, st);
		return 0;
	}
	if (c->n_pending > 0 && !pending_flush(c, st)) {
		/* Redis is away: crawls in flight go on (their observations queue up), nothing new starts. */
		if (c->runs == NULL)
			return REDIS_RETRY_MS;
		runs_turn(c, st, stop, false);
		return 0;
	}
	if (!c->group_ready) {
		if (jobs_init(st) != STORE_OK) {
			log_warnx("cannot set up the crawl jobs stream: %s", store_error(st));
			return REDIS_RETRY_MS;
		}
		c->group_ready = true;
	}
	if (c->n_forget > 0) {
		if (jobs_forget_sources(st, (const char *const *)c->forget, c->n_forget) == STORE_OK) {
			log_info("removed %zu source(s) that left the configuration from the schedule", c->n_forget);
			names_free(c->forget, c->n_forget);
			c->forget = NULL;
			c->n_forget = 0;
		} else
			return REDIS_RETRY_MS;
	}
	if (c->once_requested && !c->once_enqueued && !once_enqueue(c, st))
		return REDIS_RETRY_MS;
	/* --once crawls what it enqueued; it does not take part in the schedule. */
	if (!c->once_requested && time_mono_ms() >= c->next_tick_ms && !schedule_tick(c, st))
		return REDIS_RETRY_MS;
	if (*stop)
		return 0;
	maybe_reclaim(c, st);

	if (c->runs == NULL) {
		/*
		 * Idle: wait for a job in XREADGROUP, no longer than the next tick and
		 * well inside the command timeout.
		 */
		block = c->once_requested ? CLAIM_BLOCK_MS : c->next_tick_ms - time_mono_ms();
		if (block > CLAIM_BLOCK_MS)
			block = CLAIM_BLOCK_MS;
		if (cmd_timeout > 0 && block > cmd_timeout / 2)
			block = cmd_timeout / 2;
		if (block < 1)
			block = 1;
		if (!claim_more(c, st, block))
			return REDIS_RETRY_MS;
	}
	runs_turn(c, st, stop, true);
	return 0;
}

/* ---- one source in the foreground (pricewatch crawl) ------------------- */

bool
crawler_crawl_source(struct crawler *c, struct store *st, const char *source, const struct crawler_watch *watch,
    volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	const struct config_source *src = config_find_source(c->cfg, source);
	struct run *r;
	bool ok;

	if (src == NULL) {
		(void)pw_snprintf(err, errlen, "no source named \"%s\" in the configuration", source);
		return false;
	}
	if (c->runs != NULL) {
		(void)pw_snprintf(err, errlen, "the crawler is busy with jobs");
		return false;
	}
	c->st = st;
	r = run_new(c, st, src, NULL, watch);
	run_start(r);
	while (!run_finished(r) && !*stop)
		runs_step(c, ENGINE_SLICE_MS);
	if (!run_finished(r)) {
		runs_cancel(c);
		(void)pw_snprintf(err, errlen, "interrupted");
		run_unlink(c, r);
		run_free(r);
		return false;
	}
	run_unlink(c, r);
	ok = !r->out.fetch_failed && !r->out.unstored;
	if (!ok)
		(void)pw_snprintf(err, errlen, "%s", r->out.error);
	run_free(r);
	return ok;
}

/* ---- outcomes and images ----------------------------------------------- */

const struct crawl_host_counts *
crawler_outcomes(const struct crawler *c, size_t *n)
{
	*n = c->n_outcomes;
	return c->outcomes;
}

void
crawler_set_image_sink(struct crawler *c, const struct crawler_image_sink *sink)
{
	if (sink != NULL)
		c->sink = *sink;
	else
		memset(&c->sink, 0, sizeof(c->sink));
}

void
crawler_due_now(struct crawler *c)
{
	c->once_requested = true;
	c->once_enqueued = false;
}

bool
crawler_once_done(struct crawler *c, struct store *st)
{
	size_t i, left = 0;

	if (!c->once_enqueued)
		return false;
	for (i = 0; i < c->n_once; i++) {
		bool exists = true;

		if (c->once[i].done)
			continue;
		/* Acked jobs are deleted: gone from the stream means another daemon did it. */
		if (jobs_exists(st, c->once[i].id, &exists) == STORE_OK && !exists)
			c->once[i].done = true;
		else
			left++;
	}
	if (left > 0 && time_mono_ms() > c->once_deadline_ms) {
		log_warnx("--once: %zu job(s) still not done; giving up", left);
		c->stats.jobs_unfinished += left;
		return true;
	}
	return left == 0;
}

bool
crawler_flush(struct crawler *c, struct store *st)
{
	return c->n_pending == 0 || pending_flush(c, st);
}

void
crawler_leave(struct crawler *c, struct store *st)
{
	if (c->group_ready && jobs_leave(st, c->consumer) != STORE_OK)
		log_debug("cannot leave the consumer group: %s", store_error(st));
}

bool
crawler_has_pending(const struct crawler *c)
{
	return c->n_pending > 0;
}

const char *
crawler_consumer(const struct crawler *c)
{
	return c->consumer;
}

const struct crawl_stats *
crawler_stats(const struct crawler *c)
{
	return &c->stats;
}
