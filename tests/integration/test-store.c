/* test-store.c: the Redis store against a real redis-server: schema, round trips, change-point history, failures, concurrency, the private server. */
#include <config.h>

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <hiredis/hiredis.h>

#include "../harness/redis.h"
#include "common/money.h"
#include "store/private.h"
#include "store/store.h"

#define T0 1764000000000LL        /* a fixed epoch ms so ids are predictable */

static struct test_redis R;

static void
up(void)
{
	test_redis_start(&R);
}

static void
down(void)
{
	test_redis_stop(&R);
}

static struct store *
open_url(const char *url, const char *prefix)
{
	struct store_opts o = { .url = url, .prefix = prefix, .connect_timeout_ms = 2000, .command_timeout_ms = 5000 };
	struct store *st = NULL;
	char err[512] = "";
	enum store_status s = store_open(&st, &o, err, sizeof(err));

	cr_assert_eq(s, STORE_OK, "store_open(%s): %d %s", url, s, err);
	cr_assert_not_null(st);
	return st;
}

/* A raw hiredis command on the test server, for checks behind the store's back. */
static redisReply *
raw(const char *fmt, const char *a, const char *b)
{
	redisContext *c = redisConnectUnix(R.socket_path);
	redisReply *r;

	cr_assert(c != NULL && c->err == 0, "raw connect");
	r = redisCommand(c, fmt, a, b);
	cr_assert_not_null(r, "raw command %s", fmt);
	redisFree(c);
	return r;
}

static struct observation
obs_of(const char *id, int64_t minor, const char *cur, enum availability a, int64_t ms)
{
	struct observation o = {
		.source = "shopa", .listing_id = id, .url = "https://shop-a.example/p/1", .title = "Kettle 1.7 l",
		.brand = "Acme", .sku = "K17", .gtin = "4006381333931", .mpn = "AC-K17",
		.image_url = "https://shop-a.example/i/1.webp", .extractor = "jsonld",
		.availability = a, .observed_ms = ms,
	};

	o.price.minor = minor;
	snprintf(o.price.currency, sizeof(o.price.currency), "%s", cur);
	return o;
}

static void
record(struct store *st, const struct observation *o, bool want_changed)
{
	bool changed = !want_changed;
	enum store_status s = store_record(st, o, &changed);

	cr_assert_eq(s, STORE_OK, "store_record: %s", store_error(st));
	cr_assert_eq(changed, want_changed, "changed=%d at %" PRId64, changed, o->observed_ms);
}

static size_t
history(struct store *st, const char *id, int64_t since, int64_t until, struct history_point **pts)
{
	size_t n = 99;
	enum store_status s = store_history(st, id, since, until, pts, &n);

	cr_assert_eq(s, STORE_OK, "store_history: %s", store_error(st));
	return n;
}

TestSuite(store, .init = up, .fini = down, .timeout = 60);

Test(store, open_sets_schema)
{
	struct store *st = open_url(R.url, NULL);
	redisReply *r = raw("GET %s", "pw:schema", NULL);

	cr_assert_eq(r->type, REDIS_REPLY_STRING);
	cr_assert_str_eq(r->str, "1");
	freeReplyObject(r);
	cr_assert_eq(store_ping(st), STORE_OK);
	store_close(st);

	/* a second open with the schema present is fine; another prefix gets its own key */
	st = open_url(R.url, "tenant7:");
	store_close(st);
	r = raw("GET %s", "tenant7:schema", NULL);
	cr_assert_eq(r->type, REDIS_REPLY_STRING);
	cr_assert_str_eq(r->str, "1");
	freeReplyObject(r);
	st = open_url(R.url, NULL);
	store_close(st);
}

Test(store, schema_mismatch_refused)
{
	struct store_opts o = { .url = R.url };
	struct store *st = (struct store *)1;
	char err[512] = "";
	redisReply *r = raw("SET %s %s", "pw:schema", "2");

	freeReplyObject(r);
	cr_assert_eq(store_open(&st, &o, err, sizeof(err)), STORE_SCHEMA_MISMATCH, "%s", err);
	cr_assert_null(st);
	cr_assert(strstr(err, "holds pricewatch schema 2, this build needs 1") != NULL, "%s", err);
	cr_assert(strstr(err, R.socket_path) != NULL, "%s", err);
}

Test(store, round_trip_exact_money)
{
	struct store *st = open_url(R.url, NULL);
	struct observation o = obs_of("shopa:sku:K17", 1500, "JPY", AVAIL_IN_STOCK, T0);
	struct listing l;
	char buf[32];

	record(st, &o, true);
	cr_assert_eq(store_get_listing(st, "shopa:sku:K17", &l), STORE_OK, "%s", store_error(st));
	cr_assert_str_eq(l.id, "shopa:sku:K17");
	cr_assert_str_eq(l.source, "shopa");
	cr_assert_str_eq(l.url, "https://shop-a.example/p/1");
	cr_assert_str_eq(l.title, "Kettle 1.7 l");
	cr_assert_str_eq(l.brand, "Acme");
	cr_assert_str_eq(l.sku, "K17");
	cr_assert_str_eq(l.gtin, "4006381333931");
	cr_assert_str_eq(l.mpn, "AC-K17");
	cr_assert_str_eq(l.image_url, "https://shop-a.example/i/1.webp");
	cr_assert_str_eq(l.extractor, "jsonld");
	cr_assert_eq(l.price.minor, 1500);
	cr_assert_str_eq(l.price.currency, "JPY");
	cr_assert(money_format_decimal(&l.price, buf, sizeof(buf)));
	cr_assert_str_eq(buf, "1500");
	cr_assert_eq(l.availability, AVAIL_IN_STOCK);
	cr_assert_eq(l.first_seen_ms, T0);
	cr_assert_eq(l.last_seen_ms, T0);
	cr_assert_eq(l.last_change_ms, T0);
	store_listing_free(&l);

	o = obs_of("shopb:sku:D1", 12345, "KWD", AVAIL_LIMITED, T0 + 5);
	o.source = "shopb";
	o.brand = NULL;
	record(st, &o, true);
	cr_assert_eq(store_get_listing(st, "shopb:sku:D1", &l), STORE_OK, "%s", store_error(st));
	cr_assert_eq(l.price.minor, 12345);
	cr_assert_str_eq(l.price.currency, "KWD");
	cr_assert(money_format_decimal(&l.price, buf, sizeof(buf)));
	cr_assert_str_eq(buf, "12.345");
	cr_assert_eq(l.availability, AVAIL_LIMITED);
	cr_assert_str_eq(l.brand, "");           /* absent fields read back as "" */
	store_listing_free(&l);

	/* what is in Redis is the documented data model */
	redisReply *r = raw("HGET %s %s", "pw:listing:shopb:sku:D1", "price");
	cr_assert_str_eq(r->str, "12345");
	freeReplyObject(r);
	r = raw("HGET %s %s", "pw:listing:shopb:sku:D1", "availability");
	cr_assert_str_eq(r->str, "limited");
	freeReplyObject(r);
	r = raw("XRANGE %s - +", "pw:hist:shopb:sku:D1", NULL);
	cr_assert_eq(r->elements, 1);
	cr_assert_str_eq(r->element[0]->element[0]->str, "1764000000005-0");
	freeReplyObject(r);
	store_close(st);
}

Test(store, identical_observation_one_entry)
{
	struct store *st = open_url(R.url, NULL);
	struct observation o = obs_of("id1", 1999, "USD", AVAIL_IN_STOCK, T0);
	struct history_point *pts;
	struct listing l;

	record(st, &o, true);
	o.observed_ms = T0 + 60000;
	record(st, &o, false);
	cr_assert_eq(history(st, "id1", 0, INT64_MAX, &pts), 1);
	cr_assert_eq(pts[0].time_ms, T0);
	cr_assert_eq(pts[0].price.minor, 1999);
	cr_assert_str_eq(pts[0].price.currency, "USD");
	cr_assert_eq(pts[0].availability, AVAIL_IN_STOCK);
	free(pts);
	cr_assert_eq(store_get_listing(st, "id1", &l), STORE_OK);
	cr_assert_eq(l.first_seen_ms, T0);
	cr_assert_eq(l.last_seen_ms, T0 + 60000);
	cr_assert_eq(l.last_change_ms, T0);
	store_listing_free(&l);
	store_close(st);
}

Test(store, changes_make_entries)
{
	struct store *st = open_url(R.url, NULL);
	struct observation o = obs_of("id2", 1999, "USD", AVAIL_IN_STOCK, T0);
	struct history_point *pts;
	struct listing l;

	record(st, &o, true);
	o.price.minor = 1799;                     /* price drop */
	o.observed_ms = T0 + 1000;
	record(st, &o, true);
	o.availability = AVAIL_OUT_OF_STOCK;      /* sold out, same price */
	o.observed_ms = T0 + 2000;
	record(st, &o, true);
	snprintf(o.price.currency, sizeof(o.price.currency), "EUR");   /* same number, other currency */
	o.observed_ms = T0 + 3000;
	record(st, &o, true);
	cr_assert_eq(history(st, "id2", 0, INT64_MAX, &pts), 4);
	cr_assert_eq(pts[0].price.minor, 1999);
	cr_assert_eq(pts[1].price.minor, 1799);
	cr_assert_eq(pts[1].time_ms, T0 + 1000);
	cr_assert_eq(pts[1].availability, AVAIL_IN_STOCK);
	cr_assert_eq(pts[2].availability, AVAIL_OUT_OF_STOCK);
	cr_assert_str_eq(pts[2].price.currency, "USD");
	cr_assert_str_eq(pts[3].price.currency, "EUR");
	cr_assert_eq(pts[3].time_ms, T0 + 3000);
	free(pts);
	cr_assert_eq(store_get_listing(st, "id2", &l), STORE_OK);
	cr_assert_eq(l.last_change_ms, T0 + 3000);
	cr_assert_str_eq(l.price.currency, "EUR");
	store_listing_free(&l);
	store_close(st);
}

Test(store, observation_without_price)
{
	struct store *st = open_url(R.url, NULL);
	struct observation o = obs_of("id3", 500, "GBP", AVAIL_IN_STOCK, T0);
	struct history_point *pts;
	struct listing l;

	record(st, &o, true);
	o = obs_of("id3", 0, "", AVAIL_IN_STOCK, T0 + 10);
	o.title = "Kettle 1.7 l (new)";
	o.brand = "Other";
	record(st, &o, false);                    /* availability unchanged: no entry */
	o.availability = AVAIL_OUT_OF_STOCK;
	o.observed_ms = T0 + 20;
	record(st, &o, true);
	cr_assert_eq(history(st, "id3", 0, INT64_MAX, &pts), 2);
	cr_assert_str_eq(pts[1].price.currency, "");
	cr_assert_eq(pts[1].price.minor, 0);
	cr_assert_eq(pts[1].availability, AVAIL_OUT_OF_STOCK);
	free(pts);
	cr_assert_eq(store_get_listing(st, "id3", &l), STORE_OK);
	cr_assert_eq(l.price.minor, 500);         /* the last price seen is kept */
	cr_assert_str_eq(l.price.currency, "GBP");
	cr_assert_eq(l.availability, AVAIL_OUT_OF_STOCK);
	cr_assert_str_eq(l.title, "Kettle 1.7 l (new)");
	cr_assert_str_eq(l.brand, "Acme");        /* only availability and title change without a price */
	cr_assert_eq(l.last_seen_ms, T0 + 20);
	store_listing_free(&l);
	store_close(st);
}

Test(store, history_range_and_monotonic_ids)
{
	struct store *st = open_url(R.url, NULL);
	struct history_point *pts;
	int64_t prices[] = { 100, 200, 300 };

	for (int i = 0; i < 3; i++) {
		struct observation o = obs_of("id4", prices[i], "USD", AVAIL_IN_STOCK, T0 + 1000 * i);
		record(st, &o, true);
	}
	cr_assert_eq(history(st, "id4", T0 + 1000, T0 + 1000, &pts), 1);
	cr_assert_eq(pts[0].price.minor, 200);
	free(pts);
	cr_assert_eq(history(st, "id4", T0 + 1000, INT64_MAX, &pts), 2);
	cr_assert_eq(pts[0].price.minor, 200);
	cr_assert_eq(pts[1].price.minor, 300);
	free(pts);
	cr_assert_eq(history(st, "id4", 0, T0 + 1000, &pts), 2);
	cr_assert_eq(pts[0].price.minor, 100);
	free(pts);
	cr_assert_eq(history(st, "id4", T0 + 1, T0 + 999, &pts), 0);
	free(pts);
	cr_assert_eq(history(st, "id4", T0 + 2000, T0, &pts), 0);
	free(pts);

	/* a late observation (older clock) lands at the last entry's ms, keeping ids monotonic */
	struct observation late = obs_of("id4", 400, "USD", AVAIL_IN_STOCK, T0 + 500);
	record(st, &late, true);
	cr_assert_eq(history(st, "id4", 0, INT64_MAX, &pts), 4);
	cr_assert_eq(pts[3].time_ms, T0 + 2000);
	cr_assert_eq(pts[3].price.minor, 400);
	free(pts);
	store_close(st);
}

Test(store, long_history_pages)
{
	struct store *st = open_url(R.url, NULL);
	struct history_point *pts;
	size_t n;

	for (int i = 0; i < 2500; i++) {
		struct observation o = obs_of("id5", 1000 + i % 2, "USD", AVAIL_IN_STOCK, T0 + i);
		record(st, &o, true);
	}
	n = history(st, "id5", 0, INT64_MAX, &pts);
	cr_assert_eq(n, 2500);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(pts[i].time_ms, T0 + (int64_t)i);
		cr_assert_eq(pts[i].price.minor, 1000 + (int64_t)(i % 2));
	}
	free(pts);
	store_close(st);
}

Test(store, list_by_source_sorted)
{
	struct store *st = open_url(R.url, NULL);
	const char *ids[] = { "shopa:sku:Z9", "shopb:sku:B2", "shopa:sku:A1" };
	const char *srcs[] = { "shopa", "shopb", "shopa" };
	struct listing *ls;
	size_t n = 99;

	for (int i = 0; i < 3; i++) {
		struct observation o = obs_of(ids[i], 100 + i, "EUR", AVAIL_IN_STOCK, T0);
		o.source = srcs[i];
		record(st, &o, true);
	}
	cr_assert_eq(store_list_listings(st, NULL, &ls, &n), STORE_OK, "%s", store_error(st));
	cr_assert_eq(n, 3);
	cr_assert_str_eq(ls[0].id, "shopa:sku:A1");
	cr_assert_str_eq(ls[1].id, "shopa:sku:Z9");
	cr_assert_str_eq(ls[2].id, "shopb:sku:B2");
	cr_assert_eq(ls[2].price.minor, 101);
	cr_assert_str_eq(ls[2].source, "shopb");
	store_listings_free(ls, n);

	cr_assert_eq(store_list_listings(st, "shopa", &ls, &n), STORE_OK);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(ls[0].id, "shopa:sku:A1");
	cr_assert_eq(ls[0].price.minor, 102);
	cr_assert_str_eq(ls[1].id, "shopa:sku:Z9");
	store_listings_free(ls, n);

	cr_assert_eq(store_list_listings(st, "nosuch", &ls, &n), STORE_OK);
	cr_assert_eq(n, 0);
	cr_assert_null(ls);
	store_close(st);
}

Test(store, not_found)
{
	struct store *st = open_url(R.url, NULL);
	struct listing l;
	struct history_point *pts = (void *)1;
	size_t n = 7;

	cr_assert_eq(store_get_listing(st, "nope", &l), STORE_NOT_FOUND);
	cr_assert(strstr(store_error(st), "nope") != NULL, "%s", store_error(st));
	cr_assert_eq(store_history(st, "nope", 0, INT64_MAX, &pts, &n), STORE_NOT_FOUND);
	cr_assert_eq(n, 0);
	cr_assert_null(pts);
	cr_assert_eq(store_touch(st, "nope", T0), STORE_NOT_FOUND);
	store_close(st);
}

Test(store, touch_advances_last_seen_only)
{
	struct store *st = open_url(R.url, NULL);
	struct observation o = obs_of("id6", 100, "USD", AVAIL_IN_STOCK, T0);
	struct history_point *pts;
	struct listing l;

	record(st, &o, true);
	cr_assert_eq(store_touch(st, "id6", T0 + 5000), STORE_OK, "%s", store_error(st));
	cr_assert_eq(store_touch(st, "id6", T0 + 10), STORE_OK);      /* never goes back */
	cr_assert_eq(store_get_listing(st, "id6", &l), STORE_OK);
	cr_assert_eq(l.last_seen_ms, T0 + 5000);
	cr_assert_eq(l.first_seen_ms, T0);
	store_listing_free(&l);
	cr_assert_eq(history(st, "id6", 0, INT64_MAX, &pts), 1);
	free(pts);
	store_close(st);
}

Test(store, rejects_bad_observations)
{
	struct store *st = open_url(R.url, NULL);
	struct observation o = obs_of("id7", 100, "XXQ", AVAIL_IN_STOCK, T0);

	cr_assert_eq(store_record(st, &o, NULL), STORE_ERROR);
	cr_assert(strstr(store_error(st), "unknown currency") != NULL, "%s", store_error(st));
	o = obs_of("", 100, "USD", AVAIL_IN_STOCK, T0);
	cr_assert_eq(store_record(st, &o, NULL), STORE_ERROR);
	o = obs_of("id7", 100, "USD", AVAIL_IN_STOCK, 0);
	cr_assert_eq(store_record(st, &o, NULL), STORE_ERROR);
	cr_assert_eq(store_ping(st), STORE_OK);
	store_close(st);
}

Test(store, wrongtype_is_an_error_not_a_crash)
{
	struct store *st = open_url(R.url, NULL);
	struct observation o = obs_of("id8", 100, "USD", AVAIL_IN_STOCK, T0);
	struct listing l;
	redisReply *r = raw("SET %s %s", "pw:listing:id8", "not a hash");

	freeReplyObject(r);
	cr_assert_eq(store_record(st, &o, NULL), STORE_ERROR);
	cr_assert(strstr(store_error(st), "WRONGTYPE") != NULL, "%s", store_error(st));
	cr_assert_eq(store_get_listing(st, "id8", &l), STORE_ERROR);

	r = raw("HSET %s price %s", "pw:listing:id9", "12x");
	freeReplyObject(r);
	r = raw("HSET %s currency %s", "pw:listing:id9", "USD");
	freeReplyObject(r);
	cr_assert_eq(store_get_listing(st, "id9", &l), STORE_ERROR);
	cr_assert(strstr(store_error(st), "malformed") != NULL, "%s", store_error(st));
	store_close(st);
}

Test(store, unreachable_names_the_url)
{
	struct store_opts o = { .url = "redis://127.0.0.1:1/0", .connect_timeout_ms = 2000 };
	struct store *st = (struct store *)1;
	char err[512] = "";

	cr_assert_eq(store_open(&st, &o, err, sizeof(err)), STORE_UNREACHABLE, "%s", err);
	cr_assert_null(st);
	cr_assert(strstr(err, "cannot reach Redis at 127.0.0.1:1") != NULL, "%s", err);
	cr_assert(strstr(err, "redis.url") != NULL, "%s", err);

	char url[400];
	snprintf(url, sizeof(url), "unix://%s/missing.sock", R.dir);
	o.url = url;
	cr_assert_eq(store_open(&st, &o, err, sizeof(err)), STORE_UNREACHABLE, "%s", err);
	cr_assert(strstr(err, url) != NULL, "%s", err);

	o.url = "rediss://:s3cret@127.0.0.1:1";
	cr_assert_eq(store_open(&st, &o, err, sizeof(err)), STORE_ERROR, "%s", err);
	cr_assert(strstr(err, "TLS not supported") != NULL, "%s", err);
	cr_assert(strstr(err, "s3cret") == NULL, "%s", err);
}

Test(store, wrong_password_refused)
{
	struct store_opts o = { .url = R.url, .password = "s3cret" };
	struct store *st = NULL;
	char err[512] = "";
	redisReply *r = raw("CONFIG SET requirepass %s", "right-one", NULL);

	freeReplyObject(r);
	cr_assert_eq(store_open(&st, &o, err, sizeof(err)), STORE_ERROR, "%s", err);
	cr_assert(strstr(err, "AUTH") != NULL, "%s", err);
	cr_assert(strstr(err, "s3cret") == NULL, "%s", err);
	o.password = NULL;
	cr_assert_eq(store_open(&st, &o, err, sizeof(err)), STORE_ERROR, "%s", err);
	cr_assert(strstr(err, "needs a password") != NULL, "%s", err);
	o.password = "right-one";
	cr_assert_eq(store_open(&st, &o, err, sizeof(err)), STORE_OK, "%s", err);
	store_close(st);
}

/* A free TCP port on loopback, found by binding port 0 (the server takes it right after). */
static int
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/* TCP, an ACL user, a percent-encoded password and a db, all from one URL. */
Test(store, tcp_acl_user_and_db)
{
	char port[16], url[128];
	redisReply *r;
	struct store *st;
	struct observation o = obs_of("id13", 100, "USD", AVAIL_IN_STOCK, T0);

	snprintf(port, sizeof(port), "%d", free_port());
	r = raw("CONFIG SET bind %s", "127.0.0.1", NULL);
	freeReplyObject(r);
	r = raw("CONFIG SET port %s", port, NULL);
	cr_assert_neq(r->type, REDIS_REPLY_ERROR, "%s", r->str);
	freeReplyObject(r);
	r = raw("ACL SETUSER app on >p@ss/1 ~* &* +@all", NULL, NULL);
	cr_assert_neq(r->type, REDIS_REPLY_ERROR, "%s", r->str);
	freeReplyObject(r);

	snprintf(url, sizeof(url), "redis://app:p%%40ss%%2F1@127.0.0.1:%s/2", port);
	st = open_url(url, NULL);
	record(st, &o, true);
	store_close(st);
	r = raw("EXISTS %s", "pw:listing:id13", NULL);
	cr_assert_eq(r->integer, 0);               /* it went to db 2 */
	freeReplyObject(r);

	snprintf(url, sizeof(url), "redis://app:n0tright@127.0.0.1:%s/2", port);
	struct store_opts opts = { .url = url };
	char err[512];
	cr_assert_eq(store_open(&st, &opts, err, sizeof(err)), STORE_ERROR);
	cr_assert(strstr(err, "127.0.0.1:") != NULL && strstr(err, "WRONGPASS") != NULL, "%s", err);
	cr_assert(strstr(err, "n0tright") == NULL, "password leaked: %s", err);
}

Test(store, select_db)
{
	char url[400];
	struct store *st;
	struct observation o = obs_of("id10", 100, "USD", AVAIL_IN_STOCK, T0);
	redisReply *r;

	snprintf(url, sizeof(url), "%s?db=3", R.url);
	st = open_url(url, NULL);
	record(st, &o, true);
	store_close(st);
	r = raw("EXISTS %s", "pw:listing:id10", NULL);
	cr_assert_eq(r->integer, 0);               /* not in db 0 */
	freeReplyObject(r);

	snprintf(url, sizeof(url), "%s?db=99", R.url);
	struct store_opts opts = { .url = url };
	char err[512];
	cr_assert_eq(store_open(&st, &opts, err, sizeof(err)), STORE_ERROR);
	cr_assert(strstr(err, "SELECT") != NULL, "%s", err);
}

Test(store, redis_killed_midway)
{
	struct store *st = open_url(R.url, NULL);
	struct observation o = obs_of("id11", 100, "USD", AVAIL_IN_STOCK, T0);
	struct listing l;
	struct history_point *pts;
	struct listing *ls;
	size_t n;

	record(st, &o, true);
	test_redis_kill(&R);
	o.observed_ms = T0 + 1;
	cr_assert_eq(store_record(st, &o, NULL), STORE_UNREACHABLE);
	cr_assert(strstr(store_error(st), R.socket_path) != NULL, "%s", store_error(st));
	cr_assert_eq(store_get_listing(st, "id11", &l), STORE_UNREACHABLE);
	cr_assert_eq(store_history(st, "id11", 0, INT64_MAX, &pts, &n), STORE_UNREACHABLE);
	cr_assert_eq(store_list_listings(st, NULL, &ls, &n), STORE_UNREACHABLE);
	cr_assert_eq(store_touch(st, "id11", T0 + 2), STORE_UNREACHABLE);
	cr_assert_eq(store_ping(st), STORE_UNREACHABLE);
	cr_assert(strstr(store_error(st), "cannot reach Redis") != NULL, "%s", store_error(st));
	store_close(st);
}

/* A new server on the same socket: the store finds it again (after its backoff) and reloads its script. */
Test(store, reconnects_after_restart)
{
	struct store *st = open_url(R.url, NULL);
	struct observation o = obs_of("id12", 100, "USD", AVAIL_IN_STOCK, T0);
	struct private_redis pr;
	char err[512];
	enum store_status s = STORE_UNREACHABLE;
	struct listing l;

	record(st, &o, true);
	test_redis_kill(&R);
	cr_assert_eq(store_ping(st), STORE_UNREACHABLE);
	cr_assert(private_redis_start(&pr, R.dir, err, sizeof(err)), "%s", err);
	cr_assert_str_eq(pr.socket_path, R.socket_path);
	for (int i = 0; i < 400 && s != STORE_OK; i++) {   /* backoff is at most 5 s */
		s = store_ping(st);
		if (s != STORE_OK)
			usleep(25000);
	}
	cr_assert_eq(s, STORE_OK, "%s", store_error(st));
	o.observed_ms = T0 + 1;
	record(st, &o, true);                      /* fresh server: NOSCRIPT, then EVAL */
	cr_assert_eq(store_get_listing(st, "id12", &l), STORE_OK);
	cr_assert_eq(l.first_seen_ms, T0 + 1);
	store_listing_free(&l);
	store_close(st);
	private_redis_stop(&pr);
}

static int
recorder(const char *url, int child)
{
	struct store_opts o = { .url = url };
	struct store *st;
	char err[512];
	int bad = 0;

	if (store_open(&st, &o, err, sizeof(err)) != STORE_OK)
		return 2;
	for (int i = 0; i < 60; i++) {
		struct observation ob = obs_of("shared", (i + child) % 2 ? 1000 : 2000, "USD", AVAIL_IN_STOCK,
		    T0 + i * 10 + child);
		if (store_record(st, &ob, NULL) != STORE_OK)
			bad = 1;
	}
	store_close(st);
	return bad;
}

Test(store, concurrent_recorders_consistent)
{
	pid_t kids[4];
	struct store *st;
	struct history_point *pts;
	struct listing l;
	size_t n;

	for (int k = 0; k < 4; k++) {
		kids[k] = fork();
		cr_assert_neq(kids[k], -1);
		if (kids[k] == 0)
			_exit(recorder(R.url, k));
	}
	for (int k = 0; k < 4; k++) {
		int status;
		cr_assert_eq(waitpid(kids[k], &status, 0), kids[k]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d status %d", k, status);
	}
	st = open_url(R.url, NULL);
	n = history(st, "shared", 0, INT64_MAX, &pts);
	cr_assert_geq(n, 2);
	for (size_t i = 1; i < n; i++) {
		cr_assert(pts[i].price.minor != pts[i - 1].price.minor ||
		    strcmp(pts[i].price.currency, pts[i - 1].price.currency) != 0 ||
		    pts[i].availability != pts[i - 1].availability, "entries %zu and %zu are identical", i - 1, i);
		cr_assert_geq(pts[i].time_ms, pts[i - 1].time_ms);
	}
	cr_assert_eq(store_get_listing(st, "shared", &l), STORE_OK);
	cr_assert_eq(l.price.minor, pts[n - 1].price.minor);     /* the hash agrees with the last change */
	cr_assert_eq(l.last_seen_ms, T0 + 59 * 10 + 3);
	cr_assert_eq(l.last_change_ms, pts[n - 1].time_ms);
	store_listing_free(&l);
	free(pts);
	store_close(st);
}

Test(store, listing_id_rules)
{
	char id[128], id2[128];

	cr_assert(store_listing_id("shopa", "K17", "4006381333931", "https://a/p", id, sizeof(id)));
	cr_assert_str_eq(id, "shopa:sku:K17");
	cr_assert(store_listing_id("shopa", "", "4006381333931", "https://a/p", id, sizeof(id)));
	cr_assert_str_eq(id, "shopa:gtin:4006381333931");
	cr_assert(store_listing_id("shopa", NULL, NULL, "https://shop.example/p?id=1", id, sizeof(id)));
	cr_assert_eq(strlen(id), strlen("shopa:url:") + 16);
	cr_assert_eq(strncmp(id, "shopa:url:", 10), 0);
	/* scheme/host case, fragment and default port do not matter; path case does */
	cr_assert(store_listing_id("shopa", NULL, NULL, "HTTPS://Shop.Example:443/p?id=1#reviews", id2, sizeof(id2)));
	cr_assert_str_eq(id, id2);
	cr_assert(store_listing_id("shopa", NULL, NULL, "https://shop.example:8443/p?id=1", id2, sizeof(id2)));
	cr_assert_str_neq(id, id2);
	cr_assert(store_listing_id("shopa", NULL, NULL, "https://shop.example/P?id=1", id2, sizeof(id2)));
	cr_assert_str_neq(id, id2);
	cr_assert(store_listing_id("shopa", NULL, NULL, "http://shop.example:80/p?id=1", id, sizeof(id)));
	cr_assert(store_listing_id("shopa", NULL, NULL, "http://shop.example/p?id=1", id2, sizeof(id2)));
	cr_assert_str_eq(id, id2);
	/* pinned: the first 16 hex digits of sha256("https://shop.example/p?id=1") */
	cr_assert(store_listing_id("shopa", NULL, NULL, "https://shop.example/p?id=1", id, sizeof(id)));
	cr_assert_str_eq(id, "shopa:url:b711b59ee50fc9a1");
	cr_assert_not(store_listing_id("shopa", "K17", NULL, NULL, id, 8));       /* too small */
	cr_assert_not(store_listing_id(NULL, "K17", NULL, NULL, id, sizeof(id)));
	cr_assert_not(store_listing_id("shopa", NULL, NULL, NULL, id, sizeof(id)));
}

Test(store, availability_names)
{
	cr_assert_eq(availability_parse("in_stock"), AVAIL_IN_STOCK);
	cr_assert_eq(availability_parse("InStock"), AVAIL_IN_STOCK);
	cr_assert_eq(availability_parse("https://schema.org/InStock"), AVAIL_IN_STOCK);
	cr_assert_eq(availability_parse("http://schema.org/OutOfStock"), AVAIL_OUT_OF_STOCK);
	cr_assert_eq(availability_parse("HTTPS://SCHEMA.ORG/preorder"), AVAIL_PREORDER);
	cr_assert_eq(availability_parse("BackOrder"), AVAIL_BACKORDER);
	cr_assert_eq(availability_parse("LimitedAvailability"), AVAIL_LIMITED);
	cr_assert_eq(availability_parse("Discontinued"), AVAIL_DISCONTINUED);
	cr_assert_eq(availability_parse("SoldOut"), AVAIL_OUT_OF_STOCK);
	cr_assert_eq(availability_parse("InStoreOnly"), AVAIL_IN_STOCK);
	cr_assert_eq(availability_parse("onlineonly"), AVAIL_IN_STOCK);
	cr_assert_eq(availability_parse("in stock soon"), AVAIL_UNKNOWN);
	cr_assert_eq(availability_parse(""), AVAIL_UNKNOWN);
	cr_assert_eq(availability_parse(NULL), AVAIL_UNKNOWN);
	for (int a = AVAIL_UNKNOWN; a <= AVAIL_DISCONTINUED; a++)
		cr_assert_eq(availability_parse(availability_name((enum availability)a)), a, "%d", a);
	cr_assert_str_eq(availability_name(AVAIL_OUT_OF_STOCK), "out_of_stock");
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path) == 0 ? 0 : 0;
}

Test(private_redis, record_survives_restart, .timeout = 60)
{
	char base[] = "/tmp/pw-private-XXXXXX";
	char dir[128], err[512];
	struct private_redis pr, again;
	struct store *st;
	struct observation o = obs_of("kept", 4200, "CHF", AVAIL_IN_STOCK, T0);
	struct listing l;
	pid_t first;

	cr_assert_not_null(mkdtemp(base));
	snprintf(dir, sizeof(dir), "%s/state/sub", base);     /* created with its parents */
	cr_assert(private_redis_start(&pr, dir, err, sizeof(err)), "%s", err);
	cr_assert_gt(pr.pid, 0);
	first = pr.pid;
	cr_assert_eq(access(pr.socket_path, F_OK), 0);
	struct stat sb;
	cr_assert_eq(stat(dir, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0700);

	/* a second start finds it running and reuses it */
	cr_assert(private_redis_start(&again, dir, err, sizeof(err)), "%s", err);
	cr_assert_eq(again.pid, 0);
	cr_assert_str_eq(again.url, pr.url);
	private_redis_stop(&again);
	cr_assert_eq(kill(first, 0), 0, "stopping a reused server must not stop it");

	st = open_url(pr.url, NULL);
	bool changed = false;
	cr_assert_eq(store_record(st, &o, &changed), STORE_OK, "%s", store_error(st));
	store_close(st);
	private_redis_stop(&pr);
	cr_assert_null(pr.url);
	cr_assert_eq(kill(first, 0), -1);          /* reaped: gone */

	cr_assert(private_redis_start(&pr, dir, err, sizeof(err)), "%s", err);
	cr_assert_gt(pr.pid, 0);
	st = open_url(pr.url, NULL);
	cr_assert_eq(store_get_listing(st, "kept", &l), STORE_OK, "%s", store_error(st));
	cr_assert_eq(l.price.minor, 4200);
	cr_assert_str_eq(l.price.currency, "CHF");
	store_listing_free(&l);
	store_close(st);
	private_redis_stop(&pr);
	(void)nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The daemon and CLI calls share one server: it stops with its last user, whoever started it. */
Test(private_redis, last_user_stops_it, .timeout = 60)
{
	char base[] = "/tmp/pw-private-XXXXXX";
	char err[512], why[64];
	struct private_redis starter, user;
	struct store *st;
	pid_t server;

	cr_assert_not_null(mkdtemp(base));
	cr_assert(private_redis_start(&starter, base, err, sizeof(err)), "%s", err);
	server = starter.pid;
	cr_assert_gt(server, 0);
	cr_assert(private_redis_start(&user, base, err, sizeof(err)), "%s", err);
	cr_assert_eq(user.pid, 0);

	/* The starter leaves first: the other user still needs the server. */
	private_redis_stop(&starter);
	st = open_url(user.url, NULL);
	cr_assert_eq(store_ping(st), STORE_OK, "server stopped under its other user");
	store_close(st);

	/* The last user, not the starter, shuts it down. */
	private_redis_stop(&user);
	for (int i = 0; i < 200 && kill(server, 0) == 0; i++) {
		(void)waitpid(server, NULL, WNOHANG);
		usleep(25000);
	}
	cr_assert_neq(kill(server, 0), 0, "server outlived its last user");
	snprintf(why, sizeof(why), "%s/redis.sock", base);
	cr_assert_neq(access(why, F_OK), 0, "socket left behind");
	(void)nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

Test(private_redis, bad_server_path_is_explained)
{
	char base[] = "/tmp/pw-private-XXXXXX";
	char err[512];
	struct private_redis pr;

	cr_assert_not_null(mkdtemp(base));
	setenv("PW_REDIS_SERVER", "/nonexistent/redis-server", 1);
	cr_assert_not(private_redis_start(&pr, base, err, sizeof(err)));
	cr_assert(strstr(err, "/nonexistent/redis-server") != NULL, "%s", err);
	cr_assert_not(private_redis_start(&pr, "relative/dir", err, sizeof(err)));
	cr_assert(strstr(err, "absolute") != NULL, "%s", err);
	(void)nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}
