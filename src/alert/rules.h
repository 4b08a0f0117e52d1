/* rules.h: which configured alert rules a recorded price/availability change fires (pure decisions, exact arithmetic). */
#ifndef PW_ALERT_RULES_H
#define PW_ALERT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/money.h"
#include "store/store.h"

/*
 * One recorded change of a listing, as the crawler saw it. Strings are
 * borrowed. A price with currency[0] == 0 means "no price" (for old_price: the
 * listing was never seen with one). time_ms is the time of the change point
 * (the history entry), which also drives cooldowns, so replays are deterministic.
 */
struct change {
	const char *listing_id;
	const char *source;
	const char *url;
	const char *title;
	struct money old_price, new_price;
	enum availability old_avail, new_avail;
	int64_t time_ms;
	/*
	 * Product matching (zeroed: none). match_sku is the catalogue product the
	 * listing is matched to (pw:listing:<ID> match_sku), product_price its own
	 * price (pw:product:<SKU>). match_event: this is a matcher verdict rather
	 * than a price change (alert_on_match); match_new: the match is new.
	 */
	const char *match_sku;
	const char *product_title;
	struct money product_price;
	double match_score;        /* similarity 0..1, reported only; never a price */
	bool match_event;
	bool match_new;
	/* The source's tags ([source] tags), for scope tag:NAME. Borrowed. */
	char *const *tags;
	size_t n_tags;
};

enum alert_kind {
	ALERT_DROP = 0,
	ALERT_RISE,
	ALERT_BELOW,
	ALERT_ABOVE,
	ALERT_LOWEST,
	ALERT_BACK_IN_STOCK,
	ALERT_OUT_OF_STOCK,
	ALERT_ANY_CHANGE,
	ALERT_UNDERCUT,            /* matched listing below the catalogue product's own price (same currency) */
	ALERT_NEW_MATCH,           /* a listing newly matched to a catalogue product (match events only) */
};
/* "drop", "back-in-stock", ... (the config spelling). */
const char *alert_kind_name(enum alert_kind k);

enum alert_scope_kind {
	SCOPE_ALL = 0,
	SCOPE_SOURCE,
	SCOPE_LISTING,
	SCOPE_PRODUCT,             /* listings matched to catalogue product SKU (change.match_sku) */
	SCOPE_TAG,                 /* listings of sources tagged NAME (change.tags) */
};

/* A config_rule turned into numbers once. Decimal settings are scaled by 10^4 (the config allows 4 decimals). */
struct alert_rule {
	char *name;                /* owned */
	enum alert_kind kind;
	enum alert_scope_kind scope;
	char *scope_value;         /* owned; NULL for SCOPE_ALL */
	int64_t percent_e4;        /* 0: not set; 12.5 % is 125000 */
	int64_t amount_e4;         /* 0: not set; in the listing's currency */
	int64_t target_e4;         /* below/above: in the listing's currency */
	bool has_target;
	int64_t days;              /* lowest: the window, default 30 */
	int64_t cooldown_ms;
	char **notify;             /* owned copies of the notifier names */
	size_t n_notify;
};

/* Compiles one rule; on a bad value returns false with err naming the rule and the config line. */
bool alert_rule_compile(const struct config_rule *cr, struct alert_rule *out, char *err, size_t errlen);
void alert_rule_free(struct alert_rule *r);
/* Every kind is evaluated now (kept for callers of the earlier API): always true. */
bool alert_rule_evaluated(const struct alert_rule *r);
/* Does the rule look at product matching (undercut, new-match, or scope product:)? */
bool alert_rule_needs_match(const struct alert_rule *r);
/*
 * Is the rule evaluated on this kind of event? new-match only on match
 * events, the price and stock kinds only on changes, undercut on both.
 */
bool alert_rule_applies(const struct alert_rule *r, const struct change *c);
/* Does the rule look at this change at all (scope)? */
bool alert_rule_in_scope(const struct alert_rule *r, const struct change *c);
/* Does the rule need the listing's history (lowest in N days)? The window starts at time_ms - days. */
bool alert_rule_needs_history(const struct alert_rule *r, int64_t time_ms, int64_t *since_ms);

/*
 * Per (rule, listing) memory, kept in Redis as pw:alert:state:<rule>:<listing>.
 * A fresh state (present = false) is armed.
 */
struct alert_state {
	bool present;
	bool armed;                /* below/above: may fire; cleared by firing, set again by crossing back */
	int64_t last_fired_ms;     /* change time of the last alert, 0: never */
	int64_t last_change_ms;    /* change time last written: older or equal changes are replays */
};

enum alert_verdict {
	VERDICT_NO = 0,            /* condition does not hold */
	VERDICT_FIRE,
	VERDICT_COOLDOWN,          /* condition holds but the rule fired less than cooldown ago */
	VERDICT_DISARMED,          /* below/above: still on the same side, waits for a crossing back */
	VERDICT_DUPLICATE,         /* this change (or a later one) was already handled */
	VERDICT_INCOMPARABLE,      /* missing price or different currencies: never compared */
};
/*
 * undercut: true when the listing's price and the product's own price are
 * both known but in different currencies (counted and logged by the engine:
 * never compared silently).
 */
bool alert_rule_currency_mismatch(const struct alert_rule *r, const struct change *c);
const char *alert_verdict_name(enum alert_verdict v);

/*
 * The condition alone, without state: does the change satisfy the rule?
 * hist (may be NULL when n_hist is 0) are the listing's change points, oldest
 * first, including those before the window (the one in effect at the window
 * start counts) and possibly the change point itself (time >= change time is
 * ignored).
 */
enum alert_verdict alert_rule_condition(const struct alert_rule *r, const struct change *c,
    const struct history_point *hist, size_t n_hist);

/*
 * The full decision: condition, then dedupe, arming and cooldown. *state is
 * read and updated in place; *state_dirty says whether it must be written back
 * (firing, or an arming change).
 */
enum alert_verdict alert_rule_decide(const struct alert_rule *r, const struct change *c,
    const struct history_point *hist, size_t n_hist, struct alert_state *state, bool *state_dirty);

/*
 * Signed percent change new vs old as exact decimal text with two decimals,
 * rounded half away from zero: "-12.50", "3.00". Empty when not comparable
 * (no price, other currency, old price 0).
 */
void alert_percent_text(const struct money *old_price, const struct money *new_price, char *buf, size_t buflen);

#endif
