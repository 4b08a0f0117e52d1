/* test-alert-daemon.c: every alert rule kind against the real pricewatchd: a shop page that changes between --once runs, alerts delivered to a real webhook receiver. */
#include "config.h"

#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "alert/queue.h"
#include "harness/daemon.h"
#include "harness/hook.h"
#include "test-recognise-util.h"

#define LID "s0:sku:W-a.html"
#define SECRET "daemon-hook-secret"

/*
 * Each test: one shop page (a.html, source s0) crawled by `pricewatchd --once`
 * after every change of the page, so each step is a separate daemon run and
 * rule state (cooldown, arming) has to survive in Redis between them. Between
 * passes the daemon runs in the background (-f): its notifier thread delivers
 * what the passes appended to pw:alerts to the webhook receiver.
 */
static struct test_daemon fx;
static struct test_hook hook;
static pid_t notifier = -1;
static int checked;            /* receiver requests the test has looked at */
static bool taken[TEST_HOOK_MAX];  /* which ones */
static size_t points;          /* change points the listing should have */

static void
setup(void)
{
	test_daemon_setup(&fx);
	test_hook_start(&hook, SECRET);
	notifier = -1;
	checked = 0;
	memset(taken, 0, sizeof(taken));
	points = 0;
}

static void
teardown(void)
{
	if (notifier > 0)
		test_daemon_stop(notifier);
	test_hook_stop(&hook);
	test_daemon_teardown(&fx);
}

TestSuite(alert_daemon, .init = setup, .fini = teardown, .timeout = 180);

/* Writes the config: source s0 (the shop's a.html, crawled hourly: only --once passes crawl it), the webhook, rules. */
static void
start(const char *rules)
{
	char path[400], *extra;

	cr_assert(pw_snprintf(path, sizeof(path), "%s/hook.secret", fx.dir));
	test_hook_write_secret(&hook, path);
	extra = xasprintf("[source \"s0\"]\nurl = %s/a.html\ninterval = 1h\nallow-private = yes\n\n"
	    "[notifier \"hook\"]\ntype = webhook\nurl = %s\nsecret-file = %s\ntimeout = 5s\n\n%s",
	    fx.httpd.base_url, hook.url, path, rules);
	test_daemon_write_config(&fx, fx.redis.url, NULL, 0, extra);
	free(extra);
}

/*
 * The running daemon delivers what the passes raised. It runs only between
 * passes: two daemons on one Redis share the crawl jobs, and a pass must crawl
 * the page itself to be deterministic.
 */
static void
notifier_up(void)
{
	if (notifier < 0) {
		pid_t pid = test_daemon_spawn(&fx, "-f", NULL);

		if (!test_daemon_wait_started(&fx, pid, 20000)) {
			kill(pid, SIGKILL);
			test_daemon_wait_exit(pid, 5000);
			cr_assert_fail("the daemon did not start");
		}
		notifier = pid;
	}
}

static void
notifier_down(void)
{
	if (notifier > 0)
		test_daemon_stop(notifier);
	notifier = -1;
}

static long long
redis_int(int argc, const char **argv)
{
	redisReply *r;
	long long v = -1;

	cr_assert_eq(store_command(fx.st, argc, argv, &r), STORE_OK, "%s", store_error(fx.st));
	if (r->type == REDIS_REPLY_INTEGER)
		v = r->integer;
	else if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 && r->element[0]->type == REDIS_REPLY_INTEGER)
		v = r->element[0]->integer;   /* XPENDING summary: the count first */
	freeReplyObject(r);
	return v;
}

static long long
alerts_len(void)
{
	const char *argv[] = { "XLEN", "pw:alerts" };

	return redis_int(2, argv);
}

/*
 * Serves a.html at price (EUR) and availability, runs one daemon pass, checks
 * the change was recorded, and returns the number of alerts the pass raised.
 * image (may be NULL) is the page's product image on the shop.
 */
static long long
pass_image(const char *price, const char *avail, const char *image)
{
	long long before;
	int rc;

	notifier_down();
	before = alerts_len();
	test_daemon_write_product_image(&fx, "a.html", price, "EUR", avail, image);
	rc = test_daemon_once(&fx);
	if (rc != 0) {
		char *log = test_daemon_log(&fx);

		cr_assert_fail("pricewatchd --once exited %d:\n%s", rc, log);
	}
	points++;
	if (test_daemon_history_len(&fx, LID) != points) {
		char *log = test_daemon_log(&fx);

		cr_assert_fail("the change to %s %s was not recorded (%zu points):\n%s", price, avail,
		    test_daemon_history_len(&fx, LID), log);
	}
	return alerts_len() - before;
}

static long long
pass(const char *price, const char *avail)
{
	return pass_image(price, avail, NULL);
}

static const char *
jget(json_object *o, const char *path)
{
	char *copy = xstrdup(path), *save = NULL, *k;
	json_object *v = o;
	const char *s;

	for (k = strtok_r(copy, ".", &save); k != NULL && v != NULL; k = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(v, k, &v))
			v = NULL;
	free(copy);
	if (v == NULL || json_object_is_type(v, json_type_null))
		return NULL;
	s = json_object_get_string(v);
	return s;
}

static void
expect_field(json_object *o, const char *path, const char *want)
{
	const char *got = jget(o, path);

	if (want == NULL)
		cr_assert_null(got, "%s is \"%s\", expected null in %s", path, got, json_object_to_json_string(o));
	else
		cr_assert(got != NULL && strcmp(got, want) == 0, "%s is \"%s\", expected \"%s\" in %s", path,
		    got != NULL ? got : "(null)", want, json_object_to_json_string(o));
}

/* The rule named in a request's body, or "" (a static buffer). */
static const char *
request_rule(const struct test_hook_request *q)
{
	static char rule[128];
	json_object *o = json_tokener_parse(q->body);
	const char *r = o != NULL ? jget(o, "rule") : NULL;

	pw_strlcpy(rule, r != NULL ? r : "", sizeof(rule));
	json_object_put(o);
	return rule;
}

/* Index of the first received request not checked yet that is an alert of rule (waits up to 20 s). */
static int
take_request(const char *rule)
{
	notifier_up();
	for (int waited = 0; waited <= 20000; waited += 100) {
		int n = test_hook_wait(&hook, 0, 0);

		for (int i = 0; i < n; i++)
			if (!taken[i] && strcmp(request_rule(&hook.req[i]), rule) == 0) {
				taken[i] = true;
				checked++;
				return i;
			}
		test_sleep_ms(100);
	}
	cr_assert_fail("alert %s never arrived (%d requests received)", rule, test_hook_wait(&hook, 0, 0));
	return -1;
}

/*
 * The next alert of rule rule (of kind kind) the receiver got: old -> new
 * price (NULL: none), for the test listing, signed, with the idempotency key
 * that rule, listing and change time make. The caller frees the object.
 */
static json_object *
next_alert(const char *rule, const char *kind, const char *old_price, const char *new_price)
{
	const struct test_hook_request *q = &hook.req[take_request(rule)];
	json_object *o;
	char key[ALERT_KEY_HEX + 1];
	int64_t t = 0;

	cr_assert(strncmp(q->line, "POST /hook ", 11) == 0, "%s", q->line);
	cr_assert(strncmp(q->content_type, "application/json", 16) == 0, "%s", q->content_type);
	cr_assert(q->sig_ok, "bad signature \"%s\" on %s", q->signature, q->body);
	cr_assert_neq(q->timestamp[0], '\0', "no timestamp header");
	o = json_tokener_parse(q->body);
	cr_assert_not_null(o, "not JSON: %s", q->body);
	expect_field(o, "rule", rule);
	expect_field(o, "kind", kind);
	expect_field(o, "listing.id", LID);
	expect_field(o, "listing.source", "s0");
	expect_field(o, "old.price", old_price);
	expect_field(o, "new.price", new_price);
	if (new_price != NULL)
		expect_field(o, "new.currency", "EUR");
	/* The key is the documented one, in the header and the body alike. */
	cr_assert(jget(o, "time_ms") != NULL && parse_int64(jget(o, "time_ms"), 1, INT64_MAX, &t));
	alert_key(rule, LID, t, key);
	cr_assert_str_eq(q->delivery, key);
	expect_field(o, "id", key);
	return o;
}

/* Every alert raised was delivered, acknowledged, and checked by the test: nothing more arrived. */
static void
expect_no_more(void)
{
	const char *argv[] = { "XPENDING", "pw:alerts", "notifiers" };
	int waited;

	notifier_up();
	for (waited = 0; waited < 20000; waited += 100) {
		if (hook.n >= alerts_len() && redis_int(3, argv) == 0)
			break;
		test_sleep_ms(100);
	}
	cr_assert_eq(redis_int(3, argv), 0, "alerts still pending");
	cr_assert_eq(alerts_len(), checked, "%lld alerts raised, %d checked", alerts_len(), checked);
	cr_assert_eq(test_hook_wait(&hook, checked, 0), checked, "unexpected deliveries");
}

/*
 * One step of a scenario: the page's price (EUR) and availability for one
 * daemon pass, whether that pass raises the rule's alert, and optionally one
 * more field the alert must carry.
 */
struct step {
	const char *price, *avail;
	bool fires;
	const char *why;           /* said when the outcome differs */
	/* > 0: the pass waits until this long after the last alert's change time (a cooldown has passed) */
	int64_t after_ms;
	const char *field, *want;  /* a JSON path in the alert and its value */
};

/*
 * Runs the steps, one `pricewatchd --once` each; every firing step must
 * deliver exactly one alert of rule, old price the previous step's, and the
 * others none. Then nothing else may arrive.
 */
static void
scenario(const char *rule, const char *kind, const struct step *steps, size_t n)
{
	int64_t fired_ms = 0;

	for (size_t i = 0; i < n; i++) {
		const struct step *st = &steps[i];

		/* Cooldowns run on change time, which is the time of the observation: wait, then crawl. */
		while (st->after_ms > 0 && time_now_ms() <= fired_ms + st->after_ms)
			test_sleep_ms(100);
		cr_assert_eq(pass(st->price, st->avail), st->fires ? 1 : 0, "step %zu (%s %s): %s", i + 1, st->price,
		    st->avail, st->why != NULL ? st->why : "");
		if (st->fires) {
			json_object *o = next_alert(rule, kind, i > 0 ? steps[i - 1].price : NULL, st->price);

			if (st->field != NULL)
				expect_field(o, st->field, st->want);
			cr_assert(parse_int64(jget(o, "time_ms"), 1, INT64_MAX, &fired_ms));
			json_object_put(o);
		}
	}
	expect_no_more();
}

/* Steps: a pass that raises nothing, and one that raises the alert (more designated fields may follow). */
#define QUIET(p_, a_, w_) { .price = p_, .avail = a_, .fires = false, .why = w_ }
#define FIRES(p_, a_, w_, ...) { .price = p_, .avail = a_, .fires = true, .why = w_, __VA_ARGS__ }

#define STEPS(rule, kind, ...) do { \
	static const struct step steps_[] = { __VA_ARGS__ }; \
	scenario(rule, kind, steps_, sizeof(steps_) / sizeof(steps_[0])); \
} while (0)

Test(alert_daemon, drop)
{
	start("[rule \"big-drop\"]\nkind = drop\npercent = 10\ncooldown = 0\nnotify = hook\n");
	STEPS("big-drop", "drop",
	    QUIET("10.00", "InStock", "a first sighting is no drop"),
	    QUIET("9.60", "InStock", "4 % is below the rule's 10 %"),
	    QUIET("9.90", "InStock", "a rise is no drop"),
	    FIRES("8.91", "InStock", "exactly 10 % fires", .field = "percent", .want = "-10.00"));
}

Test(alert_daemon, rise)
{
	start("[rule \"up\"]\nkind = rise\namount = 1.00\ncooldown = 0\nnotify = hook\n");
	STEPS("up", "rise",
	    QUIET("10.00", "InStock", "a first sighting is no rise"),
	    QUIET("10.99", "InStock", "0.99 is below the rule's 1.00"),
	    QUIET("9.00", "InStock", "a drop is no rise"),
	    FIRES("10.00", "InStock", "1.00 up fires", .field = "percent", .want = "11.11"));
}

/* below: fires once, stays quiet on the same side, re-arms above the target, across daemon runs. */
Test(alert_daemon, below_rearms_across_runs)
{
	start("[rule \"cheap\"]\nkind = below\ntarget = 8.00\ncooldown = 0\nnotify = hook\n");
	STEPS("cheap", "below",
	    QUIET("10.00", "InStock", "above the target"),
	    FIRES("7.50", "InStock", "below the target", .field = "old.currency", .want = "EUR"),
	    QUIET("7.00", "InStock", "fired again without crossing back"),
	    QUIET("9.00", "InStock", "crossing back fired"),
	    FIRES("8.00", "InStock", "not re-armed after crossing back (the target itself counts)"));
}

/* A cooldown suppresses a re-armed below target; the rule stays armed and fires once the cooldown has passed. */
Test(alert_daemon, below_cooldown_across_runs)
{
	start("[rule \"cheap\"]\nkind = below\ntarget = 8.00\ncooldown = 10s\nnotify = hook\n");
	STEPS("cheap", "below",
	    QUIET("10.00", "InStock", "above the target"),
	    FIRES("7.50", "InStock", "below the target"),
	    QUIET("9.00", "InStock", "crossing back fired"),
	    QUIET("7.90", "InStock", "fired inside its cooldown"),
	    FIRES("7.80", "InStock", "still suppressed after the cooldown", .after_ms = 10000));
}

Test(alert_daemon, above_rearms_across_runs)
{
	start("[rule \"dear\"]\nkind = above\ntarget = 12.00\ncooldown = 0\nnotify = hook\n");
	STEPS("dear", "above",
	    QUIET("10.00", "InStock", "below the target"),
	    FIRES("12.00", "InStock", "the target itself counts"),
	    QUIET("13.00", "InStock", "fired again without crossing back"),
	    QUIET("11.99", "InStock", "crossing back fired"),
	    FIRES("12.50", "InStock", "not re-armed after crossing back"));
}

Test(alert_daemon, above_cooldown_across_runs)
{
	start("[rule \"dear\"]\nkind = above\ntarget = 12.00\ncooldown = 10s\nnotify = hook\n");
	STEPS("dear", "above",
	    QUIET("10.00", "InStock", "below the target"),
	    FIRES("12.50", "InStock", "above the target"),
	    QUIET("11.00", "InStock", "crossing back fired"),
	    QUIET("12.10", "InStock", "fired inside its cooldown"),
	    FIRES("12.20", "InStock", "still suppressed after the cooldown", .after_ms = 10000));
}

Test(alert_daemon, lowest)
{
	start("[rule \"low\"]\nkind = lowest\ndays = 30\ncooldown = 0\nnotify = hook\n");
	STEPS("low", "lowest",
	    QUIET("10.00", "InStock", "a first price is no lowest"),
	    FIRES("9.00", "InStock", "below every earlier price"),
	    QUIET("9.50", "InStock", "above the lowest"),
	    QUIET("9.00", "InStock", "equal to the lowest is not below it"),
	    FIRES("8.99", "InStock", "below every earlier price"));
}

Test(alert_daemon, back_in_stock)
{
	start("[rule \"back\"]\nkind = back-in-stock\ncooldown = 0\nnotify = hook\n");
	STEPS("back", "back-in-stock",
	    QUIET("10.00", "OutOfStock", "a first sighting does not fire"),
	    QUIET("9.00", "OutOfStock", "a price change is no restock"),
	    FIRES("9.00", "InStock", "restocked", .field = "old.availability", .want = "out_of_stock"),
	    QUIET("9.00", "LimitedAvailability", "in stock to limited is no restock"),
	    QUIET("9.00", "Discontinued", "out of stock"),
	    FIRES("9.00", "InStock", "restocked", .field = "new.availability", .want = "in_stock"));
}

Test(alert_daemon, out_of_stock)
{
	start("[rule \"gone\"]\nkind = out-of-stock\ncooldown = 0\nnotify = hook\n");
	STEPS("gone", "out-of-stock",
	    QUIET("10.00", "InStock", "a first sighting does not fire"),
	    QUIET("11.00", "InStock", "a price change is no outage"),
	    FIRES("11.00", "OutOfStock", "sold out", .field = "new.availability", .want = "out_of_stock"),
	    QUIET("11.00", "Discontinued", "out of stock to discontinued is not a new outage"),
	    QUIET("11.00", "InStock", "a restock is no outage"));
}

Test(alert_daemon, any_change)
{
	start("[rule \"any\"]\nkind = any-change\ncooldown = 0\nnotify = hook\n");
	STEPS("any", "any-change",
	    QUIET("10.00", "InStock", "a first sighting does not fire"),
	    FIRES("10.01", "InStock", "the price changed"),
	    FIRES("10.01", "OutOfStock", "the availability changed", .field = "old.availability", .want = "in_stock"));
}

/* Cooldown on change time, across runs, for a rule without arming. */
Test(alert_daemon, any_change_cooldown)
{
	start("[rule \"any\"]\nkind = any-change\ncooldown = 1h\nnotify = hook\n");
	STEPS("any", "any-change",
	    QUIET("10.00", "InStock", "a first sighting does not fire"),
	    FIRES("9.00", "InStock", "the price changed"),
	    QUIET("8.00", "InStock", "fired inside its cooldown"));
}

/* Sets the listing's match the way docs/alerts.md says (pw:listing match_sku/state, pw:product price). */
static void
set_match(const char *sku, const char *minor, const char *currency)
{
	char pkey[64];
	const char *l[] = { "HSET", "pw:listing:" LID, "match_sku", sku, "match_state", "auto", "match_score", "0.9100" };
	const char *p[] = { "HSET", pkey, "title", "Espresso cup", "price", minor, "currency", currency };

	cr_assert(pw_snprintf(pkey, sizeof(pkey), "pw:product:%s", sku));
	cr_assert_geq(redis_int(8, l), 0);
	cr_assert_geq(redis_int(8, p), 0);
}

Test(alert_daemon, undercut)
{
	start("[rule \"under\"]\nkind = undercut\ncooldown = 0\nnotify = hook\n");
	cr_assert_eq(pass("5.00", "InStock"), 0, "no match yet");
	set_match("COF", "450", "EUR");
	STEPS("under", "undercut",
	    QUIET("4.80", "InStock", "above our own 4.50"),
	    QUIET("4.50", "InStock", "equal is no undercut"),
	    FIRES("4.40", "InStock", "below our own price", .field = "product.sku", .want = "COF"),
	    QUIET("4.30", "InStock", "fired again without crossing back"),
	    QUIET("4.60", "InStock", "crossing back fired"),
	    FIRES("4.49", "InStock", "not re-armed", .field = "product.title", .want = "Espresso cup"));
	/* Our own price in another currency: never compared. */
	set_match("COF", "900", "USD");
	STEPS("under", "undercut",
	    QUIET("5.00", "InStock", "EUR compared with USD"),
	    QUIET("4.00", "InStock", "EUR compared with USD"));
}

/*
 * new-match (and undercut on a match event) through the daemon's own
 * recognition: a catalogue imported with `pricewatch catalog import` from
 * real photographs, and a shop serving its own recompressed crop of one.
 */
Test(alert_daemon, new_match_by_recognition)
{
	struct rt t;
	char img[400];
	json_object *o;

	start("[rule \"new\"]\nkind = new-match\ncooldown = 0\nnotify = hook\n\n"
	    "[rule \"under\"]\nkind = undercut\ncooldown = 0\nnotify = hook\n");
	memset(&t, 0, sizeof(t));
	t.redis = fx.redis;
	t.st = fx.st;
	cr_assert(pw_snprintf(t.dir, sizeof(t.dir), "%s", fx.dir));
	cr_assert(pw_snprintf(t.conf, sizeof(t.conf), "%s", fx.conf));
	rt_catalogue(&t);
	cr_assert(pw_snprintf(img, sizeof(img), "%s/img", fx.docroot));
	cr_assert_eq(mkdir(img, 0755), 0);
	cr_assert(pw_snprintf(img, sizeof(img), "%s/img/tasse.webp", fx.docroot));
	rt_variant(rt_photo("coffee.jpg"), img, 4, 300, false, 70);

	/* First sighting at 3.49 EUR: matched to COF (4.50 EUR), new and cheaper: both rules, once each. */
	cr_assert_eq(pass_image("3.49", "InStock", "img/tasse.webp"), 2, "%s", test_daemon_log(&fx));
	rt_hash_is(&t, "pw:listing:" LID, "match_sku", "COF");
	o = next_alert("new", "new-match", NULL, "3.49");
	expect_field(o, "product.sku", "COF");
	json_object_put(o);
	o = next_alert("under", "undercut", NULL, "3.49");
	expect_field(o, "product.title", "Espresso cup white porcelain");
	json_object_put(o);
	expect_no_more();

	/* Seen again, cheaper still: the match is not new, the undercut already fired. */
	cr_assert_eq(pass_image("3.29", "InStock", "img/tasse.webp"), 0);
	/* Back above our price, then below again: undercut re-armed, new-match still quiet. */
	cr_assert_eq(pass_image("4.60", "InStock", "img/tasse.webp"), 0);
	cr_assert_eq(pass_image("4.00", "InStock", "img/tasse.webp"), 1);
	o = next_alert("under", "undercut", "4.60", "4.00");
	expect_field(o, "product.sku", "COF");
	json_object_put(o);
	expect_no_more();
}
