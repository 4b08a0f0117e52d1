/* chart.h: draws price histories as a step-line chart (PNG or SVG through cairo), availability shaded, several listings overlaid. */
#ifndef PW_CHART_CHART_H
#define PW_CHART_CHART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

enum chart_format { CHART_PNG = 0, CHART_SVG };

/* Allowed width and height, in pixels. */
#define CHART_MIN_SIDE 200
#define CHART_MAX_SIDE 8000

/* One line of the chart: a listing's change points, oldest first (as store_history returns them). */
struct chart_series {
	const char *label;                 /* legend text (the listing id); borrowed */
	const struct history_point *pts;   /* borrowed */
	size_t n;
};

struct chart_opts {
	enum chart_format format;
	int width, height;                 /* pixels (SVG: points); 0 picks 960 x 540 */
	const char *title;                 /* may be NULL */
	/*
	 * The time axis runs from since_ms to until_ms. since_ms 0: from the first
	 * change point of any series. Points before since_ms still set the price in
	 * force at since_ms, since each price holds until the next change; the last
	 * one holds until until_ms (normally now).
	 */
	int64_t since_ms, until_ms;
};

/* Where things landed, so tests (and callers) can find the plotted pixels. */
struct chart_geom {
	double plot_x0, plot_y0, plot_x1, plot_y1;  /* plot area in pixels; y0 is the top */
	int64_t t0_ms, t1_ms;                       /* time at plot_x0 and plot_x1 */
	int64_t lo_minor, hi_minor;                 /* price at plot_y1 (bottom) and plot_y0 (top) */
	char currency[4];                           /* the axis currency */
	size_t skipped;                             /* priced points in another currency, not drawn */
};

/* Series colours, in legend order (0xRRGGBB); the nth series uses chart_palette[n % chart_palette_n]. */
extern const uint32_t chart_palette[];
extern const size_t chart_palette_n;
/* Out-of-stock spans are filled with the series colour at this opacity. */
#define CHART_SHADE_ALPHA 0.16

/* Pixel x of time t and pixel y of a price, on the chart described by g. */
double chart_x(const struct chart_geom *g, int64_t t_ms);
double chart_y(const struct chart_geom *g, int64_t minor);

/*
 * Draws n series into path. The price axis uses the currency of the first
 * series' latest priced point; priced points in other currencies are not drawn
 * (counted in geom->skipped). geom may be NULL. Returns false with a sentence in
 * err (naming the file, or saying nothing had a price) when nothing was written.
 */
bool chart_render(const char *path, const struct chart_opts *opts, const struct chart_series *series,
    size_t n, struct chart_geom *geom, char *err, size_t errlen);

/*
 * The same chart as a file in memory (PNG or SVG as opts->format says), for
 * callers that send it on, such as an email with the chart inline. On success
 * *data (caller frees) holds *len bytes; false with a sentence in err.
 */
bool chart_render_mem(const struct chart_opts *opts, const struct chart_series *series, size_t n,
    struct chart_geom *geom, unsigned char **data, size_t *len, char *err, size_t errlen);

/*
 * Frees cairo's and fontconfig's process-wide font caches (cairo keeps them
 * for the life of the process). Call once no chart is being drawn any more,
 * such as before exit; a later chart_render loads them again.
 */
void chart_release(void);

/*
 * Picks a "nice" tick step for a price axis spanning span minor units with at
 * most max_ticks ticks: 1, 2 or 5 times a power of ten, in minor units, never
 * below 1. Exposed for tests.
 */
int64_t chart_price_step(int64_t span, int max_ticks);
/* Picks a time tick step (in ms) from a fixed ladder (1 min .. 1 year) for span_ms with at most max_ticks ticks. */
int64_t chart_time_step(int64_t span_ms, int max_ticks);

#endif
