/* test-fuse.c: the fused match score's properties (docs/matching.md) and the title tokenizer. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "match/fuse.h"

static bool
has_reason(const fuse_result *r, const char *name)
{
	for (size_t i = 0; i < r->nreasons; i++)
		if (strcmp(r->reasons[i].name, name) == 0)
			return true;
	return false;
}

static bool
has_token(const fuse_tokens *t, const char *tok)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->tok[i], tok) == 0)
			return true;
	return false;
}

/* A strong image match: every image signal close to identical, a full-size image. */
static fuse_input
strong_image(void)
{
	return (fuse_input){ .has_embedding = true, .embedding_cos = 0.93f, .has_histogram = true,
		.hist_intersection = 0.91f, .has_phash = true, .phash_distance = 3, .image_side = 600 };
}

/* ---- tokens ----------------------------------------------------------------------------------------- */

Test(fuse, tokens_lowercase_and_split)
{
	fuse_tokens t;

	fuse_tokenize("Bosch SERIE|4 Wasserkocher, Edelstahl (TWK-4P)", &t);
	cr_assert_eq(t.n, 7);
	cr_assert_str_eq(t.tok[0], "bosch");
	cr_assert_str_eq(t.tok[1], "serie");
	cr_assert_str_eq(t.tok[2], "4");
	cr_assert_str_eq(t.tok[3], "wasserkocher");
	cr_assert_str_eq(t.tok[4], "edelstahl");
	cr_assert_str_eq(t.tok[5], "twk");
	cr_assert_str_eq(t.tok[6], "4p");
	/* Unicode letters lower-cased and kept; Unicode punctuation, symbols and emoji split. */
	fuse_tokenize("ÉCLAIR Crème—BRÛLÉE™ «Ελλάδα» МОЛОКО 🥛 ＡＢＣ１２", &t);
	cr_assert_eq(t.n, 6, "%zu tokens", t.n);
	cr_assert_str_eq(t.tok[0], "éclair");
	cr_assert_str_eq(t.tok[1], "crème");
	cr_assert_str_eq(t.tok[2], "brûlée");
	cr_assert_str_eq(t.tok[3], "ελλάδα");
	cr_assert_str_eq(t.tok[4], "молоко");
	cr_assert_str_eq(t.tok[5], "abc12");
}

Test(fuse, tokens_keep_numbers_with_units)
{
	fuse_tokens t;

	fuse_tokenize("Kettle 1.7l, 2200 W; cement 25 kg / 1,5 L bottle 0.5", &t);
	cr_assert(has_token(&t, "1.7l"));
	cr_assert(has_token(&t, "2200w"));
	cr_assert(has_token(&t, "25kg"));
	cr_assert(has_token(&t, "1.5l"));
	cr_assert(has_token(&t, "0.5"));
	cr_assert(!has_token(&t, "l"));
	cr_assert(!has_token(&t, "kg"));
	cr_assert(!has_token(&t, "1"));
	/* The same quantity written three ways is one token. */
	cr_assert_float_eq(fuse_title_similarity("Wasserkocher 1,7 L", "wasserkocher 1.7l"), 1.0f, 1e-6f);
	cr_assert_float_eq(fuse_title_similarity("Kettle 1.7 l", "KETTLE 1.7L"), 1.0f, 1e-6f);
	/* A different size is a different token. */
	cr_assert_float_eq(fuse_title_similarity("Kettle 1.7l", "Kettle 1.5l"), 1.0f / 3.0f, 1e-6f);
	/* A trailing dot or comma is not a decimal separator. */
	fuse_tokenize("Pack of 6. Blue, 4,", &t);
	cr_assert(has_token(&t, "6"));
	cr_assert(has_token(&t, "4"));
}

Test(fuse, tokens_hostile_input)
{
	fuse_tokens t;
	char longtitle[4096];

	fuse_tokenize(NULL, &t);
	cr_assert_eq(t.n, 0);
	fuse_tokenize("  --- !!! ", &t);
	cr_assert_eq(t.n, 0);
	cr_assert_float_eq(fuse_title_similarity("", "kettle"), -1.0f, 0.0f);
	/* Malformed UTF-8 separates; truncated sequences at the end do not read past the NUL. */
	fuse_tokenize("ab\xff" "cd\xc3", &t);
	cr_assert_eq(t.n, 2);
	cr_assert_str_eq(t.tok[0], "ab");
	cr_assert_str_eq(t.tok[1], "cd");
	fuse_tokenize("\xe2\x82", &t);
	cr_assert_eq(t.n, 0);
	/* Over-long tokens are cut, too many tokens capped. */
	memset(longtitle, 'a', 200);
	longtitle[200] = '\0';
	fuse_tokenize(longtitle, &t);
	cr_assert_eq(t.n, 1);
	cr_assert_eq(strlen(t.tok[0]), FUSE_TOKEN_MAX - 1);
	size_t off = 0;
	for (int i = 0; i < 500 && off + 8 < sizeof longtitle; i++)
		off += (size_t)snprintf(longtitle + off, sizeof longtitle - off, "w%d ", i);
	fuse_tokenize(longtitle, &t);
	cr_assert_eq(t.n, FUSE_MAX_TOKENS);
	/* Duplicates are dropped. */
	fuse_tokenize("red RED Red red", &t);
	cr_assert_eq(t.n, 1);
}

/* ---- the score -------------------------------------------------------------------------------------- */

Test(fuse, gtin_agreement_is_decisive)
{
	fuse_input in = { .listing_gtin = "0 12345 67890 5", .product_gtin = "0012345678905",
		.listing_title = "Totally different words", .product_title = "Kettle stainless",
		.has_histogram = true, .hist_intersection = 0.05f };
	fuse_result r;

	fuse_score(&in, &r);
	cr_assert_float_eq(r.score, 1.0f, 0.0f);
	cr_assert(r.match);
	cr_assert_eq(r.nreasons, 1);
	cr_assert_str_eq(r.reasons[0].name, "gtin");
	/* MPN agreement under the same brand is decisive too. */
	in = (fuse_input){ .listing_mpn = "TWK-4P01", .product_mpn = "twk4p01", .listing_brand = "BOSCH",
		.product_brand = "Bosch Home" };
	fuse_score(&in, &r);
	cr_assert_float_eq(r.score, 1.0f, 0.0f);
	cr_assert_str_eq(r.reasons[0].name, "mpn");
	/* ... but not across brands, nor for a too-short part number. */
	in.product_brand = "Siemens";
	fuse_score(&in, &r);
	cr_assert(!r.match);
	cr_assert(has_reason(&r, "brand-mismatch"));
	in = (fuse_input){ .listing_mpn = "A1", .product_mpn = "a1" };
	fuse_score(&in, &r);
	cr_assert(!r.match);
}

Test(fuse, gtin_disagreement_is_strongly_negative)
{
	fuse_input in = strong_image();
	fuse_result with, without;

	in.listing_title = "Bosch kettle 1.7l";
	in.product_title = "Bosch kettle 1.7l";
	fuse_score(&in, &without);
	cr_assert(without.match);
	in.listing_gtin = "4006381333931";
	in.product_gtin = "4006381333948";
	fuse_score(&in, &with);
	cr_assert(!with.match);
	cr_assert_leq(with.score, without.score - 0.49f);
	cr_assert(has_reason(&with, "gtin-mismatch"));
	/* An invalid GTIN is no evidence either way. */
	in.listing_gtin = "n/a";
	fuse_score(&in, &with);
	cr_assert_float_eq(with.score, without.score, 1e-6f);
}

Test(fuse, title_only_below_threshold_unless_strong)
{
	fuse_input in = { .listing_title = "Bosch TWK4P Wasserkocher 1.7l edelstahl",
		.product_title = "Bosch TWK4P Wasserkocher 1,7 L Edelstahl" };
	fuse_result r;

	/* An identical title alone is not enough (support 0.30 / 0.50 caps it at 0.60). */
	fuse_score(&in, &r);
	cr_assert_float_eq(r.score, 0.6f, 1e-5f);
	cr_assert(!r.match);
	cr_assert(has_reason(&r, "title"));
	/* An identical title with the same brand is strong enough. */
	in.listing_brand = "Bosch";
	in.product_brand = "BOSCH";
	fuse_score(&in, &r);
	cr_assert(r.match, "score %g", (double)r.score);
	cr_assert(has_reason(&r, "brand"));
	/* A partial title with the brand is not. */
	in.listing_title = "Bosch Wasserkocher 1.7l schwarz";
	fuse_score(&in, &r);
	cr_assert(!r.match, "score %g", (double)r.score);
	/* A matching title cannot outvote images that disagree. */
	in = (fuse_input){ .listing_title = "Bosch kettle 1.7l", .product_title = "Bosch kettle 1.7l",
		.has_embedding = true, .embedding_cos = 0.1f, .has_histogram = true, .hist_intersection = 0.2f,
		.has_phash = true, .phash_distance = 30, .image_side = 800 };
	fuse_score(&in, &r);
	cr_assert(!r.match, "score %g", (double)r.score);
}

Test(fuse, image_only_strong_match_is_above)
{
	fuse_input in = strong_image();
	fuse_result r;
	char buf[256];

	fuse_score(&in, &r);
	cr_assert(r.match);
	cr_assert_float_eq(r.score, 1.0f, 1e-6f);
	/* Still a match when the titles differ, the case the issue asks for: titles sharing no word are no
	 * evidence against the image (the title only ever adds). */
	in.listing_title = "Edelstahl Wasserkocher schnurlos Angebot";
	in.product_title = "Bosch TWK4P kettle 1.7l";
	fuse_score(&in, &r);
	cr_assert(r.match, "score %g", (double)r.score);
	cr_assert_float_eq(r.score, 1.0f, 1e-6f);
	cr_assert(has_reason(&r, "embedding") && has_reason(&r, "histogram") && has_reason(&r, "phash") &&
	    has_reason(&r, "title"));
	cr_assert_eq(fuse_reasons_format(&r, buf, sizeof buf), strlen(buf));
	cr_assert_str_eq(buf, "embedding=0.93; histogram=0.91; phash=0.95; title=0.00");
	/* A weak image match with no other evidence is not. */
	in = (fuse_input){ .has_embedding = true, .embedding_cos = 0.6f, .has_histogram = true,
		.hist_intersection = 0.55f, .image_side = 600 };
	fuse_score(&in, &r);
	cr_assert(!r.match, "score %g", (double)r.score);
	/* A histogram alone, however close, is too little evidence. */
	in = (fuse_input){ .has_histogram = true, .hist_intersection = 1.0f };
	fuse_score(&in, &r);
	cr_assert(!r.match, "score %g", (double)r.score);
}

Test(fuse, title_never_lowers_the_image_evidence)
{
	fuse_input in = { .has_embedding = true, .embedding_cos = 0.80f, .has_histogram = true,
		.hist_intersection = 0.75f, .has_phash = true, .phash_distance = 10 };
	fuse_result none, differ, partial, same;

	fuse_score(&in, &none);
	in.listing_title = "Edelstahl Wasserkocher";
	in.product_title = "Bosch kettle";
	fuse_score(&in, &differ);
	in.listing_title = "Bosch Wasserkocher";
	fuse_score(&in, &partial);
	in.listing_title = "Bosch kettle";
	fuse_score(&in, &same);
	/* A title sharing no word leaves the image score as it is; shared words raise it. */
	cr_assert_float_eq(differ.score, none.score, 1e-6f);
	cr_assert_geq(partial.score, differ.score);
	cr_assert_gt(same.score, partial.score);
	cr_assert(has_reason(&differ, "title"));
	/* A brand disagreement still lowers it: brands are spelled consistently, titles are not. */
	in.listing_brand = "Siemens";
	in.product_brand = "Bosch";
	in.listing_title = "Edelstahl Wasserkocher";
	fuse_score(&in, &partial);
	cr_assert_lt(partial.score, none.score);
}

Test(fuse, cnn_trusted_at_every_size_unless_a_minimum_is_set)
{
	/* The CNN says "different"; histogram and pHash agree. */
	fuse_input in = { .has_embedding = true, .embedding_cos = 0.15f, .has_histogram = true,
		.hist_intersection = 0.92f, .has_phash = true, .phash_distance = 4 };
	fuse_result big, mid, tiny;

	/* By default the descriptor's working size makes thumbnails and originals comparable (the evaluation:
	 * the embedding is the best signal on 96-px thumbnails), so the embedding counts at every size. */
	in.image_side = 800;
	fuse_score(&in, &big);
	in.image_side = 96;
	fuse_score(&in, &tiny);
	cr_assert_float_eq(tiny.score, big.score, 1e-6f);
	cr_assert(!tiny.match, "score %g", (double)tiny.score);
	cr_assert(has_reason(&tiny, "embedding") && !has_reason(&tiny, "small-image"));
	/* [match] min-image-size = 128: ignored below 128 px, fully trusted from 256, linear between. */
	in.cnn_min_side = 128;
	in.image_side = 800;
	fuse_score(&in, &big);
	in.image_side = 192;
	fuse_score(&in, &mid);
	in.image_side = 96;
	fuse_score(&in, &tiny);
	cr_assert(!big.match, "score %g", (double)big.score);
	cr_assert(tiny.match, "score %g", (double)tiny.score);
	cr_assert_gt(mid.score, big.score);
	cr_assert_gt(tiny.score, mid.score);
	cr_assert(!has_reason(&tiny, "embedding"));
	cr_assert(has_reason(&tiny, "small-image"));
	cr_assert(has_reason(&mid, "embedding") && has_reason(&mid, "small-image"));
	cr_assert(!has_reason(&big, "small-image"));
	/* And the other way round: with the minimum set, a CNN "same" on a thumbnail carries nothing. */
	in = (fuse_input){ .has_embedding = true, .embedding_cos = 0.99f, .image_side = 100, .cnn_min_side = 128 };
	fuse_score(&in, &tiny);
	cr_assert_float_eq(tiny.score, 0.0f, 0.0f);
	cr_assert(!tiny.match);
}

Test(fuse, score_is_monotonic_in_each_signal)
{
	fuse_input in = strong_image();
	fuse_result a, b;

	in.embedding_cos = 0.6f;
	in.hist_intersection = 0.6f;
	in.phash_distance = 14;
	in.listing_title = "kettle red 1.7l";
	in.product_title = "kettle black 1.7l";
	fuse_score(&in, &a);
	in.embedding_cos = 0.8f;
	fuse_score(&in, &b);
	cr_assert_gt(b.score, a.score);
	in.hist_intersection = 0.8f;
	fuse_score(&in, &a);
	cr_assert_gt(a.score, b.score);
	in.phash_distance = 8;
	fuse_score(&in, &b);
	cr_assert_gt(b.score, a.score);
	in.product_title = "kettle red 1.7l";
	fuse_score(&in, &a);
	cr_assert_gt(a.score, b.score);
	cr_assert_leq(a.score, 1.0f);
	/* Nothing known: score 0, no reasons. */
	in = (fuse_input){ 0 };
	fuse_score(&in, &a);
	cr_assert_float_eq(a.score, 0.0f, 0.0f);
	cr_assert_eq(a.nreasons, 0);
	cr_assert(!a.match);
}

Test(fuse, reasons_format_truncates_cleanly)
{
	fuse_input in = strong_image();
	fuse_result r;
	char buf[20];
	size_t need;

	fuse_score(&in, &r);
	need = fuse_reasons_format(&r, buf, sizeof buf);
	cr_assert_eq(need, strlen("embedding=0.93; histogram=0.91; phash=0.95"));
	cr_assert_str_eq(buf, "embedding=0.93");
	need = fuse_reasons_format(&r, NULL, 0);
	cr_assert_gt(need, 0);
}

/* One default threshold: the configuration's default is FUSE_THRESHOLD, and the CNN is trusted at every size. */
Test(fuse, config_defaults_agree)
{
	struct config cfg;

	config_defaults(&cfg);
	cr_assert_not_null(cfg.match.threshold);
	cr_assert_float_eq(strtof(cfg.match.threshold, NULL), FUSE_THRESHOLD, 1e-6f, "%s", cfg.match.threshold);
	cr_assert_eq(cfg.match.min_image_px, 0);
	config_free(&cfg);
}

/* The worked examples in docs/matching.md, so the document and the weights cannot drift apart. */
Test(fuse, documented_examples)
{
	fuse_input in = { .listing_title = "Bosch TWK4P Wasserkocher 1.7l edelstahl",
		.product_title = "Bosch TWK4P Wasserkocher 1,7 L Edelstahl" };
	fuse_result r;

	fuse_score(&in, &r);
	cr_assert_float_eq(r.score, 0.60f, 0.005f);
	in.listing_brand = in.product_brand = "Bosch";
	fuse_score(&in, &r);
	cr_assert_float_eq(r.score, 0.80f, 0.005f);
	in.listing_title = "Bosch Wasserkocher 1.7l schwarz";
	fuse_score(&in, &r);
	cr_assert_float_eq(r.score, 0.50f, 0.005f);

	in = strong_image();
	fuse_score(&in, &r);
	cr_assert_float_eq(r.score, 1.0f, 0.005f);
	in.listing_title = "Edelstahl Wasserkocher";
	in.product_title = "Bosch kettle";
	fuse_score(&in, &r);
	cr_assert_float_eq(r.score, 1.0f, 0.005f);

	in = (fuse_input){ .listing_title = "Bosch kettle 1.7l", .product_title = "Bosch kettle 1.7l",
		.has_embedding = true, .embedding_cos = 0.1f, .has_histogram = true, .hist_intersection = 0.2f,
		.has_phash = true, .phash_distance = 30, .image_side = 800 };
	fuse_score(&in, &r);
	cr_assert_float_eq(r.score, 0.26f, 0.005f);

	in = (fuse_input){ .has_embedding = true, .embedding_cos = 0.15f, .has_histogram = true,
		.hist_intersection = 0.92f, .has_phash = true, .phash_distance = 4, .image_side = 96 };
	fuse_score(&in, &r);
	cr_assert_float_eq(r.score, 0.47f, 0.005f);
	in.cnn_min_side = 128;
	in.image_side = 800;
	fuse_score(&in, &r);
	cr_assert_float_eq(r.score, 0.47f, 0.005f);
	in.image_side = 192;
	fuse_score(&in, &r);
	cr_assert_float_eq(r.score, 0.64f, 0.005f);
	in.image_side = 96;
	fuse_score(&in, &r);
	cr_assert_float_eq(r.score, 0.80f, 0.005f);

	/* A GTIN disagreement caps everything at 0.50. */
	in = strong_image();
	in.listing_gtin = "96385074";
	in.product_gtin = "4006381333931";
	fuse_score(&in, &r);
	cr_assert_float_eq(r.score, 0.50f, 0.005f);
	cr_assert(!r.match);
}

Test(fuse, tokens_unit_after_repeated_number)
{
	fuse_tokens t;

	/* The second "25" is a repeat, but "25 kg" still becomes one token. */
	fuse_tokenize("25 x 25 kg sack", &t);
	cr_assert_eq(t.n, 4, "%zu tokens", t.n);
	cr_assert_str_eq(t.tok[0], "25");
	cr_assert_str_eq(t.tok[1], "x");
	cr_assert_str_eq(t.tok[2], "25kg");
	cr_assert_str_eq(t.tok[3], "sack");
	/* A number last in the title is kept; one before a non-unit word too. */
	fuse_tokenize("Pack 12 blue 330", &t);
	cr_assert_eq(t.n, 4);
	cr_assert_str_eq(t.tok[1], "12");
	cr_assert_str_eq(t.tok[3], "330");
}
