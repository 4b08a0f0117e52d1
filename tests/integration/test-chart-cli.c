/* test-chart-cli.c: "pricewatch chart" against a real redis-server: files written from stored histories, decoded and looked at. */
#include "config.h"

#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chart/chart.h"
#include "cli/cli.h"
#include "common/util.h"
#include "harness/cli-run.h"
#include "harness/redis.h"
#include "store/store.h"
#include "unit/chart-check.h"

#define DAY (24 * 3600000LL)
#define K1 "shopa:sku:K1"
#define K2 "shopb:sku:K-17"
#define K3 "shopc:sku:OTHER"

static struct test_redis redis;
static struct store *st;
static char conf[400], png[400], svg[400];
static int64_t t0;

static void
record(const char *source, const char *id, const char *title, int64_t minor, enum availability a, int64_t when)
{
	struct observation obs = {
		.source = source, .listing_id = id, .url = "https://shop.example/k", .title = title,
		.extractor = "jsonld", .price = { .minor = minor, .currency = "EUR" }, .availability = a,
		.observed_ms = when,
	};
	bool changed;

	cr_assert_eq(store_record(st, &obs, &changed), STORE_OK, "%s", store_error(st));
}

/* What the matcher writes: the listing's hash gets match_sku, the product its hash. */
static void
redis_cmd(const char *fmt, const char *a, const char *b)
{
	redisContext *c = redisConnectUnix(redis.socket_path);
	redisReply *r;

	cr_assert(c != NULL && c->err == 0);
	r = redisCommand(c, fmt, a, b);
	cr_assert(r != NULL && r->type != REDIS_REPLY_ERROR);
	freeReplyObject(r);
	redisFree(c);
}

static void
setup(void)
{
	struct store_opts so = { .connect_timeout_ms = 2000, .command_timeout_ms = 2000 };
	char err[512];
	FILE *f;

	test_redis_start(&redis);
	so.url = redis.url;
	cr_assert_eq(store_open(&st, &so, err, sizeof err), STORE_OK, "%s", err);
	cr_assert(pw_snprintf(conf, sizeof conf, "%s/pricewatch.conf", redis.dir));
	cr_assert(pw_snprintf(png, sizeof png, "%s/k.png", redis.dir));
	cr_assert(pw_snprintf(svg, sizeof svg, "%s/k.svg", redis.dir));
	f = fopen(conf, "w");
	cr_assert_not_null(f);
	fputs("[crawl]\n", f);
	cr_assert_eq(fclose(f), 0);
	unsetenv(CLI_ENV_REDIS);

	/* Times back from now: the chart's axis ends now. */
	t0 = time_now_ms() - 30 * DAY;
	record("shopa", K1, "Kettle 1.7 l", 2490, AVAIL_IN_STOCK, t0);
	record("shopa", K1, "Kettle 1.7 l", 2290, AVAIL_IN_STOCK, t0 + 10 * DAY);
	record("shopa", K1, "Kettle 1.7 l", 2290, AVAIL_OUT_OF_STOCK, t0 + 20 * DAY);
	record("shopa", K1, "Kettle 1.7 l", 2390, AVAIL_IN_STOCK, t0 + 25 * DAY);
	record("shopb", K2, "Wasserkocher 1,7 l", 2550, AVAIL_IN_STOCK, t0 + 2 * DAY);
	record("shopb", K2, "Wasserkocher 1,7 l", 2450, AVAIL_IN_STOCK, t0 + 15 * DAY);
	record("shopc", K3, "Teapot", 1999, AVAIL_IN_STOCK, t0);
	redis_cmd("HSET pw:listing:%s match_sku %s", K1, "HT-KET-17");
	redis_cmd("HSET pw:listing:%s match_sku %s", K2, "HT-KET-17");
	redis_cmd("HSET pw:product:%s title %s", "HT-KET-17", "Our kettle");
}

static void
teardown(void)
{
	store_close(st);
	unlink(png);
	unlink(svg);
	test_redis_stop(&redis);
}

TestSuite(chart_cli, .init = setup, .fini = teardown);

/* Runs "pricewatch -c conf --redis URL chart ARGS..." in this process. */
static int
pw_chart(char **out, char **err, const char *const *args)
{
	const char *argv[16] = { "pricewatch", "-c", conf, "--redis", redis.url, "chart" };
	int argc = 6;

	while (*args != NULL && argc < 15)
		argv[argc++] = *args++;
	argv[argc] = NULL;
	return test_cli_run(argc, argv, out, err, NULL);
}

Test(chart_cli, one_listing_to_png)
{
	const char *args[] = { K1, "-o", png, NULL };
	struct chart_png img;
	char *out, *err;
	size_t blue = 0, shade;

	cr_assert_eq(pw_chart(&out, &err, args), 0, "%s", err);
	cr_expect(strstr(out, "wrote ") != NULL && strstr(out, "1 listing, 4 change points, prices in EUR"),
	    "%s", out);
	free(out);
	free(err);
	cr_assert(chart_png_load(png, &img));
	cr_expect_eq(img.width, 960);
	cr_expect_eq(img.height, 540);
	blue = chart_png_count(&img, 0, 0, (int)img.width, (int)img.height, chart_palette[0], 8);
	shade = chart_png_count(&img, 0, 0, (int)img.width, (int)img.height,
	    chart_over_white(0xD55E00, CHART_SHADE_ALPHA), 4);
	/* A line across the plot, and a shaded span of 5 of the 30 days (a sixth of the width, full height). */
	cr_expect_gt(blue, 1500);
	cr_expect_gt(shade, 100 * 250);
	chart_png_free(&img);
}

Test(chart_cli, product_overlays_its_listings_in_svg_and_png)
{
	const char *args_svg[] = { "--product", "HT-KET-17", "-o", svg, "--since", "40d", NULL };
	const char *args_png[] = { "--product", "HT-KET-17", "-o", png, "--size", "800x400", "--json", NULL };
	struct json_object *doc, *v;
	struct chart_png img;
	char *out, *err;

	cr_assert_eq(pw_chart(&out, &err, args_svg), 0, "%s", err);
	cr_expect(strstr(out, "2 listings") != NULL, "%s", out);
	free(out);
	free(err);
	cr_expect(chart_svg_check(svg, "960", 10));

	cr_assert_eq(pw_chart(&out, &err, args_png), 0, "%s", err);
	doc = json_tokener_parse(out);
	cr_assert_not_null(doc, "%s", out);
	cr_assert(json_object_object_get_ex(doc, "listings", &v));
	cr_expect_eq(json_object_array_length(v), 2);
	cr_expect_str_eq(json_object_get_string(json_object_array_get_idx(v, 0)), K1);
	cr_expect_str_eq(json_object_get_string(json_object_array_get_idx(v, 1)), K2);
	cr_assert(json_object_object_get_ex(doc, "change_points", &v));
	cr_expect_eq(json_object_get_int64(v), 6);
	json_object_put(doc);
	free(out);
	free(err);
	cr_assert(chart_png_load(png, &img));
	cr_expect_eq(img.width, 800);
	cr_expect_eq(img.height, 400);
	cr_expect_gt(chart_png_count(&img, 0, 0, 800, 400, chart_palette[0], 8), 500);
	cr_expect_gt(chart_png_count(&img, 0, 0, 800, 400, chart_palette[1], 8), 500);
	chart_png_free(&img);
}

/* "-o -": the PNG itself on standard output, nothing else. */
Test(chart_cli, png_on_standard_output)
{
	const char *argv[] = { "pricewatch", "-c", conf, "--redis", redis.url, "chart", K1, "-o", "-", "--size",
		"400x300", NULL };
	struct chart_png img;
	char *out, *err;
	size_t len;

	cr_assert_eq(test_cli_run(11, argv, &out, &err, &len), 0, "%s", err);
	cr_assert(chart_png_load_mem((const unsigned char *)out, len, &img));
	cr_expect_eq(img.width, 400);
	cr_expect_eq(img.height, 300);
	cr_expect_gt(chart_png_count(&img, 0, 0, 400, 300, chart_palette[0], 8), 300);
	chart_png_free(&img);
	free(out);
	free(err);
}

/* Runs chart with args, expects exit status rc and (when not NULL) want in what it printed on stderr. */
static void
expect_refusal(const char *const *args, int rc, const char *want)
{
	char *out, *err;

	cr_expect_eq(pw_chart(&out, &err, args), rc, "%s: %s", args[0], err);
	if (want != NULL)
		cr_expect(strstr(err, want) != NULL, "%s", err);
	free(out);
	free(err);
}

Test(chart_cli, refusals_and_exit_codes)
{
	const char *unknown[] = { "nope:sku:X", "-o", png, NULL };
	const char *no_product[] = { "--product", "NOPE", "-o", png, NULL };
	const char *bad_ext[] = { K1, "-o", "/tmp/k.gif", NULL };
	const char *no_out[] = { K1, NULL };
	const char *bad_dir[] = { K1, "-o", "/nonexistent-dir/k.png", NULL };
	const char *future[] = { K1, "-o", png, "--since", "2999-01-01", NULL };
	const char *bad_size[] = { K1, "-o", png, "--size", "10x10", NULL };

	expect_refusal(unknown, 1, "no listing 'nope:sku:X'");
	expect_refusal(no_product, 1, "no listing is matched to product 'NOPE'");
	expect_refusal(bad_ext, 2, ".png or .svg");
	expect_refusal(no_out, 2, "missing -o FILE");
	expect_refusal(bad_dir, 4, "/nonexistent-dir/k.png");
	expect_refusal(future, 2, "--since is not before --until");
	expect_refusal(bad_size, 2, "200 to 8000 a side");
	cr_expect(access(png, F_OK) != 0, "no chart written by a refusal");
}
