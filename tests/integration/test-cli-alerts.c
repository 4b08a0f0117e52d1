/* test-cli-alerts.c: "pricewatch alerts" (delivery per channel, dead letters, retry) against a real redis-server filled by the alert queue. */
#include "config.h"

#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/queue.h"
#include "cli/cli.h"
#include "harness/cli-run.h"
#include "harness/json.h"
#include "common/util.h"
#include "harness/redis.h"
#include "store/store.h"

/* 2025-11-24T16:00:00Z: the change time written into the alerts. */
#define T0 1764000000000LL

static struct test_redis redis;
static struct store *st;
static char conf[400];

static void
setup(void)
{
	FILE *f;

	test_redis_start(&redis);
	st = test_redis_open_store(&redis);
	cr_assert_eq(alert_queue_init(st), STORE_OK, "%s", store_error(st));
	cr_assert(pw_snprintf(conf, sizeof conf, "%s/pricewatch.conf", redis.dir));
	f = fopen(conf, "w");
	cr_assert_not_null(f);
	fputs("[crawl]\n", f);
	cr_assert_eq(fclose(f), 0);
	unsetenv(CLI_ENV_REDIS);
	unsetenv("COLUMNS");
}

static void
teardown(void)
{
	store_close(st);
	test_redis_stop(&redis);
}

TestSuite(cli_alerts, .init = setup, .fini = teardown);

/* Runs "pricewatch -c conf --redis URL ARGS..." (NULL-terminated, at most 4) in this process. */
static int
pw(char **out, char **err, const char *a1, const char *a2, const char *a3)
{
	const char *argv[] = { "pricewatch", "-c", conf, "--redis", redis.url, a1, a2, a3, NULL };
	int argc = 6;

	if (a2 != NULL)
		argc = a3 != NULL ? 8 : 7;
	return test_cli_run(argc, argv, out, err, NULL);
}

/* Appends one alert to pw:alerts through alert_commit; returns its idempotency key in key. */
static void
add_alert(const char *rule, const char *listing, int64_t time_ms, const char *channels, const char *old_price,
    const char *new_price, char key[ALERT_KEY_HEX + 1])
{
	char tms[24], iso[32];
	struct alert_msg msg;
	struct alert_state next = { .present = true, .armed = true, .last_fired_ms = time_ms,
		.last_change_ms = time_ms };
	bool committed;
	const char *f[][2] = {
		{ "id", NULL }, { "rule", rule }, { "kind", "drop" }, { "listing", listing }, { "source", "shop" },
		{ "url", "https://shop.example/w1" }, { "title", "Widget" }, { "old_price", old_price },
		{ "new_price", new_price }, { "old_minor", "2000" }, { "new_minor", "1799" },
		{ "old_currency", "USD" }, { "new_currency", "USD" }, { "old_availability", "in_stock" },
		{ "new_availability", "in_stock" }, { "percent", "-10.05" }, { "time", NULL },
		{ "time_ms", NULL }, { "channels", channels },
	};

	alert_key(rule, listing, time_ms, key);
	pw_snprintf(tms, sizeof tms, "%lld", (long long)time_ms);
	time_format_iso(time_ms, iso, sizeof iso);
	msg.entry_id = NULL;
	msg.n = sizeof f / sizeof f[0];
	msg.names = xcalloc(msg.n, sizeof *msg.names);
	msg.values = xcalloc(msg.n, sizeof *msg.values);
	for (size_t i = 0; i < msg.n; i++) {
		const char *v = f[i][1];

		if (strcmp(f[i][0], "id") == 0)
			v = key;
		else if (strcmp(f[i][0], "time") == 0)
			v = iso;
		else if (strcmp(f[i][0], "time_ms") == 0)
			v = tms;
		msg.names[i] = xstrdup(f[i][0]);
		msg.values[i] = xstrdup(v);
	}
	cr_assert_eq(alert_commit(st, rule, listing, NULL, &next, &msg, &committed, NULL, 0), STORE_OK, "%s",
	    store_error(st));
	cr_assert(committed);
	alert_msg_free(&msg);
}

/* Test channels: "good" delivers, "bad" fails for good, "flaky" fails and will try again. */
static enum alert_delivery
deliver(const struct alert_channel *ch, const struct alert_msg *msg, int64_t now_ms, char *err, size_t errlen)
{
	(void)msg;
	(void)now_ms;
	if (strcmp(ch->name, "good") == 0)
		return DELIVERY_OK;
	if (strcmp(ch->name, "bad") == 0) {
		pw_snprintf(err, errlen, "HTTP 404 from https://hooks.example/bad");
		return DELIVERY_PERMANENT;
	}
	pw_snprintf(err, errlen, "HTTP 503 from https://hooks.example/flaky");
	return DELIVERY_RETRY;
}

/* Alert A (good,bad): delivered + dead. Alert B (flaky): retry. Alert C (good), added after the worker ran: pending. */
static void
fill(char ka[ALERT_KEY_HEX + 1], char kb[ALERT_KEY_HEX + 1], char kc[ALERT_KEY_HEX + 1])
{
	const struct alert_channel chs[] = {
		{ .name = "good", .deliver = deliver }, { .name = "bad", .deliver = deliver },
		{ .name = "flaky", .deliver = deliver },
	};
	struct alert_worker_opts o;
	struct alert_worker_stats stats;

	add_alert("big-drop", "shop:sku:A", T0, "good,bad", "20.00", "17.99", ka);
	add_alert("any", "shop:sku:B", T0 + 1000, "flaky", "20.00", "17.99", kb);
	memset(&o, 0, sizeof o);
	memset(&stats, 0, sizeof stats);
	o.consumer = "test:1";
	o.seed = 1;
	cr_assert_eq(alert_worker_run_once(st, chs, 3, &o, &stats), STORE_OK, "%s", store_error(st));
	cr_assert_eq(stats.delivered, 1);
	cr_assert_eq(stats.dead, 1);
	cr_assert_eq(stats.retried, 1);
	add_alert("watch", "shop:sku:C", T0 + 2000, "good", "", "5.00", kc);
}

static const char *
gets(struct json_object *o, const char *k)
{
	return json_object_get_string(test_json_member(o, k));
}

Test(cli_alerts, json_with_delivery_states)
{
	char ka[ALERT_KEY_HEX + 1], kb[ALERT_KEY_HEX + 1], kc[ALERT_KEY_HEX + 1];
	struct json_object *root, *a, *chs, *ch;
	char *out, *err;

	fill(ka, kb, kc);
	cr_assert_eq(pw(&out, &err, "alerts", "--json", NULL), CLI_EXIT_OK, "stderr: %s", err);
	root = json_tokener_parse(out);
	cr_assert_not_null(root, "not JSON: %s", out);
	cr_assert_eq(json_object_array_length(root), 3);

	/* Newest first. */
	a = json_object_array_get_idx(root, 0);
	cr_assert_str_eq(gets(a, "id"), kc);
	chs = test_json_member(a, "channels");
	cr_assert_eq(json_object_array_length(chs), 1);
	cr_assert_str_eq(gets(json_object_array_get_idx(chs, 0), "state"), "pending");
	cr_assert_null(test_json_member(test_json_member(a, "old"), "price"));
	cr_assert_str_eq(gets(test_json_member(a, "new"), "price"), "5.00");

	a = json_object_array_get_idx(root, 1);
	cr_assert_str_eq(gets(a, "id"), kb);
	ch = json_object_array_get_idx(test_json_member(a, "channels"), 0);
	cr_assert_str_eq(gets(ch, "channel"), "flaky");
	cr_assert_str_eq(gets(ch, "state"), "retry");
	cr_assert_eq(json_object_get_int64(test_json_member(ch, "attempts")), 1);
	cr_assert_str_eq(gets(ch, "error"), "HTTP 503 from https://hooks.example/flaky");

	a = json_object_array_get_idx(root, 2);
	cr_assert_str_eq(gets(a, "id"), ka);
	cr_assert_str_eq(gets(a, "rule"), "big-drop");
	cr_assert_str_eq(gets(test_json_member(a, "listing"), "id"), "shop:sku:A");
	cr_assert_str_eq(gets(test_json_member(a, "old"), "price"), "20.00");
	cr_assert_eq(json_object_get_int64(test_json_member(test_json_member(a, "new"), "minor")), 1799);
	cr_assert_str_eq(gets(a, "percent"), "-10.05");
	cr_assert_eq(json_object_get_int64(test_json_member(a, "time_ms")), T0);
	chs = test_json_member(a, "channels");
	cr_assert_eq(json_object_array_length(chs), 2);
	cr_assert_str_eq(gets(json_object_array_get_idx(chs, 0), "channel"), "good");
	cr_assert_str_eq(gets(json_object_array_get_idx(chs, 0), "state"), "delivered");
	cr_assert_str_eq(gets(json_object_array_get_idx(chs, 1), "channel"), "bad");
	cr_assert_str_eq(gets(json_object_array_get_idx(chs, 1), "state"), "dead");
	cr_assert_str_eq(gets(json_object_array_get_idx(chs, 1), "error"), "HTTP 404 from https://hooks.example/bad");
	json_object_put(root);
	free(out);
	free(err);
}

Test(cli_alerts, table)
{
	char ka[ALERT_KEY_HEX + 1], kb[ALERT_KEY_HEX + 1], kc[ALERT_KEY_HEX + 1];
	char *out, *err;

	fill(ka, kb, kc);
	cr_assert_eq(pw(&out, &err, "alerts", NULL, NULL), CLI_EXIT_OK, "stderr: %s", err);
	cr_assert(strstr(out, "TIME                  RULE      LISTING     CHANGE") == out, "out:\n%s", out);
	cr_assert(strstr(out, "2025-11-24T16:00:00Z  big-drop  shop:sku:A  20.00 -> 17.99 USD (-10.05%)  "
	    "good:delivered bad:dead\n") != NULL, "out:\n%s", out);
	cr_assert(strstr(out, "flaky:retry(1)\n") != NULL, "out:\n%s", out);
	cr_assert(strstr(out, "2025-11-24T16:00:02Z  watch     shop:sku:C  5.00 USD") != NULL, "out:\n%s", out);
	cr_assert(strstr(out, "good:pending\n") != NULL, "out:\n%s", out);
	free(out);
	free(err);
}

/* The entries are written now; a --since in the future finds none. */
Test(cli_alerts, since_filters_by_entry_time)
{
	char ka[ALERT_KEY_HEX + 1], kb[ALERT_KEY_HEX + 1], kc[ALERT_KEY_HEX + 1];
	char *out, *err;

	fill(ka, kb, kc);
	cr_assert_eq(pw(&out, &err, "alerts", "--since", "2099-01-01"), CLI_EXIT_NOT_FOUND);
	cr_assert_str_eq(out, "");
	cr_assert_str_eq(err, "pricewatch: no alert in pw:alerts since 2099-01-01\n");
	free(out);
	free(err);
	cr_assert_eq(pw(&out, &err, "alerts", "--since", "2h"), CLI_EXIT_OK, "stderr: %s", err);
	cr_assert(strstr(out, "big-drop") != NULL, "out:\n%s", out);
	free(out);
	free(err);
	cr_assert_eq(pw(&out, &err, "alerts", "--since", "yesterday-ish"), CLI_EXIT_USAGE);
	free(out);
	free(err);
}

Test(cli_alerts, dead_then_retry)
{
	char ka[ALERT_KEY_HEX + 1], kb[ALERT_KEY_HEX + 1], kc[ALERT_KEY_HEX + 1];
	char dead_id[64], new_id[64], line[256];
	struct json_object *root, *d;
	char *out, *err;

	fill(ka, kb, kc);
	cr_assert_eq(pw(&out, &err, "alerts", "--dead", "--json"), CLI_EXIT_OK, "stderr: %s", err);
	root = json_tokener_parse(out);
	cr_assert_not_null(root, "not JSON: %s", out);
	cr_assert_eq(json_object_array_length(root), 1);
	d = json_object_array_get_idx(root, 0);
	cr_assert_str_eq(gets(d, "channel"), "bad");
	cr_assert_eq(json_object_get_int64(test_json_member(d, "attempts")), 1);
	cr_assert_str_eq(gets(d, "error"), "HTTP 404 from https://hooks.example/bad");
	cr_assert_str_eq(gets(test_json_member(d, "alert"), "id"), ka);
	cr_assert(pw_strlcpy(dead_id, gets(d, "dead_id"), sizeof dead_id) < sizeof dead_id);
	json_object_put(root);
	free(out);
	free(err);

	/* The table shows the id retry takes. */
	cr_assert_eq(pw(&out, &err, "alerts", "--dead", NULL), CLI_EXIT_OK, "stderr: %s", err);
	cr_assert(strstr(out, dead_id) != NULL, "out:\n%s", out);
	cr_assert(strstr(out, "  bad      1      big-drop  shop:sku:A  HTTP 404 from https://hooks.example/bad\n")
	    != NULL, "out:\n%s", out);
	free(out);
	free(err);

	cr_assert_eq(pw(&out, &err, "alerts", "retry", dead_id), CLI_EXIT_OK, "stderr: %s", err);
	cr_assert(pw_snprintf(line, sizeof line, "re-queued %s as ", dead_id));
	cr_assert(strncmp(out, line, strlen(line)) == 0, "out: %s", out);
	cr_assert(pw_strlcpy(new_id, out + strlen(line), sizeof new_id) < sizeof new_id);
	new_id[strcspn(new_id, "\n")] = '\0';
	free(out);
	free(err);

	/* The dead letter is gone; the alert is back for channel bad only, not yet tried. */
	cr_assert_eq(pw(&out, &err, "alerts", "--dead", NULL), CLI_EXIT_NOT_FOUND);
	cr_assert_str_eq(err, "pricewatch: no dead letter in pw:alerts:dead\n");
	free(out);
	free(err);
	cr_assert_eq(pw(&out, &err, "alerts", "--json", NULL), CLI_EXIT_OK, "stderr: %s", err);
	root = json_tokener_parse(out);
	cr_assert_not_null(root, "not JSON: %s", out);
	cr_assert_eq(json_object_array_length(root), 4);
	d = json_object_array_get_idx(root, 0);
	cr_assert_str_eq(gets(d, "entry_id"), new_id);
	cr_assert_str_eq(gets(d, "id"), ka, "same idempotency key");
	cr_assert_eq(json_object_array_length(test_json_member(d, "channels")), 1);
	cr_assert_str_eq(gets(json_object_array_get_idx(test_json_member(d, "channels"), 0), "channel"), "bad");
	cr_assert_str_eq(gets(json_object_array_get_idx(test_json_member(d, "channels"), 0), "state"), "pending");
	json_object_put(root);
	free(out);
	free(err);

	/* Again: no such dead letter any more. */
	cr_assert_eq(pw(&out, &err, "alerts", "retry", dead_id), CLI_EXIT_NOT_FOUND);
	cr_assert(strstr(err, "no dead letter") != NULL, "%s", err);
	free(out);
	free(err);
}

Test(cli_alerts, retry_usage)
{
	char *out, *err;

	cr_assert_eq(pw(&out, &err, "alerts", "retry", NULL), CLI_EXIT_USAGE);
	free(out);
	free(err);
	cr_assert_eq(pw(&out, &err, "alerts", "retry", "abc"), CLI_EXIT_USAGE);
	cr_assert(strstr(err, "'abc' is not a stream id") != NULL, "%s", err);
	free(out);
	free(err);
}

Test(cli_alerts, none_yet)
{
	char *out, *err;

	cr_assert_eq(pw(&out, &err, "alerts", "--json", NULL), CLI_EXIT_NOT_FOUND);
	cr_assert_str_eq(out, "[\n]\n");
	free(out);
	free(err);
}

static enum alert_delivery
deliver_batch(const struct alert_channel *ch, const struct alert_msg *msgs, size_t n, const char *key,
    int64_t now_ms, char *err, size_t errlen)
{
	(void)ch;
	(void)msgs;
	(void)n;
	(void)key;
	(void)now_ms;
	pw_snprintf(err, errlen, "a digest is not due in this test");
	return DELIVERY_RETRY;
}

/* An undercut alert as the engine builds it, waiting for a digest channel: product, score, "digest" state. */
Test(cli_alerts, json_has_the_matched_product_and_the_digest_state)
{
	char *notify[] = { (char *)"weekly" };
	struct alert_rule r = { .name = (char *)"cheaper", .kind = ALERT_UNDERCUT, .notify = notify, .n_notify = 1 };
	struct change c = {
		.listing_id = "market:sku:Z9", .source = "market", .url = "https://market.example/z9",
		.title = "Widget Z9", .new_price = { .minor = 1800, .currency = "EUR" }, .time_ms = T0 + 5000,
		.match_sku = "P1", .product_title = "Own widget", .product_price = { .minor = 1900, .currency = "EUR" },
		.match_score = 0.91,
	};
	struct alert_state next = { .present = true, .armed = false, .last_fired_ms = T0 + 5000,
		.last_change_ms = T0 + 5000 };
	const struct alert_channel chs[] = {
		{ .name = "weekly", .deliver = deliver, .digest_ms = 7 * 24 * 3600 * 1000LL,
		  .deliver_batch = deliver_batch },
	};
	struct alert_worker_opts o = { .consumer = "test:1", .seed = 1 };
	struct alert_worker_stats stats;
	struct alert_msg msg;
	struct json_object *root, *a, *p;
	char *out, *err;
	bool committed;

	alert_msg_build(&msg, &r, &c);
	cr_assert_eq(alert_commit(st, "cheaper", c.listing_id, NULL, &next, &msg, &committed, NULL, 0), STORE_OK);
	cr_assert(committed);
	alert_msg_free(&msg);
	cr_assert_eq(alert_worker_run_once(st, chs, 1, &o, &stats), STORE_OK, "%s", store_error(st));
	cr_assert_eq(stats.delivered + stats.acked, 0);
	cr_assert_eq(pw(&out, &err, "alerts", "--json", NULL), CLI_EXIT_OK, "stderr: %s", err);
	root = json_tokener_parse(out);
	cr_assert_not_null(root, "not JSON: %s", out);
	a = json_object_array_get_idx(root, 0);
	cr_assert_str_eq(gets(a, "kind"), "undercut");
	p = test_json_member(a, "product");
	cr_assert_str_eq(gets(p, "sku"), "P1");
	cr_assert_str_eq(gets(p, "title"), "Own widget");
	cr_assert_str_eq(gets(p, "price"), "19.00");
	cr_assert_eq(json_object_get_int64(test_json_member(p, "minor")), 1900);
	cr_assert_str_eq(gets(p, "currency"), "EUR");
	cr_assert(strcmp(json_object_to_json_string(test_json_member(a, "score")), "0.9100") == 0, "%s",
	    json_object_to_json_string(test_json_member(a, "score")));
	cr_assert_str_eq(gets(json_object_array_get_idx(test_json_member(a, "channels"), 0), "state"), "digest");
	json_object_put(root);
	free(out);
	free(err);
	cr_assert_eq(pw(&out, &err, "alerts", NULL, NULL), CLI_EXIT_OK, "stderr: %s", err);
	cr_assert(strstr(out, "weekly:digest\n") != NULL, "out:\n%s", out);
	free(out);
	free(err);
}
