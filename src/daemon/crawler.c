/* crawler.c: the daemon's minimal crawl loop: each source on its interval is fetched, extracted and recorded. */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "crawl/fetch.h"
#include "daemon/crawler.h"
#include "extract/extract.h"

/*
 * Observations that could not be written (Redis away) wait here, oldest first.
 * The bound keeps a long outage from eating memory; when it is hit the oldest
 * entry is dropped with a log line, because the newest price is the one users
 * need. The crawler issue moves the schedule into Redis; this queue stays.
 */
#define PENDING_MAX 10000

struct pending {
	char *source, *listing_id, *url, *title, *brand, *sku, *gtin, *mpn, *image_url;
	const char *extractor;     /* static string from the extractor */
	struct money price;
	enum availability availability;
	int64_t observed_ms;
};

struct sched {
	char *name;                /* source name; the config entry is looked up by name after a reload */
	int64_t next_due_ms;       /* monotonic */
	int error_streak;
};

struct crawler {
	const struct config *cfg;  /* borrowed */
	struct sched *sched;
	size_t n_sched;
	struct pending *pending;   /* ring would be tidier; a compacted array is simpler and bounded */
	size_t n_pending;
	struct crawl_stats stats;
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

/* Writes queued observations in order; stops at the first failure so order is kept. */
static bool
pending_flush(struct crawler *c, struct store *st)
{
	size_t done = 0;

	while (done < c->n_pending) {
		struct observation obs;
		bool changed = false;

		pending_to_observation(&c->pending[done], &obs);
		if (store_record(st, &obs, &changed) != STORE_OK)
			break;
		if (changed)
			c->stats.changes++;
		c->stats.records++;
		c->stats.pending_flushed++;
		pending_clear(&c->pending[done]);
		done++;
	}
	if (done > 0) {
		memmove(&c->pending[0], &c->pending[done], (c->n_pending - done) * sizeof(c->pending[0]));
		c->n_pending -= done;
		log_info("stored %zu observations queued while Redis was away", done);
	}
	return c->n_pending == 0;
}

static void
record_observation(struct crawler *c, struct store *st, const struct observation *obs)
{
	bool changed = false;
	enum store_status rc;

	/* Queue behind older observations so history stays in time order. */
	if (c->n_pending > 0 && !pending_flush(c, st)) {
		pending_push(c, obs);
		return;
	}
	rc = store_record(st, obs, &changed);
	if (rc != STORE_OK) {
		c->stats.store_errors++;
		log_warnx("%s: cannot store observation of %s: %s (kept in memory, retried later)",
		    obs->source, obs->listing_id, store_error(st));
		pending_push(c, obs);
		return;
	}
	c->stats.records++;
	if (changed) {
		char price[64] = "-";

		c->stats.changes++;
		if (obs->price.currency[0] != '\0')
			money_format(&obs->price, price, sizeof(price));
		log_info("%s: %s now %s, %s", obs->source, obs->listing_id, price,
		    availability_name(obs->availability));
	}
}

/* Fetches one URL, extracts its records and stores them. Returns false when the fetch failed. */
static bool
crawl_url(struct crawler *c, struct store *st, const struct config_source *src, const char *url)
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
		fetch_result_free(&fr);
		return false;
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
		record_observation(c, st, &obs);
	}
	extract_result_free(&er);
	fetch_result_free(&fr);
	return true;
}

static struct sched *
sched_find(struct crawler *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n_sched; i++)
		if (strcmp(c->sched[i].name, name) == 0)
			return &c->sched[i];
	return NULL;
}

/*
 * Start-up spreads first crawls over a short window instead of firing every
 * source at once; the window is small so a one-source setup starts promptly.
 */
static int64_t
initial_offset_ms(size_t index)
{
	return (int64_t)(index % 16) * 250;
}

void
crawler_reconfigure(struct crawler *c, const struct config *cfg)
{
	struct sched *next;
	size_t i;
	int64_t now = time_mono_ms();

	next = xcalloc(cfg->n_sources > 0 ? cfg->n_sources : 1, sizeof(*next));
	for (i = 0; i < cfg->n_sources; i++) {
		struct sched *old = sched_find(c, cfg->sources[i].name);

		next[i].name = xstrdup(cfg->sources[i].name);
		if (old != NULL) {
			next[i].next_due_ms = old->next_due_ms;
			next[i].error_streak = old->error_streak;
		} else
			next[i].next_due_ms = now + initial_offset_ms(i);
	}
	for (i = 0; i < c->n_sched; i++)
		free(c->sched[i].name);
	free(c->sched);
	c->sched = next;
	c->n_sched = cfg->n_sources;
	c->cfg = cfg;
}

struct crawler *
crawler_new(const struct config *cfg)
{
	struct crawler *c = xcalloc(1, sizeof(*c));

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
	for (i = 0; i < c->n_sched; i++)
		free(c->sched[i].name);
	free(c->sched);
	free(c);
}

/* A failing source backs off (doubling, capped at 8 intervals) so it is not hammered. */
static int64_t
next_interval_ms(const struct config_source *src, const struct sched *s)
{
	int64_t interval = src->interval_ms > 0 ? src->interval_ms : 60000;
	int shift = s->error_streak < 3 ? s->error_streak : 3;

	if (interval > INT64_MAX >> 3)
		return interval;
	return interval << shift;
}

int64_t
crawler_run_due(struct crawler *c, struct store *st, volatile sig_atomic_t *stop)
{
	int64_t now, wait = INT64_MAX;
	size_t i, u;

	if (c->n_pending > 0)
		pending_flush(c, st);

	for (i = 0; i < c->n_sched && !*stop; i++) {
		struct sched *s = &c->sched[i];
		const struct config_source *src = config_find_source(c->cfg, s->name);
		bool ok = true;

		if (src == NULL || !src->enabled)
			continue;
		if (s->next_due_ms > time_mono_ms())
			continue;
		for (u = 0; u < src->n_urls && !*stop; u++)
			if (!crawl_url(c, st, src, src->urls[u]))
				ok = false;
		if (ok)
			s->error_streak = 0;
		else if (s->error_streak < 1000)
			s->error_streak++;
		s->next_due_ms = time_mono_ms() + next_interval_ms(src, s);
		if (s->error_streak > 0)
			log_info("%s: %d failing crawl(s) in a row, next try in %lld s", src->name,
			    s->error_streak, (long long)(next_interval_ms(src, s) / 1000));
	}

	now = time_mono_ms();
	for (i = 0; i < c->n_sched; i++) {
		const struct config_source *src = config_find_source(c->cfg, c->sched[i].name);

		if (src == NULL || !src->enabled)
			continue;
		if (c->sched[i].next_due_ms - now < wait)
			wait = c->sched[i].next_due_ms - now;
	}
	if (wait < 0)
		wait = 0;
	/* Observations waiting for Redis are retried at least every second. */
	if (c->n_pending > 0 && wait > 1000)
		wait = 1000;
	return wait;
}

void
crawler_due_now(struct crawler *c)
{
	size_t i;
	int64_t now = time_mono_ms();

	for (i = 0; i < c->n_sched; i++)
		c->sched[i].next_due_ms = now;
}

bool
crawler_has_pending(const struct crawler *c)
{
	return c->n_pending > 0;
}

const struct crawl_stats *
crawler_stats(const struct crawler *c)
{
	return &c->stats;
}
