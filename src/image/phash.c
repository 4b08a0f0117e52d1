/* phash.c: the 64-bit DCT perceptual hash (pHash) and Hamming distance, a cheap near-duplicate signal. */
#include <config.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

#define PH_N 32 /* working size */
#define PH_K 8  /* low frequencies kept per axis */

static int
cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

int
image_phash(const image_rgb *img, uint64_t *hash, image_error *err)
{
	float cosines[PH_K][PH_N]; /* cos(pi/N (n + 1/2) k): 256 cos() calls, cheaper than sharing a table */
	float luma[PH_N][PH_N], rows[PH_N][PH_K], coef[PH_K * PH_K], sorted[PH_K * PH_K], median;
	image_rgb small;
	uint64_t h = 0;
	int rc;

	*hash = 0;
	if ((rc = image_resize_area(img, PH_N, PH_N, &small, err)) != IMAGE_OK)
		return rc;
	for (int k = 0; k < PH_K; k++)
		for (int n = 0; n < PH_N; n++)
			cosines[k][n] = (float)cos(M_PI / PH_N * (n + 0.5) * k);
	for (int y = 0; y < PH_N; y++)
		for (int x = 0; x < PH_N; x++) {
			const uint8_t *p = small.px + ((size_t)y * PH_N + x) * 3;

			luma[y][x] = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
		}
	image_rgb_free(&small);
	/* Separable DCT-II, only the PH_K lowest frequencies on each axis (scale factors do not change signs
	 * relative to the median, so none are applied). */
	for (int y = 0; y < PH_N; y++)
		for (int v = 0; v < PH_K; v++) {
			float s = 0;

			for (int x = 0; x < PH_N; x++)
				s += luma[y][x] * cosines[v][x];
			rows[y][v] = s;
		}
	for (int u = 0; u < PH_K; u++)
		for (int v = 0; v < PH_K; v++) {
			float s = 0;

			for (int y = 0; y < PH_N; y++)
				s += rows[y][v] * cosines[u][y];
			coef[u * PH_K + v] = s;
		}
	memcpy(sorted, coef, sizeof sorted);
	qsort(sorted, PH_K * PH_K, sizeof sorted[0], cmp_float);
	median = (sorted[PH_K * PH_K / 2 - 1] + sorted[PH_K * PH_K / 2]) / 2;
	for (int i = 0; i < PH_K * PH_K; i++)
		if (coef[i] > median)
			h |= (uint64_t)1 << (63 - i);
	*hash = h;
	return IMAGE_OK;
}

int
image_hamming(uint64_t a, uint64_t b)
{
	return __builtin_popcountll(a ^ b);
}
