/* rules.c: decides which alert rules a change fires, in exact integer arithmetic on minor units. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/rules.h"
#include "common/util.h"

#define DEFAULT_LOWEST_DAYS 30
#define DAY_MS (24LL * 3600 * 1000)

static const char *const kind_names[] = {
	[ALERT_DROP] = "drop",
	[ALERT_RISE] = "rise",
	[ALERT_BELOW] = "below",
	[ALERT_ABOVE] = "above",
	[ALERT_LOWEST] = "lowest",
	[ALERT_BACK_IN_STOCK] = "back-in-stock",
	[ALERT_OUT_OF_STOCK] = "out-of-stock",
	[ALERT_ANY_CHANGE] = "any-change",
	[ALERT_UNDERCUT] = "undercut",
	[ALERT_NEW_MATCH] = "new-match",
};

const char *
alert_kind_name(enum alert_kind k)
{
	if ((size_t)k < sizeof(kind_names) / sizeof(kind_names[0]))
		return kind_names[k];
	return "unknown";
}

const char *
alert_verdict_name(enum alert_verdict v)
{
	switch (v) {
	case VERDICT_NO: return "no";
	case VERDICT_FIRE: return "fire";
	case VERDICT_COOLDOWN: return "cooldown";
	case VERDICT_DISARMED: return "disarmed";
	case VERDICT_DUPLICATE: return "duplicate";
	case VERDICT_INCOMPARABLE: return "incomparable";
	}
	return "unknown";
}

/* "12.5" -> 125000: a non-negative decimal with at most 4 fraction digits, scaled by 10^4. */
static bool
decimal_e4(const char *text, int64_t *out)
{
	const char *p = text;
	int64_t v = 0;
	int frac = -1;

	if (text == NULL || !isdigit((unsigned char)*p))
		return false;
	for (; *p != '\0'; p++) {
		if (*p == '.' && frac < 0) {
			frac = 0;
			if (!isdigit((unsigned char)p[1]))
				return false;
			continue;
		}
		if (!isdigit((unsigned char)*p) || frac >= 4)
			return false;
		if (frac >= 0)
			frac++;
		if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *p - '0', &v))
			return false;
	}
	for (frac = frac < 0 ? 0 : frac; frac < 4; frac++)
		if (__builtin_mul_overflow(v, 10, &v))
			return false;
	*out = v;
	return true;
}

bool
alert_rule_compile(const struct config_rule *cr, struct alert_rule *out, char *err, size_t errlen)
{
	size_t k;
	const char *colon;

	memset(out, 0, sizeof(*out));
	for (k = 0; k < sizeof(kind_names) / sizeof(kind_names[0]); k++)
		if (cr->kind != NULL && strcmp(cr->kind, kind_names[k]) == 0)
			break;
	if (k == sizeof(kind_names) / sizeof(kind_names[0])) {
		pw_snprintf(err, errlen, "line %d: [rule \"%s\"]: unknown kind '%s'", cr->line, cr->name,
		    cr->kind != NULL ? cr->kind : "(none)");
		return false;
	}
	out->kind = (enum alert_kind)k;
	if ((cr->percent != NULL && !decimal_e4(cr->percent, &out->percent_e4)) ||
	    (cr->amount != NULL && !decimal_e4(cr->amount, &out->amount_e4)) ||
	    (cr->target != NULL && !decimal_e4(cr->target, &out->target_e4))) {
		pw_snprintf(err, errlen, "line %d: [rule \"%s\"]: bad percent, amount or target", cr->line,
		    cr->name);
		return false;
	}
	out->has_target = cr->target != NULL;
	if ((out->kind == ALERT_DROP || out->kind == ALERT_RISE) && out->percent_e4 == 0 &&
	    out->amount_e4 == 0) {
		pw_snprintf(err, errlen, "line %d: [rule \"%s\"]: kind %s needs percent or amount", cr->line,
		    cr->name, cr->kind);
		return false;
	}
	if ((out->kind == ALERT_BELOW || out->kind == ALERT_ABOVE) && !out->has_target) {
		pw_snprintf(err, errlen, "line %d: [rule \"%s\"]: kind %s needs target", cr->line, cr->name,
		    cr->kind);
		return false;
	}
	out->scope = SCOPE_ALL;
	if (cr->scope != NULL && strcmp(cr->scope, "all") != 0) {
		colon = strchr(cr->scope, ':');
		if (colon == NULL || colon[1] == '\0') {
			pw_snprintf(err, errlen, "line %d: [rule \"%s\"]: bad scope '%s'", cr->line, cr->name,
			    cr->scope);
			return false;
		}
		if (strncmp(cr->scope, "source:", 7) == 0)
			out->scope = SCOPE_SOURCE;
		else if (strncmp(cr->scope, "listing:", 8) == 0)
			out->scope = SCOPE_LISTING;
		else if (strncmp(cr->scope, "product:", 8) == 0)
			out->scope = SCOPE_PRODUCT;
		else if (strncmp(cr->scope, "tag:", 4) == 0)
			out->scope = SCOPE_TAG;
		else {
			pw_snprintf(err, errlen, "line %d: [rule \"%s\"]: bad scope '%s'", cr->line, cr->name,
			    cr->scope);
			return false;
		}
		out->scope_value = xstrdup(colon + 1);
	}
	out->days = cr->days > 0 ? cr->days : DEFAULT_LOWEST_DAYS;
	out->cooldown_ms = cr->cooldown_ms > 0 ? cr->cooldown_ms : 0;
	out->name = xstrdup(cr->name);
	out->n_notify = cr->n_notify;
	out->notify = xcalloc(cr->n_notify > 0 ? cr->n_notify : 1, sizeof(*out->notify));
	for (k = 0; k < cr->n_notify; k++)
		out->notify[k] = xstrdup(cr->notify[k]);
	return true;
}

void
alert_rule_free(struct alert_rule *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_notify; i++)
		free(r->notify[i]);
	free(r->notify);
	free(r->scope_value);
	free(r->name);
	memset(r, 0, sizeof(*r));
}

bool
alert_rule_evaluated(const struct alert_rule *r)
{
	(void)r;
	return true;
}

bool
alert_rule_needs_match(const struct alert_rule *r)
{
	return r->kind == ALERT_UNDERCUT || r->kind == ALERT_NEW_MATCH || r->scope == SCOPE_PRODUCT;
}

bool
alert_rule_applies(const struct alert_rule *r, const struct change *c)
{
	if (r->kind == ALERT_NEW_MATCH)
		return c->match_event;
	if (r->kind == ALERT_UNDERCUT)
		return true;
	/* A match verdict is not a price change: drop, below, ... look at recorded changes only. */
	return !c->match_event;
}

bool
alert_rule_in_scope(const struct alert_rule *r, const struct change *c)
{
	switch (r->scope) {
	case SCOPE_ALL:
		return true;
	case SCOPE_SOURCE:
		return c->source != NULL && strcmp(c->source, r->scope_value) == 0;
	case SCOPE_LISTING:
		return c->listing_id != NULL && strcmp(c->listing_id, r->scope_value) == 0;
	case SCOPE_PRODUCT:
		return c->match_sku != NULL && strcmp(c->match_sku, r->scope_value) == 0;
	case SCOPE_TAG:
		for (size_t i = 0; i < c->n_tags; i++)
			if (c->tags[i] != NULL && strcmp(c->tags[i], r->scope_value) == 0)
				return true;
		return false;
	}
	return false;
}

bool
alert_rule_needs_history(const struct alert_rule *r, int64_t time_ms, int64_t *since_ms)
{
	if (r->kind != ALERT_LOWEST)
		return false;
	if (since_ms != NULL)
		*since_ms = time_ms - r->days * DAY_MS;
	return true;
}

static bool
has_price(const struct money *m)
{
	return m->currency[0] != '\0';
}

/* A price in units of 10^-4 of the currency's major unit; false for an unknown currency. */
static bool
price_e4(const struct money *m, __int128 *out)
{
	int e = money_exponent(m->currency);
	__int128 v = m->minor;

	if (e < 0 || e > 4)
		return false;
	for (; e < 4; e++)
		v *= 10;
	*out = v;
	return true;
}

static bool
same_currency(const struct money *a, const struct money *b)
{
	return has_price(a) && has_price(b) && strcmp(a->currency, b->currency) == 0 &&
	    money_exponent(a->currency) >= 0;
}

/* Did the price move by diff (> 0, in the rule's direction) at least the rule's percent of base, or its amount? */
static bool
moved_enough(const struct alert_rule *r, __int128 diff, int64_t base, const struct money *cur)
{
	struct money d;
	__int128 d_e4;

	if (diff <= 0)
		return false;
	/* 100 * diff / base >= percent_e4 / 10^4  <=>  100 * 10^4 * diff >= percent_e4 * base */
	if (r->percent_e4 > 0 && base > 0 && diff * 1000000 >= (__int128)r->percent_e4 * base)
		return true;
	if (r->amount_e4 > 0 && diff <= INT64_MAX) {
		d.minor = (int64_t)diff;
		memcpy(d.currency, cur->currency, sizeof(d.currency));
		if (price_e4(&d, &d_e4) && d_e4 >= r->amount_e4)
			return true;
	}
	return false;
}

static bool
buyable(enum availability a)
{
	return a == AVAIL_IN_STOCK || a == AVAIL_LIMITED;
}

static bool
gone(enum availability a)
{
	return a == AVAIL_OUT_OF_STOCK || a == AVAIL_DISCONTINUED;
}

/* lowest: new price strictly below every price in effect during [time - days, time). */
static enum alert_verdict
lowest_condition(const struct alert_rule *r, const struct change *c, const struct history_point *hist,
    size_t n_hist)
{
	int64_t since = 0;
	const struct history_point *at_start = NULL;
	bool compared = false;

	if (!has_price(&c->new_price) || money_exponent(c->new_price.currency) < 0)
		return VERDICT_INCOMPARABLE;
	(void)alert_rule_needs_history(r, c->time_ms, &since);
	if (same_currency(&c->old_price, &c->new_price)) {
		if (c->new_price.minor >= c->old_price.minor)
			return VERDICT_NO;
		compared = true;
	}
	for (size_t i = 0; i < n_hist; i++) {
		const struct history_point *h = &hist[i];

		if (h->time_ms >= c->time_ms)
			break;
		if (h->time_ms < since) {
			at_start = h;      /* the latest one before the window is in effect at its start */
			continue;
		}
		if (!same_currency(&h->price, &c->new_price))
			continue;
		if (c->new_price.minor >= h->price.minor)
			return VERDICT_NO;
		compared = true;
	}
	if (at_start != NULL && same_currency(&at_start->price, &c->new_price)) {
		if (c->new_price.minor >= at_start->price.minor)
			return VERDICT_NO;
		compared = true;
	}
	/* Nothing earlier in this currency: a first price is not "the lowest in N days". */
	return compared ? VERDICT_FIRE : VERDICT_INCOMPARABLE;
}

bool
alert_rule_currency_mismatch(const struct alert_rule *r, const struct change *c)
{
	return r->kind == ALERT_UNDERCUT && c->match_sku != NULL && has_price(&c->new_price) &&
	    has_price(&c->product_price) && strcmp(c->new_price.currency, c->product_price.currency) != 0;
}

/*
 * undercut: the matched listing's price strictly below the product's own
 * price, same currency only. VERDICT_NO (at or above, or no match) re-arms.
 */
static enum alert_verdict
undercut_condition(const struct change *c)
{
	if (c->match_sku == NULL || c->match_sku[0] == '\0')
		return VERDICT_NO;
	if (!same_currency(&c->new_price, &c->product_price))
		return VERDICT_INCOMPARABLE;
	return c->new_price.minor < c->product_price.minor ? VERDICT_FIRE : VERDICT_NO;
}

/* below/above: is the new price on the target side? VERDICT_NO means on the other side (re-arms). */
static enum alert_verdict
target_condition(const struct alert_rule *r, const struct change *c)
{
	__int128 p;

	if (!has_price(&c->new_price) || !price_e4(&c->new_price, &p))
		return VERDICT_INCOMPARABLE;
	if (r->kind == ALERT_BELOW)
		return p <= r->target_e4 ? VERDICT_FIRE : VERDICT_NO;
	return p >= r->target_e4 ? VERDICT_FIRE : VERDICT_NO;
}

enum alert_verdict
alert_rule_condition(const struct alert_rule *r, const struct change *c, const struct history_point *hist,
    size_t n_hist)
{
	switch (r->kind) {
	case ALERT_DROP:
	case ALERT_RISE:
		if (!same_currency(&c->old_price, &c->new_price))
			return VERDICT_INCOMPARABLE;
		/* Both percentages are of the old price: drop 50% is 10 -> 5, rise 50% is 10 -> 15. */
		return moved_enough(r, r->kind == ALERT_DROP ?
		    (__int128)c->old_price.minor - c->new_price.minor :
		    (__int128)c->new_price.minor - c->old_price.minor,
		    c->old_price.minor, &c->new_price) ? VERDICT_FIRE : VERDICT_NO;
	case ALERT_BELOW:
	case ALERT_ABOVE:
		return target_condition(r, c);
	case ALERT_LOWEST:
		return lowest_condition(r, c, hist, n_hist);
	case ALERT_BACK_IN_STOCK:
		return c->old_avail != AVAIL_UNKNOWN && !buyable(c->old_avail) && buyable(c->new_avail) ?
		    VERDICT_FIRE : VERDICT_NO;
	case ALERT_OUT_OF_STOCK:
		return c->old_avail != AVAIL_UNKNOWN && !gone(c->old_avail) && gone(c->new_avail) ?
		    VERDICT_FIRE : VERDICT_NO;
	case ALERT_ANY_CHANGE:
		/* The first sighting (nothing known before) is not a change. */
		if (!has_price(&c->old_price) && c->old_avail == AVAIL_UNKNOWN)
			return VERDICT_NO;
		if (has_price(&c->old_price) != has_price(&c->new_price) ||
		    strcmp(c->old_price.currency, c->new_price.currency) != 0 ||
		    c->old_price.minor != c->new_price.minor || c->old_avail != c->new_avail)
			return VERDICT_FIRE;
		return VERDICT_NO;
	case ALERT_UNDERCUT:
		return undercut_condition(c);
	case ALERT_NEW_MATCH:
		return c->match_event && c->match_new && c->match_sku != NULL && c->match_sku[0] != '\0' ?
		    VERDICT_FIRE : VERDICT_NO;
	}
	return VERDICT_NO;
}

enum alert_verdict
alert_rule_decide(const struct alert_rule *r, const struct change *c, const struct history_point *hist,
    size_t n_hist, struct alert_state *state, bool *state_dirty)
{
	enum alert_verdict v;
	bool armed_kind = r->kind == ALERT_BELOW || r->kind == ALERT_ABOVE || r->kind == ALERT_UNDERCUT;

	*state_dirty = false;
	if (!state->present) {
		state->armed = true;
		state->last_fired_ms = 0;
		state->last_change_ms = 0;
	}
	if (state->present && c->time_ms <= state->last_change_ms)
		return VERDICT_DUPLICATE;
	v = alert_rule_condition(r, c, hist, n_hist);
	if (v == VERDICT_NO && armed_kind && !state->armed) {
		/* Crossed back to the other side of the target: the next crossing fires again. */
		state->armed = true;
		state->last_change_ms = c->time_ms;
		*state_dirty = true;
		return VERDICT_NO;
	}
	if (v != VERDICT_FIRE)
		return v;
	if (armed_kind && !state->armed)
		return VERDICT_DISARMED;
	/* Cooldown leaves an armed target rule armed: it fires on the first change after the cooldown. */
	if (state->last_fired_ms > 0 && r->cooldown_ms > 0 && c->time_ms - state->last_fired_ms < r->cooldown_ms)
		return VERDICT_COOLDOWN;
	if (armed_kind)
		state->armed = false;
	state->last_fired_ms = c->time_ms;
	state->last_change_ms = c->time_ms;
	*state_dirty = true;
	return VERDICT_FIRE;
}

void
alert_percent_text(const struct money *old_price, const struct money *new_price, char *buf, size_t buflen)
{
	__int128 diff, q, rem, num, den;
	int64_t whole, frac;
	bool neg;

	if (buflen > 0)
		buf[0] = '\0';
	if (!same_currency(old_price, new_price) || old_price->minor <= 0)
		return;
	diff = (__int128)new_price->minor - old_price->minor;
	neg = diff < 0;
	num = (neg ? -diff : diff) * 10000;   /* percent with 2 decimals = 100 * 100 * diff / old */
	den = old_price->minor;
	q = num / den;
	rem = num % den;
	if (rem * 2 >= den)
		q++;
	if (q > (__int128)INT64_MAX)
		return;
	whole = (int64_t)(q / 100);
	frac = (int64_t)(q % 100);
	pw_snprintf(buf, buflen, "%s%" PRId64 ".%02" PRId64, neg && q != 0 ? "-" : "", whole, frac);
}
