/* test-httpcache.c: HTTP validators and cached robots.txt in a real redis-server: round trips, TTLs, prefixes, Redis going away. */
#include <config.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <hiredis/hiredis.h>

#include "common/util.h"
#include "harness/redis.h"
#include "store/httpcache.h"
#include "store/store.h"

#define PAGE "https://shop.example.com/p/1001?colour=red"
#define ROBOTS "https://shop.example.com/robots.txt"

static struct test_redis redis;
static struct store *st;

static struct store *
open_store(const char *prefix)
{
	struct store_opts o = { .url = redis.url, .prefix = prefix, .connect_timeout_ms = 2000,
		.command_timeout_ms = 2000 };
	struct store *s = NULL;
	char err[512];

	cr_assert_eq(store_open(&s, &o, err, sizeof err), STORE_OK, "%s", err);
	return s;
}

static void
setup(void)
{
	test_redis_start(&redis);
	st = open_store("pw:");
}

static void
teardown(void)
{
	store_close(st);
	test_redis_stop(&redis);
}

TestSuite(httpcache, .init = setup, .fini = teardown, .timeout = 30);

/* Runs a command on the store's connection and returns the reply (caller frees). */
static redisReply *
cmd(int argc, const char **argv)
{
	redisReply *r = NULL;

	cr_assert_eq(store_command(st, argc, argv, &r), STORE_OK, "%s", store_error(st));
	cr_assert_neq(r->type, REDIS_REPLY_ERROR, "%s", r->str);
	return r;
}

static long long
pttl(const char *key)
{
	const char *argv[] = { "PTTL", key };
	redisReply *r = cmd(2, argv);
	long long v = r->integer;

	freeReplyObject(r);
	return v;
}

/* The key names in docs/store.md, computed independently (printf %s URL | sha256sum). */
static const char page_key[] = "pw:page:0533ab796529ab29671b454c4428b6b6";

static char *
hget(const char *key, const char *field)
{
	const char *argv[] = { "HGET", key, field };
	redisReply *r = cmd(3, argv);
	char *v = r->type == REDIS_REPLY_STRING ? xstrndup(r->str, r->len) : NULL;

	freeReplyObject(r);
	return v;
}

Test(httpcache, page_round_trip)
{
	char *ids[] = { "shop:sku:A-1", "shop:sku:B-2", "shop:gtin:4006381333931" };
	struct http_validators v = { .etag = "W/\"5e1-abc\"", .last_modified = "Wed, 25 Nov 2026 10:00:00 GMT",
		.listing_ids = ids, .n_listing_ids = 3 };
	struct http_validators got;
	char *listings;

	cr_assert_eq(httpcache_put(st, PAGE, &v, 0), STORE_OK, "%s", store_error(st));
	cr_assert_eq(httpcache_get(st, PAGE, &got), STORE_OK, "%s", store_error(st));
	cr_assert_str_eq(got.etag, "W/\"5e1-abc\"");
	cr_assert_str_eq(got.last_modified, "Wed, 25 Nov 2026 10:00:00 GMT");
	cr_assert_eq(got.n_listing_ids, 3);
	cr_assert_str_eq(got.listing_ids[0], "shop:sku:A-1");
	cr_assert_str_eq(got.listing_ids[2], "shop:gtin:4006381333931");
	http_validators_free(&got);
	cr_assert_null(got.etag);
	/* The documented layout, so other tools can read it. */
	listings = hget(page_key, "listings");
	cr_assert_not_null(listings, "no hash at %s", page_key);
	cr_assert_str_eq(listings, "shop:sku:A-1\nshop:sku:B-2\nshop:gtin:4006381333931");
	free(listings);
	listings = hget(page_key, "url");
	cr_assert_str_eq(listings, PAGE);
	free(listings);
	cr_assert_eq(pttl(page_key), -1, "ttl 0 means no expiry");
}

Test(httpcache, put_replaces_everything)
{
	char *ids[] = { "a", "b" };
	struct http_validators first = { .etag = "\"1\"", .last_modified = "Mon, 23 Nov 2026 10:00:00 GMT",
		.listing_ids = ids, .n_listing_ids = 2 };
	struct http_validators second = { .last_modified = "Tue, 24 Nov 2026 10:00:00 GMT" };
	struct http_validators got;

	cr_assert_eq(httpcache_put(st, PAGE, &first, 60000), STORE_OK);
	cr_assert_gt(pttl(page_key), 0);
	cr_assert_eq(httpcache_put(st, PAGE, &second, 0), STORE_OK);
	cr_assert_eq(httpcache_get(st, PAGE, &got), STORE_OK);
	cr_assert_null(got.etag, "an ETag from an older fetch must not survive");
	cr_assert_str_eq(got.last_modified, "Tue, 24 Nov 2026 10:00:00 GMT");
	cr_assert_eq(got.n_listing_ids, 0);
	cr_assert_null(got.listing_ids);
	http_validators_free(&got);
	cr_assert_eq(pttl(page_key), -1, "a put without ttl clears the old one");
}

Test(httpcache, ids_with_newlines_are_left_out)
{
	char *ids[] = { "ok:1", "bad\nid", "", "ok:2" };
	struct http_validators v = { .etag = "\"x\"", .listing_ids = ids, .n_listing_ids = 4 };
	struct http_validators got;

	cr_assert_eq(httpcache_put(st, PAGE, &v, 0), STORE_OK);
	cr_assert_eq(httpcache_get(st, PAGE, &got), STORE_OK);
	cr_assert_eq(got.n_listing_ids, 2);
	cr_assert_str_eq(got.listing_ids[0], "ok:1");
	cr_assert_str_eq(got.listing_ids[1], "ok:2");
	http_validators_free(&got);
}

Test(httpcache, missing_is_not_found)
{
	struct http_validators got = { .etag = (char *)"stale" };
	long status = 7;
	char *body = (char *)"stale";
	size_t len = 7;

	cr_assert_eq(httpcache_get(st, "https://nowhere.example/", &got), STORE_NOT_FOUND);
	cr_assert_null(got.etag);
	cr_assert_eq(got.n_listing_ids, 0);
	cr_assert_eq(robots_cache_get(st, ROBOTS, &status, &body, &len), STORE_NOT_FOUND);
	cr_assert_null(body);
	cr_assert_eq(len, 0);
	cr_assert_eq(status, 0);
}

/* The hash at a URL's key names its URL: another URL that lands on the same key reads as absent. */
Test(httpcache, foreign_url_in_hash_is_not_found)
{
	const char *argv[] = { "HSET", page_key, "url", "https://other.example/", "etag", "\"z\"" };
	struct http_validators got;

	freeReplyObject(cmd(6, argv));
	cr_assert_eq(httpcache_get(st, PAGE, &got), STORE_NOT_FOUND);
	cr_assert_null(got.etag);
}

Test(httpcache, page_ttl_expires)
{
	struct http_validators v = { .etag = "\"e\"" }, got;

	cr_assert_eq(httpcache_put(st, PAGE, &v, 50), STORE_OK);
	/* Wait for the state, not for a time: PTTL -2 means the key is gone. */
	for (int i = 0; i < 200 && pttl(page_key) != -2; i++)
		usleep(20 * 1000);
	cr_assert_eq(pttl(page_key), -2);
	cr_assert_eq(httpcache_get(st, PAGE, &got), STORE_NOT_FOUND);
}

Test(httpcache, robots_round_trip_binary_safe)
{
	static const char body[] = "User-agent: *\r\nDisallow: /a\0b\n\xff\xfe# \x00tail\n";
	const size_t blen = sizeof body - 1;
	long status;
	char *got, *fetched;
	size_t len;
	int64_t ms;

	cr_assert_eq(robots_cache_put(st, ROBOTS, 200, body, blen, 3600000), STORE_OK, "%s", store_error(st));
	cr_assert_eq(robots_cache_get(st, ROBOTS, &status, &got, &len), STORE_OK, "%s", store_error(st));
	cr_assert_eq(status, 200);
	cr_assert_eq(len, blen);
	cr_assert_eq(memcmp(got, body, blen), 0);
	cr_assert_eq(got[len], '\0');
	free(got);
	fetched = hget("pw:robots:" ROBOTS, "fetched_ms");
	cr_assert_not_null(fetched);
	cr_assert(parse_int64(fetched, 1, INT64_MAX, &ms), "%s", fetched);
	cr_assert_geq(time_now_ms(), ms);
	free(fetched);
	cr_assert_gt(pttl("pw:robots:" ROBOTS), 0);
	cr_assert_leq(pttl("pw:robots:" ROBOTS), 3600000);
}

/* A 404 or 503 is cached as a status with an empty body: the policy comes from the status. */
Test(httpcache, robots_status_only)
{
	long status;
	char *got;
	size_t len;

	cr_assert_eq(robots_cache_put(st, ROBOTS, 503, NULL, 0, 60000), STORE_OK, "%s", store_error(st));
	cr_assert_eq(robots_cache_get(st, ROBOTS, &status, &got, &len), STORE_OK);
	cr_assert_eq(status, 503);
	cr_assert_eq(len, 0);
	cr_assert_str_eq(got, "");
	free(got);
	cr_assert_eq(robots_cache_put(st, ROBOTS, 200, "x", 1, 0), STORE_ERROR, "a robots entry must expire");
	cr_assert_eq(robots_cache_put(st, ROBOTS, -1, "x", 1, 1000), STORE_ERROR);
}

Test(httpcache, robots_ttl_expires)
{
	long status;
	char *got;
	size_t len;

	cr_assert_eq(robots_cache_put(st, ROBOTS, 200, "Disallow: /\n", 12, 50), STORE_OK);
	for (int i = 0; i < 200 && pttl("pw:robots:" ROBOTS) != -2; i++)
		usleep(20 * 1000);
	cr_assert_eq(pttl("pw:robots:" ROBOTS), -2);
	cr_assert_eq(robots_cache_get(st, ROBOTS, &status, &got, &len), STORE_NOT_FOUND);
	cr_assert_null(got);
}

Test(httpcache, bad_cached_status_is_an_error)
{
	const char *argv[] = { "HSET", "pw:robots:" ROBOTS, "status", "two hundred", "body", "" };
	long status;
	char *got;
	size_t len;

	freeReplyObject(cmd(6, argv));
	cr_assert_eq(robots_cache_get(st, ROBOTS, &status, &got, &len), STORE_ERROR);
	cr_assert_not_null(strstr(store_error(st), ROBOTS), "%s", store_error(st));
	cr_assert_null(got);
}

Test(httpcache, prefix_is_respected)
{
	struct store *t2 = open_store("tenant2:");
	struct http_validators v = { .etag = "\"t2\"" }, got;
	long status;
	char *body;
	size_t len;
	const char *argv[] = { "EXISTS", "tenant2:page:0533ab796529ab29671b454c4428b6b6", "tenant2:robots:" ROBOTS };
	redisReply *r;

	cr_assert_eq(httpcache_put(t2, PAGE, &v, 0), STORE_OK, "%s", store_error(t2));
	cr_assert_eq(robots_cache_put(t2, ROBOTS, 404, "", 0, 60000), STORE_OK, "%s", store_error(t2));
	cr_assert_eq(httpcache_get(st, PAGE, &got), STORE_NOT_FOUND, "pw: must not see tenant2:");
	cr_assert_eq(robots_cache_get(st, ROBOTS, &status, &body, &len), STORE_NOT_FOUND);
	cr_assert_eq(httpcache_get(t2, PAGE, &got), STORE_OK);
	cr_assert_str_eq(got.etag, "\"t2\"");
	http_validators_free(&got);
	r = cmd(3, argv);
	cr_assert_eq(r->integer, 2);
	freeReplyObject(r);
	store_close(t2);
}

Test(httpcache, redis_gone_is_unreachable)
{
	struct http_validators v = { .etag = "\"e\"" }, got;
	long status;
	char *body;
	size_t len;

	test_redis_kill(&redis);
	cr_assert_eq(httpcache_put(st, PAGE, &v, 0), STORE_UNREACHABLE);
	cr_assert_eq(httpcache_get(st, PAGE, &got), STORE_UNREACHABLE);
	cr_assert_null(got.etag);
	cr_assert_eq(robots_cache_put(st, ROBOTS, 200, "x", 1, 1000), STORE_UNREACHABLE);
	cr_assert_eq(robots_cache_get(st, ROBOTS, &status, &body, &len), STORE_UNREACHABLE);
	cr_assert_null(body);
	cr_assert_not_null(strstr(store_error(st), "Redis"), "%s", store_error(st));
}
