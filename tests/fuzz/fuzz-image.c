/* fuzz-image.c: libFuzzer target for image decoding and the signals computed on decoded images; aborts on broken promises. */
#include <config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Small limits keep each run fast; the limit checks themselves are what is exercised. */
	image_limits lim = { .max_bytes = 1 << 20, .max_pixels = 1 << 20, .max_side = 4096 };
	image_rgb img, tmp;
	image_error err;
	image_rect r;
	uint64_t h;
	float hist[IMAGE_HIST_BINS];
	infer_tensor t;
	int rc, o = image_exif_orientation(data, size);

	if (o < 1 || o > 8)
		abort();
	rc = image_decode(data, size, &lim, "fuzz", &img, &err);
	if (rc != IMAGE_OK) {
		if (img.px != NULL || (int)err.code != rc || strncmp(err.msg, "fuzz: ", 6) != 0)
			abort();
		return 0;
	}
	if (img.px == NULL || img.width == 0 || img.height == 0 || (uint64_t)img.width * img.height > lim.max_pixels)
		abort();
	image_trim_rect(&img, 16, &r);
	if (r.width == 0 || r.height == 0 || r.x + r.width > img.width || r.y + r.height > img.height)
		abort();
	if (image_trim(&img, 16, &tmp, &err) != IMAGE_OK)
		abort();
	image_rgb_free(&tmp);
	if (image_resize_area(&img, 17, 11, &tmp, &err) != IMAGE_OK)
		abort();
	image_rgb_free(&tmp);
	if (image_phash(&img, &h, &err) != IMAGE_OK)
		abort();
	image_histogram(&img, hist);
	if (image_to_tensor(&img, &(image_tensor_opts){ .width = 32, .height = 32, .align_corners = true,
	    .scale = 1.0f / 255, .std = { 1, 1, 1 } }, &t, &err) != IMAGE_OK)
		abort();
	free(t.data);
	image_rgb_free(&img);
	return 0;
}
