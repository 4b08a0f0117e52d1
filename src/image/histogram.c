/* histogram.c: the 8x8x8 colour histogram (L1-normalised) and its similarity measures, a robust matching signal. */
#include <config.h>

#include <math.h>
#include <string.h>

#include "image/image.h"

void
image_histogram(const image_rgb *img, float hist[IMAGE_HIST_BINS])
{
	uint64_t counts[IMAGE_HIST_BINS] = { 0 };
	size_t n;

	memset(hist, 0, IMAGE_HIST_BINS * sizeof hist[0]);
	if (img == NULL || img->px == NULL || img->width == 0 || img->height == 0)
		return;
	n = (size_t)img->width * img->height;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = img->px + i * 3;

		counts[(p[0] >> 5) << 6 | (p[1] >> 5) << 3 | p[2] >> 5]++;
	}
	for (int b = 0; b < IMAGE_HIST_BINS; b++)
		hist[b] = (float)((double)counts[b] / (double)n);
}

float
image_hist_intersection(const float a[IMAGE_HIST_BINS], const float b[IMAGE_HIST_BINS])
{
	double s = 0;

	for (int i = 0; i < IMAGE_HIST_BINS; i++)
		s += a[i] < b[i] ? a[i] : b[i];
	return (float)s;
}

float
image_hist_cosine(const float a[IMAGE_HIST_BINS], const float b[IMAGE_HIST_BINS])
{
	double ab = 0, aa = 0, bb = 0;

	for (int i = 0; i < IMAGE_HIST_BINS; i++) {
		ab += (double)a[i] * b[i];
		aa += (double)a[i] * a[i];
		bb += (double)b[i] * b[i];
	}
	if (aa == 0 || bb == 0)
		return 0;
	return (float)(ab / sqrt(aa * bb));
}
