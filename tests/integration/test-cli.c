/* test-cli.c: runs the built pricewatch binary against a real redis-server filled through store_record. */
#include "config.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "harness/redis.h"
#include "harness/run.h"
#include "store/store.h"

/* 2025-11-24T16:00:00Z: a fixed start so expected output is exact. */
#define T0 1764000000000LL
#define HOUR 3600000LL
#define DAY (24 * HOUR)

#define W1 "shop:sku:W1"
#define J1 "market:gtin:4901234567894"
#define W1_TITLE "Widget, \"Pro\" 日本"
#define J1_TITLE "お茶 緑茶 ティーバッグ 100袋入り お徳用パック 静岡県産 一番摘み 深蒸し"

static struct test_redis redis;

/* Output of one run of the binary. */
static void
run_pw(struct test_run *r, const char *env_redis, const char *columns, const char *const *args)
{
	char redis_env[1024], cols[64];
	const char *env[] = { "PRICEWATCH_REDIS", "COLUMNS", NULL };

	if (env_redis != NULL) {
		cr_assert(pw_snprintf(redis_env, sizeof redis_env, "PRICEWATCH_REDIS=%s", env_redis));
		env[0] = redis_env;
	}
	if (columns != NULL) {
		cr_assert(pw_snprintf(cols, sizeof cols, "COLUMNS=%s", columns));
		env[1] = cols;
	}
	test_run(r, "pricewatch", NULL, env, args);
}

static char config_path[] = "/tmp/pw-cli-conf-XXXXXX";

static void
record(struct store *st, const char *source, const char *id, const char *title, int64_t minor,
    const char *currency, enum availability avail, int64_t when)
{
	struct observation obs;
	bool changed;

	memset(&obs, 0, sizeof obs);
	obs.source = source;
	obs.listing_id = id;
	obs.url = strcmp(source, "shop") == 0 ? "https://shop.example/w1" : "https://market.example/j1";
	obs.title = title;
	obs.extractor = "jsonld";
	obs.price.minor = minor;
	pw_strlcpy(obs.price.currency, currency, sizeof obs.price.currency);
	obs.availability = avail;
	obs.observed_ms = when;
	cr_assert_eq(store_record(st, &obs, &changed), STORE_OK, "%s", store_error(st));
}

static void
setup(void)
{
	struct store_opts opts;
	struct store *st;
	char err[512];
	int fd;

	test_redis_start(&redis);
	/* An empty config file keeps the test independent of any installed pricewatch.conf. */
	fd = mkstemp(config_path);
	cr_assert(fd >= 0);
	close(fd);

	memset(&opts, 0, sizeof opts);
	opts.url = redis.url;
	opts.connect_timeout_ms = 2000;
	opts.command_timeout_ms = 2000;
	cr_assert_eq(store_open(&st, &opts, err, sizeof err), STORE_OK, "%s", err);
	record(st, "shop", W1, W1_TITLE, 1999, "USD", AVAIL_IN_STOCK, T0);
	record(st, "shop", W1, W1_TITLE, 1999, "USD", AVAIL_IN_STOCK, T0 + HOUR);      /* no change */
	record(st, "shop", W1, W1_TITLE, 1899, "USD", AVAIL_IN_STOCK, T0 + 2 * DAY);
	record(st, "shop", W1, W1_TITLE, 1899, "USD", AVAIL_OUT_OF_STOCK, T0 + 3 * DAY);
	record(st, "market", J1, J1_TITLE, 1500, "JPY", AVAIL_IN_STOCK, T0 + DAY);
	store_close(st);
}

static void
teardown(void)
{
	test_redis_stop(&redis);
	unlink(config_path);
}

TestSuite(cli, .init = setup, .fini = teardown);

#define PW(r, ...) do { \
	const char *const args_[] = { "-c", config_path, "--redis", redis.url, __VA_ARGS__, NULL }; \
	run_pw((r), NULL, NULL, args_); \
} while (0)

static void
iso(int64_t ms, char *buf)
{
	time_format_iso(ms, buf, 32);
}

Test(cli, history_table)
{
	struct test_run r;
	char t0[32], t2[32], t3[32], line[128];

	PW(&r, "history", W1);
	cr_assert_eq(r.rc, 0, "err: %s", r.err);
	iso(T0, t0);
	iso(T0 + 2 * DAY, t2);
	iso(T0 + 3 * DAY, t3);
	cr_expect(strstr(r.out, W1 "  " W1_TITLE "\n") != NULL, "out: %s", r.out);
	cr_expect(strstr(r.out, "url: https://shop.example/w1\n") != NULL, "out: %s", r.out);
	pw_snprintf(line, sizeof line, "last seen: %s", t3);
	cr_expect(strstr(r.out, line) != NULL, "out: %s", r.out);
	cr_expect(strstr(r.out, "TIME                  PRICE  CURRENCY  AVAILABILITY\n") != NULL,
	    "out: %s", r.out);
	pw_snprintf(line, sizeof line, "%s  19.99  USD       in_stock\n", t0);
	cr_expect(strstr(r.out, line) != NULL, "out: %s", r.out);
	pw_snprintf(line, sizeof line, "%s  18.99  USD       in_stock\n", t2);
	cr_expect(strstr(r.out, line) != NULL, "out: %s", r.out);
	pw_snprintf(line, sizeof line, "%s  18.99  USD       out_of_stock\n", t3);
	cr_expect(strstr(r.out, line) != NULL, "out: %s", r.out);
	/* The unchanged observation at T0+1h is not a change point. */
	iso(T0 + HOUR, t0);
	cr_expect(strstr(r.out, t0) == NULL, "out: %s", r.out);
	test_run_free(&r);
}

Test(cli, history_json)
{
	struct test_run r;
	struct json_object *doc, *listing, *hist, *p, *v;
	char t0[32];

	PW(&r, "--json", "history", W1);
	cr_assert_eq(r.rc, 0, "err: %s", r.err);
	doc = json_tokener_parse(r.out);
	cr_assert(doc != NULL, "not JSON: %s", r.out);
	cr_assert(json_object_object_get_ex(doc, "listing", &listing));
	cr_assert(json_object_object_get_ex(listing, "id", &v));
	cr_expect_str_eq(json_object_get_string(v), W1);
	cr_assert(json_object_object_get_ex(listing, "title", &v));
	cr_expect_str_eq(json_object_get_string(v), W1_TITLE);
	cr_assert(json_object_object_get_ex(listing, "price", &v));
	cr_expect_eq(json_object_get_type(v), json_type_string);
	cr_expect_str_eq(json_object_get_string(v), "18.99");
	cr_assert(json_object_object_get_ex(listing, "availability", &v));
	cr_expect_str_eq(json_object_get_string(v), "out_of_stock");
	cr_assert(json_object_object_get_ex(listing, "last_seen_ms", &v));
	cr_expect_eq(json_object_get_int64(v), T0 + 3 * DAY);

	cr_assert(json_object_object_get_ex(doc, "history", &hist));
	cr_assert_eq(json_object_array_length(hist), 3);
	p = json_object_array_get_idx(hist, 0);
	iso(T0, t0);
	cr_assert(json_object_object_get_ex(p, "time", &v));
	cr_expect_str_eq(json_object_get_string(v), t0);
	cr_assert(json_object_object_get_ex(p, "time_ms", &v));
	cr_expect_eq(json_object_get_int64(v), T0);
	cr_assert(json_object_object_get_ex(p, "price", &v));
	cr_expect_eq(json_object_get_type(v), json_type_string);
	cr_expect_str_eq(json_object_get_string(v), "19.99");
	cr_assert(json_object_object_get_ex(p, "price_minor", &v));
	cr_expect_eq(json_object_get_type(v), json_type_int);
	cr_expect_eq(json_object_get_int64(v), 1999);
	cr_assert(json_object_object_get_ex(p, "currency", &v));
	cr_expect_str_eq(json_object_get_string(v), "USD");
	p = json_object_array_get_idx(hist, 2);
	cr_assert(json_object_object_get_ex(p, "availability", &v));
	cr_expect_str_eq(json_object_get_string(v), "out_of_stock");
	cr_assert(json_object_object_get_ex(p, "price_minor", &v));
	cr_expect_eq(json_object_get_int64(v), 1899);
	json_object_put(doc);
	test_run_free(&r);
}

Test(cli, history_csv)
{
	struct test_run r;
	char t0[32], t2[32], expect[512];

	PW(&r, "history", W1, "--csv");
	cr_assert_eq(r.rc, 0, "err: %s", r.err);
	iso(T0, t0);
	iso(T0 + 2 * DAY, t2);
	pw_snprintf(expect, sizeof expect,
	    "listing,time,time_ms,price,price_minor,currency,availability\r\n"
	    W1 ",%s,%lld,19.99,1999,USD,in_stock\r\n"
	    W1 ",%s,%lld,18.99,1899,USD,in_stock\r\n",
	    t0, (long long)T0, t2, (long long)(T0 + 2 * DAY));
	cr_expect(strncmp(r.out, expect, strlen(expect)) == 0, "out: %s", r.out);
	test_run_free(&r);
}

Test(cli, history_since_until)
{
	struct test_run r;
	struct json_object *doc, *hist, *v;
	char since[32], until[32];

	/* --since as epoch seconds (one day in), --until as an ISO time (2.5 days in). */
	pw_snprintf(since, sizeof since, "%lld", (long long)((T0 + DAY) / 1000));
	iso(T0 + 2 * DAY + 12 * HOUR, until);
	PW(&r, "--json", "history", W1, "--since", since, "--until", until);
	cr_assert_eq(r.rc, 0, "err: %s", r.err);
	doc = json_tokener_parse(r.out);
	cr_assert(doc != NULL);
	cr_assert(json_object_object_get_ex(doc, "history", &hist));
	cr_assert_eq(json_object_array_length(hist), 1);
	cr_assert(json_object_object_get_ex(json_object_array_get_idx(hist, 0), "time_ms", &v));
	cr_expect_eq(json_object_get_int64(v), T0 + 2 * DAY);
	json_object_put(doc);
	test_run_free(&r);

	/* A duration: the fixtures are in the past, so "1d" back from now holds none of them. */
	PW(&r, "--json", "history", W1, "--since", "1d");
	cr_expect_eq(r.rc, 1, "err: %s", r.err);
	doc = json_tokener_parse(r.out);
	cr_assert(doc != NULL, "still valid JSON: %s", r.out);
	cr_assert(json_object_object_get_ex(doc, "history", &hist));
	cr_expect_eq(json_object_array_length(hist), 0);
	json_object_put(doc);
	test_run_free(&r);
}

Test(cli, history_unknown_listing_exits_1)
{
	struct test_run r;

	PW(&r, "history", "nope");
	cr_expect_eq(r.rc, 1);
	cr_expect_str_eq(r.err, "pricewatch: no listing 'nope' (see pricewatch listings)\n");
	cr_expect_str_eq(r.out, "");
	test_run_free(&r);
}

Test(cli, listings_table_and_source_filter)
{
	struct test_run r;

	PW(&r, "listings");
	cr_assert_eq(r.rc, 0, "err: %s", r.err);
	cr_expect(strncmp(r.out, "ID ", 3) == 0, "out: %s", r.out);
	cr_expect(strstr(r.out, "SOURCE") != NULL && strstr(r.out, "LAST SEEN") != NULL);
	cr_expect(strstr(r.out, W1) != NULL && strstr(r.out, W1_TITLE) != NULL, "out: %s", r.out);
	cr_expect(strstr(r.out, J1) != NULL && strstr(r.out, J1_TITLE) != NULL, "out: %s", r.out);
	cr_expect(strstr(r.out, "18.99") != NULL && strstr(r.out, "1500") != NULL);
	test_run_free(&r);

	PW(&r, "listings", "--source", "market");
	cr_assert_eq(r.rc, 0, "err: %s", r.err);
	cr_expect(strstr(r.out, J1) != NULL);
	cr_expect(strstr(r.out, W1) == NULL, "out: %s", r.out);
	test_run_free(&r);

	PW(&r, "listings", "--source", "nosuch");
	cr_expect_eq(r.rc, 1);
	cr_expect(strstr(r.err, "no listings of source 'nosuch'") != NULL, "err: %s", r.err);
	test_run_free(&r);
}

/* Display width of one line, counting a UTF-8 sequence's lead byte; CJK here is all 3-byte, 2 columns. */
static size_t
line_columns(const char *s, size_t len)
{
	size_t cols = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80)
			cols++;
		else if (c >= 0xe3 && c <= 0xe9)
			cols += 2;        /* kana and CJK ideographs */
		else if (c == 0xe2 || (c >= 0xc0 && c < 0xe0))
			cols += 1;        /* the ellipsis, Latin letters */
	}
	return cols;
}

Test(cli, listings_titles_clipped_to_terminal_width)
{
	const char *const args[] = { "-c", config_path, "--redis", redis.url, "listings", NULL };
	struct test_run r;
	size_t lines = 0;

	run_pw(&r, NULL, "100", args);
	cr_assert_eq(r.rc, 0, "err: %s", r.err);
	for (const char *p = r.out; *p != '\0';) {
		const char *nl = strchr(p, '\n');

		cr_assert(nl != NULL);
		cr_expect_leq(line_columns(p, (size_t)(nl - p)), 100, "line too wide: %.*s",
		    (int)(nl - p), p);
		p = nl + 1;
		lines++;
	}
	cr_expect_eq(lines, 3);
	cr_expect(strstr(r.out, "\xe2\x80\xa6\n") != NULL, "long title cut with an ellipsis: %s", r.out);
	test_run_free(&r);
}

Test(cli, listings_csv_quotes_titles)
{
	static const char header[] = "id,source,price,price_minor,currency,availability,last_seen,"
	    "last_seen_ms,title,url\r\n";
	struct test_run r;

	PW(&r, "--csv", "listings");
	cr_assert_eq(r.rc, 0, "err: %s", r.err);
	cr_expect(strncmp(r.out, header, sizeof header - 1) == 0, "out: %s", r.out);
	cr_expect(strstr(r.out, ",\"Widget, \"\"Pro\"\" 日本\",https://shop.example/w1\r\n") != NULL,
	    "out: %s", r.out);
	cr_expect(strstr(r.out, J1 ",market,1500,1500,JPY,in_stock,") != NULL, "out: %s", r.out);
	test_run_free(&r);
}

Test(cli, listings_json)
{
	struct test_run r;
	struct json_object *doc, *arr, *v;

	PW(&r, "listings", "--json");
	cr_assert_eq(r.rc, 0, "err: %s", r.err);
	doc = json_tokener_parse(r.out);
	cr_assert(doc != NULL, "not JSON: %s", r.out);
	cr_assert(json_object_object_get_ex(doc, "listings", &arr));
	cr_assert_eq(json_object_array_length(arr), 2);
	/* Sorted by id: "market:..." before "shop:...". */
	cr_assert(json_object_object_get_ex(json_object_array_get_idx(arr, 0), "id", &v));
	cr_expect_str_eq(json_object_get_string(v), J1);
	cr_assert(json_object_object_get_ex(json_object_array_get_idx(arr, 0), "price", &v));
	cr_expect_str_eq(json_object_get_string(v), "1500");
	cr_assert(json_object_object_get_ex(json_object_array_get_idx(arr, 1), "price_minor", &v));
	cr_expect_eq(json_object_get_int64(v), 1899);
	json_object_put(doc);
	test_run_free(&r);
}

Test(cli, redis_from_environment_and_option_precedence)
{
	const char *const env_only[] = { "-c", config_path, "listings", NULL };
	const char *const opt_wins[] = { "-c", config_path, "--redis", redis.url, "listings", NULL };
	struct test_run r;

	run_pw(&r, redis.url, NULL, env_only);
	cr_expect_eq(r.rc, 0, "err: %s", r.err);
	cr_expect(strstr(r.out, W1) != NULL);
	test_run_free(&r);

	run_pw(&r, "unix:///nonexistent-pricewatch/redis.sock", NULL, opt_wins);
	cr_expect_eq(r.rc, 0, "err: %s", r.err);
	test_run_free(&r);

	run_pw(&r, "unix:///nonexistent-pricewatch/redis.sock", NULL, env_only);
	cr_expect_eq(r.rc, 3);
	cr_expect(strstr(r.err, "unix:///nonexistent-pricewatch/redis.sock") != NULL, "err: %s", r.err);
	cr_expect(strstr(r.err, "$PRICEWATCH_REDIS") != NULL, "err: %s", r.err);
	test_run_free(&r);
}

Test(cli, redis_url_from_config_file)
{
	char path[] = "/tmp/pw-cli-conf2-XXXXXX", text[512];
	const char *const args[] = { "-c", path, "listings", NULL };
	struct test_run r;
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	cr_assert(pw_snprintf(text, sizeof text, "[redis]\nurl = %s\n", redis.url));
	cr_assert(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	run_pw(&r, NULL, NULL, args);
	unlink(path);
	cr_expect_eq(r.rc, 0, "err: %s", r.err);
	cr_expect(strstr(r.out, J1) != NULL, "out: %s", r.out);
	test_run_free(&r);
}

Test(cli, dead_redis_exits_3)
{
	struct test_run r;

	/* The socket file is still there but nothing answers: the realistic "Redis went away". */
	test_redis_kill(&redis);
	PW(&r, "listings");
	cr_expect_eq(r.rc, 3, "err: %s", r.err);
	cr_expect(strstr(r.err, "pricewatch: cannot reach Redis at ") != NULL, "err: %s", r.err);
	cr_expect(strstr(r.err, redis.url) != NULL, "err names the URL: %s", r.err);
	cr_expect(strstr(r.err, "--redis URL") != NULL, "err names the fix: %s", r.err);
	cr_expect_str_eq(r.out, "");
	test_run_free(&r);

	PW(&r, "history", W1);
	cr_expect_eq(r.rc, 3, "err: %s", r.err);
	test_run_free(&r);
}

Test(cli, usage_errors_exit_2_without_redis)
{
	struct test_run r;

	PW(&r, "history");
	cr_expect_eq(r.rc, 2);
	cr_expect(strstr(r.err, "missing LISTING") != NULL, "err: %s", r.err);
	test_run_free(&r);

	PW(&r, "nosuchcommand");
	cr_expect_eq(r.rc, 2);
	test_run_free(&r);
}
