/* test-alert-engine.c: rules against a real redis-server: state, dedupe, cooldown and re-arm in Redis, product matches and tags, the crash-window sweep, the pw:alerts stream, worker acks, takeover and dead letters. */
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <signal.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include "alert/alert.h"
#include "common/config.h"
#include "common/util.h"
#include "harness/redis.h"
#include "store/store.h"

#define T0 1790000000000LL
#define DAY (24LL * 3600 * 1000)
#define LID "shop:sku:A1"
#define MID "market:sku:Z9"

static struct test_redis redis;
static struct store *st;
static redisContext *raw;
static struct config cfg;
static struct alert_engine *eng;

static const char conf_text[] =
	"[source \"shop\"]\n"
	"url = https://shop.example/\n"
	"[notifier \"log1\"]\n"
	"type = log\n"
	"[notifier \"mail\"]\n"
	"type = email\n"
	"url = smtp://127.0.0.1:1\n"
	"to = ops@example.com\n"
	"[rule \"drop10\"]\n"
	"kind = drop\n"
	"percent = 10\n"
	"scope = source:shop\n"
	"cooldown = 1h\n"
	"notify = log1\n"
	"[rule \"under10\"]\n"
	"kind = below\n"
	"target = 10\n"
	"cooldown = 0\n"
	"notify = log1\n"
	"[rule \"low7\"]\n"
	"kind = lowest\n"
	"days = 7\n"
	"cooldown = 0\n"
	"scope = listing:" LID "\n"
	"notify = log1\n"
	"[rule \"gone\"]\n"
	"kind = out-of-stock\n"
	"cooldown = 0\n"
	"notify = mail, log1\n"
	/* Matching and tags: none of these sees the untagged, unmatched shop listing. */
	"[source \"market\"]\n"
	"url = https://market.example/\n"
	"tags = eu, competitor\n"
	"[rule \"cheaper\"]\n"
	"kind = undercut\n"
	"cooldown = 0\n"
	"notify = log1\n"
	"[rule \"found\"]\n"
	"kind = new-match\n"
	"cooldown = 1h\n"
	"notify = log1\n"
	"[rule \"mkt-drop\"]\n"
	"kind = drop\n"
	"percent = 5\n"
	"scope = tag:competitor\n"
	"cooldown = 0\n"
	"notify = log1\n"
	"[rule \"p1-any\"]\n"
	"kind = any-change\n"
	"scope = product:P1\n"
	"cooldown = 0\n"
	"notify = log1\n";

static void
setup(void)
{
	char err[512], path[400];
	FILE *f;

	test_redis_start(&redis);
	st = test_redis_open_store(&redis);
	raw = redisConnectUnix(redis.socket_path);
	cr_assert(raw != NULL && raw->err == 0);
	cr_assert(pw_snprintf(path, sizeof(path), "%s/pricewatch.conf", redis.dir));
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(conf_text, f);
	fclose(f);
	cr_assert(config_load(&cfg, path, err, sizeof(err)), "%s", err);
	cr_assert(alert_engine_new(&eng, &cfg, err, sizeof(err)), "%s", err);
	cr_assert_eq(alert_queue_init(st), STORE_OK, "%s", store_error(st));
}

static void
teardown(void)
{
	alert_engine_free(eng);
	config_free(&cfg);
	redisFree(raw);
	store_close(st);
	test_redis_stop(&redis);
}

TestSuite(alert_engine, .init = setup, .fini = teardown);

static long long
raw_int(const char *fmt, ...)
{
	va_list ap;
	redisReply *r;
	long long v;

	va_start(ap, fmt);
	r = redisvCommand(raw, fmt, ap);
	va_end(ap);
	cr_assert_not_null(r);
	cr_assert_eq(r->type, REDIS_REPLY_INTEGER, "reply type %d", r->type);
	v = r->integer;
	freeReplyObject(r);
	return v;
}

/* A string reply (HGET), or "" for nil; caller frees. */
static char *
raw_str(const char *fmt, ...)
{
	va_list ap;
	redisReply *r;
	char *v;

	va_start(ap, fmt);
	r = redisvCommand(raw, fmt, ap);
	va_end(ap);
	cr_assert_not_null(r);
	cr_assert(r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_NIL, "reply type %d", r->type);
	v = xstrdup(r->type == REDIS_REPLY_STRING ? r->str : "");
	freeReplyObject(r);
	return v;
}

/* Field of the n-th (0-based) entry of a stream, "" when absent; caller frees. */
static char *
entry_field(const char *stream, size_t n, const char *field)
{
	redisReply *r = redisCommand(raw, "XRANGE %s - +", stream);
	char *v = NULL;

	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY);
	cr_assert(n < r->elements, "%s has %zu entries, wanted #%zu", stream, r->elements, n);
	{
		redisReply *fv = r->element[n]->element[1];

		for (size_t i = 0; i + 1 < fv->elements; i += 2)
			if (strcmp(fv->element[i]->str, field) == 0)
				v = xstrdup(fv->element[i + 1]->str);
	}
	freeReplyObject(r);
	return v != NULL ? v : xstrdup("");
}

static struct money
usd(int64_t minor)
{
	struct money m = { .minor = minor, .currency = "USD" };

	return m;
}

/* An observation of the shop listing (LID) or, with source "market", of the market listing (MID). */
static struct observation
obs_of(const char *source, struct money now, enum availability av, int64_t t)
{
	struct observation o;
	bool market = strcmp(source, "market") == 0;

	memset(&o, 0, sizeof(o));
	o.source = market ? "market" : "shop";
	o.listing_id = market ? MID : LID;
	o.url = market ? "https://market.example/i/z9" : "https://shop.example/p/a1";
	o.title = market ? "Widget Z9 (market)" : "Widget A1";
	o.sku = market ? "Z9" : "A1";
	o.extractor = "jsonld";
	o.price = now;
	o.availability = av;
	o.observed_ms = t;
	return o;
}

/* Records an observation (the real store writes the history) and reads back the change it made. */
static struct change
record(const char *source, struct money now, enum availability av, int64_t t)
{
	struct observation o = obs_of(source, now, av, t);
	struct change c;
	bool changed;

	cr_assert_eq(store_record(st, &o, &changed), STORE_OK, "%s", store_error(st));
	cr_assert(changed);
	/* What the daemon does: read the change back from the history it just wrote. */
	cr_assert_eq(alert_change_from_store(st, &o, &c), STORE_OK, "%s", store_error(st));
	cr_assert_str_eq(c.listing_id, o.listing_id);
	cr_assert_str_eq(c.source, o.source);
	cr_assert_eq(c.time_ms, t);
	return c;
}

static struct change
observe(struct money old, enum availability old_av, struct money now, enum availability av, int64_t t)
{
	struct change c = record("shop", now, av, t);

	cr_assert_eq(c.old_price.minor, old.minor);
	cr_assert_str_eq(c.old_price.currency, old.currency);
	cr_assert_eq(c.old_avail, old_av);
	cr_assert_eq(c.new_price.minor, now.minor);
	cr_assert_str_eq(c.new_price.currency, now.currency);
	cr_assert_eq(c.new_avail, av);
	return c;
}

static size_t
on_change(const struct change *c)
{
	size_t fired = 99;

	cr_assert_eq(alert_on_change(eng, st, c, &fired), STORE_OK, "%s", store_error(st));
	return fired;
}

static void
expected_key(const char *rule, int64_t t, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len;
	char text[200];

	cr_assert(pw_snprintf(text, sizeof(text), "%s|%s|%" PRId64, rule, LID, t));
	cr_assert_eq(EVP_Digest(text, strlen(text), md, &len, EVP_sha256(), NULL), 1);
	for (unsigned int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

Test(alert_engine, drop_appends_alert_with_exact_fields_and_state)
{
	struct change c;
	char key[65], *v;

	(void)observe((struct money){ 0 }, AVAIL_UNKNOWN, usd(2000), AVAIL_IN_STOCK, T0 - 30 * DAY);
	c = observe(usd(2000), AVAIL_IN_STOCK, usd(1799), AVAIL_IN_STOCK, T0);
	cr_assert_eq(on_change(&c), 2);   /* drop10 (10.05 %) and low7; not under10 (17.99 > 10) */
	cr_assert_eq(raw_int("XLEN pw:alerts"), 2);
	expected_key("drop10", T0, key);
	v = entry_field("pw:alerts", 0, "id");
	cr_assert_str_eq(v, key);
	free(v);
#define FIELD(name, want) do { v = entry_field("pw:alerts", 0, name); cr_assert_str_eq(v, want); free(v); } while (0)
	FIELD("rule", "drop10");
	FIELD("kind", "drop");
	FIELD("listing", LID);
	FIELD("source", "shop");
	FIELD("url", "https://shop.example/p/a1");
	FIELD("old_price", "20.00");
	FIELD("new_price", "17.99");
	FIELD("old_minor", "2000");
	FIELD("new_minor", "1799");
	FIELD("new_currency", "USD");
	FIELD("percent", "-10.05");
	FIELD("new_availability", "in_stock");
	FIELD("channels", "log1");
	v = entry_field("pw:alerts", 1, "rule");
	cr_assert_str_eq(v, "low7");
	free(v);
	v = raw_str("HGET pw:alert:state:drop10:" LID " last_fired_ms");
	cr_assert_str_eq(v, "1790000000000");
	free(v);
}

Test(alert_engine, replayed_change_fires_once)
{
	struct change c;

	(void)observe((struct money){ 0 }, AVAIL_UNKNOWN, usd(2000), AVAIL_IN_STOCK, T0 - DAY);
	c = observe(usd(2000), AVAIL_IN_STOCK, usd(1500), AVAIL_IN_STOCK, T0);
	cr_assert_eq(on_change(&c), 2);
	cr_assert_eq(on_change(&c), 0);
	cr_assert_eq(raw_int("XLEN pw:alerts"), 2);
}

Test(alert_engine, cooldown_held_in_redis_across_engines)
{
	struct change c;
	char err[256];

	(void)observe((struct money){ 0 }, AVAIL_UNKNOWN, usd(4000), AVAIL_IN_STOCK, T0 - DAY);
	c = observe(usd(4000), AVAIL_IN_STOCK, usd(3000), AVAIL_IN_STOCK, T0);
	cr_assert_eq(on_change(&c), 2);   /* drop10, low7 */
	/* A restarted daemon (a new engine) still honours the cooldown. */
	alert_engine_free(eng);
	cr_assert(alert_engine_new(&eng, &cfg, err, sizeof(err)), "%s", err);
	c = observe(usd(3000), AVAIL_IN_STOCK, usd(2000), AVAIL_IN_STOCK, T0 + 60000);
	cr_assert_eq(on_change(&c), 1);   /* low7 only: drop10 is cooling down */
	c = observe(usd(2000), AVAIL_IN_STOCK, usd(1500), AVAIL_IN_STOCK, T0 + 3600 * 1000);
	cr_assert_eq(on_change(&c), 2);
	cr_assert_eq(raw_int("XLEN pw:alerts"), 5);
}

Test(alert_engine, below_rearms_only_after_crossing_back)
{
	struct change c;
	char *v;

	(void)observe((struct money){ 0 }, AVAIL_UNKNOWN, usd(1100), AVAIL_IN_STOCK, T0 - 10 * DAY);
	c = observe(usd(1100), AVAIL_IN_STOCK, usd(1050), AVAIL_IN_STOCK, T0);      /* 4.5 %: only low7 */
	cr_assert_eq(on_change(&c), 1);
	c = observe(usd(1050), AVAIL_IN_STOCK, usd(999), AVAIL_IN_STOCK, T0 + 1000);
	cr_assert_eq(on_change(&c), 2);   /* under10 + low7 */
	v = raw_str("HGET pw:alert:state:under10:" LID " armed");
	cr_assert_str_eq(v, "0");
	free(v);
	c = observe(usd(999), AVAIL_IN_STOCK, usd(995), AVAIL_IN_STOCK, T0 + 2000);
	cr_assert_eq(on_change(&c), 1);   /* low7 only: under10 is disarmed */
	c = observe(usd(995), AVAIL_IN_STOCK, usd(1200), AVAIL_IN_STOCK, T0 + 3000);
	cr_assert_eq(on_change(&c), 0);
	v = raw_str("HGET pw:alert:state:under10:" LID " armed");
	cr_assert_str_eq(v, "1");
	free(v);
	c = observe(usd(1200), AVAIL_IN_STOCK, usd(1000), AVAIL_IN_STOCK, T0 + 4000);
	cr_assert_eq(on_change(&c), 2);   /* under10 again, and drop10 (16.7 %) */
}

Test(alert_engine, lowest_uses_real_history)
{
	struct change c;

	(void)observe((struct money){ 0 }, AVAIL_UNKNOWN, usd(5000), AVAIL_IN_STOCK, T0 - 40 * DAY);
	c = observe(usd(5000), AVAIL_IN_STOCK, usd(10000), AVAIL_IN_STOCK, T0 - 3 * DAY);
	cr_assert_eq(on_change(&c), 0);
	c = observe(usd(10000), AVAIL_IN_STOCK, usd(9500), AVAIL_IN_STOCK, T0);
	cr_assert_eq(on_change(&c), 0);   /* 50.00 was in effect when the 7-day window opened */
	c = observe(usd(9500), AVAIL_IN_STOCK, usd(10000), AVAIL_IN_STOCK, T0 + 4 * DAY + 1);
	cr_assert_eq(on_change(&c), 0);
	c = observe(usd(10000), AVAIL_IN_STOCK, usd(9600), AVAIL_IN_STOCK, T0 + 8 * DAY);
	cr_assert_eq(on_change(&c), 0);   /* 95.00 was in effect at the window start */
	c = observe(usd(9600), AVAIL_IN_STOCK, usd(9400), AVAIL_IN_STOCK, T0 + 8 * DAY + 1000);
	cr_assert_eq(on_change(&c), 1);
	cr_assert_eq(raw_int("XLEN pw:alerts"), 1);
}

Test(alert_engine, worker_acks_delivered_and_dead_letters_email)
{
	struct change c;
	struct alert_worker_opts o = { .consumer = "w1", .base_delay_ms = -1, .max_attempts = 1,
	    .now_ms = T0 + 5000 };
	struct alert_worker_stats s;
	char *v, key[65];

	(void)observe((struct money){ 0 }, AVAIL_UNKNOWN, usd(2000), AVAIL_IN_STOCK, T0 - DAY);
	c = observe(usd(2000), AVAIL_IN_STOCK, usd(2000), AVAIL_OUT_OF_STOCK, T0);
	cr_assert_eq(on_change(&c), 1);   /* "gone": notify mail, log1 */
	cr_assert_eq(alert_engine_work(eng, st, &o, &s), STORE_OK, "%s", store_error(st));
	cr_assert_eq(s.delivered, 1);
	cr_assert_eq(s.dead, 1);          /* nothing listens on the SMTP port and one attempt is all it gets */
	cr_assert_eq(s.acked, 1);
	cr_assert_eq(raw_int("XLEN pw:alerts:dead"), 1);
	v = entry_field("pw:alerts:dead", 0, "channel");
	cr_assert_str_eq(v, "mail");
	free(v);
	v = entry_field("pw:alerts:dead", 0, "error");
	cr_assert(strstr(v, "smtp://127.0.0.1:1") != NULL, "%s", v);
	free(v);
	expected_key("gone", T0, key);
	v = entry_field("pw:alerts:dead", 0, "id");
	cr_assert_str_eq(v, key);
	free(v);
	v = raw_str("HGET pw:alert:delivery:%s log1.state", key);
	cr_assert_str_eq(v, "delivered");
	free(v);
	cr_assert_gt(raw_int("TTL pw:alert:delivery:%s", key), 0);
	/* Nothing pending, and a second round finds nothing to do. */
	{
		redisReply *r = redisCommand(raw, "XPENDING pw:alerts notifiers");

		cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY && r->element[0]->integer == 0);
		freeReplyObject(r);
	}
	cr_assert_eq(alert_engine_work(eng, st, &o, &s), STORE_OK);
	cr_assert_eq(s.delivered + s.dead + s.acked, 0);
}

Test(alert_engine, entries_of_a_dead_worker_are_taken_over)
{
	struct change c;
	struct alert_worker_opts o = { .consumer = "w2", .claim_idle_ms = 1, .now_ms = T0 + 5000 };
	struct alert_worker_stats s;
	redisReply *r;

	(void)observe((struct money){ 0 }, AVAIL_UNKNOWN, usd(2000), AVAIL_IN_STOCK, T0 - DAY);
	c = observe(usd(2000), AVAIL_IN_STOCK, usd(1000), AVAIL_IN_STOCK, T0);
	cr_assert_eq(on_change(&c), 3);   /* drop10, under10, low7 */
	/* Worker w1 reads all three and dies before delivering. */
	r = redisCommand(raw, "XREADGROUP GROUP notifiers w1 COUNT 10 STREAMS pw:alerts >");
	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY);
	freeReplyObject(r);
	usleep(20 * 1000);   /* let the entries become idle for longer than claim_idle_ms */
	cr_assert_eq(alert_engine_work(eng, st, &o, &s), STORE_OK, "%s", store_error(st));
	cr_assert_eq(s.delivered, 3);
	cr_assert_eq(s.acked, 3);
	r = redisCommand(raw, "XPENDING pw:alerts notifiers");
	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY && r->element[0]->integer == 0);
	freeReplyObject(r);
}

Test(alert_engine, dead_letter_retry_requeues_with_the_same_key)
{
	struct change c;
	struct alert_worker_opts o = { .consumer = "w1", .base_delay_ms = -1, .max_attempts = 1,
	    .now_ms = T0 + 5000 };
	struct alert_worker_stats s;
	redisReply *r;
	char dead_id[64], new_id[64], key[65], *v;

	(void)observe((struct money){ 0 }, AVAIL_UNKNOWN, usd(2000), AVAIL_IN_STOCK, T0 - DAY);
	c = observe(usd(2000), AVAIL_IN_STOCK, usd(2000), AVAIL_DISCONTINUED, T0);
	cr_assert_eq(on_change(&c), 1);
	cr_assert_eq(alert_engine_work(eng, st, &o, &s), STORE_OK, "%s", store_error(st));
	cr_assert_eq(s.dead, 1);
	r = redisCommand(raw, "XRANGE pw:alerts:dead - +");
	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1);
	pw_strlcpy(dead_id, r->element[0]->element[0]->str, sizeof(dead_id));
	freeReplyObject(r);
	cr_assert_eq(alert_dead_retry(st, dead_id, new_id, sizeof(new_id)), STORE_OK, "%s", store_error(st));
	cr_assert_eq(raw_int("XLEN pw:alerts:dead"), 0);
	cr_assert_eq(raw_int("XLEN pw:alerts"), 2);
	expected_key("gone", T0, key);
	v = entry_field("pw:alerts", 1, "id");
	cr_assert_str_eq(v, key);
	free(v);
	v = entry_field("pw:alerts", 1, "channels");
	cr_assert_str_eq(v, "mail");      /* only the channel that failed; log1 already has it */
	free(v);
	cr_assert_eq(alert_dead_retry(st, dead_id, NULL, 0), STORE_NOT_FOUND);
	/* The worker tries mail once more (still nothing listening) and dead-letters it again. */
	cr_assert_eq(alert_engine_work(eng, st, &o, &s), STORE_OK, "%s", store_error(st));
	cr_assert_eq(s.delivered, 0);
	cr_assert_eq(s.dead, 1);
	cr_assert_eq(s.acked, 1);
	cr_assert_eq(raw_int("XLEN pw:alerts:dead"), 1);
}

static struct money
eur(int64_t minor)
{
	struct money m = { .minor = minor, .currency = "EUR" };

	return m;
}

static size_t
alerts_of_rule(const char *rule)
{
	redisReply *r = redisCommand(raw, "XRANGE pw:alerts - +");
	size_t n = 0;

	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY);
	for (size_t i = 0; i < r->elements; i++) {
		redisReply *fv = r->element[i]->element[1];

		for (size_t j = 0; j + 1 < fv->elements; j += 2)
			if (strcmp(fv->element[j]->str, "rule") == 0 && strcmp(fv->element[j + 1]->str, rule) == 0)
				n++;
	}
	freeReplyObject(r);
	return n;
}

/* The matcher's record of the market listing's match, and the user's own product. */
static void
match_market(const char *state, const char *own_minor, const char *own_currency)
{
	redisReply *r = redisCommand(raw, "HSET pw:listing:" MID " match_sku P1 match_state %s match_score 0.91",
	    state);

	cr_assert(r != NULL && r->type == REDIS_REPLY_INTEGER);
	freeReplyObject(r);
	r = redisCommand(raw, "HSET pw:product:P1 title %s price %s currency %s", "Own widget \xe2\x84\xa2",
	    own_minor, own_currency);
	cr_assert(r != NULL && r->type == REDIS_REPLY_INTEGER);
	freeReplyObject(r);
}

Test(alert_engine, undercut_on_price_changes_of_a_matched_listing)
{
	struct change c;
	char *v;

	match_market("auto", "1900", "EUR");
	(void)record("market", eur(2000), AVAIL_IN_STOCK, T0 - DAY);
	c = record("market", eur(1850), AVAIL_IN_STOCK, T0);
	/* undercut (18.50 < 19.00), mkt-drop (7.5 % in a source tagged competitor), p1-any (matched to P1) */
	cr_assert_eq(on_change(&c), 3);
	cr_assert_eq(alerts_of_rule("cheaper"), 1);
	cr_assert_eq(alerts_of_rule("mkt-drop"), 1);
	cr_assert_eq(alerts_of_rule("p1-any"), 1);
	v = entry_field("pw:alerts", 0, "kind");
	cr_assert_str_eq(v, "undercut");
	free(v);
#define FIELD0(name, want) do { v = entry_field("pw:alerts", 0, name); cr_assert_str_eq(v, want); free(v); } while (0)
	FIELD0("product", "P1");
	FIELD0("product_title", "Own widget \xe2\x84\xa2");
	FIELD0("product_price", "19.00");
	FIELD0("product_minor", "1900");
	FIELD0("product_currency", "EUR");
	FIELD0("new_price", "18.50");
	FIELD0("score", "0.9100");
	c = record("market", eur(1800), AVAIL_IN_STOCK, T0 + 1000);
	cr_assert_eq(on_change(&c), 1);   /* p1-any; undercut waits for the price to go back up first */
	c = record("market", eur(1950), AVAIL_IN_STOCK, T0 + 2000);
	cr_assert_eq(on_change(&c), 1);   /* p1-any; undercut re-armed */
	c = record("market", eur(1890), AVAIL_IN_STOCK, T0 + 3000);
	cr_assert_eq(on_change(&c), 2);   /* undercut again, p1-any */
	cr_assert_eq(alerts_of_rule("cheaper"), 2);
	/* A rejected match is no match: neither undercut nor product scope sees it. */
	match_market("rejected", "1900", "EUR");
	c = record("market", eur(1950), AVAIL_IN_STOCK, T0 + 4000);
	cr_assert_eq(on_change(&c), 0);
	c = record("market", eur(1700), AVAIL_IN_STOCK, T0 + 5000);
	cr_assert_eq(on_change(&c), 1);   /* mkt-drop (12.8 %) only */
	cr_assert_eq(alerts_of_rule("cheaper"), 2);
	cr_assert_eq(alert_engine_currency_mismatches(eng), 0);
}

Test(alert_engine, undercut_never_compares_currencies)
{
	struct change c;

	match_market("confirmed", "2500", "USD");
	(void)record("market", eur(2000), AVAIL_IN_STOCK, T0 - DAY);
	c = record("market", eur(1990), AVAIL_IN_STOCK, T0);
	cr_assert_eq(on_change(&c), 1);   /* p1-any; 19.90 EUR vs 25.00 USD is not compared */
	cr_assert_eq(alerts_of_rule("cheaper"), 0);
	cr_assert_eq(alert_engine_currency_mismatches(eng), 1);
}

static struct match_event
event(bool is_new, int64_t price, int64_t t)
{
	struct match_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.listing_id = MID;
	ev.source = "market";
	ev.url = "https://market.example/i/z9";
	ev.title = "Widget Z9 (market)";
	ev.sku = "P1";
	ev.listing_price = eur(price);
	ev.score = 0.93;
	ev.is_new = is_new;
	ev.time_ms = t;
	return ev;
}

static size_t
on_match(const struct match_event *ev)
{
	size_t fired = 99;

	cr_assert_eq(alert_on_match(eng, st, ev, &fired), STORE_OK, "%s", store_error(st));
	return fired;
}

Test(alert_engine, match_events_fire_new_match_and_undercut)
{
	struct match_event ev;
	char *v;

	match_market("auto", "1900", "EUR");   /* the matcher gives no own price: the product hash has it */
	ev = event(true, 1500, T0);
	cr_assert_eq(on_match(&ev), 2);         /* found, cheaper; price rules never look at a match */
	cr_assert_eq(on_match(&ev), 0);         /* the same event again */
	cr_assert_eq(alerts_of_rule("found"), 1);
	cr_assert_eq(alerts_of_rule("cheaper"), 1);
	v = entry_field("pw:alerts", 0, "kind");   /* config order: cheaper, then found */
	cr_assert_str_eq(v, "undercut");
	free(v);
	v = entry_field("pw:alerts", 1, "kind");
	cr_assert_str_eq(v, "new-match");
	free(v);
	FIELD0("product_title", "Own widget \xe2\x84\xa2");
	FIELD0("product_price", "19.00");
	FIELD0("new_price", "15.00");
	FIELD0("old_price", "");
	FIELD0("score", "0.9300");
	FIELD0("source", "market");
	ev = event(true, 1500, T0 + 60000);     /* matched anew inside found's 1 h cooldown */
	cr_assert_eq(on_match(&ev), 0);
	ev = event(false, 1500, T0 + 2 * 3600 * 1000);
	cr_assert_eq(on_match(&ev), 0);         /* not new; cheaper still disarmed */
	ev = event(true, 2000, T0 + 3 * 3600 * 1000);
	cr_assert_eq(on_match(&ev), 1);         /* found again after the cooldown; 20.00 re-arms cheaper */
	ev.sku = "";
	cr_assert_eq(alert_on_match(eng, st, &ev, NULL), STORE_ERROR);
	cr_assert(strstr(store_error(st), "SKU") != NULL, "%s", store_error(st));
}

static long long
inflight(void)
{
	return raw_int("SCARD pw:alert:inflight");
}

Test(alert_engine, a_change_recorded_before_a_crash_is_evaluated_by_the_sweep)
{
	struct observation o;
	struct change c;
	size_t n = 0, fired = 0;
	bool changed = false;
	pid_t pid;
	int status;

	(void)observe((struct money){ 0 }, AVAIL_UNKNOWN, usd(2000), AVAIL_IN_STOCK, T0 - DAY);
	cr_assert_eq(inflight(), 0);
	/* A daemon records a 25 % drop and is killed before it evaluates the rules. */
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		struct store *cst = NULL;
		struct store_opts so = { .url = redis.url, .prefix = "pw:", .connect_timeout_ms = 2000,
		    .command_timeout_ms = 2000 };
		char err[256];
		bool ch = false;

		o = obs_of("shop", usd(1500), AVAIL_IN_STOCK, T0);
		if (store_open(&cst, &so, err, sizeof(err)) == STORE_OK &&
		    alert_store_record(eng, cst, &o, &ch) == STORE_OK && ch)
			kill(getpid(), SIGKILL);
		_exit(3);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %d", status);
	cr_assert_eq(raw_int("XLEN pw:hist:" LID), 2);     /* the change is recorded ... */
	cr_assert_eq(raw_int("XLEN pw:alerts"), 0);        /* ... and nothing was raised */
	cr_assert_eq(inflight(), 1);
	/* Too young for the sweep: its record might still be in progress. */
	cr_assert_eq(alert_sweep(eng, st, T0 - 1, &n, &fired), STORE_OK, "%s", store_error(st));
	cr_assert_eq(n, 0);
	cr_assert_eq(inflight(), 1);
	/* A marker whose record never happened is dropped; the real one is evaluated. */
	cr_assert_eq(raw_int("SADD pw:alert:inflight %s", "1789990000000|shop:sku:NEVER"), 1);
	cr_assert_eq(alert_sweep(eng, st, T0, &n, &fired), STORE_OK, "%s", store_error(st));
	cr_assert_eq(n, 1);
	cr_assert_eq(fired, 2);                            /* drop10 and low7 */
	cr_assert_eq(alerts_of_rule("drop10"), 1);
	cr_assert_eq(inflight(), 0);
	/* Evaluating it again (a second sweep racing the first) raises nothing twice. */
	o = obs_of("shop", usd(1500), AVAIL_IN_STOCK, T0);
	cr_assert_eq(alert_change_from_store(st, &o, &c), STORE_OK);
	cr_assert_eq(on_change(&c), 0);
	/* The normal path leaves no marker: no change, or a change evaluated. */
	o = obs_of("shop", usd(1500), AVAIL_IN_STOCK, T0 + 1000);
	cr_assert_eq(alert_store_record(eng, st, &o, &changed), STORE_OK, "%s", store_error(st));
	cr_assert_not(changed);
	cr_assert_eq(inflight(), 0);
	o = obs_of("shop", usd(1000), AVAIL_IN_STOCK, T0 + 2000);
	cr_assert_eq(alert_store_record(eng, st, &o, &changed), STORE_OK, "%s", store_error(st));
	cr_assert(changed);
	cr_assert_eq(inflight(), 1);
	cr_assert_eq(alert_change_from_store(st, &o, &c), STORE_OK);
	cr_assert_gt(on_change(&c), 0);
	cr_assert_eq(inflight(), 0);
}
