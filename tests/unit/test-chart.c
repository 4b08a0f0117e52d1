/* test-chart.c: the chart module: axis steps, and charts drawn from change points read back as PNG pixels and SVG XML. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chart/chart.h"
#include "common/util.h"
#include "unit/chart-check.h"

#define T0 1764000000000LL     /* 2025-11-24T16:00:00Z */
#define DAY (24 * 3600000LL)

static char dir[] = "/tmp/pw-chart-XXXXXX";
static char png_path[128], svg_path[128];

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	snprintf(png_path, sizeof(png_path), "%s/c.png", dir);
	snprintf(svg_path, sizeof(svg_path), "%s/c.svg", dir);
}

static void
teardown(void)
{
	chart_release();
	unlink(png_path);
	unlink(svg_path);
	rmdir(dir);
}

TestSuite(chart, .init = setup, .fini = teardown);

static struct history_point
pt(int64_t t, int64_t minor, const char *cur, enum availability a)
{
	struct history_point p = { .time_ms = t, .price = { .minor = minor }, .availability = a };

	pw_strlcpy(p.price.currency, cur, sizeof(p.price.currency));
	return p;
}

/* 10.00 EUR, 9.00 from day 10, out of stock days 20-25, 9.50 from day 25; axis to day 30. */
static const struct history_point *
kettle(size_t *n)
{
	static struct history_point p[4];

	p[0] = pt(T0, 1000, "EUR", AVAIL_IN_STOCK);
	p[1] = pt(T0 + 10 * DAY, 900, "EUR", AVAIL_IN_STOCK);
	p[2] = pt(T0 + 20 * DAY, 900, "EUR", AVAIL_OUT_OF_STOCK);
	p[3] = pt(T0 + 25 * DAY, 950, "EUR", AVAIL_IN_STOCK);
	*n = 4;
	return p;
}

Test(chart, price_steps_are_1_2_5_in_minor_units)
{
	cr_expect_eq(chart_price_step(0, 6), 1);
	cr_expect_eq(chart_price_step(3, 6), 1);
	cr_expect_eq(chart_price_step(7, 6), 2);
	cr_expect_eq(chart_price_step(249, 6), 50);
	cr_expect_eq(chart_price_step(1000, 6), 200);
	cr_expect_eq(chart_price_step(120000, 6), 50000);
}

Test(chart, time_steps_follow_the_ladder)
{
	cr_expect_eq(chart_time_step(20000, 8), 5000);
	cr_expect_eq(chart_time_step(6 * 3600000LL, 8), 3600000LL);
	cr_expect_eq(chart_time_step(30 * DAY, 9), 7 * DAY);
	cr_expect_eq(chart_time_step(90 * DAY, 10), 14 * DAY);
	/* A year: calendar months (28-day units stand for months). */
	cr_expect_eq(chart_time_step(365 * DAY, 10), 2 * 28 * DAY);
}

Test(chart, png_has_the_step_line_and_the_out_of_stock_shading)
{
	struct chart_opts o = { .format = CHART_PNG, .title = "Kettle 1.7 l", .until_ms = T0 + 30 * DAY };
	struct chart_series s = { .label = "demo:sku:K1" };
	struct chart_geom g;
	struct chart_png img;
	uint32_t blue = chart_palette[0], shade = chart_over_white(0xD55E00, CHART_SHADE_ALPHA), c;
	char err[256];
	double ymid;

	s.pts = kettle(&s.n);
	cr_assert(chart_render(png_path, &o, &s, 1, &g, err, sizeof(err)), "%s", err);
	cr_expect_str_eq(g.currency, "EUR");
	cr_expect_eq(g.skipped, 0);
	cr_expect(g.lo_minor <= 900 && g.hi_minor >= 1000, "axis %lld..%lld", (long long)g.lo_minor,
	    (long long)g.hi_minor);
	cr_expect_eq(g.t0_ms, T0);
	cr_assert(chart_png_load(png_path, &img));
	cr_expect_eq(img.width, 960);
	cr_expect_eq(img.height, 540);
	/* The line at 10.00 over days 0-10, at 9.00 over days 10-20, at 9.50 after day 25. */
	c = chart_png_at(&img, chart_x(&g, T0 + 5 * DAY), chart_y(&g, 1000));
	cr_expect(chart_colour_near(c, blue, 8), "pixel %06x, want %06x", c, blue);
	c = chart_png_at(&img, chart_x(&g, T0 + 15 * DAY), chart_y(&g, 900));
	cr_expect(chart_colour_near(c, blue, 8), "pixel %06x, want %06x", c, blue);
	c = chart_png_at(&img, chart_x(&g, T0 + 28 * DAY), chart_y(&g, 950));
	cr_expect(chart_colour_near(c, blue, 8), "pixel %06x, want %06x", c, blue);
	/* No line at 10.00 after the drop. */
	c = chart_png_at(&img, chart_x(&g, T0 + 15 * DAY), chart_y(&g, 1000));
	cr_expect(!chart_colour_near(c, blue, 60), "pixel %06x", c);
	/* Shaded between day 20 and 25, away from the line; not shaded on day 5. */
	ymid = (chart_y(&g, 900) + g.plot_y1) / 2 + 3;
	c = chart_png_at(&img, chart_x(&g, T0 + 22 * DAY), ymid);
	cr_expect(chart_colour_near(c, shade, 4), "pixel %06x, want shading %06x", c, shade);
	c = chart_png_at(&img, chart_x(&g, T0 + 5 * DAY) + 3, ymid);
	cr_expect(!chart_colour_near(c, shade, 4), "pixel %06x is shaded", c);
	/* Title and labels drew dark text above the plot and left of it. */
	cr_expect_gt(chart_png_count(&img, 0, 0, (int)img.width, (int)g.plot_y0 - 20, 0x222222, 40), 20);
	cr_expect_gt(chart_png_count(&img, 0, (int)g.plot_y0, (int)g.plot_x0 - 4, (int)g.plot_y1, 0x444444, 40), 20);
	chart_png_free(&img);
}

Test(chart, overlaid_listings_each_get_their_colour)
{
	struct history_point b[2] = {
		pt(T0 + 2 * DAY, 1200, "EUR", AVAIL_IN_STOCK),
		pt(T0 + 12 * DAY, 1100, "EUR", AVAIL_IN_STOCK),
	};
	struct chart_series s[2] = { { .label = "shopa:sku:K1" }, { .label = "shopb:sku:K1", .pts = b, .n = 2 } };
	struct chart_opts o = { .format = CHART_PNG, .width = 800, .height = 400, .until_ms = T0 + 30 * DAY };
	struct chart_geom g;
	struct chart_png img;
	char err[256];
	uint32_t c;

	s[0].pts = kettle(&s[0].n);
	cr_assert(chart_render(png_path, &o, s, 2, &g, err, sizeof(err)), "%s", err);
	cr_assert(chart_png_load(png_path, &img));
	cr_expect_eq(img.width, 800);
	cr_expect_eq(img.height, 400);
	c = chart_png_at(&img, chart_x(&g, T0 + 20 * DAY), chart_y(&g, 1100));
	cr_expect(chart_colour_near(c, chart_palette[1], 8), "pixel %06x, want %06x", c, chart_palette[1]);
	c = chart_png_at(&img, chart_x(&g, T0 + 5 * DAY), chart_y(&g, 1000));
	cr_expect(chart_colour_near(c, chart_palette[0], 8), "pixel %06x, want %06x", c, chart_palette[0]);
	/* Before its first change the second listing has no line. */
	c = chart_png_at(&img, chart_x(&g, T0 + DAY), chart_y(&g, 1200));
	cr_expect(!chart_colour_near(c, chart_palette[1], 60), "pixel %06x", c);
	/* Legend swatches above the plot in both colours. */
	cr_expect_gt(chart_png_count(&img, 0, 0, (int)img.width, (int)g.plot_y0, chart_palette[0], 8), 10);
	cr_expect_gt(chart_png_count(&img, 0, 0, (int)img.width, (int)g.plot_y0, chart_palette[1], 8), 10);
	chart_png_free(&img);
}

Test(chart, since_keeps_the_price_in_force)
{
	struct chart_opts o = { .format = CHART_PNG, .since_ms = T0 + 12 * DAY, .until_ms = T0 + 30 * DAY };
	struct chart_series s = { .label = "k" };
	struct chart_geom g;
	struct chart_png img;
	char err[256];
	uint32_t c;

	s.pts = kettle(&s.n);
	cr_assert(chart_render(png_path, &o, &s, 1, &g, err, sizeof(err)), "%s", err);
	cr_expect_eq(g.t0_ms, T0 + 12 * DAY);
	/* 10.00 ended before the axis starts: the range is 9.00-9.50 only. */
	cr_expect_lt(g.hi_minor, 1000);
	cr_assert(chart_png_load(png_path, &img));
	c = chart_png_at(&img, g.plot_x0 + 4, chart_y(&g, 900));
	cr_expect(chart_colour_near(c, chart_palette[0], 8), "pixel %06x", c);
	chart_png_free(&img);
}

Test(chart, svg_is_well_formed_xml_drawn_by_cairo)
{
	struct chart_opts o = { .format = CHART_SVG, .title = "Kettle", .until_ms = T0 + 30 * DAY };
	struct chart_series s = { .label = "demo:sku:K1" };
	char err[256];

	s.pts = kettle(&s.n);
	cr_assert(chart_render(svg_path, &o, &s, 1, NULL, err, sizeof(err)), "%s", err);
	cr_expect(chart_svg_check(svg_path, "960", 10));
}

Test(chart, png_in_memory_for_email)
{
	struct chart_opts o = { .format = CHART_PNG, .width = 600, .height = 300, .until_ms = T0 + 30 * DAY };
	struct chart_series s = { .label = "k" };
	struct chart_geom g;
	struct chart_png img;
	unsigned char *png;
	size_t len;
	char err[256];
	uint32_t c;

	s.pts = kettle(&s.n);
	cr_assert(chart_render_mem(&o, &s, 1, &g, &png, &len, err, sizeof(err)), "%s", err);
	cr_assert_gt(len, 1000);
	cr_expect(memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
	cr_assert(chart_png_load_mem(png, len, &img));
	cr_expect_eq(img.width, 600);
	cr_expect_eq(img.height, 300);
	c = chart_png_at(&img, chart_x(&g, T0 + 5 * DAY), chart_y(&g, 1000));
	cr_expect(chart_colour_near(c, chart_palette[0], 8), "pixel %06x", c);
	chart_png_free(&img);
	free(png);
	s.n = 0;
	cr_expect_not(chart_render_mem(&o, &s, 1, NULL, &png, &len, err, sizeof(err)));
	cr_expect_null(png);
}

Test(chart, other_currencies_are_counted_not_drawn)
{
	struct history_point p[3] = {
		pt(T0, 1000, "EUR", AVAIL_IN_STOCK),
		pt(T0 + DAY, 1100, "USD", AVAIL_IN_STOCK),
		pt(T0 + 2 * DAY, 0, "", AVAIL_OUT_OF_STOCK),
	};
	struct chart_series s = { .label = "x", .pts = p, .n = 3 };
	struct chart_opts o = { .format = CHART_PNG, .until_ms = T0 + 3 * DAY };
	struct chart_geom g;
	char err[256];

	/* The axis takes the latest priced point's currency: USD. */
	cr_assert(chart_render(png_path, &o, &s, 1, &g, err, sizeof(err)), "%s", err);
	cr_expect_str_eq(g.currency, "USD");
	cr_expect_eq(g.skipped, 1);
}

Test(chart, refusals_say_why)
{
	struct history_point nop[1] = { pt(T0, 0, "", AVAIL_OUT_OF_STOCK) };
	struct chart_series s = { .label = "x", .pts = nop, .n = 1 };
	struct chart_opts o = { .format = CHART_PNG, .until_ms = T0 + DAY };
	char err[256];
	size_t n;

	cr_expect_not(chart_render(png_path, &o, &s, 1, NULL, err, sizeof(err)));
	cr_expect(strstr(err, "no price") != NULL, "%s", err);
	cr_expect(access(png_path, F_OK) != 0, "nothing is written");
	s.pts = kettle(&n);
	s.n = n;
	o.until_ms = T0 + 30 * DAY;
	cr_expect_not(chart_render("/nonexistent-dir/c.png", &o, &s, 1, NULL, err, sizeof(err)));
	cr_expect(strstr(err, "/nonexistent-dir/c.png") != NULL, "%s", err);
	/* A device that refuses the bytes: the error says so, and the device is left alone. */
	cr_expect_not(chart_render("/dev/full", &o, &s, 1, NULL, err, sizeof(err)));
	cr_expect(strstr(err, "/dev/full: cannot write the chart: No space left on device") != NULL, "%s", err);
	cr_expect_eq(access("/dev/full", F_OK), 0);
	o.width = 50;
	cr_expect_not(chart_render(png_path, &o, &s, 1, NULL, err, sizeof(err)));
	cr_expect(strstr(err, "50x") != NULL, "%s", err);
}
