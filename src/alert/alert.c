/* alert.c: the alert engine: compiled rules, per-change evaluation with Redis-held state, and the notifier channels. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "alert/email.h"
#include "alert/webhook.h"
#include "common/log.h"
#include "common/util.h"

#define COMMIT_TRIES 3

struct alert_engine {
	struct alert_rule *rules;
	size_t n_rules;
	struct alert_channel *channels;
	size_t n_channels;
	struct webhook_opts *webhooks;     /* one per notifier slot (unused for other types) */
	struct email_opts *emails;         /* likewise */
};

/* The "log" notifier: one log line per alert; always delivered. */
static enum alert_delivery
log_deliver(const struct alert_channel *ch, const struct alert_msg *msg, int64_t now_ms, char *err, size_t errlen)
{
	(void)now_ms;
	(void)err;
	(void)errlen;
	log_info("alert %s [%s] rule %s (%s): %s %s %s -> %s %s (%s%%) %s", alert_msg_get(msg, "id"), ch->name,
	    alert_msg_get(msg, "rule"), alert_msg_get(msg, "kind"), alert_msg_get(msg, "listing"),
	    alert_msg_get(msg, "old_price"), alert_msg_get(msg, "old_currency"), alert_msg_get(msg, "new_price"),
	    alert_msg_get(msg, "new_currency"), alert_msg_get(msg, "percent"), alert_msg_get(msg, "url"));
	return DELIVERY_OK;
}

bool
alert_engine_new(struct alert_engine **out, const struct config *cfg, char *err, size_t errlen)
{
	struct alert_engine *e = xcalloc(1, sizeof(*e));
	char rerr[256];

	*out = NULL;
	e->rules = xcalloc(cfg->n_rules > 0 ? cfg->n_rules : 1, sizeof(*e->rules));
	for (size_t i = 0; i < cfg->n_rules; i++) {
		if (!alert_rule_compile(&cfg->rules[i], &e->rules[e->n_rules], rerr, sizeof(rerr))) {
			pw_snprintf(err, errlen, "%s: %s", cfg->path != NULL ? cfg->path : "config", rerr);
			alert_engine_free(e);
			return false;
		}
		if (!alert_rule_evaluated(&e->rules[e->n_rules]))
			log_info("alerts: rule '%s' (%s) needs product matching and is not evaluated yet",
			    e->rules[e->n_rules].name, alert_kind_name(e->rules[e->n_rules].kind));
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
			e->webhooks[i].connect_timeout_ms = cfg->crawl.connect_timeout_ms;
			e->webhooks[i].timeout_ms = cfg->crawl.timeout_ms;
			ch->deliver = webhook_deliver;
			ch->arg = &e->webhooks[i];
		} else if (n->type != NULL && strcmp(n->type, "email") == 0) {
			e->emails[i].url = n->url;
			e->emails[i].password = n->secret;
			e->emails[i].to = n->to;
			e->emails[i].n_to = n->n_to;
			e->emails[i].connect_timeout_ms = cfg->crawl.connect_timeout_ms;
			ch->deliver = email_deliver;
			ch->arg = &e->emails[i];
		}
		else
			ch->deliver = log_deliver;
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

/* One rule against one change: load state, decide, commit; again if another process got there first. */
static enum store_status
apply_rule(struct store *st, const struct alert_rule *r, const struct change *c, const struct history_point *hist,
    size_t n_hist, size_t *fired)
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

enum store_status
alert_on_change(struct alert_engine *e, struct store *st, const struct change *c, size_t *fired)
{
	struct history_point *hist = NULL;
	size_t n_hist = 0, dummy = 0;
	bool hist_loaded = false;
	enum store_status s = STORE_OK;

	if (fired == NULL)
		fired = &dummy;
	*fired = 0;
	if (c->listing_id == NULL || c->listing_id[0] == '\0') {
		store_set_error(st, "alerts: a change without a listing id");
		return STORE_ERROR;
	}
	for (size_t i = 0; i < e->n_rules && s == STORE_OK; i++) {
		const struct alert_rule *r = &e->rules[i];

		if (!alert_rule_evaluated(r) || !alert_rule_in_scope(r, c))
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
		s = apply_rule(st, r, c, hist, n_hist, fired);
	}
	free(hist);
	return s;
}

enum store_status
alert_engine_work(struct alert_engine *e, struct store *st, const struct alert_worker_opts *opts,
    struct alert_worker_stats *stats)
{
	return alert_worker_run_once(st, e->channels, e->n_channels, opts, stats);
}
