/* alert.c: the alert engine: compiled rules, per-change and per-match evaluation with Redis-held state, the crash-window sweep, and the notifier channels. */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "alert/alert.h"
#include "alert/email.h"
#include "alert/format.h"
#include "alert/webhook.h"
#include "common/log.h"
#include "common/util.h"

#define COMMIT_TRIES 3
#define SWEEP_EVERY_MS 60000           /* how often alert_store_record looks for changes a crash left unevaluated */
#define SWEEP_MIN_AGE_MS 60000         /* younger markers may belong to a record still in progress */

struct alert_engine {
	const struct config *cfg;          /* borrowed: source tags */
	struct alert_rule *rules;
	size_t n_rules;
	bool needs_match;                  /* some rule looks at product matching: load it per change */
	struct alert_channel *channels;
	size_t n_channels;
	struct webhook_opts *webhooks;     /* one per notifier slot (unused for other types) */
	struct email_opts *emails;         /* likewise */
	_Atomic size_t currency_mismatches;
	int64_t next_sweep_mono;           /* alert_store_record's next sweep (monotonic ms); 0: at once */
};

/* Strings loaded for a change's product match; the change points into them. */
struct match_buf {
	char sku[256];
	char title[512];
};

/* The "log" notifier: one log line per alert; always delivered. */
static enum alert_delivery
log_deliver(const struct alert_channel *ch, const struct alert_msg *msg, int64_t now_ms, char *err, size_t errlen)
{
	char *summary = alert_summary(msg);

	(void)now_ms;
	(void)err;
	(void)errlen;
	log_info("alert %s [%s] rule %s (%s): %s %s", alert_msg_get(msg, "id"), ch->name, alert_msg_get(msg, "rule"),
	    alert_msg_get(msg, "kind"), summary, alert_msg_get(msg, "url"));
	free(summary);
	return DELIVERY_OK;
}

/* The smaller of two timeouts, 0 meaning "not set". */
static int64_t
min_timeout(int64_t a, int64_t b)
{
	if (a <= 0)
		return b;
	if (b <= 0)
		return a;
	return a < b ? a : b;
}

bool
alert_engine_new(struct alert_engine **out, const struct config *cfg, char *err, size_t errlen)
{
	struct alert_engine *e = xcalloc(1, sizeof(*e));
	char rerr[256];

	*out = NULL;
	e->cfg = cfg;
	e->rules = xcalloc(cfg->n_rules > 0 ? cfg->n_rules : 1, sizeof(*e->rules));
	for (size_t i = 0; i < cfg->n_rules; i++) {
		if (!alert_rule_compile(&cfg->rules[i], &e->rules[e->n_rules], rerr, sizeof(rerr))) {
			pw_snprintf(err, errlen, "%s: %s", cfg->path != NULL ? cfg->path : "config", rerr);
			alert_engine_free(e);
			return false;
		}
		if (alert_rule_needs_match(&e->rules[e->n_rules]))
			e->needs_match = true;
		e->n_rules++;
	}
	e->channels = xcalloc(cfg->n_notifiers > 0 ? cfg->n_notifiers : 1, sizeof(*e->channels));
	e->webhooks = xcalloc(cfg->n_notifiers > 0 ? cfg->n_notifiers : 1, sizeof(*e->webhooks));
	e->emails = xcalloc(cfg->n_notifiers > 0 ? cfg->n_notifiers : 1, sizeof(*e->emails));
	for (size_t i = 0; i < cfg->n_notifiers; i++) {
		const struct config_notifier *n = &cfg->notifiers[i];
		struct alert_channel *ch = &e->channels[e->n_channels];

		ch->name = n->name;
		if (n->type != NULL && strcmp(n->type, "webhook") == 0) {
			e->webhooks[i].url = n->url;
			e->webhooks[i].secret = n->secret;
			e->webhooks[i].format = alert_format_parse(n->format);
			e->webhooks[i].connect_timeout_ms = min_timeout(cfg->crawl.connect_timeout_ms, n->timeout_ms);
			e->webhooks[i].timeout_ms = n->timeout_ms > 0 ? n->timeout_ms : cfg->crawl.timeout_ms;
			/* One connection per channel, kept open between alerts (the worker is one thread). */
			e->webhooks[i].conn = webhook_conn_new();
			ch->deliver = webhook_deliver;
			ch->deliver_batch = webhook_deliver_batch;
			ch->arg = &e->webhooks[i];
		} else if (n->type != NULL && strcmp(n->type, "email") == 0) {
			e->emails[i].url = n->url;
			/* password-file; secret-file is the older spelling of the same thing. */
			e->emails[i].password = n->password != NULL ? n->password : n->secret;
			e->emails[i].user = n->user;
			e->emails[i].from = n->from;
			e->emails[i].to = n->to;
			e->emails[i].n_to = n->n_to;
			e->emails[i].connect_timeout_ms = min_timeout(cfg->crawl.connect_timeout_ms, n->timeout_ms);
			e->emails[i].timeout_ms = n->timeout_ms;
			e->emails[i].ca_file = n->ca_file;
			ch->deliver = email_deliver;
			ch->deliver_batch = email_deliver_batch;
			ch->arg = &e->emails[i];
		}
		else
			ch->deliver = log_deliver;
		if (ch->deliver_batch != NULL)
			ch->digest_ms = n->digest_ms;
		else if (n->digest_ms > 0)
			log_info("alerts: notifier '%s' logs each alert; its digest setting is ignored", n->name);
		e->n_channels++;
	}
	*out = e;
	return true;
}

void
alert_engine_free(struct alert_engine *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->n_rules; i++)
		alert_rule_free(&e->rules[i]);
	free(e->rules);
	free(e->channels);
	for (size_t i = 0; e->webhooks != NULL && i < e->n_channels; i++)
		webhook_conn_free(e->webhooks[i].conn);
	free(e->webhooks);
	free(e->emails);
	free(e);
}

const struct alert_channel *
alert_engine_channels(const struct alert_engine *e, size_t *n)
{
	*n = e->n_channels;
	return e->channels;
}

size_t
alert_engine_currency_mismatches(const struct alert_engine *e)
{
	return atomic_load(&((struct alert_engine *)e)->currency_mismatches);
}

/* One rule against one change: load state, decide, commit; again if another process got there first. */
static enum store_status
apply_rule(struct alert_engine *e, struct store *st, const struct alert_rule *r, const struct change *c,
    const struct history_point *hist, size_t n_hist, size_t *fired)
{
	for (int tries = 0; tries < COMMIT_TRIES; tries++) {
		struct alert_state state, before;
		struct alert_msg msg;
		enum alert_verdict v;
		enum store_status s;
		bool dirty, committed;
		char entry[64];

		s = alert_state_load(st, r->name, c->listing_id, &state);
		if (s != STORE_OK)
			return s;
		before = state;
		v = alert_rule_decide(r, c, hist, n_hist, &state, &dirty);
		log_debug("alerts: rule %s on %s at %lld: %s", r->name, c->listing_id, (long long)c->time_ms,
		    alert_verdict_name(v));
		if (v == VERDICT_INCOMPARABLE && alert_rule_currency_mismatch(r, c)) {
			atomic_fetch_add(&e->currency_mismatches, 1);
			log_warnx("alerts: rule %s: %s is priced in %s, its product %s in %s: not compared", r->name,
			    c->listing_id, c->new_price.currency, c->match_sku, c->product_price.currency);
		}
		if (!dirty)
			return STORE_OK;
		if (v == VERDICT_FIRE)
			alert_msg_build(&msg, r, c);
		s = alert_commit(st, r->name, c->listing_id, &before, &state, v == VERDICT_FIRE ? &msg : NULL,
		    &committed, entry, sizeof(entry));
		if (v == VERDICT_FIRE) {
			if (s == STORE_OK && committed) {
				log_info("alerts: rule %s fired for %s (%s), entry %s", r->name, c->listing_id,
				    alert_msg_get(&msg, "id"), entry);
				(*fired)++;
			}
			alert_msg_free(&msg);
		}
		if (s != STORE_OK || committed)
			return s;
	}
	log_warnx("alerts: rule %s on %s: state kept changing under us; change at %lld skipped", r->name,
	    c->listing_id, (long long)c->time_ms);
	return STORE_OK;
}

/* HMGET key f1 f2 f3 into out[3] (bounded copies; "" for missing). */
static enum store_status
hmget3(struct store *st, const char *key, const char *const f[3], char *out[3], const size_t len[3])
{
	const char *argv[] = { "HMGET", key, f[0], f[1], f[2] };
	redisReply *r;
	enum store_status s = store_command(st, 5, argv, &r);

	if (s != STORE_OK)
		return s;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) {
		s = r->type == REDIS_REPLY_ERROR ? store_reply_error(st, r, "reading a hash") : STORE_ERROR;
		if (r->type != REDIS_REPLY_ERROR)
			store_set_error(st, "Redis: unexpected reply to HMGET %s", key);
		freeReplyObject(r);
		return s;
	}
	for (size_t i = 0; i < 3; i++)
		pw_strlcpy(out[i], r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str : "", len[i]);
	freeReplyObject(r);
	return STORE_OK;
}

/* The catalogue product's title and own price (pw:product:<SKU> {title, price, currency}). */
static enum store_status
load_product(struct store *st, const char *sku, struct match_buf *b, struct change *c)
{
	static const char *const f[3] = { "title", "price", "currency" };
	char price[32], cur[8];
	char *out[3] = { b->title, price, cur };
	const size_t len[3] = { sizeof(b->title), sizeof(price), sizeof(cur) };
	char *key = xasprintf("%sproduct:%s", store_prefix(st), sku);
	enum store_status s = hmget3(st, key, f, out, len);

	free(key);
	if (s != STORE_OK)
		return s;
	if (c->product_title == NULL || c->product_title[0] == '\0')
		c->product_title = b->title;
	if (c->product_price.currency[0] == '\0' && strlen(cur) == 3 &&
	    parse_int64(price, INT64_MIN, INT64_MAX, &c->product_price.minor))
		memcpy(c->product_price.currency, cur, 4);
	else if (c->product_price.currency[0] == '\0' && price[0] != '\0')
		log_warnx("alerts: product %s has no usable own price ('%s' '%s'): undercut not evaluated", sku,
		    price, cur);
	return STORE_OK;
}

/* The listing's match (pw:listing:<ID> match_sku, match_state) and its product; none when rejected. */
static enum store_status
load_match(struct store *st, struct match_buf *b, struct change *c)
{
	static const char *const f[3] = { "match_sku", "match_state", "match_score" };
	char state[32], score[32];
	char *out[3] = { b->sku, state, score };
	const size_t len[3] = { sizeof(b->sku), sizeof(state), sizeof(score) };
	char *key = xasprintf("%slisting:%s", store_prefix(st), c->listing_id);
	enum store_status s = hmget3(st, key, f, out, len);

	free(key);
	if (s != STORE_OK || b->sku[0] == '\0' || strcmp(state, "rejected") == 0)
		return s;
	c->match_sku = b->sku;
	if (score[0] != '\0')
		c->match_score = strtod(score, NULL);   /* reported only, never compared */
	return load_product(st, b->sku, b, c);
}

/* The source's tags, for scope tag:NAME. */
static void
fill_tags(const struct alert_engine *e, struct change *c)
{
	const struct config_source *src = c->source != NULL ? config_find_source(e->cfg, c->source) : NULL;

	if (c->tags == NULL && src != NULL) {
		c->tags = src->tags;
		c->n_tags = src->n_tags;
	}
}

/* Evaluates every rule that applies to c (a change or a match) and is in scope. */
static enum store_status
evaluate(struct alert_engine *e, struct store *st, const struct change *c, size_t *fired)
{
	struct history_point *hist = NULL;
	size_t n_hist = 0;
	bool hist_loaded = false;
	enum store_status s = STORE_OK;

	for (size_t i = 0; i < e->n_rules && s == STORE_OK; i++) {
		const struct alert_rule *r = &e->rules[i];

		if (!alert_rule_applies(r, c) || !alert_rule_in_scope(r, c))
			continue;
		if (alert_rule_needs_history(r, c->time_ms, NULL) && !hist_loaded) {
			/* From the start: the point in effect when the window opens matters too. */
			s = store_history(st, c->listing_id, 0, c->time_ms, &hist, &n_hist);
			if (s == STORE_NOT_FOUND)
				s = STORE_OK;
			if (s != STORE_OK)
				break;
			hist_loaded = true;
		}
		s = apply_rule(e, st, r, c, hist, n_hist, fired);
	}
	free(hist);
	return s;
}

/* The crash-window marker of a change: "<time_ms>|<listing id>" in pw:alert:inflight. */
static enum store_status
marker(struct store *st, const char *op, const char *listing_id, int64_t time_ms)
{
	char *key = xasprintf("%salert:inflight", store_prefix(st));
	char *member = xasprintf("%" PRId64 "|%s", time_ms, listing_id);
	const char *argv[] = { op, key, member };
	redisReply *r;
	enum store_status s = store_command(st, 3, argv, &r);

	if (s == STORE_OK) {
		if (r->type == REDIS_REPLY_ERROR)
			s = store_reply_error(st, r, "the alerts in-flight marker");
		freeReplyObject(r);
	}
	free(member);
	free(key);
	return s;
}

/*
 * Completes c (source tags; the listing's match for a change, the product's
 * own price for a match event) and evaluates every rule on it.
 */
static enum store_status
evaluate_event(struct alert_engine *e, struct store *st, struct change *c, size_t *fired)
{
	struct match_buf mb;
	enum store_status s = STORE_OK;

	fill_tags(e, c);
	if (c->match_event) {
		/* The matcher may not know the user's own price: the catalogue hash has it. */
		if (c->product_price.currency[0] == '\0' || c->product_title == NULL || c->product_title[0] == '\0')
			s = load_product(st, c->match_sku, &mb, c);
	} else if (e->needs_match && c->match_sku == NULL)
		s = load_match(st, &mb, c);
	if (s == STORE_OK)
		s = evaluate(e, st, c, fired);
	return s;
}

enum store_status
alert_on_change(struct alert_engine *e, struct store *st, const struct change *c, size_t *fired)
{
	struct change cc;
	size_t dummy = 0;
	enum store_status s;

	if (fired == NULL)
		fired = &dummy;
	*fired = 0;
	if (c->listing_id == NULL || c->listing_id[0] == '\0') {
		store_set_error(st, "alerts: a change without a listing id");
		return STORE_ERROR;
	}
	cc = *c;
	s = evaluate_event(e, st, &cc, fired);
	/*
	 * Evaluated: the change no longer needs the sweep (alert_store_record set the
	 * marker). Should the removal fail, the sweep evaluates it again: nothing twice.
	 */
	if (s == STORE_OK && !c->match_event && marker(st, "SREM", c->listing_id, c->time_ms) != STORE_OK)
		log_warnx("alerts: in-flight mark of %s not removed: %s", c->listing_id, store_error(st));
	return s;
}

enum store_status
alert_on_match(struct alert_engine *e, struct store *st, const struct match_event *ev, size_t *fired)
{
	struct change c = {
		.listing_id = ev->listing_id, .source = ev->source, .url = ev->url, .title = ev->title,
		.new_price = ev->listing_price, .old_avail = AVAIL_UNKNOWN, .new_avail = AVAIL_UNKNOWN,
		.time_ms = ev->time_ms, .match_sku = ev->sku, .product_title = ev->product_title,
		.product_price = ev->product_price, .match_score = ev->score, .match_event = true,
		.match_new = ev->is_new,
	};
	size_t dummy = 0;

	if (fired == NULL)
		fired = &dummy;
	*fired = 0;
	if (ev->listing_id == NULL || ev->listing_id[0] == '\0' || ev->sku == NULL || ev->sku[0] == '\0') {
		store_set_error(st, "alerts: a match event without a listing id or product SKU");
		return STORE_ERROR;
	}
	return evaluate_event(e, st, &c, fired);
}

enum store_status
alert_store_record(struct alert_engine *e, struct store *st, const struct observation *obs, bool *changed)
{
	bool ch = false;
	enum store_status s;

	if (changed == NULL)
		changed = &ch;
	*changed = false;
	if (e == NULL)
		return store_record(st, obs, changed);
	if (time_mono_ms() >= e->next_sweep_mono) {
		size_t n = 0, fired = 0;

		e->next_sweep_mono = time_mono_ms() + SWEEP_EVERY_MS;
		if (alert_sweep(e, st, time_now_ms() - SWEEP_MIN_AGE_MS, &n, &fired) != STORE_OK)
			log_warnx("alerts: sweep of unevaluated changes failed: %s", store_error(st));
		else if (n > 0)
			log_info("alerts: %zu change(s) a crash left unevaluated are evaluated now: %zu alert(s)",
			    n, fired);
	}
	/* Before the record: a crash between the record and alert_on_change leaves this for the sweep. */
	s = marker(st, "SADD", obs->listing_id, obs->observed_ms);
	if (s == STORE_UNREACHABLE)
		return s;      /* the record would fail too: the caller keeps the observation */
	if (s != STORE_OK)
		log_warnx("alerts: cannot mark %s in flight (%s); a crash before its rules run would skip its alerts",
		    obs->listing_id, store_error(st));
	s = store_record(st, obs, changed);
	/* A marker left behind (Redis went away just now) is only swept: the record itself succeeded. */
	if (s == STORE_OK && !*changed && marker(st, "SREM", obs->listing_id, obs->observed_ms) != STORE_OK)
		log_warnx("alerts: in-flight mark of %s not removed: %s", obs->listing_id, store_error(st));
	return s;
}

/* Splits "<ms>|<listing id>"; false when malformed. */
static bool
parse_marker(const char *m, int64_t *ms, const char **listing_id)
{
	const char *bar = strchr(m, '|');
	char num[24];

	if (bar == NULL || bar == m || (size_t)(bar - m) >= sizeof(num) || bar[1] == '\0')
		return false;
	memcpy(num, m, (size_t)(bar - m));
	num[bar - m] = '\0';
	*listing_id = bar + 1;
	return parse_int64(num, 0, INT64_MAX, ms);
}

/* One left-over marker: evaluate the change it stands for if the history has it, then drop it. */
static enum store_status
sweep_one(struct alert_engine *e, struct store *st, const char *m, size_t *evaluated, size_t *fired)
{
	static const char *const f[3] = { "source", "url", "title" };
	char source[256], url[2048], title[1024];
	char *out[3] = { source, url, title };
	const size_t len[3] = { sizeof(source), sizeof(url), sizeof(title) };
	struct observation obs;
	struct change c;
	const char *lid;
	int64_t ms;
	size_t n = 0;
	char *key;
	enum store_status s;

	memset(&obs, 0, sizeof(obs));
	if (!parse_marker(m, &ms, &lid)) {
		log_warnx("alerts: malformed in-flight marker '%s' dropped", m);
		key = xasprintf("%salert:inflight", store_prefix(st));
		{
			const char *argv[] = { "SREM", key, m };
			redisReply *r;

			s = store_command(st, 3, argv, &r);
			if (s == STORE_OK)
				freeReplyObject(r);
		}
		free(key);
		return s;
	}
	key = xasprintf("%slisting:%s", store_prefix(st), lid);
	s = hmget3(st, key, f, out, len);
	free(key);
	if (s != STORE_OK)
		return s;
	obs.listing_id = lid;
	obs.source = source;
	obs.url = url;
	obs.title = title;
	obs.observed_ms = ms;
	s = alert_change_from_store(st, &obs, &c);
	if (s == STORE_NOT_FOUND)      /* never recorded, or not a change: nothing to evaluate */
		return marker(st, "SREM", lid, ms);
	if (s != STORE_OK)
		return s;
	s = alert_on_change(e, st, &c, &n);
	if (s == STORE_OK) {
		(*evaluated)++;
		*fired += n;
	}
	return s;
}

enum store_status
alert_sweep(struct alert_engine *e, struct store *st, int64_t older_than_ms, size_t *evaluated, size_t *fired)
{
	char *key = xasprintf("%salert:inflight", store_prefix(st));
	const char *argv[] = { "SMEMBERS", key };
	redisReply *r;
	size_t d1 = 0, d2 = 0;
	enum store_status s;

	if (evaluated == NULL)
		evaluated = &d1;
	if (fired == NULL)
		fired = &d2;
	*evaluated = 0;
	*fired = 0;
	s = store_command(st, 2, argv, &r);
	free(key);
	if (s != STORE_OK)
		return s;
	if (r->type != REDIS_REPLY_ARRAY) {
		s = r->type == REDIS_REPLY_ERROR ? store_reply_error(st, r, "reading the in-flight markers") :
		    STORE_ERROR;
		if (r->type != REDIS_REPLY_ERROR)
			store_set_error(st, "Redis: unexpected reply to SMEMBERS of the in-flight markers");
		freeReplyObject(r);
		return s;
	}
	for (size_t i = 0; i < r->elements && s == STORE_OK; i++) {
		const char *m = r->element[i]->str, *lid;
		int64_t ms;

		if (m == NULL || (parse_marker(m, &ms, &lid) && ms > older_than_ms))
			continue;      /* young: its record may still be in progress */
		s = sweep_one(e, st, m, evaluated, fired);
	}
	freeReplyObject(r);
	return s;
}

/* A message that says what it is, shaped like an alert so every notifier renders it as usual. */
static void
test_msg(struct alert_msg *msg, const char *channel, int64_t now_ms)
{
	static const char rule_name[] = "test";
	struct alert_rule r;
	struct change c;
	char *title = xasprintf("pricewatch test message for notifier '%s'", channel);

	memset(&r, 0, sizeof(r));
	r.name = (char *)rule_name;
	r.kind = ALERT_ANY_CHANGE;
	memset(&c, 0, sizeof(c));
	c.listing_id = "test";
	c.source = "pricewatch";
	c.title = title;
	c.time_ms = now_ms;
	alert_msg_build(msg, &r, &c);
	alert_msg_set(msg, "kind", "test");
	alert_msg_set(msg, "channels", channel);
	free(title);
}

/* What libcurl's code, the HTTP status or SMTP reply say about where it failed. */
static const char *
test_stage(int curl_code, long code, bool http)
{
	const char *stage = alert_transport_stage(curl_code);

	if (strcmp(stage, "ok") == 0 && http && (code == 401 || code == 403))
		return "auth";
	if (strcmp(stage, "ok") == 0 && http && (code < 200 || code > 299))
		return "http";
	if (strcmp(stage, "transfer") == 0 && !http && code >= 400)
		return "smtp";
	return stage;
}

bool
alert_engine_test(struct alert_engine *e, const char *channel, int64_t now_ms, struct alert_test_result *out)
{
	const struct alert_channel *ch = NULL;
	struct alert_msg msg;
	int curl_code = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < e->n_channels; i++)
		if (strcmp(e->channels[i].name, channel) == 0)
			ch = &e->channels[i];
	if (ch == NULL)
		return false;
	test_msg(&msg, channel, now_ms);
	pw_strlcpy(out->key, alert_msg_get(&msg, "id"), sizeof(out->key));
	if (ch->deliver == webhook_deliver) {
		const struct webhook_opts *w = ch->arg;
		char *body = alert_payload(w->format, &msg, 1, NULL, now_ms);

		out->kind = "webhook";
		out->delivery = webhook_post_body(w, body, out->key, now_ms, &out->code, &curl_code, out->error,
		    sizeof(out->error));
		out->stage = test_stage(curl_code, out->code, true);
		free(body);
	} else if (ch->deliver == email_deliver) {
		char *body = email_message(ch->arg, &msg, now_ms);

		out->kind = "email";
		out->delivery = email_send_body(ch->arg, body, &out->code, &curl_code, out->error, sizeof(out->error));
		out->stage = test_stage(curl_code, out->code, false);
		free(body);
	} else {
		out->kind = "log";
		out->delivery = ch->deliver(ch, &msg, now_ms, out->error, sizeof(out->error));
		out->stage = out->delivery == DELIVERY_OK ? "ok" : "transfer";
	}
	alert_msg_free(&msg);
	return true;
}

enum store_status
alert_engine_work(struct alert_engine *e, struct store *st, const struct alert_worker_opts *opts,
    struct alert_worker_stats *stats)
{
	enum store_status s;

	/* Email notifiers draw the listing's price chart from this worker's store, for this round only. */
	for (size_t i = 0; i < e->n_channels; i++) {
		e->emails[i].chart = email_chart_from_store;
		e->emails[i].chart_arg = st;
	}
	s = alert_worker_run_once(st, e->channels, e->n_channels, opts, stats);
	for (size_t i = 0; i < e->n_channels; i++)
		e->emails[i].chart = NULL;
	return s;
}
