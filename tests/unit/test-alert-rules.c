/* test-alert-rules.c: every alert rule kind fires, does not fire, respects its cooldown and re-arms (alert/rules.c). */
#include <criterion/criterion.h>

#include <string.h>

#include "alert/rules.h"

#define DAY (24LL * 3600 * 1000)
#define T0 1790000000000LL

static struct alert_rule rule;

static void
compile(const char *kind, const char *percent, const char *amount, const char *target, const char *scope,
    int64_t days, int64_t cooldown_ms)
{
	struct config_rule cr;
	char err[256];

	memset(&cr, 0, sizeof(cr));
	cr.name = (char *)"r1";
	cr.kind = (char *)kind;
	cr.percent = (char *)percent;
	cr.amount = (char *)amount;
	cr.target = (char *)target;
	cr.scope = (char *)scope;
	cr.days = days;
	cr.cooldown_ms = cooldown_ms;
	cr.line = 7;
	cr_assert(alert_rule_compile(&cr, &rule, err, sizeof(err)), "%s", err);
}

static void
teardown(void)
{
	alert_rule_free(&rule);
}

TestSuite(alert_rules, .fini = teardown);

static struct money
m(int64_t minor, const char *cur)
{
	struct money x;

	memset(&x, 0, sizeof(x));
	x.minor = minor;
	if (cur != NULL)
		memcpy(x.currency, cur, strlen(cur) + 1);
	return x;
}

static struct change
chg(struct money o, struct money n, int64_t t)
{
	struct change c;

	memset(&c, 0, sizeof(c));
	c.listing_id = "shop:sku:1";
	c.source = "shop";
	c.url = "https://shop.example/p/1";
	c.title = "Thing";
	c.old_price = o;
	c.new_price = n;
	c.old_avail = AVAIL_IN_STOCK;
	c.new_avail = AVAIL_IN_STOCK;
	c.time_ms = t;
	return c;
}

static enum alert_verdict
cond(struct money o, struct money n)
{
	struct change c = chg(o, n, T0);

	return alert_rule_condition(&rule, &c, NULL, 0);
}

/* Runs the full decision against a state carried between calls. */
static enum alert_verdict
decide(struct alert_state *s, struct money o, struct money n, int64_t t)
{
	struct change c = chg(o, n, t);
	bool dirty;
	enum alert_verdict v = alert_rule_decide(&rule, &c, NULL, 0, s, &dirty);

	if (dirty)
		s->present = true;
	return v;
}

Test(alert_rules, drop_percent_exact_boundary)
{
	compile("drop", "10", NULL, NULL, NULL, 0, 0);
	cr_assert_eq(cond(m(1999, "USD"), m(1799, "USD")), VERDICT_FIRE);    /* 10.005 % */
	cr_assert_eq(cond(m(1000, "USD"), m(900, "USD")), VERDICT_FIRE);     /* exactly 10 % */
	cr_assert_eq(cond(m(1000, "USD"), m(901, "USD")), VERDICT_NO);       /* 9.9 % */
	cr_assert_eq(cond(m(1000, "USD"), m(1100, "USD")), VERDICT_NO);      /* a rise */
	cr_assert_eq(cond(m(1000, "USD"), m(500, "EUR")), VERDICT_INCOMPARABLE);
	cr_assert_eq(cond(m(0, NULL), m(500, "EUR")), VERDICT_INCOMPARABLE);
}

Test(alert_rules, drop_fractional_percent)
{
	compile("drop", "33.3334", NULL, NULL, NULL, 0, 0);
	cr_assert_eq(cond(m(300, "USD"), m(200, "USD")), VERDICT_NO);        /* 33.3333... % */
	cr_assert_eq(cond(m(300, "USD"), m(199, "USD")), VERDICT_FIRE);
}

Test(alert_rules, drop_amount_uses_currency_exponent)
{
	compile("drop", NULL, "5", NULL, NULL, 0, 0);
	cr_assert_eq(cond(m(2000, "USD"), m(1500, "USD")), VERDICT_FIRE);    /* 5.00 USD */
	cr_assert_eq(cond(m(2000, "USD"), m(1501, "USD")), VERDICT_NO);      /* 4.99 USD */
	cr_assert_eq(cond(m(2000, "JPY"), m(1995, "JPY")), VERDICT_FIRE);    /* 5 JPY */
	cr_assert_eq(cond(m(2000, "JPY"), m(1996, "JPY")), VERDICT_NO);
	cr_assert_eq(cond(m(20000, "KWD"), m(15001, "KWD")), VERDICT_NO);    /* 4.999 KWD */
}

Test(alert_rules, drop_percent_or_amount)
{
	compile("drop", "50", "1", NULL, NULL, 0, 0);
	cr_assert_eq(cond(m(10000, "EUR"), m(9900, "EUR")), VERDICT_FIRE);   /* 1 EUR, 1 % */
	cr_assert_eq(cond(m(100, "EUR"), m(50, "EUR")), VERDICT_FIRE);       /* 0.50 EUR, 50 % */
	cr_assert_eq(cond(m(100, "EUR"), m(60, "EUR")), VERDICT_NO);
}

Test(alert_rules, drop_cooldown_and_dedupe)
{
	struct alert_state s = { 0 };

	compile("drop", "10", NULL, NULL, NULL, 0, 3600 * 1000);
	cr_assert_eq(decide(&s, m(1000, "USD"), m(800, "USD"), T0), VERDICT_FIRE);
	cr_assert_eq(s.last_fired_ms, T0);
	cr_assert_eq(decide(&s, m(1000, "USD"), m(800, "USD"), T0), VERDICT_DUPLICATE);
	cr_assert_eq(decide(&s, m(900, "USD"), m(700, "USD"), T0 + 60000), VERDICT_COOLDOWN);
	cr_assert_eq(decide(&s, m(700, "USD"), m(600, "USD"), T0 + 3600 * 1000), VERDICT_FIRE);
	cr_assert_eq(s.last_fired_ms, T0 + 3600 * 1000);
}

Test(alert_rules, rise_percent)
{
	compile("rise", "50", NULL, NULL, NULL, 0, 0);
	cr_assert_eq(cond(m(1000, "USD"), m(1500, "USD")), VERDICT_FIRE);
	cr_assert_eq(cond(m(1000, "USD"), m(1499, "USD")), VERDICT_NO);
	cr_assert_eq(cond(m(1000, "USD"), m(400, "USD")), VERDICT_NO);
	cr_assert_eq(cond(m(1000, "USD"), m(2000, "GBP")), VERDICT_INCOMPARABLE);
}

Test(alert_rules, rise_cooldown)
{
	struct alert_state s = { 0 };

	compile("rise", "10", NULL, NULL, NULL, 0, DAY);
	cr_assert_eq(decide(&s, m(100, "USD"), m(200, "USD"), T0), VERDICT_FIRE);
	cr_assert_eq(decide(&s, m(200, "USD"), m(300, "USD"), T0 + DAY - 1), VERDICT_COOLDOWN);
	cr_assert_eq(decide(&s, m(300, "USD"), m(400, "USD"), T0 + DAY), VERDICT_FIRE);
}

Test(alert_rules, below_fires_once_then_rearms_after_crossing_back)
{
	struct alert_state s = { 0 };

	compile("below", NULL, NULL, "10", NULL, 0, 0);
	cr_assert_eq(decide(&s, m(1200, "USD"), m(1100, "USD"), T0), VERDICT_NO);
	cr_assert_eq(decide(&s, m(1100, "USD"), m(1000, "USD"), T0 + 1), VERDICT_FIRE);  /* at target */
	cr_assert_not(s.armed);
	cr_assert_eq(decide(&s, m(1000, "USD"), m(900, "USD"), T0 + 2), VERDICT_DISARMED);
	cr_assert_eq(decide(&s, m(900, "USD"), m(1001, "USD"), T0 + 3), VERDICT_NO);    /* crossed back */
	cr_assert(s.armed);
	cr_assert_eq(decide(&s, m(1001, "USD"), m(999, "USD"), T0 + 4), VERDICT_FIRE);
	cr_assert_eq(cond(m(1000, "USD"), m(500, "EUR")), VERDICT_FIRE);   /* target in the listing's currency */
	cr_assert_eq(cond(m(1000, "USD"), m(0, NULL)), VERDICT_INCOMPARABLE);
}

Test(alert_rules, below_cooldown_keeps_it_armed)
{
	struct alert_state s = { 0 };

	compile("below", NULL, NULL, "10", NULL, 0, 3600 * 1000);
	cr_assert_eq(decide(&s, m(1100, "USD"), m(900, "USD"), T0), VERDICT_FIRE);
	cr_assert_eq(decide(&s, m(900, "USD"), m(1100, "USD"), T0 + 1000), VERDICT_NO);
	cr_assert_eq(decide(&s, m(1100, "USD"), m(900, "USD"), T0 + 2000), VERDICT_COOLDOWN);
	cr_assert(s.armed);
	cr_assert_eq(decide(&s, m(900, "USD"), m(800, "USD"), T0 + 3600 * 1000), VERDICT_FIRE);
}

Test(alert_rules, above_fires_and_rearms)
{
	struct alert_state s = { 0 };

	compile("above", NULL, NULL, "1500", NULL, 0, 0);
	cr_assert_eq(decide(&s, m(1400, "JPY"), m(1499, "JPY"), T0), VERDICT_NO);
	cr_assert_eq(decide(&s, m(1499, "JPY"), m(1500, "JPY"), T0 + 1), VERDICT_FIRE);
	cr_assert_eq(decide(&s, m(1500, "JPY"), m(1600, "JPY"), T0 + 2), VERDICT_DISARMED);
	cr_assert_eq(decide(&s, m(1600, "JPY"), m(1400, "JPY"), T0 + 3), VERDICT_NO);
	cr_assert_eq(decide(&s, m(1400, "JPY"), m(1700, "JPY"), T0 + 4), VERDICT_FIRE);
}

Test(alert_rules, lowest_in_days)
{
	/* 5.00 until day -10, 10.00 from day -3; window 7 days: 5.00 was still in effect at its start. */
	struct history_point h[] = {
		{ T0 - 40 * DAY, { 500, "USD" }, AVAIL_IN_STOCK },
		{ T0 - 3 * DAY, { 1000, "USD" }, AVAIL_IN_STOCK },
		{ T0, { 700, "USD" }, AVAIL_IN_STOCK },   /* the change itself: ignored */
	};
	struct change c = chg(m(1000, "USD"), m(700, "USD"), T0);

	compile("lowest", NULL, NULL, NULL, NULL, 7, 0);
	cr_assert_eq(alert_rule_condition(&rule, &c, h, 3), VERDICT_NO);
	c.new_price = m(499, "USD");
	cr_assert_eq(alert_rule_condition(&rule, &c, h, 3), VERDICT_FIRE);
	c.new_price = m(500, "USD");
	cr_assert_eq(alert_rule_condition(&rule, &c, h, 3), VERDICT_NO);   /* equal is not lower */
	/* The 5.00 point ended 3 days ago and a 2-day window no longer sees it. */
	alert_rule_free(&rule);
	compile("lowest", NULL, NULL, NULL, NULL, 2, 0);
	c.new_price = m(700, "USD");
	cr_assert_eq(alert_rule_condition(&rule, &c, h, 3), VERDICT_FIRE);
	c.new_price = m(700, "EUR");
	c.old_price = m(0, NULL);
	cr_assert_eq(alert_rule_condition(&rule, &c, h, 3), VERDICT_INCOMPARABLE);
}

Test(alert_rules, lowest_cooldown)
{
	struct history_point h[] = { { T0 - DAY, { 1000, "USD" }, AVAIL_IN_STOCK } };
	struct alert_state s = { 0 };
	struct change c = chg(m(1000, "USD"), m(900, "USD"), T0);
	bool dirty;

	compile("lowest", NULL, NULL, NULL, NULL, 30, DAY);
	cr_assert_eq(alert_rule_decide(&rule, &c, h, 1, &s, &dirty), VERDICT_FIRE);
	cr_assert(dirty);
	s.present = true;
	c.old_price = m(900, "USD");
	c.new_price = m(800, "USD");
	c.time_ms = T0 + 1000;
	cr_assert_eq(alert_rule_decide(&rule, &c, h, 1, &s, &dirty), VERDICT_COOLDOWN);
	cr_assert_not(dirty);
	/* Re-armed by the cooldown's end once the condition holds again. */
	c.new_price = m(950, "USD");            /* up again: not the lowest, no alert, nothing written */
	c.time_ms = T0 + DAY + 1;
	cr_assert_eq(alert_rule_decide(&rule, &c, h, 1, &s, &dirty), VERDICT_NO);
	cr_assert_not(dirty);
	c.old_price = m(950, "USD");
	c.new_price = m(899, "USD");            /* below every price of the window (h is 10.00 only) */
	c.time_ms = T0 + DAY + 2;
	cr_assert_eq(alert_rule_decide(&rule, &c, h, 1, &s, &dirty), VERDICT_FIRE);
	cr_assert_eq(s.last_fired_ms, T0 + DAY + 2);
}

/* Re-arming of back-in-stock: the cooldown's end, and the condition holding again. */
Test(alert_rules, back_in_stock_fires_again_after_the_cooldown)
{
	struct alert_state s = { 0 };
	struct change c = chg(m(100, "USD"), m(100, "USD"), T0);
	bool dirty;

	compile("back-in-stock", NULL, NULL, NULL, NULL, 0, DAY);
	c.old_avail = AVAIL_OUT_OF_STOCK;
	cr_assert_eq(alert_rule_decide(&rule, &c, NULL, 0, &s, &dirty), VERDICT_FIRE);
	s.present = true;
	c.old_avail = AVAIL_IN_STOCK;           /* gone again: not a "back" change */
	c.new_avail = AVAIL_OUT_OF_STOCK;
	c.time_ms = T0 + 1000;
	cr_assert_eq(alert_rule_decide(&rule, &c, NULL, 0, &s, &dirty), VERDICT_NO);
	c.old_avail = AVAIL_OUT_OF_STOCK;
	c.new_avail = AVAIL_LIMITED;
	c.time_ms = T0 + 2000;
	cr_assert_eq(alert_rule_decide(&rule, &c, NULL, 0, &s, &dirty), VERDICT_COOLDOWN);
	c.time_ms = T0 + DAY;
	cr_assert_eq(alert_rule_decide(&rule, &c, NULL, 0, &s, &dirty), VERDICT_FIRE);
}

Test(alert_rules, back_in_stock)
{
	struct change c = chg(m(100, "USD"), m(100, "USD"), T0);
	struct alert_state s = { 0 };
	bool dirty;

	compile("back-in-stock", NULL, NULL, NULL, NULL, 0, DAY);
	c.old_avail = AVAIL_OUT_OF_STOCK;
	cr_assert_eq(alert_rule_condition(&rule, &c, NULL, 0), VERDICT_FIRE);
	c.new_avail = AVAIL_PREORDER;
	cr_assert_eq(alert_rule_condition(&rule, &c, NULL, 0), VERDICT_NO);
	c.old_avail = AVAIL_UNKNOWN;
	c.new_avail = AVAIL_IN_STOCK;
	cr_assert_eq(alert_rule_condition(&rule, &c, NULL, 0), VERDICT_NO);   /* first sighting */
	c.old_avail = AVAIL_DISCONTINUED;
	cr_assert_eq(alert_rule_decide(&rule, &c, NULL, 0, &s, &dirty), VERDICT_FIRE);
	s.present = true;
	c.time_ms += 1000;
	cr_assert_eq(alert_rule_decide(&rule, &c, NULL, 0, &s, &dirty), VERDICT_COOLDOWN);
}

Test(alert_rules, out_of_stock)
{
	struct change c = chg(m(100, "USD"), m(100, "USD"), T0);
	struct alert_state s = { 0 };
	bool dirty;

	compile("out-of-stock", NULL, NULL, NULL, NULL, 0, 60000);
	c.new_avail = AVAIL_OUT_OF_STOCK;
	cr_assert_eq(alert_rule_condition(&rule, &c, NULL, 0), VERDICT_FIRE);
	c.old_avail = AVAIL_DISCONTINUED;
	cr_assert_eq(alert_rule_condition(&rule, &c, NULL, 0), VERDICT_NO);
	c.old_avail = AVAIL_IN_STOCK;
	c.new_avail = AVAIL_LIMITED;
	cr_assert_eq(alert_rule_condition(&rule, &c, NULL, 0), VERDICT_NO);
	c.new_avail = AVAIL_DISCONTINUED;
	cr_assert_eq(alert_rule_decide(&rule, &c, NULL, 0, &s, &dirty), VERDICT_FIRE);
	s.present = true;
	c.time_ms += 59999;
	cr_assert_eq(alert_rule_decide(&rule, &c, NULL, 0, &s, &dirty), VERDICT_COOLDOWN);
	c.time_ms += 1;
	cr_assert_eq(alert_rule_decide(&rule, &c, NULL, 0, &s, &dirty), VERDICT_FIRE);
}

Test(alert_rules, any_change)
{
	struct change c = chg(m(100, "USD"), m(100, "USD"), T0);

	compile("any-change", NULL, NULL, NULL, NULL, 0, 0);
	cr_assert_eq(alert_rule_condition(&rule, &c, NULL, 0), VERDICT_NO);
	c.new_avail = AVAIL_LIMITED;
	cr_assert_eq(alert_rule_condition(&rule, &c, NULL, 0), VERDICT_FIRE);
	c.new_avail = AVAIL_IN_STOCK;
	c.new_price = m(100, "EUR");
	cr_assert_eq(alert_rule_condition(&rule, &c, NULL, 0), VERDICT_FIRE);
	c.new_price = m(101, "USD");
	cr_assert_eq(alert_rule_condition(&rule, &c, NULL, 0), VERDICT_FIRE);
	c.old_price = m(0, NULL);
	c.old_avail = AVAIL_UNKNOWN;
	cr_assert_eq(alert_rule_condition(&rule, &c, NULL, 0), VERDICT_NO);   /* first sighting */
}

Test(alert_rules, any_change_cooldown)
{
	struct alert_state s = { 0 };

	compile("any-change", NULL, NULL, NULL, NULL, 0, 10000);
	cr_assert_eq(decide(&s, m(100, "USD"), m(101, "USD"), T0), VERDICT_FIRE);
	cr_assert_eq(decide(&s, m(101, "USD"), m(100, "USD"), T0 + 9999), VERDICT_COOLDOWN);
	cr_assert_eq(decide(&s, m(100, "USD"), m(102, "USD"), T0 + 10000), VERDICT_FIRE);
}

Test(alert_rules, scope)
{
	struct change c = chg(m(100, "USD"), m(50, "USD"), T0);

	compile("drop", "10", NULL, NULL, "source:shop", 0, 0);
	cr_assert(alert_rule_in_scope(&rule, &c));
	c.source = "other";
	cr_assert_not(alert_rule_in_scope(&rule, &c));
	alert_rule_free(&rule);
	compile("drop", "10", NULL, NULL, "listing:shop:sku:1", 0, 0);
	cr_assert(alert_rule_in_scope(&rule, &c));
	c.listing_id = "shop:sku:2";
	cr_assert_not(alert_rule_in_scope(&rule, &c));
	alert_rule_free(&rule);
	compile("drop", "10", NULL, NULL, "all", 0, 0);
	cr_assert(alert_rule_in_scope(&rule, &c));
	alert_rule_free(&rule);
	compile("drop", "10", NULL, NULL, "product:ABC", 0, 0);
	cr_assert_not(alert_rule_in_scope(&rule, &c));   /* not matched to any product */
	c.match_sku = "ABD";
	cr_assert_not(alert_rule_in_scope(&rule, &c));
	c.match_sku = "ABC";
	cr_assert(alert_rule_in_scope(&rule, &c));
	cr_assert(alert_rule_needs_match(&rule));
}

Test(alert_rules, scope_tag)
{
	struct change c = chg(m(100, "USD"), m(50, "USD"), T0);
	char *tags[] = { (char *)"eu", (char *)"competitor" };

	compile("drop", "10", NULL, NULL, "tag:competitor", 0, 0);
	cr_assert_not(alert_rule_in_scope(&rule, &c));   /* a source without tags */
	c.tags = tags;
	c.n_tags = 1;
	cr_assert_not(alert_rule_in_scope(&rule, &c));
	c.n_tags = 2;
	cr_assert(alert_rule_in_scope(&rule, &c));
	cr_assert_not(alert_rule_needs_match(&rule));
}

/* A change of a listing matched to product P1 whose own price is own. */
static struct change
matched(struct money listing, struct money own, int64_t t)
{
	struct change c = chg(m(0, NULL), listing, t);

	c.match_sku = "P1";
	c.product_title = "Own thing";
	c.product_price = own;
	return c;
}

static enum alert_verdict
decide_change(struct alert_state *s, const struct change *c)
{
	bool dirty;
	enum alert_verdict v = alert_rule_decide(&rule, c, NULL, 0, s, &dirty);

	if (dirty)
		s->present = true;
	return v;
}

Test(alert_rules, undercut_fires_below_own_price_same_currency_only)
{
	struct change c = matched(m(1899, "EUR"), m(1900, "EUR"), T0);

	compile("undercut", NULL, NULL, NULL, NULL, 0, 0);
	cr_assert_eq(rule.kind, ALERT_UNDERCUT);
	cr_assert(alert_rule_needs_match(&rule));
	cr_assert(alert_rule_applies(&rule, &c));           /* on changes ... */
	c.match_event = true;
	cr_assert(alert_rule_applies(&rule, &c));           /* ... and on match events */
	cr_assert_eq(alert_rule_condition(&rule, &c, NULL, 0), VERDICT_FIRE);
	c = matched(m(1900, "EUR"), m(1900, "EUR"), T0);
	cr_assert_eq(alert_rule_condition(&rule, &c, NULL, 0), VERDICT_NO);   /* equal is not below */
	c = matched(m(2500, "EUR"), m(1900, "EUR"), T0);
	cr_assert_eq(alert_rule_condition(&rule, &c, NULL, 0), VERDICT_NO);
	/* 10.00 USD is "less" than 19.00 EUR only if someone converts silently: never. */
	c = matched(m(1000, "USD"), m(1900, "EUR"), T0);
	cr_assert_eq(alert_rule_condition(&rule, &c, NULL, 0), VERDICT_INCOMPARABLE);
	cr_assert(alert_rule_currency_mismatch(&rule, &c));
	c = matched(m(1000, "EUR"), m(0, NULL), T0);      /* the product has no own price */
	cr_assert_eq(alert_rule_condition(&rule, &c, NULL, 0), VERDICT_INCOMPARABLE);
	cr_assert_not(alert_rule_currency_mismatch(&rule, &c));
	c = chg(m(2000, "EUR"), m(1000, "EUR"), T0);      /* not matched at all */
	cr_assert_eq(alert_rule_condition(&rule, &c, NULL, 0), VERDICT_NO);
}

Test(alert_rules, undercut_fires_once_then_rearms_and_respects_cooldown)
{
	struct alert_state s = { 0 };
	struct change c;

	compile("undercut", NULL, NULL, NULL, NULL, 0, 2 * DAY);
	c = matched(m(1800, "EUR"), m(1900, "EUR"), T0);
	cr_assert_eq(decide_change(&s, &c), VERDICT_FIRE);
	c = matched(m(1700, "EUR"), m(1900, "EUR"), T0 + 1000);
	cr_assert_eq(decide_change(&s, &c), VERDICT_DISARMED);     /* still below: no repeat */
	c = matched(m(1950, "EUR"), m(1900, "EUR"), T0 + 2000);
	cr_assert_eq(decide_change(&s, &c), VERDICT_NO);           /* back above: re-armed */
	cr_assert(s.armed);
	c = matched(m(1850, "EUR"), m(1900, "EUR"), T0 + 3000);
	cr_assert_eq(decide_change(&s, &c), VERDICT_COOLDOWN);     /* crossed again inside the cooldown */
	cr_assert(s.armed);
	c = matched(m(1840, "EUR"), m(1900, "EUR"), T0 + 2 * DAY + 1);
	cr_assert_eq(decide_change(&s, &c), VERDICT_FIRE);
}

Test(alert_rules, new_match_fires_on_new_matches_only)
{
	struct alert_state s = { 0 };
	struct change c = matched(m(1800, "EUR"), m(1900, "EUR"), T0);

	compile("new-match", NULL, NULL, NULL, NULL, 0, DAY);
	cr_assert_eq(rule.kind, ALERT_NEW_MATCH);
	cr_assert_not(alert_rule_applies(&rule, &c));      /* a price change is not a match */
	c.match_event = true;
	cr_assert(alert_rule_applies(&rule, &c));
	cr_assert_eq(alert_rule_condition(&rule, &c, NULL, 0), VERDICT_NO);   /* known match, not new */
	c.match_new = true;
	cr_assert_eq(decide_change(&s, &c), VERDICT_FIRE);
	c.time_ms = T0;                                        /* the same event again */
	cr_assert_eq(decide_change(&s, &c), VERDICT_DUPLICATE);
	c.time_ms = T0 + 1000;                                 /* re-matched within the cooldown */
	cr_assert_eq(decide_change(&s, &c), VERDICT_COOLDOWN);
	c.match_new = false;
	c.time_ms = T0 + 2000;
	cr_assert_eq(decide_change(&s, &c), VERDICT_NO);
	c.match_new = true;                                    /* re-armed by time: after the cooldown */
	c.time_ms = T0 + DAY + 1;
	cr_assert_eq(decide_change(&s, &c), VERDICT_FIRE);
	c.match_sku = NULL;
	cr_assert_eq(alert_rule_condition(&rule, &c, NULL, 0), VERDICT_NO);
}

Test(alert_rules, price_kinds_ignore_match_events)
{
	struct change c = matched(m(1800, "EUR"), m(1900, "EUR"), T0);

	compile("below", NULL, NULL, "20", NULL, 0, 0);
	cr_assert(alert_rule_applies(&rule, &c));
	c.match_event = true;
	cr_assert_not(alert_rule_applies(&rule, &c));
}

Test(alert_rules, compile_rejects_bad_values)
{
	struct config_rule cr;
	char err[256];

	memset(&cr, 0, sizeof(cr));
	cr.name = (char *)"bad";
	cr.kind = (char *)"drop";
	cr.line = 12;
	cr_assert_not(alert_rule_compile(&cr, &rule, err, sizeof(err)));
	cr_assert(strstr(err, "line 12") != NULL && strstr(err, "bad") != NULL, "%s", err);
	cr.percent = (char *)"1.23456";
	cr_assert_not(alert_rule_compile(&cr, &rule, err, sizeof(err)));
	cr.kind = (char *)"sideways";
	cr_assert_not(alert_rule_compile(&cr, &rule, err, sizeof(err)));
}

Test(alert_rules, percent_text_exact)
{
	char buf[32];
	struct money a = m(1999, "USD"), b = m(1799, "USD"), c = m(300, "USD"), d = m(200, "USD");

	alert_percent_text(&a, &b, buf, sizeof(buf));
	cr_assert_str_eq(buf, "-10.01");   /* -10.005 rounds away from zero */
	alert_percent_text(&c, &d, buf, sizeof(buf));
	cr_assert_str_eq(buf, "-33.33");
	alert_percent_text(&d, &c, buf, sizeof(buf));
	cr_assert_str_eq(buf, "50.00");
	b = m(1799, "EUR");
	alert_percent_text(&a, &b, buf, sizeof(buf));
	cr_assert_str_eq(buf, "");
}
