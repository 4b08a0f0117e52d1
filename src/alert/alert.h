/* alert.h: the alert engine the daemon drives: rules from the config, alert_on_change, and the notifier worker round. */
#ifndef PW_ALERT_ALERT_H
#define PW_ALERT_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert/queue.h"
#include "alert/rules.h"
#include "common/config.h"
#include "common/money.h"
#include "store/store.h"

struct alert_engine;           /* opaque: compiled rules and the notifier channels */

/*
 * Builds the engine from a loaded config (rules and notifiers). The config must
 * outlive the engine (channel names and secrets are borrowed). On a bad rule
 * returns false with err naming it. Call curl_global_init (fetch_global_init)
 * before the first delivery.
 */
bool alert_engine_new(struct alert_engine **out, const struct config *cfg, char *err, size_t errlen);
void alert_engine_free(struct alert_engine *e);
/* The channels, for alert_worker_run_once. Owned by the engine. */
const struct alert_channel *alert_engine_channels(const struct alert_engine *e, size_t *n);

/*
 * Evaluates every rule in scope against one recorded change and appends the
 * alerts that fire to pw:alerts, each together with its rule state in one
 * atomic step: a crash never loses an alert whose state was written, and a
 * change handled twice (a retry, two daemons) raises its alerts once.
 * *fired (may be NULL) gets the number of alerts appended.
 */
enum store_status alert_on_change(struct alert_engine *e, struct store *st, const struct change *c,
    size_t *fired);

/*
 * One matcher verdict: a marketplace listing recognised as one of the user's
 * own catalogue products. All strings are borrowed for the call only; NULL
 * reads as "". listing_id is the store's listing id (pw:listing:<ID>), sku the
 * catalogue product (pw:product:<SKU>). is_new: this listing was not matched
 * to this product before (the matcher decides; it drives the new-match rule).
 */
struct match_event {
	const char *listing_id, *source, *url, *title, *sku, *product_title;
	struct money listing_price, product_price;
	double score;                  /* similarity, 0..1; never a price */
	bool is_new;
	int64_t time_ms;
};

/*
 * Evaluates the match rules (new-match, undercut) in scope against one match
 * and appends the alerts that fire to pw:alerts, atomically with their rule
 * state, like alert_on_change. Undercut compares listing_price with
 * product_price only in the same currency; a currency mismatch is counted
 * and logged, never compared. *fired (may be NULL) gets the number appended.
 */
enum store_status alert_on_match(struct alert_engine *e, struct store *st, const struct match_event *ev,
    size_t *fired);
/*
 * Threads: alert_on_change and alert_on_match may run on several threads at
 * once on one engine, each with its own store; alert_store_record and
 * alert_engine_work each from one thread at a time.
 */

/*
 * Undercut comparisons skipped because the listing and its product are
 * priced in different currencies (each is also logged), since the engine
 * was made.
 */
size_t alert_engine_currency_mismatches(const struct alert_engine *e);

/*
 * store_record with the crash window closed: a marker "<observed_ms>|<id>"
 * goes into pw:alert:inflight before the record and leaves it when the
 * record was no change or when alert_on_change evaluated the change. Markers
 * a crash left behind are evaluated by alert_sweep, which this calls itself
 * about once a minute (for markers older than a minute). e NULL (no rules):
 * a plain store_record. Same result and *changed as store_record.
 */
enum store_status alert_store_record(struct alert_engine *e, struct store *st, const struct observation *obs,
    bool *changed);

/*
 * Evaluates the changes of pw:alert:inflight markers at or before
 * older_than_ms (those whose record was written; the others are dropped) and
 * removes the markers. Replays are harmless: rule state dedupes alerts.
 * *evaluated and *fired (may be NULL) get the counts.
 */
enum store_status alert_sweep(struct alert_engine *e, struct store *st, int64_t older_than_ms, size_t *evaluated,
    size_t *fired);

/* Outcome of "pricewatch notify test": where it failed, for people. */
struct alert_test_result {
	const char *kind;              /* "webhook", "email" or "log" */
	enum alert_delivery delivery;
	/* "ok", "url", "dns", "connect", "timeout", "tls", "auth", "http" (status not 2xx), "smtp" (reply), "transfer" */
	const char *stage;
	long code;                     /* HTTP status or last SMTP reply code; 0: none */
	char key[ALERT_KEY_HEX + 1];   /* the test message's idempotency key */
	char error[512];
};

/*
 * Sends one test message through the named channel right now (not through
 * the queue). False when no notifier has that name.
 */
bool alert_engine_test(struct alert_engine *e, const char *channel, int64_t now_ms, struct alert_test_result *out);

/* One worker round over the engine's channels (see alert_worker_run_once in queue.h). */
enum store_status alert_engine_work(struct alert_engine *e, struct store *st, const struct alert_worker_opts *opts,
    struct alert_worker_stats *stats);

#endif
