/* chart-check.c: reads back charts for the chart tests (libpng's simplified API, libxml2). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <png.h>

#include "unit/chart-check.h"

/* Finishes a read begun on pi (from a file or memory) into img; what names the input in messages. */
static bool
finish_read(png_image *pi, const char *what, struct chart_png *img)
{
	pi->format = PNG_FORMAT_RGB;
	img->width = pi->width;
	img->height = pi->height;
	img->px = malloc(PNG_IMAGE_SIZE(*pi));
	if (img->px == NULL || !png_image_finish_read(pi, NULL, img->px, 0, NULL)) {
		fprintf(stderr, "%s: %s\n", what, pi->message);
		png_image_free(pi);
		chart_png_free(img);
		return false;
	}
	return true;
}

bool
chart_png_load(const char *path, struct chart_png *img)
{
	png_image pi;

	memset(&pi, 0, sizeof(pi));
	memset(img, 0, sizeof(*img));
	pi.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_file(&pi, path)) {
		fprintf(stderr, "%s: %s\n", path, pi.message);
		return false;
	}
	return finish_read(&pi, path, img);
}

bool
chart_png_load_mem(const unsigned char *data, size_t len, struct chart_png *img)
{
	png_image pi;

	memset(&pi, 0, sizeof(pi));
	memset(img, 0, sizeof(*img));
	pi.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&pi, data, len)) {
		fprintf(stderr, "PNG in memory: %s\n", pi.message);
		return false;
	}
	return finish_read(&pi, "PNG in memory", img);
}

void
chart_png_free(struct chart_png *img)
{
	free(img->px);
	img->px = NULL;
}

uint32_t
chart_png_at(const struct chart_png *img, double x, double y)
{
	long xi = (long)x, yi = (long)y;
	const unsigned char *p;

	if (xi < 0)
		xi = 0;
	if (yi < 0)
		yi = 0;
	if (xi >= (long)img->width)
		xi = (long)img->width - 1;
	if (yi >= (long)img->height)
		yi = (long)img->height - 1;
	p = img->px + ((size_t)yi * img->width + (size_t)xi) * 3;
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

bool
chart_colour_near(uint32_t a, uint32_t b, int tol)
{
	for (int shift = 0; shift <= 16; shift += 8) {
		int d = (int)((a >> shift) & 0xff) - (int)((b >> shift) & 0xff);

		if (d < -tol || d > tol)
			return false;
	}
	return true;
}

size_t
chart_png_count(const struct chart_png *img, int x0, int y0, int x1, int y1, uint32_t rgb, int tol)
{
	size_t n = 0;

	for (int y = y0; y < y1; y++)
		for (int x = x0; x < x1; x++)
			n += chart_colour_near(chart_png_at(img, x, y), rgb, tol);
	return n;
}

uint32_t
chart_over_white(uint32_t rgb, double alpha)
{
	uint32_t out = 0;

	for (int shift = 0; shift <= 16; shift += 8) {
		double c = (double)((rgb >> shift) & 0xff) * alpha + 255.0 * (1 - alpha);

		out |= (uint32_t)(c + 0.5) << shift;
	}
	return out;
}

static size_t
count_paths(xmlNode *node)
{
	size_t n = 0;

	for (; node != NULL; node = node->next) {
		if (node->type == XML_ELEMENT_NODE &&
		    (xmlStrcmp(node->name, BAD_CAST "path") == 0 || xmlStrcmp(node->name, BAD_CAST "use") == 0))
			n++;
		n += count_paths(node->children);
	}
	return n;
}

bool
chart_svg_check(const char *path, const char *width_prefix, size_t min_paths)
{
	xmlDoc *doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
	xmlNode *root;
	xmlChar *width;
	bool ok;

	if (doc == NULL) {
		fprintf(stderr, "%s: not well-formed XML\n", path);
		return false;
	}
	root = xmlDocGetRootElement(doc);
	ok = root != NULL && xmlStrcmp(root->name, BAD_CAST "svg") == 0;
	width = ok ? xmlGetProp(root, BAD_CAST "width") : NULL;
	ok = ok && width != NULL && strncmp((const char *)width, width_prefix, strlen(width_prefix)) == 0;
	if (ok && count_paths(root) < min_paths) {
		fprintf(stderr, "%s: %zu paths, want %zu\n", path, count_paths(root), min_paths);
		ok = false;
	}
	xmlFree(width);
	xmlFreeDoc(doc);
	return ok;
}
