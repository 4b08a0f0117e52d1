/* test-match.c: "pricewatch match", confirm/reject overrides, thresholds, model changes and hostile images. */
#include "config.h"

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "match/catalog.h"
#include "match/matcher.h"
#include "test-recognise-util.h"
#include "harness/json.h"

static struct rt t;

static void
setup(void)
{
	rt_setup(&t, NULL);
	rt_catalogue(&t);
}

static void
teardown(void)
{
	rt_teardown(&t);
}

TestSuite(match, .init = setup, .fini = teardown, .timeout = 120);

static struct json_object *
match_json(const char *image, const char *top)
{
	char *out, *err;
	struct json_object *a;

	cr_assert_eq(rt_pw(&t, &out, &err, "match", "--json", "--top", top, image, NULL), 0, "%s", err);
	a = json_tokener_parse(out);
	cr_assert_not_null(a, "not JSON: %s", out);
	cr_assert(json_object_is_type(a, json_type_array), "%s", out);
	free(out);
	free(err);
	return a;
}

/* A marketplace copy (cropped, smaller, padded white, WebP q50) finds its product first, as a match. */
Test(match, local_image_finds_its_product)
{
	struct json_object *a, *first, *reasons;
	char *out, *err;
	bool has_hist = false;

	rt_variant(rt_photo("coffee.jpg"), rt_path(&t, "shop.webp"), 8, 240, true, 50);
	a = match_json(rt_path(&t, "shop.webp"), "3");
	cr_assert_eq(json_object_array_length(a), 3);
	first = json_object_array_get_idx(a, 0);
	cr_assert_str_eq(json_object_get_string(test_json_member(first, "sku")), "COF");
	cr_assert(json_object_get_boolean(test_json_member(first, "match")));
	cr_assert_gt(json_object_get_double(test_json_member(first, "score")), 0.6);
	cr_assert_lt(json_object_get_double(test_json_member(json_object_array_get_idx(a, 1), "score")),
	    json_object_get_double(test_json_member(first, "score")));
	cr_assert(!json_object_get_boolean(test_json_member(json_object_array_get_idx(a, 1), "match")));
	reasons = test_json_member(first, "reasons");
	for (size_t i = 0; i < json_object_array_length(reasons); i++)
		has_hist |= strncmp(json_object_get_string(json_object_array_get_idx(reasons, i)), "histogram=", 10) == 0;
	cr_assert(has_hist, "%s", json_object_to_json_string(reasons));
	json_object_put(a);

	/* The table form names the product and says MATCH yes once. */
	cr_assert_eq(rt_pw(&t, &out, &err, "match", rt_path(&t, "shop.webp"), NULL), 0, "%s", err);
	cr_assert_not_null(strstr(out, "COF"), "%s", out);
	cr_assert_not_null(strstr(out, "Espresso cup"), "%s", out);
	cr_assert_not_null(strstr(out, " yes "), "%s", out);
	free(out);
	free(err);

	/* A photograph of something not in the catalogue matches nothing. */
	a = match_json(rt_photo("astronaut.jpg"), "5");
	cr_assert_eq(json_object_array_length(a), 3);
	for (size_t i = 0; i < 3; i++)
		cr_assert(!json_object_get_boolean(test_json_member(json_object_array_get_idx(a, i), "match")), "%s",
		    json_object_to_json_string(a));
	json_object_put(a);
}

/* Corrupt and oversized images are refused with a message naming the file, never a crash. */
Test(match, hostile_images)
{
	char path[700];
	const char *top = getenv("PW_TOP_SRCDIR");

	cr_assert(pw_snprintf(path, sizeof path, "%s/tests/fuzz/corpus-image/jpeg-truncated.jpg", top));
	rt_expect(&t, CLI_EXIT_ERROR, "jpeg-truncated.jpg", "match", path, NULL);
	cr_assert(pw_snprintf(path, sizeof path, "%s/tests/fuzz/corpus-image/png-huge-ihdr.png", top));
	rt_expect(&t, CLI_EXIT_ERROR, "png-huge-ihdr.png", "match", path, NULL);
	rt_write_bytes(rt_path(&t, "junk.jpg"), "\xff\xd8\xff\xe0 not really", 15);
	rt_expect(&t, CLI_EXIT_ERROR, NULL, "match", rt_path(&t, "junk.jpg"), NULL);
	rt_expect(&t, CLI_EXIT_ERROR, "nonexistent.jpg", "match", rt_path(&t, "nonexistent.jpg"), NULL);
}

/* The model and a matcher over the imported catalogue; the descriptor of image. */
struct lib {
	struct descriptor_model *model;
	struct matcher *mt;
	struct descriptor d;
};

static void
lib_open(struct lib *l, float threshold, const char *image)
{
	struct descriptor_model_opts mo = { 0 };
	struct matcher_opts o = { .threshold = threshold, .top_k = 5, .storage = VINDEX_I8 };
	char err[512];
	size_t len;
	char *bytes = read_file(image, 64u << 20, &len);
	bool reloaded;

	cr_assert_not_null(bytes);
	cr_assert(descriptor_model_open(&l->model, &mo, err, sizeof err), "%s", err);
	cr_assert(matcher_new(&l->mt, l->model, &o));
	cr_assert_eq(matcher_sync(l->mt, t.st, &reloaded), STORE_OK, "%s", store_error(t.st));
	cr_assert(reloaded);
	cr_assert_eq(matcher_sync(l->mt, t.st, &reloaded), STORE_OK);
	cr_assert(!reloaded, "reloaded although catalog:version did not move");
	cr_assert(catalog_describe(t.st, l->model, (unsigned char *)bytes, len, image, &l->d, NULL, err, sizeof err),
	    "%s", err);
	free(bytes);
}

static void
lib_close(struct lib *l)
{
	descriptor_free(&l->d);
	matcher_free(l->mt);
	descriptor_model_free(l->model);
}

Test(match, threshold_decides)
{
	struct lib lo, hi;
	struct matcher_candidate c[3];
	struct matcher_query q = { 0 };
	float above;

	/* By image alone (no title): the right product first, a match at 0.5, and not at just above its score. */
	rt_variant(rt_photo("rocket.jpg"), rt_path(&t, "rocket.webp"), 5, 240, false, 60);
	lib_open(&lo, 0.5f, rt_path(&t, "rocket.webp"));
	cr_assert_eq(matcher_rank(lo.mt, NULL, &q, &lo.d, c, 3), 3);
	cr_assert_str_eq(c[0].sku, "ROC");
	{
		char why[256];

		(void)fuse_reasons_format(&c[0].fused, why, sizeof why);
		cr_assert(c[0].match, "score %f: %s", (double)c[0].score, why);
	}
	cr_assert_str_eq(c[0].title, "Rocket launch print");
	cr_assert_eq(c[0].price.minor, 900);
	cr_assert(!c[1].match, "%s scored %f", c[1].sku, (double)c[1].score);
	cr_assert_lt(c[0].score, 1.0f);
	above = c[0].score + 0.001f;
	lib_open(&hi, above, rt_path(&t, "rocket.webp"));
	cr_assert_eq(matcher_rank(hi.mt, NULL, &q, &hi.d, c, 3), 3);
	cr_assert_str_eq(c[0].sku, "ROC");
	cr_assert(!c[0].match, "score %f passed a %f threshold", (double)c[0].score, (double)above);
	lib_close(&lo);
	lib_close(&hi);

	/* Identifiers alone: an equal GTIN (another spelling of it) is decisive, even without an image. */
	{
		struct catalog_product p = { .sku = "GT", .title = "Kettle", .gtin = "4006381333931" };

		cr_assert_eq(catalog_put(t.st, &p), STORE_OK, "%s", store_error(t.st));
	}
	lib_open(&lo, 0.6f, rt_photo("astronaut.jpg"));
	q = (struct matcher_query){ .title = "Wasserkocher", .gtin = "04006381-333931" };
	cr_assert_eq(matcher_rank(lo.mt, NULL, &q, NULL, c, 3), 1);
	cr_assert_str_eq(c[0].sku, "GT");
	cr_assert(c[0].match);
	cr_assert_str_eq(c[0].fused.reasons[0].name, "gtin");
	/* A title alone finds no candidate: titles rank candidates, they do not search the catalogue. */
	q = (struct matcher_query){ .title = "Orange tabby poster" };
	cr_assert_eq(matcher_rank(lo.mt, NULL, &q, NULL, c, 3), 0);
	lib_close(&lo);
}

static void
add_listing(const char *id, const char *title)
{
	struct observation obs = {
		.source = "shop", .listing_id = id, .url = "https://shop.example/p/1", .title = title,
		.extractor = "jsonld", .price = { 399, "EUR" }, .availability = AVAIL_IN_STOCK,
		.observed_ms = 1764000000000LL,
	};

	cr_assert_eq(store_record(t.st, &obs, NULL), STORE_OK, "%s", store_error(t.st));
}

Test(match, confirm_and_reject_override_the_model)
{
	struct lib l;
	struct matcher_candidate c[5], best;
	struct matcher_query q = { .listing_id = "shop:sku:1", .title = "Cup" };
	char *v;
	size_t n;
	bool is_new;

	add_listing("shop:sku:1", "Cup");
	rt_variant(rt_photo("coffee.jpg"), rt_path(&t, "cup.webp"), 5, 260, false, 60);
	lib_open(&l, 0.6f, rt_path(&t, "cup.webp"));

	/* The model's verdict, stored: new the first time, not the second. */
	cr_assert_geq(matcher_rank(l.mt, t.st, &q, &l.d, &best, 1), 1);
	cr_assert_str_eq(best.sku, "COF");
	cr_assert_eq(matcher_store_result(t.st, "shop:sku:1", &best, 1000, &is_new), STORE_OK);
	cr_assert(is_new);
	cr_assert_eq(matcher_store_result(t.st, "shop:sku:1", &best, 2000, &is_new), STORE_OK);
	cr_assert(!is_new);
	rt_hash_is(&t, "pw:listing:shop:sku:1", "match_state", "auto");
	rt_hash_is(&t, "pw:listing:shop:sku:1", "match_ms", "1000");
	v = rt_hget(&t, "pw:listing:shop:sku:1", "match_reasons");
	cr_assert_not_null(strstr(v, "histogram="), "%s", v);
	free(v);
	cr_assert_eq(matcher_store_result(t.st, "shop:sku:nope", &best, 1000, &is_new), STORE_NOT_FOUND);

	/* The user knows better: this listing is the rocket print, and never the cup. */
	rt_expect(&t, 0, NULL, "match", "confirm", "shop:sku:1", "ROC", NULL);
	rt_hash_is(&t, "pw:listing:shop:sku:1", "match_sku", "ROC");
	rt_hash_is(&t, "pw:listing:shop:sku:1", "match_state", "confirmed");
	rt_expect(&t, 0, NULL, "match", "reject", "shop:sku:1", "COF", NULL);

	n = matcher_rank(l.mt, t.st, &q, &l.d, c, 5);
	cr_assert_eq(n, 2, "rejected COF still ranked (%zu candidates)", n);
	cr_assert_str_eq(c[0].sku, "ROC");
	cr_assert(c[0].confirmed && c[0].match);
	cr_assert_eq(c[0].fused.nreasons, 1);
	cr_assert_str_eq(c[0].fused.reasons[0].name, "confirmed");
	for (size_t i = 0; i < n; i++)
		cr_assert_str_neq(c[i].sku, "COF");
	/* Without the listing (an image matched on demand) the overrides do not apply. */
	q.listing_id = NULL;
	cr_assert_geq(matcher_rank(l.mt, t.st, &q, &l.d, c, 5), 1);
	cr_assert_str_eq(c[0].sku, "COF");

	/* Rejecting the confirmed product clears the listing's verdict. */
	rt_expect(&t, 0, NULL, "match", "reject", "shop:sku:1", "ROC", NULL);
	rt_hash_is(&t, "pw:listing:shop:sku:1", "match_sku", "");

	rt_expect(&t, CLI_EXIT_NOT_FOUND, "no listing shop:sku:404", "match", "confirm", "shop:sku:404", "ROC", NULL);
	rt_expect(&t, CLI_EXIT_NOT_FOUND, "no catalogue product NOPE",
	    "match", "confirm", "shop:sku:1", "NOPE", NULL);
	lib_close(&l);
}

/* A catalogue change moves catalog:version, and the matcher reloads. */
Test(match, reloads_when_the_catalogue_changes)
{
	struct lib l;
	struct matcher_stats s;
	bool reloaded;

	lib_open(&l, 0.6f, rt_photo("coffee.jpg"));
	matcher_stats_get(l.mt, &s);
	cr_assert_eq(s.products, 3);
	cr_assert_eq(s.images, 3);
	cr_assert_eq(s.stale, 0);
	cr_assert_eq(catalog_remove(t.st, "CAT"), STORE_OK);
	cr_assert_eq(matcher_sync(l.mt, t.st, &reloaded), STORE_OK);
	cr_assert(reloaded);
	matcher_stats_get(l.mt, &s);
	cr_assert_eq(s.products, 2);
	lib_close(&l);
}

/* Rewrites the model id inside a packed descriptor stored at key (LSET index, or the string when index < 0),
 * as if another model had written it. */
static void
forge_model_id(const char *key, int index)
{
	char idx[16];
	const char *get[] = { "GET", key }, *lindex[] = { "LINDEX", key, idx };
	redisReply *r;
	char *blob;
	size_t len;

	cr_assert(pw_snprintf(idx, sizeof idx, "%d", index));
	cr_assert_eq(store_command(t.st, index < 0 ? 2 : 3, index < 0 ? get : lindex, &r), STORE_OK);
	cr_assert_eq(r->type, REDIS_REPLY_STRING, "no blob at %s", key);
	cr_assert_gt(r->len, 6);
	len = r->len;
	blob = xmalloc(len);
	memcpy(blob, r->str, len);
	freeReplyObject(r);
	blob[5] ^= 0x20;           /* the first byte of the model id (after "PWD\1" and its length) */
	{
		const char *set[] = { "SET", key, blob }, *lset[] = { "LSET", key, idx, blob };
		size_t setl[] = { 3, strlen(key), len }, lsetl[] = { 4, strlen(key), strlen(idx), len };

		cr_assert_eq(store_command_len(t.st, index < 0 ? 3 : 4, index < 0 ? set : lset,
		    index < 0 ? setl : lsetl, &r), STORE_OK);
		cr_assert_neq(r->type, REDIS_REPLY_ERROR, "%s", r->str);
		freeReplyObject(r);
	}
	free(blob);
}

/* Descriptors made by another model are not reused: the image is embedded again, the stale reference counted. */
Test(match, another_model_id_is_embedded_again)
{
	struct lib l;
	struct descriptor d;
	struct matcher_stats s;
	char hex[65], key[100], err[256];
	size_t len;
	char *bytes = read_file(rt_path(&t, "coffee.jpg"), 64u << 20, &len);
	bool cached, reloaded;

	cr_assert_not_null(bytes);
	catalog_sha256_hex(bytes, len, hex);
	cr_assert(pw_snprintf(key, sizeof key, "pw:emb:%s", hex));
	forge_model_id(key, -1);
	forge_model_id("pw:product:CAT:desc", 0);
	lib_open(&l, 0.6f, rt_photo("rocket.jpg"));
	matcher_stats_get(l.mt, &s);
	cr_assert_eq(s.stale, 1);
	cr_assert_eq(s.images, 2);

	cr_assert(catalog_describe(t.st, l.model, (unsigned char *)bytes, len, "coffee.jpg", &d, &cached, err,
	    sizeof err), "%s", err);
	cr_assert(!cached, "a descriptor of another model was reused");
	descriptor_free(&d);
	cr_assert(catalog_describe(t.st, l.model, (unsigned char *)bytes, len, "coffee.jpg", &d, &cached, err,
	    sizeof err), "%s", err);
	cr_assert(cached, "the new descriptor was not cached");
	descriptor_free(&d);

	/* Importing again embeds CAT's image with this model: nothing stale any more. */
	rt_expect(&t, 0, "2 already there, 1 re-embedded", "catalog", "import", rt_path(&t, "cat.csv"), NULL);
	cr_assert_eq(matcher_sync(l.mt, t.st, &reloaded), STORE_OK);
	cr_assert(reloaded);
	matcher_stats_get(l.mt, &s);
	cr_assert_eq(s.stale, 0);
	cr_assert_eq(s.images, 3);
	free(bytes);
	lib_close(&l);
}
