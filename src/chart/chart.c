/* chart.c: renders price histories with cairo: step lines of change points, out-of-stock shading, exact price labels, legend. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cairo.h>
#include <cairo-svg.h>
#include <fontconfig/fontconfig.h>

#include "chart/chart.h"
#include "common/money.h"
#include "common/util.h"

#define DEFAULT_WIDTH 960
#define DEFAULT_HEIGHT 540
#define FONT "DejaVu Sans"

#define SECOND_MS 1000LL
#define MINUTE_MS (60 * SECOND_MS)
#define HOUR_MS (60 * MINUTE_MS)
#define DAY_MS (24 * HOUR_MS)

/* Colour-blind-friendly (Okabe-Ito based), dark enough on white. */
const uint32_t chart_palette[] = {
	0x0072B2, 0xD55E00, 0x009E73, 0xCC79A7, 0xE69F00, 0x56B4E9, 0x7F7F7F, 0x000000,
};
const size_t chart_palette_n = sizeof(chart_palette) / sizeof(chart_palette[0]);

static void
set_rgb(cairo_t *cr, uint32_t rgb, double alpha)
{
	cairo_set_source_rgba(cr, ((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0,
	    (rgb & 0xff) / 255.0, alpha);
}

/* Floor and ceiling of a / b for b > 0, right for negative a too. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && a < 0) ? q - 1 : q;
}

static int64_t
ceil_div(int64_t a, int64_t b)
{
	return -floor_div(-a, b);
}

int64_t
chart_price_step(int64_t span, int max_ticks)
{
	static const int64_t mult[] = { 1, 2, 5 };
	int64_t pow10 = 1;

	if (max_ticks < 1)
		max_ticks = 1;
	if (span <= 0)
		return 1;
	for (;;) {
		for (size_t i = 0; i < 3; i++) {
			int64_t step = mult[i] * pow10;

			if (span / step + 1 <= max_ticks)
				return step;
		}
		if (pow10 > INT64_MAX / 100)
			return pow10 * 10;
		pow10 *= 10;
	}
}

/* Time steps below a month are fixed lengths; from 28 days on they stand for calendar months. */
static const int64_t time_ladder[] = {
	SECOND_MS, 2 * SECOND_MS, 5 * SECOND_MS, 10 * SECOND_MS, 15 * SECOND_MS, 30 * SECOND_MS,
	MINUTE_MS, 2 * MINUTE_MS, 5 * MINUTE_MS, 10 * MINUTE_MS, 15 * MINUTE_MS, 30 * MINUTE_MS,
	HOUR_MS, 3 * HOUR_MS, 6 * HOUR_MS, 12 * HOUR_MS,
	DAY_MS, 2 * DAY_MS, 7 * DAY_MS, 14 * DAY_MS,
	28 * DAY_MS, 2 * 28 * DAY_MS, 3 * 28 * DAY_MS, 6 * 28 * DAY_MS, 12 * 28 * DAY_MS,
};

int64_t
chart_time_step(int64_t span_ms, int max_ticks)
{
	size_t n = sizeof(time_ladder) / sizeof(time_ladder[0]);

	if (max_ticks < 1)
		max_ticks = 1;
	for (size_t i = 0; i < n; i++) {
		/* Month steps are counted with their real average length. */
		int64_t len = time_ladder[i] >= 28 * DAY_MS ? time_ladder[i] / 28 * 30 : time_ladder[i];

		if (span_ms / len + 1 <= max_ticks)
			return time_ladder[i];
	}
	/* Beyond the ladder: whole years. */
	return (span_ms / ((int64_t)max_ticks * 365 * DAY_MS) + 1) * 12 * 28 * DAY_MS;
}

double
chart_x(const struct chart_geom *g, int64_t t_ms)
{
	double span = (double)(g->t1_ms - g->t0_ms);

	return g->plot_x0 + (g->plot_x1 - g->plot_x0) * ((double)(t_ms - g->t0_ms) / (span > 0 ? span : 1));
}

double
chart_y(const struct chart_geom *g, int64_t minor)
{
	double span = (double)(g->hi_minor - g->lo_minor);

	return g->plot_y1 - (g->plot_y1 - g->plot_y0) * ((double)(minor - g->lo_minor) / (span > 0 ? span : 1));
}

static bool
is_priced(const struct history_point *p, const char *currency)
{
	return p->price.currency[0] != '\0' && strcmp(p->price.currency, currency) == 0;
}

static bool
is_out_of_stock(enum availability a)
{
	return a == AVAIL_OUT_OF_STOCK || a == AVAIL_DISCONTINUED;
}

/* Index of the first point that matters for [t0, ...): the last one at or before t0, else 0. */
static size_t
first_visible(const struct chart_series *s, int64_t t0)
{
	size_t first = 0;

	for (size_t i = 0; i < s->n; i++)
		if (s->pts[i].time_ms <= t0)
			first = i;
	return first;
}

/* The axis currency: the first series' latest priced point, else any series'. */
static bool
pick_currency(const struct chart_series *series, size_t n, char cur[4])
{
	for (size_t k = 0; k < n; k++)
		for (size_t i = series[k].n; i-- > 0;)
			if (series[k].pts[i].price.currency[0] != '\0') {
				memcpy(cur, series[k].pts[i].price.currency, 4);
				return true;
			}
	return false;
}

/* Time range, price range and skipped count; false when no priced point falls in the range. */
static bool
data_ranges(const struct chart_opts *o, const struct chart_series *series, size_t n, struct chart_geom *g)
{
	int64_t lo = INT64_MAX, hi = INT64_MIN, first = INT64_MAX;

	for (size_t k = 0; k < n; k++)
		if (series[k].n > 0 && series[k].pts[0].time_ms < first)
			first = series[k].pts[0].time_ms;
	g->t0_ms = o->since_ms > 0 ? o->since_ms : first;
	g->t1_ms = o->until_ms;
	if (g->t1_ms <= g->t0_ms)
		g->t1_ms = g->t0_ms + HOUR_MS;
	for (size_t k = 0; k < n; k++) {
		const struct chart_series *s = &series[k];

		for (size_t i = first_visible(s, g->t0_ms); i < s->n && s->pts[i].time_ms <= g->t1_ms; i++) {
			const struct history_point *p = &s->pts[i];

			if (p->price.currency[0] == '\0')
				continue;
			if (!is_priced(p, g->currency)) {
				g->skipped++;
				continue;
			}
			if (p->price.minor < lo)
				lo = p->price.minor;
			if (p->price.minor > hi)
				hi = p->price.minor;
		}
	}
	if (lo > hi)
		return false;
	g->lo_minor = lo;
	g->hi_minor = hi;
	return true;
}

/* Pads the price range a little and snaps it to whole steps; returns the step. */
static int64_t
nice_price_axis(struct chart_geom *g)
{
	int64_t lo = g->lo_minor, hi = g->hi_minor, pad, step;

	pad = (hi - lo) / 8;
	if (pad == 0)
		pad = (hi > 0 ? hi : -hi) / 20;
	if (pad == 0)
		pad = 1;
	/* A price axis starts at zero at the lowest: never invent negative prices. */
	lo = (lo >= 0 && lo - pad < 0) ? 0 : lo - pad;
	hi += pad;
	step = chart_price_step(hi - lo, 6);
	g->lo_minor = floor_div(lo, step) * step;
	g->hi_minor = ceil_div(hi, step) * step;
	if (g->hi_minor == g->lo_minor)
		g->hi_minor += step;
	return step;
}

static void
text_at(cairo_t *cr, double x, double y, double align, const char *text)
{
	cairo_text_extents_t te;

	cairo_text_extents(cr, text, &te);
	cairo_move_to(cr, x - align * te.x_advance, y);
	cairo_show_text(cr, text);
}

static double
text_width(cairo_t *cr, const char *text)
{
	cairo_text_extents_t te;

	cairo_text_extents(cr, text, &te);
	return te.x_advance;
}

static void
price_label(const struct chart_geom *g, int64_t minor, char *buf, size_t len)
{
	struct money m = { .minor = minor };

	memcpy(m.currency, g->currency, sizeof(m.currency));
	if (!money_format_decimal(&m, buf, len))
		pw_snprintf(buf, len, "%" PRId64, minor);
}

static const char *const month_names[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* First tick at or after t0 for step, aligned to UTC midnights, Mondays or the first of a month. */
static int64_t
first_tick(int64_t t0, int64_t step)
{
	if (step >= 28 * DAY_MS) {
		time_t secs = (time_t)(floor_div(t0, SECOND_MS));
		int months = (int)(step / (28 * DAY_MS));
		struct tm tm;

		gmtime_r(&secs, &tm);
		tm.tm_mday = 1;
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		tm.tm_mon = tm.tm_mon / months * months;
		for (;;) {
			int64_t t = (int64_t)timegm(&tm) * SECOND_MS;

			if (t >= t0)
				return t;
			tm.tm_mon += months;
		}
	}
	if (step == 7 * DAY_MS || step == 14 * DAY_MS)
		/* The epoch was a Thursday: Mondays are 4 days after multiples of a week. */
		return ceil_div(t0 - 4 * DAY_MS, step) * step + 4 * DAY_MS;
	return ceil_div(t0, step) * step;
}

static int64_t
next_tick(int64_t t, int64_t step)
{
	if (step >= 28 * DAY_MS) {
		time_t secs = (time_t)(t / SECOND_MS);
		struct tm tm;

		gmtime_r(&secs, &tm);
		tm.tm_mon += (int)(step / (28 * DAY_MS));
		return (int64_t)timegm(&tm) * SECOND_MS;
	}
	return t + step;
}

/* Tick label: time of day (with seconds under a minute) under a day, else the date; a second line with the date or year when it changes. */
static void
time_label(int64_t t, int64_t step, int *last_key, char *top, size_t toplen, char *bottom, size_t botlen)
{
	time_t secs = (time_t)floor_div(t, SECOND_MS);
	struct tm tm;
	int key;

	gmtime_r(&secs, &tm);
	bottom[0] = '\0';
	if (step < DAY_MS) {
		if (step < MINUTE_MS)
			pw_snprintf(top, toplen, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
		else
			pw_snprintf(top, toplen, "%02d:%02d", tm.tm_hour, tm.tm_min);
		key = tm.tm_year * 400 + tm.tm_yday;
		if (key != *last_key)
			pw_snprintf(bottom, botlen, "%s %d", month_names[tm.tm_mon], tm.tm_mday);
	} else {
		if (step < 28 * DAY_MS)
			pw_snprintf(top, toplen, "%s %d", month_names[tm.tm_mon], tm.tm_mday);
		else
			pw_snprintf(top, toplen, "%s", month_names[tm.tm_mon]);
		key = tm.tm_year;
		if (key != *last_key)
			pw_snprintf(bottom, botlen, "%d", tm.tm_year + 1900);
	}
	*last_key = key;
}

/* Grid, axes and tick labels. */
static void
draw_axes(cairo_t *cr, const struct chart_geom *g, int64_t price_step)
{
	char label[64], bottom[32];
	int last_key = -1;
	int64_t tstep = chart_time_step(g->t1_ms - g->t0_ms, (int)((g->plot_x1 - g->plot_x0) / 90));

	cairo_set_line_width(cr, 1);
	cairo_set_font_size(cr, 12);
	for (int64_t v = g->lo_minor; v <= g->hi_minor; v += price_step) {
		double y = floor(chart_y(g, v)) + 0.5;

		set_rgb(cr, 0xE6E6E6, 1);
		cairo_move_to(cr, g->plot_x0, y);
		cairo_line_to(cr, g->plot_x1, y);
		cairo_stroke(cr);
		price_label(g, v, label, sizeof(label));
		set_rgb(cr, 0x444444, 1);
		text_at(cr, g->plot_x0 - 8, y + 4, 1.0, label);
	}
	for (int64_t t = first_tick(g->t0_ms, tstep); t <= g->t1_ms; t = next_tick(t, tstep)) {
		double x = floor(chart_x(g, t)) + 0.5;

		set_rgb(cr, 0xF0F0F0, 1);
		cairo_move_to(cr, x, g->plot_y0);
		cairo_line_to(cr, x, g->plot_y1);
		cairo_stroke(cr);
		set_rgb(cr, 0x444444, 1);
		cairo_move_to(cr, x, g->plot_y1);
		cairo_line_to(cr, x, g->plot_y1 + 5);
		cairo_stroke(cr);
		time_label(t, tstep, &last_key, label, sizeof(label), bottom, sizeof(bottom));
		text_at(cr, x, g->plot_y1 + 19, 0.5, label);
		if (bottom[0] != '\0') {
			set_rgb(cr, 0x777777, 1);
			text_at(cr, x, g->plot_y1 + 34, 0.5, bottom);
		}
	}
	set_rgb(cr, 0x444444, 1);
	cairo_move_to(cr, g->plot_x0 + 0.5, g->plot_y0);
	cairo_line_to(cr, g->plot_x0 + 0.5, g->plot_y1 + 0.5);
	cairo_line_to(cr, g->plot_x1, g->plot_y1 + 0.5);
	cairo_stroke(cr);
	/* The currency names the axis: the labels are amounts in it. */
	cairo_set_font_size(cr, 12);
	cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
	text_at(cr, g->plot_x0 - 8, g->plot_y0 - 12, 1.0, g->currency);
	cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
}

/* End time of point i: the next change, or the end of the axis. */
static int64_t
span_end(const struct chart_series *s, size_t i, const struct chart_geom *g)
{
	int64_t end = i + 1 < s->n ? s->pts[i + 1].time_ms : g->t1_ms;

	return end < g->t1_ms ? end : g->t1_ms;
}

static void
draw_shading(cairo_t *cr, const struct chart_geom *g, const struct chart_series *s, uint32_t colour)
{
	for (size_t i = first_visible(s, g->t0_ms); i < s->n && s->pts[i].time_ms <= g->t1_ms; i++) {
		int64_t from = s->pts[i].time_ms > g->t0_ms ? s->pts[i].time_ms : g->t0_ms;
		double x0, x1;

		if (!is_out_of_stock(s->pts[i].availability))
			continue;
		x0 = chart_x(g, from);
		x1 = chart_x(g, span_end(s, i, g));
		set_rgb(cr, colour, CHART_SHADE_ALPHA);
		cairo_rectangle(cr, x0, g->plot_y0, x1 - x0 > 1 ? x1 - x0 : 1, g->plot_y1 - g->plot_y0);
		cairo_fill(cr);
	}
}

/* The step line: each price holds until the next change; a point without a price breaks the line. Returns the last price drawn or -1. */
static bool
draw_steps(cairo_t *cr, const struct chart_geom *g, const struct chart_series *s, uint32_t colour,
    int64_t *last_minor)
{
	bool open = false, any = false;

	set_rgb(cr, colour, 1);
	cairo_set_line_width(cr, 2.5);
	cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
	cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
	for (size_t i = first_visible(s, g->t0_ms); i < s->n && s->pts[i].time_ms <= g->t1_ms; i++) {
		const struct history_point *p = &s->pts[i];
		int64_t from = p->time_ms > g->t0_ms ? p->time_ms : g->t0_ms;
		double y;

		if (!is_priced(p, g->currency)) {
			open = false;
			continue;
		}
		y = chart_y(g, p->price.minor);
		if (open)
			cairo_line_to(cr, chart_x(g, from), y);
		else
			cairo_move_to(cr, chart_x(g, from), y);
		cairo_line_to(cr, chart_x(g, span_end(s, i, g)), y);
		open = true;
		any = true;
		*last_minor = p->price.minor;
	}
	cairo_stroke(cr);
	/* A dot on each change point inside the range. */
	for (size_t i = 0; i < s->n; i++) {
		const struct history_point *p = &s->pts[i];

		if (p->time_ms < g->t0_ms || p->time_ms > g->t1_ms || !is_priced(p, g->currency))
			continue;
		cairo_arc(cr, chart_x(g, p->time_ms), chart_y(g, p->price.minor), 3.5, 0, 2 * M_PI);
		cairo_fill(cr);
	}
	return any;
}

static bool
has_out_of_stock(const struct chart_series *series, size_t n)
{
	for (size_t k = 0; k < n; k++)
		for (size_t i = 0; i < series[k].n; i++)
			if (is_out_of_stock(series[k].pts[i].availability))
				return true;
	return false;
}

/* Out-of-stock fill: one line in vermilion, several lines each in its own colour. */
static uint32_t
shade_colour(size_t k, size_t n)
{
	return n == 1 ? 0xD55E00 : chart_palette[k % chart_palette_n];
}

/*
 * The legend under the title, wrapped to max_x: a line swatch per series,
 * then the shading swatch when something was out of stock. With paint false it
 * only measures. Returns the number of rows.
 */
static int
legend(cairo_t *cr, const struct chart_series *series, size_t n, bool shaded, double y, double max_x,
    bool paint)
{
	double x = 16;
	int rows = 1;

	cairo_set_font_size(cr, 12);
	for (size_t k = 0; k <= n; k++) {
		const char *label = k < n ? series[k].label : n == 1 ? "out of stock" : "out of stock (in the line's colour)";
		double w;

		if (k == n && !shaded)
			break;
		if (label == NULL)
			label = "";
		w = 22 + text_width(cr, label) + 18;
		if (x + w > max_x && k > 0) {
			x = 16;
			y += 18;
			rows++;
		}
		if (paint && k < n) {
			set_rgb(cr, chart_palette[k % chart_palette_n], 1);
			cairo_set_line_width(cr, 2.5);
			cairo_move_to(cr, x, y - 4);
			cairo_line_to(cr, x + 16, y - 4);
			cairo_stroke(cr);
		} else if (paint) {
			set_rgb(cr, n == 1 ? shade_colour(0, 1) : 0x7F7F7F, CHART_SHADE_ALPHA * 2);
			cairo_rectangle(cr, x, y - 11, 16, 12);
			cairo_fill(cr);
		}
		if (paint) {
			set_rgb(cr, 0x333333, 1);
			text_at(cr, x + 22, y, 0, label);
		}
		x += w;
	}
	return rows;
}

/* Widest price label on the axis, to size the left margin. */
static double
widest_price(cairo_t *cr, const struct chart_geom *g, int64_t step)
{
	char label[64];
	double w = text_width(cr, g->currency);

	cairo_set_font_size(cr, 12);
	for (int64_t v = g->lo_minor; v <= g->hi_minor; v += step) {
		price_label(g, v, label, sizeof(label));
		if (text_width(cr, label) > w)
			w = text_width(cr, label);
	}
	return w;
}

static void
draw(cairo_t *cr, const struct chart_opts *o, int w, int h, const struct chart_series *series, size_t n,
    struct chart_geom *g)
{
	int64_t step = nice_price_axis(g), last_minor[64];
	bool shaded = has_out_of_stock(series, n), drawn[64];
	double top = 20, right;
	char label[64];
	int rows;

	cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	set_rgb(cr, 0xFFFFFF, 1);
	cairo_paint(cr);
	if (o->title != NULL && o->title[0] != '\0') {
		cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
		cairo_set_font_size(cr, 17);
		set_rgb(cr, 0x222222, 1);
		text_at(cr, 16, top + 12, 0, o->title);
		cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
		top += 26;
	}
	rows = legend(cr, series, n, shaded, top + 12, w - 16, true);
	top += 18.0 * rows + 32;

	/* Room for the latest price at the right end of each line. */
	price_label(g, g->hi_minor, label, sizeof(label));
	right = text_width(cr, label) + 24;
	g->plot_x0 = 16 + widest_price(cr, g, step) + 10;
	g->plot_x1 = w - right;
	g->plot_y0 = top;
	g->plot_y1 = h - 46;

	cairo_save(cr);
	cairo_rectangle(cr, g->plot_x0, g->plot_y0, g->plot_x1 - g->plot_x0, g->plot_y1 - g->plot_y0);
	cairo_clip(cr);
	for (size_t k = 0; k < n; k++)
		draw_shading(cr, g, &series[k], shade_colour(k, n));
	cairo_restore(cr);
	draw_axes(cr, g, step);
	for (size_t k = 0; k < n && k < 64; k++)
		drawn[k] = draw_steps(cr, g, &series[k], chart_palette[k % chart_palette_n], &last_minor[k]);
	/* The latest price of each line at its right end. */
	cairo_set_font_size(cr, 12);
	cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
	for (size_t k = 0; k < n && k < 64; k++) {
		if (!drawn[k])
			continue;
		price_label(g, last_minor[k], label, sizeof(label));
		set_rgb(cr, chart_palette[k % chart_palette_n], 1);
		text_at(cr, g->plot_x1 + 6, chart_y(g, last_minor[k]) + 4, 0, label);
	}
	cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
}

void
chart_release(void)
{
	cairo_debug_reset_static_data();
	FcFini();
}

/* Where cairo's output goes: a FILE, or a growing buffer. */
struct chart_sink {
	FILE *f;                   /* NULL: the buffer */
	unsigned char *buf;        /* owned until handed to the caller */
	size_t len, cap;
	int errnum;                /* errno of the first failed write, 0 if none */
};

static cairo_status_t
sink_write(void *closure, const unsigned char *data, unsigned int length)
{
	struct chart_sink *k = closure;

	if (k->f != NULL) {
		if (fwrite(data, 1, length, k->f) != length) {
			k->errnum = errno != 0 ? errno : EIO;
			return CAIRO_STATUS_WRITE_ERROR;
		}
		return CAIRO_STATUS_SUCCESS;
	}
	if (length > k->cap - k->len) {
		size_t cap = k->cap > 0 ? k->cap : 64 * 1024;

		while (cap - k->len < length) {
			if (cap > SIZE_MAX / 2) {
				k->errnum = ENOMEM;
				return CAIRO_STATUS_NO_MEMORY;
			}
			cap *= 2;
		}
		k->buf = xreallocarray(k->buf, cap, 1);
		k->cap = cap;
	}
	memcpy(k->buf + k->len, data, length);
	k->len += length;
	return CAIRO_STATUS_SUCCESS;
}

static int
chart_width(const struct chart_opts *opts)
{
	return opts->width > 0 ? opts->width : DEFAULT_WIDTH;
}

static int
chart_height(const struct chart_opts *opts)
{
	return opts->height > 0 ? opts->height : DEFAULT_HEIGHT;
}

/* Checks the request and fills g's ranges; false with a sentence in err when there is nothing to draw. */
static bool
prepare(const struct chart_opts *opts, const struct chart_series *series, size_t n, struct chart_geom *g,
    char *err, size_t errlen)
{
	int w = chart_width(opts), h = chart_height(opts);

	memset(g, 0, sizeof(*g));
	if (w < CHART_MIN_SIDE || h < CHART_MIN_SIDE || w > CHART_MAX_SIDE || h > CHART_MAX_SIDE) {
		pw_snprintf(err, errlen, "chart size %dx%d is out of range (%d to %d pixels a side)", w, h,
		    CHART_MIN_SIDE, CHART_MAX_SIDE);
		return false;
	}
	if (n == 0 || !pick_currency(series, n, g->currency) || !data_ranges(opts, series, n, g)) {
		pw_snprintf(err, errlen, "nothing to draw: no price in the range asked");
		return false;
	}
	if (n > 64) {
		pw_snprintf(err, errlen, "%zu listings on one chart is too many (64 at most)", n);
		return false;
	}
	return true;
}

/* Draws a prepared chart and streams the file to out; false with a sentence in err. */
static bool
render(const struct chart_opts *opts, const struct chart_series *series, size_t n, struct chart_geom *g,
    struct chart_sink *out, char *err, size_t errlen)
{
	cairo_surface_t *surface;
	cairo_status_t status;
	cairo_t *cr;
	int w = chart_width(opts), h = chart_height(opts);

	if (opts->format == CHART_SVG)
		surface = cairo_svg_surface_create_for_stream(sink_write, out, w, h);
	else
		surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
	cr = cairo_create(surface);
	draw(cr, opts, w, h, series, n, g);
	status = cairo_status(cr);
	cairo_destroy(cr);
	if (status == CAIRO_STATUS_SUCCESS && opts->format == CHART_PNG)
		status = cairo_surface_write_to_png_stream(surface, sink_write, out);
	cairo_surface_finish(surface);
	if (status == CAIRO_STATUS_SUCCESS)
		status = cairo_surface_status(surface);
	cairo_surface_destroy(surface);
	if (status != CAIRO_STATUS_SUCCESS) {
		if (out->errnum != 0)
			pw_snprintf(err, errlen, "cannot write the chart: %s", strerror(out->errnum));
		else
			pw_snprintf(err, errlen, "cannot draw the chart: %s", cairo_status_to_string(status));
		return false;
	}
	return true;
}

/*
 * Opens where the chart goes. A regular file (or a new one) is written under a
 * temporary name beside it and renamed at the end (*tmp set, caller frees), so
 * a failure never leaves half a chart and readers never see one; anything else
 * (/dev/stdout, a pipe) is written directly.
 */
static FILE *
open_output(const char *path, char **tmp)
{
	struct stat st;
	int fd;

	*tmp = NULL;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return fopen(path, "wb");
	*tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	/* 0666 less the umask, as for any file a command creates. */
	fd = open(*tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd < 0) {
		free(*tmp);
		*tmp = NULL;
		return NULL;
	}
	return fdopen(fd, "wb");
}

bool
chart_render(const char *path, const struct chart_opts *opts, const struct chart_series *series, size_t n,
    struct chart_geom *geom, char *err, size_t errlen)
{
	struct chart_sink out = { 0 };
	struct chart_geom g;
	char why[512], *tmp;
	bool ok;

	/* Refusals that do not depend on the file come first, so nothing is created for them. */
	if (!prepare(opts, series, n, &g, err, errlen))
		return false;
	out.f = open_output(path, &tmp);
	if (out.f == NULL) {
		pw_snprintf(err, errlen, "%s: cannot write the chart: %s (does the directory exist and is it "
		    "writable?)", path, strerror(errno));
		free(tmp);
		return false;
	}
	ok = render(opts, series, n, &g, &out, why, sizeof(why));
	if (fclose(out.f) != 0 && ok) {
		pw_snprintf(why, sizeof(why), "cannot write the chart: %s", strerror(errno));
		ok = false;
	}
	if (ok && tmp != NULL && rename(tmp, path) != 0) {
		pw_snprintf(why, sizeof(why), "cannot write the chart: %s", strerror(errno));
		ok = false;
	}
	if (!ok && tmp != NULL)
		unlink(tmp);
	free(tmp);
	if (!ok) {
		pw_snprintf(err, errlen, "%s: %s", path, why);
		return false;
	}
	if (geom != NULL)
		*geom = g;
	return true;
}

bool
chart_render_mem(const struct chart_opts *opts, const struct chart_series *series, size_t n,
    struct chart_geom *geom, unsigned char **data, size_t *len, char *err, size_t errlen)
{
	struct chart_sink out = { 0 };
	struct chart_geom g;

	*data = NULL;
	*len = 0;
	if (!prepare(opts, series, n, &g, err, errlen) || !render(opts, series, n, &g, &out, err, errlen)) {
		free(out.buf);
		return false;
	}
	*data = out.buf;
	*len = out.len;
	if (geom != NULL)
		*geom = g;
	return true;
}
