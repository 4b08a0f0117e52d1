/* crawler.c: the daemon's crawl loop over Redis jobs: schedule due sources, claim a job, fetch, extract, record, ack. */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert/alert.h"
#include "common/log.h"
#include "common/util.h"
#include "crawl/fetch.h"
#include "daemon/crawler.h"
#include "extract/extract.h"
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
		rc = store_record(st, &obs, &changed);
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
	rc = store_record(st, obs, &changed);
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

/* How one job went, URL by URL. */
struct job_outcome {
	bool fetch_failed;         /* some URL could not be fetched: the source backs off */
	bool unstored;             /* some observation is not in Redis yet (queued or refused): no ack */
	char error[256];           /* the first fetch or store error, for pw:source:NAME */
};

/* Fetches one URL, extracts its records and stores them. */
static void
crawl_url(struct crawler *c, struct store *st, const struct config_source *src, const char *url,
    struct job_outcome *out)
{
	const struct config_crawl *cc = &c->cfg->crawl;
	struct fetch_opts fo = {
		.user_agent = cc->user_agent,
		.connect_timeout_ms = cc->connect_timeout_ms,
		.timeout_ms = cc->timeout_ms,
		.max_body = cc->max_body,
		.max_redirects = (long)cc->max_redirects,
	};
	struct fetch_result fr;
	struct extract_result er;
	int64_t now;
	size_t i, n;

	memset(&fr, 0, sizeof(fr));
	if (!fetch_url(url, &fo, &fr)) {
		c->stats.fetches_failed++;
		log_warnx("%s: %s", src->name, fr.error);
		if (!out->fetch_failed && !out->unstored)
			(void)pw_snprintf(out->error, sizeof(out->error), "%s", fr.error);
		out->fetch_failed = true;
		fetch_result_free(&fr);
		return;
	}
	c->stats.fetches_ok++;
	now = time_now_ms();

	memset(&er, 0, sizeof(er));
	n = extract_page(fr.body, fr.len, fr.effective_url != NULL ? fr.effective_url : url,
	    src->currency, &er);
	c->stats.extract_errors += (uint64_t)er.n_errors;
	if (n == 0) {
		c->stats.pages_without_price++;
		log_warnx("%s: %s: %s", src->name, url, er.error[0] != '\0' ? er.error : "no listing found");
	}
	for (i = 0; i < n; i++) {
		const struct extract_record *r = &er.records[i];
		const char *rurl = r->url != NULL ? r->url : url;
		char id[512];
		struct observation obs;
		enum rec_result rr;

		if (!store_listing_id(src->name, r->sku, r->gtin, rurl, id, sizeof(id))) {
			log_warnx("%s: %s: cannot build a listing id", src->name, url);
			continue;
		}
		if (r->price.currency[0] == '\0')
			c->stats.pages_without_price++;
		memset(&obs, 0, sizeof(obs));
		obs.source = src->name;
		obs.listing_id = id;
		obs.url = rurl;
		obs.title = r->title;
		obs.brand = r->brand;
		obs.sku = r->sku;
		obs.gtin = r->gtin;
		obs.mpn = r->mpn;
		obs.image_url = r->image_url;
		obs.extractor = r->extractor;
		obs.price = r->price;
		obs.availability = r->availability;
		obs.observed_ms = now;
		rr = record_observation(c, st, &obs);
		if (rr != REC_STORED) {
			if (!out->fetch_failed && !out->unstored)
				(void)pw_snprintf(out->error, sizeof(out->error), "%s: cannot store %s: %s", url, id,
				    store_error(st));
			out->unstored = true;
		}
	}
	extract_result_free(&er);
	fetch_result_free(&fr);
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
 * Crawls every start URL of a job's source (or the one URL the job names),
 * renews the lease between URLs, records the outcome in pw:source:NAME and
 * acks only when every observation is in Redis.
 */
static void
run_job(struct crawler *c, struct store *st, const struct job *j, volatile sig_atomic_t *stop)
{
	const struct config_source *src = config_find_source(c->cfg, j->source);
	struct job_outcome out;
	int64_t lease = job_timeout_ms(c), renewed = time_mono_ms(), streak = 0, next = 0;
	size_t u, crawled = 0;
	bool one_url = false;

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
	if (j->url[0] != '\0') {
		/* Only a URL the source really has: the stream is shared, its content is not trusted. */
		for (u = 0; u < src->n_urls; u++)
			if (strcmp(src->urls[u], j->url) == 0)
				one_url = true;
		if (!one_url)
			log_warnx("job %s: %s is not a start URL of source %s; crawling the whole source", j->id,
			    j->url, src->name);
	}
	memset(&out, 0, sizeof(out));
	log_debug("job %s: crawling %s (attempt %" PRId64 ")", j->id, src->name, j->attempt);
	for (u = 0; u < src->n_urls; u++) {
		if (one_url && strcmp(src->urls[u], j->url) != 0)
			continue;
		if (*stop)
			break;
		if (time_mono_ms() - renewed > lease / 3) {
			bool held = true;

			if (jobs_extend(st, c->consumer, j->id, &held) == STORE_OK && !held)
				log_warnx("job %s (%s) ran past crawl.job-timeout and was taken over by another daemon",
				    j->id, src->name);
			renewed = time_mono_ms();
		}
		crawl_url(c, st, src, src->urls[u], &out);
		crawled++;
	}
	if (*stop && crawled < (one_url ? 1 : src->n_urls)) {
		release_job(c, st, j);
		return;
	}
	once_mark_done(c, j->id);
	if (source_state_update(st, src->name, !out.fetch_failed && !out.unstored, out.error, time_now_ms(),
	    source_interval(src), &streak, &next) != STORE_OK)
		log_debug("%s: cannot record the source state: %s", src->name, store_error(st));
	else if (streak > 0)
		log_info("%s: %" PRId64 " failing crawl(s) in a row, next try in %" PRId64 " s", src->name, streak,
		    next > 0 ? (next - time_now_ms() + 999) / 1000 : 0);
	if (out.unstored) {
		/* Nothing observed is lost: without the ack the lease runs out and the page is crawled again. */
		log_warnx("job %s (%s) not acknowledged: some observations are not in Redis yet", j->id, src->name);
		return;
	}
	if (jobs_ack(st, j) == STORE_OK)
		c->stats.jobs_acked++;
	else
		log_warnx("job %s (%s): %s (it will be crawled again after its lease)", j->id, src->name,
		    store_error(st));
}

static void
run_jobs(struct crawler *c, struct store *st, struct job *jobs, size_t n, volatile sig_atomic_t *stop)
{
	for (size_t i = 0; i < n; i++) {
		if (*stop)
			release_job(c, st, &jobs[i]);
		else
			run_job(c, st, &jobs[i], stop);
	}
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

int64_t
crawler_run_due(struct crawler *c, struct store *st, volatile sig_atomic_t *stop)
{
	struct job *jobs = NULL;
	size_t n = 0;
	int64_t now, block;
	int64_t cmd_timeout = c->cfg->redis.command_timeout_ms;

	if (c->n_pending > 0 && !pending_flush(c, st))
		return REDIS_RETRY_MS;
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

	now = time_mono_ms();
	/* --once crawls what it enqueued; it does not take part in the schedule. */
	if (!c->once_requested && now >= c->next_tick_ms) {
		struct jobs_source *js;
		size_t ns, added = 0;
		int64_t wall = time_now_ms(), next_due = INT64_MAX, until;

		js = tick_sources(c, &ns);
		if (jobs_schedule_tick(st, js, ns, wall, &added, &next_due) != STORE_OK) {
			free(js);
			log_warnx("scheduler tick failed: %s", store_error(st));
			return REDIS_RETRY_MS;
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
	}
	if (*stop)
		return 0;
	if (now >= c->next_reclaim_ms) {
		int64_t lease = job_timeout_ms(c), period = lease / 4;

		if (period > 5000)
			period = 5000;
		if (period < TICK_MS)
			period = TICK_MS;
		c->next_reclaim_ms = now + period;
		if (jobs_reclaim(st, c->consumer, lease, 1, &jobs, &n) == STORE_OK && n > 0) {
			log_info("took over job %s (%s) from a daemon that died or hung (delivery %" PRId64 ")",
			    jobs[0].id, jobs[0].source, jobs[0].attempt);
			c->stats.jobs_reclaimed += n;
			run_jobs(c, st, jobs, n, stop);
			jobs_free(jobs, n);
			return 0;
		}
		jobs_free(jobs, n);
		jobs = NULL;
		n = 0;
	}

	/*
	 * One job at a time: a daemon that claimed a batch would sit on jobs that
	 * an idle daemon could run. Block no longer than the next tick and well
	 * inside the command timeout.
	 */
	block = c->once_requested ? CLAIM_BLOCK_MS : c->next_tick_ms - time_mono_ms();
	if (block > CLAIM_BLOCK_MS)
		block = CLAIM_BLOCK_MS;
	if (cmd_timeout > 0 && block > cmd_timeout / 2)
		block = cmd_timeout / 2;
	if (block < 1)
		block = 1;
	if (jobs_claim(st, c->consumer, 1, block, &jobs, &n) != STORE_OK) {
		log_warnx("cannot claim crawl jobs: %s", store_error(st));
		return REDIS_RETRY_MS;
	}
	c->stats.jobs_claimed += n;
	run_jobs(c, st, jobs, n, stop);
	jobs_free(jobs, n);
	return 0;
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
