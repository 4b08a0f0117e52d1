/* chart-check.h: reads back charts for the chart tests: decodes a PNG with libpng, parses an SVG with libxml2, looks at pixels. */
#ifndef PW_TEST_CHART_CHECK_H
#define PW_TEST_CHART_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A decoded PNG as 8-bit RGB; px is owned (chart_png_free). */
struct chart_png {
	unsigned width, height;
	unsigned char *px;
};

/* Decodes path; false (with the libpng message on stderr) when it is not a readable PNG. */
bool chart_png_load(const char *path, struct chart_png *img);
/* The same for a PNG held in memory. */
bool chart_png_load_mem(const unsigned char *data, size_t len, struct chart_png *img);
void chart_png_free(struct chart_png *img);
/* The pixel at (x, y) as 0xRRGGBB; coordinates are clamped into the image. */
uint32_t chart_png_at(const struct chart_png *img, double x, double y);
/* True when colours a and b differ by at most tol in every channel. */
bool chart_colour_near(uint32_t a, uint32_t b, int tol);
/* Pixels within tol of rgb in the rectangle [x0, x1) x [y0, y1). */
size_t chart_png_count(const struct chart_png *img, int x0, int y0, int x1, int y1, uint32_t rgb, int tol);
/* rgb blended at alpha over white, as the chart's shading appears. */
uint32_t chart_over_white(uint32_t rgb, double alpha);

/*
 * Parses path as XML; true when the root is <svg> with the given width
 * attribute prefix (cairo writes "960pt") and at least min_paths <path> or <use> elements.
 */
bool chart_svg_check(const char *path, const char *width_prefix, size_t min_paths);

#endif
