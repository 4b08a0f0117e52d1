/* test-alert-webhook.c: webhook delivery to a real receiver on 127.0.0.1 that checks the HMAC: retries, backoff, dead letters, receiver outages and a SIGKILLed worker. */
#define _GNU_SOURCE 1   /* strcasestr */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "alert/alert.h"
#include "alert/webhook.h"
#include "common/config.h"
#include "common/util.h"
#include "harness/hook.h"
#include "harness/json.h"
#include "harness/redis.h"
#include "store/store.h"

#define T0 1790000000000LL
#define LID "shop:sku:W1"
#define SECRET "s3cret-for-tests"

/* ---- the receiver (harness/hook.h): records each POST and checks its HMAC ---- */

static struct test_hook hook;
static bool hook_running;

/* Starts the receiver on port (0: any) of 127.0.0.1. */
static void
receiver_start(int port)
{
	test_hook_start_on(&hook, SECRET, port);
	hook_running = true;
}

/* Stops it; what it recorded is gone (a test stops it only before anything was sent). */
static void
receiver_stop(void)
{
	test_hook_stop(&hook);
	hook_running = false;
}

/* Request i was a POST to /hook signed with SECRET. */
static bool
signed_post(int i)
{
	return strncmp(hook.req[i].line, "POST /hook ", 11) == 0 && hook.req[i].sig_ok;
}

/* ---- fixture: redis, config with a webhook, engine ---- */

static struct test_redis redis;
static struct store *st;
static redisContext *raw;
static struct config cfg;
static struct alert_engine *eng;

/*
 * Writes the config naming the webhook at hook_port (and a second, unreachable
 * one when dead_port > 0); hook_extra (may be "") is more keys of the hook.
 */
static void
load_config_with(int hook_port, int dead_port, const char *hook_extra)
{
	char path[400], spath[400], err[512];
	FILE *f;

	cr_assert(pw_snprintf(spath, sizeof(spath), "%s/hook.secret", redis.dir));
	f = fopen(spath, "w");
	cr_assert_not_null(f);
	fputs(SECRET "\n", f);
	fclose(f);
	cr_assert(pw_snprintf(path, sizeof(path), "%s/pricewatch.conf", redis.dir));
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "[crawl]\nconnect-timeout = 2s\ntimeout = 5s\n"
	    "[notifier \"hook\"]\ntype = webhook\nurl = http://127.0.0.1:%d/hook\nsecret-file = %s\n"
	    "%s[notifier \"log1\"]\ntype = log\n", hook_port, spath, hook_extra);
	if (dead_port > 0)
		fprintf(f, "[notifier \"down\"]\ntype = webhook\nurl = http://127.0.0.1:%d/hook\n", dead_port);
	fprintf(f, "[rule \"any\"]\nkind = any-change\ncooldown = 0\nnotify = hook%s\n",
	    dead_port > 0 ? ", down, log1" : "");
	fclose(f);
	cr_assert(config_load(&cfg, path, err, sizeof(err)), "%s", err);
	cr_assert(alert_engine_new(&eng, &cfg, err, sizeof(err)), "%s", err);
}

static void
load_config(int hook_port, int dead_port)
{
	load_config_with(hook_port, dead_port, "");
}

static void
setup(void)
{
	cr_assert_eq(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	test_redis_start(&redis);
	st = test_redis_open_store(&redis);
	raw = redisConnectUnix(redis.socket_path);
	cr_assert(raw != NULL && raw->err == 0);
	cr_assert_eq(alert_queue_init(st), STORE_OK, "%s", store_error(st));
}

static void
teardown(void)
{
	if (hook_running)
		receiver_stop();
	alert_engine_free(eng);
	eng = NULL;
	config_free(&cfg);
	redisFree(raw);
	store_close(st);
	test_redis_stop(&redis);
	curl_global_cleanup();
}

TestSuite(alert_webhook, .init = setup, .fini = teardown);

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

static long long
pending(void)
{
	redisReply *r = redisCommand(raw, "XPENDING pw:alerts notifiers");
	long long n;

	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements >= 1);
	n = r->element[0]->integer;
	freeReplyObject(r);
	return n;
}

static char *
dead_field(size_t n, const char *field)
{
	redisReply *r = redisCommand(raw, "XRANGE pw:alerts:dead - +");
	char *v = NULL;

	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY && n < r->elements);
	for (size_t i = 0; i + 1 < r->element[n]->element[1]->elements; i += 2)
		if (strcmp(r->element[n]->element[1]->element[i]->str, field) == 0)
			v = xstrdup(r->element[n]->element[1]->element[i + 1]->str);
	freeReplyObject(r);
	return v != NULL ? v : xstrdup("");
}

/* One alert: listing lid's price drops from 19.99 to 17.99 USD at t. */
static void
raise_alert_at(const char *lid, int64_t t)
{
	struct change c;
	size_t fired = 0;

	memset(&c, 0, sizeof(c));
	c.listing_id = lid;
	c.source = "shop";
	c.url = "https://shop.example/p/w1?a=1&b=\"2\"";
	c.title = "Widget \xc3\xa9";
	c.old_price = (struct money){ .minor = 1999, .currency = "USD" };
	c.new_price = (struct money){ .minor = 1799, .currency = "USD" };
	c.old_avail = AVAIL_IN_STOCK;
	c.new_avail = AVAIL_LIMITED;
	c.time_ms = t;
	cr_assert_eq(alert_on_change(eng, st, &c, &fired), STORE_OK, "%s", store_error(st));
	cr_assert_eq(fired, 1);
}

static void
raise_alert(void)
{
	raise_alert_at(LID, T0);
}

static void
expected_key(char out[65])
{
	alert_key("any", LID, T0, out);
	/* Cross-check the key against libcrypto directly. */
	{
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int len;
		const char *text = "any|" LID "|1790000000000";
		char hex[65];

		cr_assert_eq(EVP_Digest(text, strlen(text), md, &len, EVP_sha256(), NULL), 1);
		for (unsigned int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		cr_assert_str_eq(out, hex);
	}
}

static struct alert_worker_opts
opts(const char *consumer, int64_t now)
{
	struct alert_worker_opts o = { .consumer = consumer, .base_delay_ms = -1, .max_attempts = 4,
	    .now_ms = now, .seed = 42 };

	return o;
}

static void
work(struct alert_worker_opts *o, struct alert_worker_stats *s)
{
	cr_assert_eq(alert_engine_work(eng, st, o, s), STORE_OK, "%s", store_error(st));
}

Test(alert_webhook, retries_on_500_with_the_same_key_then_delivers_signed_json)
{
	struct alert_worker_opts o = opts("w1", T0 + 1000);
	struct alert_worker_stats s;
	char key[65];
	json_object *j, *x;

	receiver_start(0);
	hook.fail_first = 2;
	load_config(hook.port, 0);
	raise_alert();
	expected_key(key);
	work(&o, &s);
	cr_assert_eq(s.retried, 1);
	cr_assert_eq(s.acked, 0);
	cr_assert_eq(pending(), 1);       /* not acknowledged while the receiver fails */
	work(&o, &s);
	cr_assert_eq(s.retried, 1);
	work(&o, &s);
	cr_assert_eq(s.delivered, 1);
	cr_assert_eq(s.acked, 1);
	cr_assert_eq(pending(), 0);
	cr_assert_eq(test_hook_count(&hook), 3);
	for (int i = 0; i < 3; i++) {
		cr_assert_str_eq(hook.req[i].delivery, key, "request %d", i);
		cr_assert(signed_post(i), "request %d: bad signature %s", i, hook.req[i].signature);
		cr_assert_str_eq(hook.req[i].content_type, "application/json");
		cr_assert_str_eq(hook.req[i].timestamp, "1790000001");
	}
	j = json_tokener_parse(hook.req[2].body);
	cr_assert_not_null(j, "%s", hook.req[2].body);
	cr_assert_str_eq(json_object_get_string(json_object_object_get(j, "id")), key);
	cr_assert_str_eq(json_object_get_string(json_object_object_get(j, "kind")), "any-change");
	cr_assert(json_object_object_get_ex(j, "new", &x));
	cr_assert_str_eq(json_object_get_string(json_object_object_get(x, "price")), "17.99");
	cr_assert_eq(json_object_get_int64(json_object_object_get(x, "minor")), 1799);
	cr_assert_str_eq(json_object_get_string(json_object_object_get(x, "currency")), "USD");
	cr_assert_str_eq(json_object_get_string(json_object_object_get(x, "availability")), "limited");
	cr_assert(json_object_object_get_ex(j, "old", &x));
	cr_assert_str_eq(json_object_get_string(json_object_object_get(x, "price")), "19.99");
	cr_assert_str_eq(json_object_get_string(json_object_object_get(j, "percent")), "-10.01");
	cr_assert(json_object_object_get_ex(j, "listing", &x));
	cr_assert_str_eq(json_object_get_string(json_object_object_get(x, "url")), "https://shop.example/p/w1?a=1&b=\"2\"");
	cr_assert_str_eq(json_object_get_string(json_object_object_get(x, "title")), "Widget \xc3\xa9");
	cr_assert_eq(json_object_get_int64(json_object_object_get(j, "sent_at")), 1790000001);
	json_object_put(j);
}

Test(alert_webhook, backoff_waits_before_the_next_attempt)
{
	struct alert_worker_opts o = opts("w1", T0);
	struct alert_worker_stats s;
	char key[65];
	redisReply *r;
	int64_t next = 0;

	receiver_start(0);
	hook.fail_first = 1;
	load_config(hook.port, 0);
	raise_alert();
	expected_key(key);
	o.base_delay_ms = 60000;
	o.max_delay_ms = 60000;
	o.seed = 7;
	work(&o, &s);
	cr_assert_eq(s.retried, 1);
	r = redisCommand(raw, "HGET pw:alert:delivery:%s hook.next_ms", key);
	cr_assert(r != NULL && r->type == REDIS_REPLY_STRING);
	cr_assert(parse_int64(r->str, 0, INT64_MAX, &next));
	freeReplyObject(r);
	cr_assert(next >= T0 && next <= T0 + 60000, "next attempt at %" PRId64, next);
	if (next > T0) {
		o.now_ms = next - 1;          /* still waiting: no request */
		work(&o, &s);
		cr_assert_eq(s.retried + s.delivered, 0);
		cr_assert_eq(test_hook_count(&hook), 1);
	}
	o.now_ms = next;
	work(&o, &s);
	cr_assert_eq(s.delivered, 1);
	cr_assert_eq(s.acked, 1);
	cr_assert_eq(test_hook_count(&hook), 2);
}

Test(alert_webhook, permanent_4xx_goes_straight_to_dead_letters)
{
	struct alert_worker_opts o = opts("w1", T0 + 1000);
	struct alert_worker_stats s;
	char key[65], *v;

	receiver_start(0);
	hook.status = 400;
	load_config(hook.port, 0);
	raise_alert();
	expected_key(key);
	work(&o, &s);
	cr_assert_eq(s.dead, 1);
	cr_assert_eq(s.acked, 1);
	cr_assert_eq(test_hook_count(&hook), 1);
	cr_assert_eq(raw_int("XLEN pw:alerts:dead"), 1);
	v = dead_field(0, "error");
	cr_assert(strstr(v, "HTTP 400") != NULL, "%s", v);
	free(v);
	v = dead_field(0, "id");
	cr_assert_str_eq(v, key);
	free(v);
	v = dead_field(0, "attempts");
	cr_assert_str_eq(v, "1");
	free(v);
}

Test(alert_webhook, last_attempt_dead_letters_with_the_last_error)
{
	struct alert_worker_opts o = opts("w1", T0 + 1000);
	struct alert_worker_stats s;
	char *v;

	receiver_start(0);
	hook.fail_first = 100;
	load_config(hook.port, 0);
	raise_alert();
	for (int i = 0; i < 3; i++) {
		work(&o, &s);
		cr_assert_eq(s.retried, 1, "round %d", i);
	}
	work(&o, &s);
	cr_assert_eq(s.dead, 1);
	cr_assert_eq(s.acked, 1);
	cr_assert_eq(test_hook_count(&hook), 4);
	v = dead_field(0, "error");
	cr_assert(strstr(v, "HTTP 500") != NULL, "%s", v);
	free(v);
	v = dead_field(0, "attempts");
	cr_assert_str_eq(v, "4");
	free(v);
	work(&o, &s);
	cr_assert_eq(test_hook_count(&hook), 4);
	cr_assert_eq(raw_int("XLEN pw:alerts:dead"), 1);
}

Test(alert_webhook, alerts_wait_while_the_receiver_is_down_then_arrive)
{
	struct alert_worker_opts o = opts("w1", T0 + 1000);
	struct alert_worker_stats s;
	int port;
	char key[65];

	receiver_start(0);
	port = hook.port;
	receiver_stop();                  /* the receiver is down: connection refused */
	load_config(port, 0);
	raise_alert();
	expected_key(key);
	work(&o, &s);
	work(&o, &s);
	cr_assert_eq(s.retried, 1);
	cr_assert_eq(pending(), 1);
	receiver_start(port);
	work(&o, &s);
	cr_assert_eq(s.delivered, 1);
	cr_assert_eq(s.acked, 1);
	cr_assert_eq(test_hook_count(&hook), 1);
	cr_assert_str_eq(hook.req[0].delivery, key);
	cr_assert(signed_post(0));
}

/* A port where nothing listens any more (returned), and the receiver started on another one. */
static int
receiver_after_a_dead_port(void)
{
	int dead_port;

	receiver_start(0);
	dead_port = hook.port;
	receiver_stop();
	receiver_start(0);
	return dead_port;
}

Test(alert_webhook, a_dead_channel_does_not_hold_back_the_others)
{
	struct alert_worker_opts o = opts("w1", T0 + 1000);
	struct alert_worker_stats s;
	int dead_port;

	dead_port = receiver_after_a_dead_port();
	load_config(hook.port, dead_port);
	raise_alert();
	work(&o, &s);
	cr_assert_eq(s.delivered, 2);     /* hook and log1 */
	cr_assert_eq(s.retried, 1);       /* down */
	cr_assert_eq(test_hook_count(&hook), 1);
	cr_assert_eq(pending(), 1);
	work(&o, &s);
	cr_assert_eq(s.delivered, 0);     /* delivered channels are not sent again */
	cr_assert_eq(test_hook_count(&hook), 1);
	cr_assert_eq(s.retried, 1);
}

/*
 * A worker of its own (a child with its own connection) runs one round; the
 * receiver records its first POST and holds the answer, and the worker is
 * SIGKILLed then: delivered, not yet acknowledged.
 */
static void
kill_worker_mid_delivery(const struct alert_worker_opts *o)
{
	pid_t pid;
	int status, before = test_hook_count(&hook);

	hook.hold = true;
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		struct store *cst = test_redis_open_store(&redis);
		struct alert_worker_stats cs;

		(void)alert_engine_work(eng, cst, o, &cs);
		_exit(0);
	}
	cr_assert_gt(test_hook_wait(&hook, before + 1, 60000), before, "the worker never posted");
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status));
	test_hook_release(&hook);
}

Test(alert_webhook, sigkilled_worker_redelivers_with_the_same_key)
{
	struct alert_worker_opts o = opts("w1", T0 + 1000);
	struct alert_worker_stats s;
	char key[65];

	receiver_start(0);
	load_config(hook.port, 0);
	raise_alert();
	expected_key(key);
	kill_worker_mid_delivery(&o);
	cr_assert_eq(pending(), 1);       /* nothing lost: the entry is still pending for w1 */
	/* Another worker takes the abandoned entry over and delivers it again, same key. */
	usleep(20 * 1000);
	o.consumer = "w2";
	o.claim_idle_ms = 1;
	work(&o, &s);
	cr_assert_eq(s.delivered, 1);
	cr_assert_eq(s.acked, 1);
	cr_assert_eq(pending(), 0);
	cr_assert_eq(test_hook_count(&hook), 2);
	cr_assert_str_eq(hook.req[0].delivery, key);
	cr_assert_str_eq(hook.req[1].delivery, key);
	cr_assert(signed_post(0) && signed_post(1));
}

/* ---- payload shapes (format = slack | discord | teams) ---- */

static const char *
jstr(json_object *o, const char *k)
{
	return json_object_get_string(test_json_member(o, k));
}

#define SUMMARY "Widget \xc3\xa9: 19.99 USD \xe2\x86\x92 17.99 USD (-10.01%)"

/* Delivers the one alert through a hook of the given format; returns the parsed, signed body. */
static json_object *
deliver_shaped(const char *format)
{
	struct alert_worker_opts o = opts("w1", T0 + 1000);
	struct alert_worker_stats s;
	char extra[64], key[65];
	json_object *j;

	receiver_start(0);
	cr_assert(pw_snprintf(extra, sizeof(extra), "format = %s\n", format));
	load_config_with(hook.port, 0, extra);
	raise_alert();
	expected_key(key);
	work(&o, &s);
	cr_assert_eq(s.delivered, 1);
	cr_assert_eq(test_hook_count(&hook), 1);
	cr_assert(signed_post(0), "bad signature %s", hook.req[0].signature);
	cr_assert_str_eq(hook.req[0].delivery, key);
	cr_assert_str_eq(hook.req[0].content_type, "application/json");
	j = json_tokener_parse(hook.req[0].body);
	cr_assert_not_null(j, "not JSON: %s", hook.req[0].body);
	return j;
}

Test(alert_webhook, slack_shape_has_text_and_mrkdwn_blocks)
{
	json_object *j = deliver_shaped("slack"), *blocks, *b;

	cr_assert_str_eq(jstr(j, "text"), SUMMARY);
	blocks = test_json_member(j, "blocks");
	cr_assert_eq(json_object_get_type(blocks), json_type_array);
	cr_assert_eq(json_object_array_length(blocks), 2);
	b = json_object_array_get_idx(blocks, 0);
	cr_assert_str_eq(jstr(b, "type"), "section");
	cr_assert_str_eq(jstr(test_json_member(b, "text"), "type"), "mrkdwn");
	/* Slack escapes & < > and links as <url|text>. */
	cr_assert(strstr(jstr(test_json_member(b, "text"), "text"),
	    "<https://shop.example/p/w1?a=1&amp;b=\"2\"|open listing>") !=
	    NULL, "%s", jstr(test_json_member(b, "text"), "text"));
	cr_assert(strstr(jstr(test_json_member(b, "text"), "text"), "rule `any`") != NULL);
	b = json_object_array_get_idx(blocks, 1);
	cr_assert_str_eq(jstr(b, "type"), "context");
	cr_assert_eq(json_object_object_get_ex(j, "id", NULL), 0);   /* not the generic shape */
	json_object_put(j);
}

Test(alert_webhook, discord_shape_has_content_and_an_embed)
{
	json_object *j = deliver_shaped("discord"), *e, *fields, *f;
	char key[65];

	expected_key(key);
	cr_assert_str_eq(jstr(j, "content"), SUMMARY);
	cr_assert_eq(json_object_array_length(test_json_member(j, "embeds")), 1);
	e = json_object_array_get_idx(test_json_member(j, "embeds"), 0);
	cr_assert_str_eq(jstr(e, "title"), SUMMARY);
	cr_assert_str_eq(jstr(e, "url"), "https://shop.example/p/w1?a=1&b=\"2\"");
	cr_assert_str_eq(jstr(e, "timestamp"), "2026-09-21T14:13:20Z");
	cr_assert(strstr(jstr(test_json_member(e, "footer"), "text"), key) != NULL);
	fields = test_json_member(e, "fields");
	f = json_object_array_get_idx(fields, 0);
	cr_assert_str_eq(jstr(f, "name"), "Price");
	cr_assert_str_eq(jstr(f, "value"), "19.99 USD \xe2\x86\x92 17.99 USD");
	cr_assert(json_object_get_boolean(test_json_member(f, "inline")));
	f = json_object_array_get_idx(fields, 1);
	cr_assert_str_eq(jstr(f, "value"), "-10.01");
	json_object_put(j);
}

Test(alert_webhook, teams_shape_is_a_message_card)
{
	json_object *j = deliver_shaped("teams"), *sec, *fact, *act;

	cr_assert_str_eq(jstr(j, "@type"), "MessageCard");
	cr_assert_str_eq(jstr(j, "@context"), "https://schema.org/extensions");
	cr_assert_str_eq(jstr(j, "summary"), SUMMARY);
	cr_assert_str_eq(jstr(j, "title"), SUMMARY);
	sec = json_object_array_get_idx(test_json_member(j, "sections"), 0);
	cr_assert_str_eq(jstr(sec, "activityTitle"), SUMMARY);
	fact = json_object_array_get_idx(test_json_member(sec, "facts"), 2);
	cr_assert_str_eq(jstr(fact, "name"), "Availability");
	cr_assert_str_eq(jstr(fact, "value"), "limited");
	act = json_object_array_get_idx(test_json_member(j, "potentialAction"), 0);
	cr_assert_str_eq(jstr(act, "@type"), "OpenUri");
	cr_assert_str_eq(jstr(json_object_array_get_idx(test_json_member(act, "targets"), 0), "uri"),
	    "https://shop.example/p/w1?a=1&b=\"2\"");
	json_object_put(j);
}

/* ---- digest = 15m ---- */

#define DIGEST_MS (15 * 60 * 1000LL)

/* Comma-separated entry ids of pw:alerts from index first on: what a digest of them is keyed on. */
static void
entry_ids(size_t first, size_t n, char *out, size_t outlen)
{
	redisReply *r = redisCommand(raw, "XRANGE pw:alerts - +");
	size_t off = 0;

	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements >= first + n);
	out[0] = '\0';
	for (size_t i = first; i < first + n; i++) {
		cr_assert(pw_snprintf(out + off, outlen - off, "%s%s", i > first ? "," : "",
		    r->element[i]->element[0]->str));
		off = strlen(out);
	}
	freeReplyObject(r);
}

Test(alert_webhook, digest_batches_alerts_into_one_payload_then_acks_them)
{
	struct alert_worker_opts o = opts("w1", T0 + 1000);
	struct alert_worker_stats s;
	char ids[256], key[65], k1[65];
	json_object *j, *arr;

	receiver_start(0);
	hook.fail_first = 1;
	load_config_with(hook.port, 0, "digest = 15m\n");
	raise_alert_at("shop:sku:D1", T0);
	raise_alert_at("shop:sku:D2", T0 + 10);
	raise_alert_at("shop:sku:D3", T0 + 20);
	work(&o, &s);
	cr_assert_eq(s.delivered + s.retried, 0);
	cr_assert_eq(test_hook_count(&hook), 0);
	cr_assert_eq(pending(), 3);       /* they wait for the digest, unacknowledged */
	o.now_ms = T0 + 1000 + DIGEST_MS - 1;
	work(&o, &s);
	cr_assert_eq(test_hook_count(&hook), 0);
	o.now_ms = T0 + 1000 + DIGEST_MS;
	work(&o, &s);                     /* the digest goes out and the receiver answers 500 */
	cr_assert_eq(test_hook_count(&hook), 1);
	cr_assert_eq(s.retried, 1);
	cr_assert_eq(pending(), 3);
	raise_alert_at("shop:sku:D4", T0 + 30);   /* arrives meanwhile: the next digest's */
	work(&o, &s);                     /* base_delay -1: the retry is due at once */
	cr_assert_eq(test_hook_count(&hook), 2);
	cr_assert_eq(s.digests, 1);
	cr_assert_eq(s.delivered, 3);
	cr_assert_eq(s.acked, 3);
	cr_assert_eq(pending(), 1);       /* D4 waits for its own digest */
	entry_ids(0, 3, ids, sizeof(ids));
	alert_digest_key("hook", ids, key);
	for (int i = 0; i < 2; i++) {
		cr_assert_str_eq(hook.req[i].delivery, key, "attempt %d", i);
		cr_assert(signed_post(i));
	}
	j = json_tokener_parse(hook.req[1].body);
	cr_assert_not_null(j, "%s", hook.req[1].body);
	cr_assert_str_eq(jstr(j, "id"), key);
	cr_assert(json_object_get_boolean(test_json_member(j, "digest")));
	cr_assert_eq(json_object_get_int(test_json_member(j, "count")), 3);
	arr = test_json_member(j, "alerts");
	cr_assert_eq(json_object_array_length(arr), 3);
	alert_key("any", "shop:sku:D2", T0 + 10, k1);
	cr_assert_str_eq(jstr(json_object_array_get_idx(arr, 1), "id"), k1);
	cr_assert_str_eq(jstr(test_json_member(json_object_array_get_idx(arr, 2), "new"), "price"), "17.99");
	json_object_put(j);
	o.now_ms += DIGEST_MS;
	work(&o, &s);
	cr_assert_eq(test_hook_count(&hook), 3);
	cr_assert_eq(s.acked, 1);
	cr_assert_eq(pending(), 0);
	entry_ids(3, 1, ids, sizeof(ids));
	alert_digest_key("hook", ids, key);
	cr_assert_str_eq(hook.req[2].delivery, key);
}

Test(alert_webhook, sigkilled_digest_is_redelivered_with_the_same_key)
{
	struct alert_worker_opts o = opts("w1", T0 + 1000);
	struct alert_worker_stats s;
	char ids[256], key[65];
	json_object *a, *b;

	receiver_start(0);
	load_config_with(hook.port, 0, "digest = 15m\nformat = discord\n");
	raise_alert_at("shop:sku:D1", T0);
	raise_alert_at("shop:sku:D2", T0 + 10);
	work(&o, &s);
	cr_assert_eq(pending(), 2);
	o.now_ms += DIGEST_MS;
	kill_worker_mid_delivery(&o);
	cr_assert_eq(pending(), 2);       /* delivered, never settled: nothing lost */
	raise_alert_at("shop:sku:D3", T0 + 20);
	o.consumer = "w2";
	o.claim_idle_ms = 1;
	usleep(20 * 1000);
	work(&o, &s);
	cr_assert_eq(s.digests, 1);
	cr_assert_eq(s.delivered, 2);
	cr_assert_eq(test_hook_count(&hook), 2);
	entry_ids(0, 2, ids, sizeof(ids));
	alert_digest_key("hook", ids, key);
	cr_assert_str_eq(hook.req[0].delivery, key);
	cr_assert_str_eq(hook.req[1].delivery, key);
	a = json_tokener_parse(hook.req[0].body);
	b = json_tokener_parse(hook.req[1].body);
	cr_assert(a != NULL && b != NULL);
	cr_assert_str_eq(jstr(a, "content"), "pricewatch: 2 alerts");
	cr_assert_eq(json_object_array_length(test_json_member(b, "embeds")), 2);
	json_object_put(a);
	json_object_put(b);
	cr_assert_eq(pending(), 1);       /* D3: next digest */
}

Test(alert_webhook, notifier_timeout_bounds_a_receiver_that_does_not_answer)
{
	struct alert_worker_opts o = opts("w1", T0 + 1000);
	struct alert_worker_stats s;
	char *v;

	receiver_start(0);
	hook.hold = true;                 /* reads the POST, never answers until released */
	load_config_with(hook.port, 0, "timeout = 1s\n");
	raise_alert();
	work(&o, &s);
	cr_assert_eq(s.retried, 1);
	cr_assert_eq(pending(), 1);
	{
		char key[65];
		redisReply *r;

		expected_key(key);
		r = redisCommand(raw, "HGET pw:alert:delivery:%s hook.error", key);
		cr_assert(r != NULL && r->type == REDIS_REPLY_STRING);
		v = xstrdup(r->str);
		freeReplyObject(r);
	}
	cr_assert(strstr(v, "timed out") != NULL, "%s", v);
	free(v);
	test_hook_release(&hook);
	work(&o, &s);
	cr_assert_eq(s.delivered, 1);
	cr_assert_eq(pending(), 0);
}

static long long
attempts_of(const char *lid, int64_t t, const char *channel)
{
	char key[65];
	redisReply *r;
	long long v = 0;

	alert_key("any", lid, t, key);
	r = redisCommand(raw, "HGET pw:alert:delivery:%s %s.attempts", key, channel);
	cr_assert_not_null(r);
	if (r->type == REDIS_REPLY_STRING)
		v = strtoll(r->str, NULL, 10);
	freeReplyObject(r);
	return v;
}

/* Alerts parked for a digest stay pending; the retries of the entries behind them must still come round. */
Test(alert_webhook, alerts_waiting_for_a_digest_do_not_starve_other_retries)
{
	struct alert_worker_opts o = opts("w1", T0 + 1000);
	struct alert_worker_stats s;
	int dead_port;

	dead_port = receiver_after_a_dead_port();
	load_config_with(hook.port, dead_port, "digest = 15m\n");   /* hook: digest; down: refused; log1 */
	o.batch = 2;
	o.max_attempts = 5;
	raise_alert_at("shop:sku:A", T0);
	raise_alert_at("shop:sku:B", T0 + 1);
	raise_alert_at("shop:sku:C", T0 + 2);
	raise_alert_at("shop:sku:D", T0 + 3);
	work(&o, &s);                     /* A, B read */
	work(&o, &s);                     /* A, B again (own pending), C, D read */
	cr_assert_eq(attempts_of("shop:sku:A", T0, "down"), 2);
	cr_assert_eq(attempts_of("shop:sku:C", T0 + 2, "down"), 1);
	work(&o, &s);                     /* own pending goes on after B: C, D */
	cr_assert_eq(attempts_of("shop:sku:C", T0 + 2, "down"), 2);
	cr_assert_eq(attempts_of("shop:sku:D", T0 + 3, "down"), 2);
	cr_assert_eq(attempts_of("shop:sku:A", T0, "down"), 2);
	work(&o, &s);                     /* the end: nothing after D */
	work(&o, &s);                     /* from the start again: A, B */
	cr_assert_eq(attempts_of("shop:sku:A", T0, "down"), 3);
	cr_assert_eq(test_hook_count(&hook), 0);
	cr_assert_eq(pending(), 4);
	o.now_ms += DIGEST_MS;
	work(&o, &s);
	cr_assert_eq(s.digests, 1);
	cr_assert_eq(test_hook_count(&hook), 1);      /* one digest of the four */
}
