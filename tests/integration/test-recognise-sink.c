/* test-recognise-sink.c: the recognition worker through its image sink: dedupe, URL expiry, counts, no-image listings. */
#include "config.h"

#include <criterion/criterion.h>
#include <time.h>

#include "common/config.h"
#include "common/log.h"
#include "daemon/recognise.h"
#include "match/catalog.h"
#include "test-recognise-util.h"

static struct rt t;
static struct config cfg;

static bool
load(void *arg, struct config *c, char *err, size_t errlen)
{
	(void)arg;
	return config_load(c, t.conf, err, errlen);
}

static void
setup(void)
{
	char conf[1200];
	char err[512];
	struct observation obs = {
		.source = "shop", .url = "https://shop.example/p", .title = "Tasse", .extractor = "jsonld",
		.price = { 349, "EUR" }, .availability = AVAIL_IN_STOCK, .observed_ms = 1764000000000LL,
	};

	rt_setup(&t, NULL);
	cr_assert(pw_snprintf(conf, sizeof conf, "[redis]\nurl = %s\n\n[match]\nthreshold = 0.60\n", t.redis.url));
	rt_write(t.conf, conf);
	memset(&cfg, 0, sizeof cfg);
	cr_assert(config_load(&cfg, t.conf, err, sizeof err), "%s", err);
	obs.listing_id = "shop:sku:1";
	cr_assert_eq(store_record(t.st, &obs, NULL), STORE_OK);
	obs.listing_id = "shop:sku:2";
	cr_assert_eq(store_record(t.st, &obs, NULL), STORE_OK);
	rt_variant(rt_photo("coffee.jpg"), rt_path(&t, "tasse.webp"), 4, 300, false, 70);
	log_init("recognise-test", LOG_LEVEL_WARN, false);
}

static void
teardown(void)
{
	config_free(&cfg);
	rt_teardown(&t);
}

TestSuite(recognise_sink, .init = setup, .fini = teardown, .timeout = 180);

static struct recognise *
start(void)
{
	struct recognise_opts o = { .cfg = &cfg, .redis_url = t.redis.url, .load_config = load };
	struct recognise *r = recognise_start(&o);

	cr_assert_not_null(r);
	return r;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Waits (up to a minute: inference under the sanitizers is slow) until *field reaches want. */
#define WAIT_FOR(r, field, want) do { \
		struct recognise_stats s_; \
		for (int i_ = 0; i_ < 1200; i_++) { \
			recognise_stats_get((r), &s_); \
			if (s_.field >= (want)) \
				break; \
			sleep_ms(50); \
		} \
		recognise_stats_get((r), &s_); \
		cr_assert_geq(s_.field, (want), #field " stayed at %llu", (unsigned long long)s_.field); \
	} while (0)

static void
deliver_file(const struct crawler_image_sink *sink, const char *listing, const char *url, const char *path)
{
	size_t len;
	char *bytes = read_file(path, 64u << 20, &len);

	cr_assert_not_null(bytes, "%s", path);
	sink->deliver(sink->arg, "shop", listing, url, (unsigned char *)bytes, len, NULL);
	free(bytes);
}

Test(recognise_sink, an_embedded_url_is_not_fetched_again)
{
	struct recognise *r;
	const struct crawler_image_sink *sink;
	char bad[700];

	rt_catalogue(&t);
	r = start();
	sink = recognise_sink(r);
	cr_assert(sink->want(sink->arg, "shop", "shop:sku:1", "http://shop.example/tasse.webp"));
	deliver_file(sink, "shop:sku:1", "http://shop.example/tasse.webp", rt_path(&t, "tasse.webp"));
	WAIT_FOR(r, matches, 1);

	/* Known now: no fetch, but the listing is matched again from the cache. */
	cr_assert(!sink->want(sink->arg, "shop", "shop:sku:2", "http://shop.example/tasse.webp"));
	WAIT_FOR(r, matches, 2);

	/* A failed fetch and hostile bytes are counted, and the worker carries on. */
	sink->deliver(sink->arg, "shop", "shop:sku:2", "http://shop.example/x.jpg", NULL, 0, "timed out");
	cr_assert(pw_snprintf(bad, sizeof bad, "%s/tests/fuzz/corpus-image/jpeg-truncated.jpg", getenv("PW_TOP_SRCDIR")));
	deliver_file(sink, "shop:sku:2", "http://shop.example/broken.jpg", bad);
	WAIT_FOR(r, images_rejected, 1);
	recognise_stop(r, 60000);
	r = NULL;

	rt_hash_is(&t, "pw:listing:shop:sku:2", "match_sku", "COF");
	rt_hash_is(&t, "pw:listing:shop:sku:1", "match_state", "auto");
	cr_assert_eq(rt_keys(&t, "pw:img:*"), 1);
}

Test(recognise_sink, counts)
{
	struct recognise *r;
	const struct crawler_image_sink *sink;
	struct recognise_stats s;

	rt_catalogue(&t);
	r = start();
	sink = recognise_sink(r);
	cr_assert(sink->want(sink->arg, "shop", "shop:sku:1", "http://shop.example/a.webp"));
	deliver_file(sink, "shop:sku:1", "http://shop.example/a.webp", rt_path(&t, "tasse.webp"));
	/* The same bytes under another URL: one inference, one cache hit. */
	cr_assert(sink->want(sink->arg, "shop", "shop:sku:2", "http://shop.example/b.webp"));
	deliver_file(sink, "shop:sku:2", "http://shop.example/b.webp", rt_path(&t, "tasse.webp"));
	sink->deliver(sink->arg, "shop", "shop:sku:2", "http://shop.example/c.webp", NULL, 0, "HTTP 404");
	WAIT_FOR(r, matches, 2);
	cr_assert(!sink->want(sink->arg, "shop", "shop:sku:1", "http://shop.example/b.webp"));
	WAIT_FOR(r, matches, 3);
	recognise_stats_get(r, &s);
	cr_assert_eq(s.images_offered, 3);
	cr_assert_eq(s.images_known, 1);
	cr_assert_eq(s.images_fetched, 2);
	cr_assert_eq(s.fetch_failed, 1);
	cr_assert_eq(s.inferences, 1);
	cr_assert_eq(s.cache_hits, 1);
	cr_assert_eq(s.images_rejected, 0);
	cr_assert_eq(s.new_matches, 2);
	cr_assert_eq(s.errors, 0);
	recognise_stop(r, 60000);
}

/* With nothing to match against, no image is fetched; once products arrive, images are wanted again. */
Test(recognise_sink, empty_catalogue_wants_nothing)
{
	struct recognise *r = start();
	const struct crawler_image_sink *sink = recognise_sink(r);
	bool wanted = true;

	for (int i = 0; i < 600 && wanted; i++) {
		wanted = sink->want(sink->arg, "shop", "shop:sku:1", "http://shop.example/a.webp");
		if (wanted)
			sleep_ms(50);
	}
	cr_assert(!wanted, "an image was wanted with an empty catalogue");
	rt_catalogue(&t);
	for (int i = 0; i < 600 && !wanted; i++) {
		wanted = sink->want(sink->arg, "shop", "shop:sku:1", "http://shop.example/a.webp");
		if (!wanted)
			sleep_ms(50);
	}
	cr_assert(wanted, "still nothing wanted after the catalogue was imported");
	recognise_stop(r, 1000);
}

Test(recognise_sink, off_when_disabled)
{
	struct recognise_opts o = { .cfg = &cfg, .redis_url = t.redis.url, .load_config = load };

	cfg.match.enabled = false;
	cr_assert_null(recognise_start(&o));
	recognise_stop(NULL, 0);
	recognise_reload(NULL);
}

/* A listing without an image is still matched, by its GTIN, with no inference. */
Test(recognise_sink, a_listing_without_image_matches_by_gtin)
{
	struct observation obs = {
		.source = "shop", .url = "https://shop.example/q", .title = "Becher Angebot", .gtin = "4006381333931",
		.extractor = "jsonld", .price = { 299, "EUR" }, .availability = AVAIL_IN_STOCK,
		.observed_ms = 1764000000000LL, .listing_id = "shop:sku:3",
	};
	struct recognise *r;
	const struct crawler_image_sink *sink;
	struct recognise_stats s;

	rt_copy(rt_photo("coffee.jpg"), rt_path(&t, "coffee.jpg"));
	rt_copy(rt_photo("rocket.jpg"), rt_path(&t, "rocket.jpg"));
	rt_write(rt_path(&t, "cat.csv"),
	    "sku,title,image,gtin\n"
	    "COF,Espresso cup white porcelain,coffee.jpg,4006381333931\n"
	    "ROC,Rocket launch print,rocket.jpg,\n");
	rt_expect(&t, 0, "imported 2 row(s)", "catalog", "import", rt_path(&t, "cat.csv"), NULL);
	cr_assert_eq(store_record(t.st, &obs, NULL), STORE_OK);
	r = start();
	sink = recognise_sink(r);
	cr_assert_not_null(sink->match_no_image);
	sink->match_no_image(sink->arg, "shop", "shop:sku:3");
	/* Neither an identifier nor an image: nothing proposes a candidate, so no match. */
	sink->match_no_image(sink->arg, "shop", "shop:sku:1");
	WAIT_FOR(r, matches, 1);
	WAIT_FOR(r, no_match, 1);
	recognise_stats_get(r, &s);
	cr_assert_eq(s.images_offered, 0);
	cr_assert_eq(s.inferences, 0);
	cr_assert_eq(s.errors, 0);
	recognise_stop(r, 60000);
	rt_hash_is(&t, "pw:listing:shop:sku:3", "match_sku", "COF");
	rt_hash_is(&t, "pw:listing:shop:sku:3", "match_reasons", "gtin");
	rt_hash_is(&t, "pw:listing:shop:sku:1", "match_sku", "");
}

/* pw:img expires (CATALOG_IMG_TTL_S): then the URL is fetched again, so a new picture behind it is seen. */
Test(recognise_sink, an_image_url_is_fetched_again_after_its_ttl)
{
	const char *url = "http://shop.example/tasse.webp";
	struct recognise *r;
	const struct crawler_image_sink *sink;
	char hex[65], key[80];
	bool wanted = false;

	rt_catalogue(&t);
	r = start();
	sink = recognise_sink(r);
	cr_assert(sink->want(sink->arg, "shop", "shop:sku:1", url));
	deliver_file(sink, "shop:sku:1", url, rt_path(&t, "tasse.webp"));
	WAIT_FOR(r, matches, 1);
	catalog_sha256_hex(url, strlen(url), hex);
	cr_assert(pw_snprintf(key, sizeof key, "pw:img:%s", hex));
	{
		const char *ttl[] = { "TTL", key }, *expire[] = { "PEXPIRE", key, "1" };
		size_t left = rt_count(&t, 2, ttl);

		cr_assert(left > CATALOG_IMG_TTL_S - 60 && left <= CATALOG_IMG_TTL_S, "TTL %zu", left);
		cr_assert(!sink->want(sink->arg, "shop", "shop:sku:1", url), "fetched again before it expired");
		cr_assert_eq(rt_count(&t, 3, expire), 1);
	}
	/* Expired: the next look finds no descriptor and forgets the URL; a later crawl fetches it. */
	for (int i = 0; i < 1200 && !wanted; i++) {
		wanted = sink->want(sink->arg, "shop", "shop:sku:1", url);
		if (!wanted)
			sleep_ms(50);
	}
	cr_assert(wanted, "the URL was not fetched again after pw:img expired");
	recognise_stop(r, 60000);
}
