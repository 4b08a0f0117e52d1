/* test-image-resize.c: resizing against plain reference implementations, trimming, crop/pad, pHash and histogram. */
#include <config.h>

#include <criterion/criterion.h>

#include "test-image-util.h"

/* Reference area filter: the exact mean over each destination pixel's footprint, in doubles. */
static double
ref_area(const image_rgb *s, uint32_t dw, uint32_t dh, uint32_t x, uint32_t y, int c)
{
	double sx = (double)s->width / dw, sy = (double)s->height / dh;
	double x0 = x * sx, x1 = (x + 1) * sx, y0 = y * sy, y1 = (y + 1) * sy, acc = 0;

	for (uint32_t j = (uint32_t)floor(y0); j < s->height && j < y1; j++) {
		double oy = fmin(j + 1.0, y1) - fmax((double)j, y0);

		for (uint32_t i = (uint32_t)floor(x0); i < s->width && i < x1; i++) {
			double ox = fmin(i + 1.0, x1) - fmax((double)i, x0);

			if (ox > 0 && oy > 0)
				acc += ox * oy * px_at(s, i, j)[c];
		}
	}
	return acc / (sx * sy);
}

/* Reference bilinear, written from the TF.js resizeBilinear definition. */
static double
ref_bilinear(const image_rgb *s, uint32_t dw, uint32_t dh, bool align, uint32_t x, uint32_t y, int c)
{
	double rx = (align && dw > 1 ? s->width - 1.0 : s->width) / (align && dw > 1 ? dw - 1.0 : dw);
	double ry = (align && dh > 1 ? s->height - 1.0 : s->height) / (align && dh > 1 ? dh - 1.0 : dh);
	double fx = x * rx, fy = y * ry;
	uint32_t x0 = (uint32_t)floor(fx), y0 = (uint32_t)floor(fy);
	uint32_t x1 = (uint32_t)fmin(ceil(fx), s->width - 1.0), y1 = (uint32_t)fmin(ceil(fy), s->height - 1.0);
	double ax = fx - x0, ay = fy - y0;
	double top, bot;

	if (x0 > s->width - 1)
		x0 = s->width - 1;
	if (y0 > s->height - 1)
		y0 = s->height - 1;
	top = px_at(s, x0, y0)[c] + (px_at(s, x1, y0)[c] - (double)px_at(s, x0, y0)[c]) * ax;
	bot = px_at(s, x0, y1)[c] + (px_at(s, x1, y1)[c] - (double)px_at(s, x0, y1)[c]) * ax;
	return top + (bot - top) * ay;
}

Test(resize, area_matches_reference_on_random_images)
{
	static const uint32_t sizes[][4] = {
		{ 97, 61, 23, 17 }, { 640, 480, 224, 224 }, { 50, 50, 7, 3 }, { 33, 200, 32, 199 },
		{ 10, 10, 10, 10 }, { 300, 20, 1, 1 }, { 13, 9, 26, 18 },
	};

	for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
		image_rgb s = img_random(sizes[t][0], sizes[t][1], t + 1), d;
		double worst = 0;

		cr_assert_eq(image_resize_area(&s, sizes[t][2], sizes[t][3], &d, NULL), IMAGE_OK);
		cr_assert_eq(d.width, sizes[t][2]);
		cr_assert_eq(d.height, sizes[t][3]);
		for (uint32_t y = 0; y < d.height; y++)
			for (uint32_t x = 0; x < d.width; x++)
				for (int c = 0; c < 3; c++)
					worst = fmax(worst, fabs(px_at(&d, x, y)[c] - ref_area(&s, d.width, d.height, x, y, c)));
		cr_assert_leq(worst, 0.51, "case %zu: worst difference %.3f", t, worst);
		image_rgb_free(&s);
		image_rgb_free(&d);
	}
}

Test(resize, area_box_of_two_and_identity)
{
	image_rgb s = img_new(4, 2), d;

	for (int i = 0; i < 8; i++)
		s.px[i * 3] = (uint8_t)(i * 10); /* red: 0 10 20 30 / 40 50 60 70 */
	cr_assert_eq(image_resize_area(&s, 2, 1, &d, NULL), IMAGE_OK);
	cr_assert_eq(d.px[0], 25); /* (0 + 10 + 40 + 50) / 4 */
	cr_assert_eq(d.px[3], 45);
	image_rgb_free(&d);
	cr_assert_eq(image_resize_area(&s, 4, 2, &d, NULL), IMAGE_OK);
	cr_assert_eq(memcmp(d.px, s.px, 24), 0);
	image_rgb_free(&d);
	cr_assert_eq(image_resize_area(&s, 0, 2, &d, NULL), IMAGE_E_INVALID);
	cr_assert_null(d.px);
	image_rgb_free(&s);
}

Test(resize, bilinear_matches_reference_on_random_images)
{
	static const uint32_t sizes[][4] = {
		{ 97, 61, 224, 224 }, { 640, 480, 224, 224 }, { 5, 3, 11, 7 }, { 224, 224, 224, 224 }, { 40, 30, 1, 1 },
	};

	for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++)
		for (int align = 0; align < 2; align++) {
			image_rgb s = img_random(sizes[t][0], sizes[t][1], 100 + t), d;
			double worst = 0;

			cr_assert_eq(image_resize_bilinear(&s, sizes[t][2], sizes[t][3], align, &d, NULL), IMAGE_OK);
			for (uint32_t y = 0; y < d.height; y++)
				for (uint32_t x = 0; x < d.width; x++)
					for (int c = 0; c < 3; c++)
						worst = fmax(worst, fabs(px_at(&d, x, y)[c] -
						    ref_bilinear(&s, d.width, d.height, align, x, y, c)));
			cr_assert_leq(worst, 0.51, "case %zu align %d: worst %.3f", t, align, worst);
			image_rgb_free(&s);
			image_rgb_free(&d);
		}
}

Test(resize, align_corners_keeps_the_corners)
{
	image_rgb s = img_random(37, 29, 9), d;

	cr_assert_eq(image_resize_bilinear(&s, 224, 224, true, &d, NULL), IMAGE_OK);
	cr_assert_eq(memcmp(px_at(&d, 0, 0), px_at(&s, 0, 0), 3), 0);
	cr_assert_eq(memcmp(px_at(&d, 223, 0), px_at(&s, 36, 0), 3), 0);
	cr_assert_eq(memcmp(px_at(&d, 0, 223), px_at(&s, 0, 28), 3), 0);
	cr_assert_eq(memcmp(px_at(&d, 223, 223), px_at(&s, 36, 28), 3), 0);
	image_rgb_free(&d);
	image_rgb_free(&s);
}

Test(resize, tensor_nchw_for_the_bundled_model)
{
	image_rgb s = img_random(150, 100, 21);
	image_tensor_opts o = IMAGE_TENSOR_OPTS_NSFWJS;
	infer_tensor t;
	const float *v;
	double worst = 0;

	cr_assert_eq(image_to_tensor(&s, &o, &t, NULL), IMAGE_OK);
	cr_assert_eq(t.dtype, INFER_DTYPE_FLOAT);
	cr_assert_eq(t.ndim, 4);
	cr_assert(t.dims[0] == 1 && t.dims[1] == 3 && t.dims[2] == 224 && t.dims[3] == 224);
	v = t.data;
	for (int c = 0; c < 3; c++)
		for (uint32_t y = 0; y < 224; y++)
			for (uint32_t x = 0; x < 224; x++) {
				float got = v[((size_t)c * 224 + y) * 224 + x];

				cr_assert(got >= 0.0f && got <= 1.0f);
				worst = fmax(worst, fabs(got - ref_bilinear(&s, 224, 224, true, x, y, c) / 255.0));
			}
	cr_assert_leq(worst, 1e-4, "worst %.6f", worst);
	free(t.data);
	image_rgb_free(&s);
}

Test(resize, tensor_nhwc_with_mean_and_std)
{
	image_rgb s = img_random(64, 48, 22);
	image_tensor_opts o = {
		.width = 32, .height = 16, .layout = IMAGE_LAYOUT_NHWC, .align_corners = false, .scale = 1.0f / 255,
		.mean = { 0.485f, 0.456f, 0.406f }, .std = { 0.229f, 0.224f, 0.225f },
	};
	infer_tensor t;
	const float *v;
	double worst = 0;

	cr_assert_eq(image_to_tensor(&s, &o, &t, NULL), IMAGE_OK);
	cr_assert(t.dims[0] == 1 && t.dims[1] == 16 && t.dims[2] == 32 && t.dims[3] == 3);
	v = t.data;
	for (uint32_t y = 0; y < 16; y++)
		for (uint32_t x = 0; x < 32; x++)
			for (int c = 0; c < 3; c++) {
				double want = (ref_bilinear(&s, 32, 16, false, x, y, c) / 255.0 - o.mean[c]) / o.std[c];

				worst = fmax(worst, fabs(v[((size_t)y * 32 + x) * 3 + c] - want));
			}
	cr_assert_leq(worst, 1e-4, "worst %.6f", worst);
	free(t.data);
	o.std[1] = 0;
	cr_assert_eq(image_to_tensor(&s, &o, &t, NULL), IMAGE_E_INVALID);
	cr_assert_null(t.data);
	image_rgb_free(&s);
}

/* Pastes inner onto a w x h canvas of colour bg at (x, y). */
static image_rgb
on_canvas(const image_rgb *inner, uint32_t w, uint32_t h, uint32_t x, uint32_t y, const uint8_t bg[3])
{
	image_rgb img = img_new(w, h);

	for (size_t i = 0; i < (size_t)w * h; i++)
		memcpy(img.px + i * 3, bg, 3);
	for (uint32_t r = 0; r < inner->height; r++)
		memcpy(img.px + (((size_t)y + r) * w + x) * 3, inner->px + (size_t)r * inner->width * 3,
		    (size_t)inner->width * 3);
	return img;
}

Test(trim, white_padding_with_noise)
{
	static const uint8_t white[3] = { 255, 255, 255 };
	image_rgb inner = img_scene(60, 40, 1), padded, trimmed;
	image_rect r;
	uint64_t s = 5;

	/* Keep the scene's own edge pixels away from white, so the true edge is unambiguous. */
	for (size_t i = 0; i < (size_t)60 * 40 * 3; i++)
		if (inner.px[i] > 200)
			inner.px[i] = 200;
	padded = on_canvas(&inner, 100, 90, 17, 31, white);
	/* JPEG-like noise in the padding, within tolerance. */
	for (size_t i = 0; i < (size_t)100 * 90; i++)
		if (padded.px[i * 3] == 255 && padded.px[i * 3 + 1] == 255 && padded.px[i * 3 + 2] == 255)
			padded.px[i * 3 + rng_next(&s) % 3] = (uint8_t)(255 - rng_next(&s) % 6);
	image_trim_rect(&padded, 8, &r);
	cr_assert(r.x == 17 && r.y == 31 && r.width == 60 && r.height == 40, "rect %u,%u %ux%u", r.x, r.y, r.width,
	    r.height);
	cr_assert_eq(image_trim(&padded, 8, &trimmed, NULL), IMAGE_OK);
	cr_assert_eq(memcmp(trimmed.px, inner.px, (size_t)60 * 40 * 3), 0);
	image_rgb_free(&trimmed);
	/* With no tolerance the noisy padding is kept. */
	image_trim_rect(&padded, 0, &r);
	cr_assert_eq(r.width, 100);
	image_rgb_free(&padded);
	image_rgb_free(&inner);
}

Test(trim, coloured_border_one_sided_white_and_uniform)
{
	static const uint8_t grey[3] = { 90, 90, 90 }, white[3] = { 255, 255, 255 };
	image_rgb inner = img_new(10, 10), img, side;
	image_rect r;

	for (size_t i = 0; i < 100 * 3; i++)
		inner.px[i] = (uint8_t)(i % 3 == 0 ? 250 : 10); /* red */
	img = on_canvas(&inner, 30, 20, 5, 6, grey);
	image_trim_rect(&img, 4, &r);
	cr_assert(r.x == 5 && r.y == 6 && r.width == 10 && r.height == 10);
	image_rgb_free(&img);

	/* White only on the left: the corners disagree, white is still trimmed, the red right edge stays. */
	side = on_canvas(&inner, 10, 10, 0, 0, white);
	img = on_canvas(&side, 25, 10, 15, 0, white);
	image_trim_rect(&img, 4, &r);
	cr_assert(r.x == 15 && r.y == 0 && r.width == 10 && r.height == 10, "rect %u,%u %ux%u", r.x, r.y,
	    r.width, r.height);
	image_rgb_free(&img);
	image_rgb_free(&side);

	/* A uniform image is left whole; an image without borders too. */
	img = on_canvas(&inner, 10, 10, 0, 0, grey);
	image_trim_rect(&img, 4, &r);
	cr_assert(r.x == 0 && r.y == 0 && r.width == 10 && r.height == 10);
	image_rgb_free(&img);
	img = img_random(20, 20, 3);
	image_trim_rect(&img, 4, &r);
	cr_assert(r.width == 20 && r.height == 20);
	image_rgb_free(&img);
	image_rgb_free(&inner);
}

Test(trim, center_crop_and_pad)
{
	static const uint8_t white[3] = { 255, 255, 255 };
	image_rgb s = img_random(40, 20, 4), d;
	image_rect bad = { 30, 0, 11, 20 };

	cr_assert_eq(image_center_crop(&s, 1, 1, &d, NULL), IMAGE_OK);
	cr_assert(d.width == 20 && d.height == 20);
	cr_assert_eq(memcmp(d.px, px_at(&s, 10, 0), 20 * 3), 0);
	image_rgb_free(&d);
	cr_assert_eq(image_pad(&s, 1, 1, white, &d, NULL), IMAGE_OK);
	cr_assert(d.width == 40 && d.height == 40);
	cr_assert_eq(memcmp(px_at(&d, 0, 10), px_at(&s, 0, 0), 40 * 3), 0);
	cr_assert_eq(memcmp(px_at(&d, 0, 9), white, 3), 0);
	cr_assert_eq(memcmp(px_at(&d, 39, 30), white, 3), 0);
	image_rgb_free(&d);
	cr_assert_eq(image_crop(&s, &bad, &d, NULL), IMAGE_E_INVALID);
	cr_assert_null(d.px);
	image_rgb_free(&s);
}

static uint64_t
phash_of(const image_rgb *img)
{
	uint64_t h;
	image_error err;

	cr_assert_eq(image_phash(img, &h, &err), IMAGE_OK, "%s", err.msg);
	return h;
}

Test(phash, identical_resized_recompressed_and_different)
{
	image_rgb a = img_scene(320, 240, 42), b = img_scene(320, 240, 43), small, dec;
	uint64_t ha = phash_of(&a), hb;
	struct enc e;
	image_error err;

	cr_assert_eq(image_hamming(0, ~0ull), 64);
	cr_assert_eq(image_hamming(0xF0, 0x0F), 8);
	cr_assert_neq(ha, 0);
	cr_assert_eq(image_hamming(ha, phash_of(&a)), 0, "identical image");

	cr_assert_eq(image_resize_area(&a, 120, 90, &small, NULL), IMAGE_OK);
	cr_assert_leq(image_hamming(ha, phash_of(&small)), 4, "resized copy");
	e = enc_jpeg(small.px, 120, 90, 3, 30, false, NULL, 0);
	cr_assert_eq(image_decode(e.data, e.len, NULL, "q30", &dec, &err), IMAGE_OK, "%s", err.msg);
	cr_assert_leq(image_hamming(ha, phash_of(&dec)), 8, "resized and recompressed: %d",
	    image_hamming(ha, phash_of(&dec)));
	free(e.data);
	image_rgb_free(&dec);
	image_rgb_free(&small);

	hb = phash_of(&b);
	cr_assert_geq(image_hamming(ha, hb), 20, "different images: %d", image_hamming(ha, hb));
	image_rgb_free(&a);
	image_rgb_free(&b);
}

Test(histogram, normalised_and_similarities)
{
	image_rgb red = img_new(8, 8), a = img_scene(200, 150, 7), b = img_scene(200, 150, 8), small;
	float hr[IMAGE_HIST_BINS], ha[IMAGE_HIST_BINS], hb[IMAGE_HIST_BINS], hs[IMAGE_HIST_BINS], sum = 0;
	float zero[IMAGE_HIST_BINS] = { 0 };

	for (int i = 0; i < 64; i++)
		red.px[i * 3] = 255;
	image_histogram(&red, hr);
	cr_assert_float_eq(hr[7 << 6], 1.0f, 1e-6);
	image_histogram(&a, ha);
	image_histogram(&b, hb);
	for (int i = 0; i < IMAGE_HIST_BINS; i++)
		sum += ha[i];
	cr_assert_float_eq(sum, 1.0f, 1e-4);
	cr_assert_float_eq(image_hist_intersection(ha, ha), 1.0f, 1e-4);
	cr_assert_float_eq(image_hist_cosine(ha, ha), 1.0f, 1e-4);
	cr_assert_float_eq(image_hist_cosine(ha, zero), 0.0f, 1e-6);

	cr_assert_eq(image_resize_area(&a, 60, 45, &small, NULL), IMAGE_OK);
	image_histogram(&small, hs);
	cr_assert_gt(image_hist_intersection(ha, hs), 0.85f, "thumbnail: %f", image_hist_intersection(ha, hs));
	cr_assert_lt(image_hist_intersection(ha, hb), image_hist_intersection(ha, hs) - 0.2f, "different: %f",
	    image_hist_intersection(ha, hb));
	cr_assert_lt(image_hist_intersection(hr, ha), 0.2f);
	image_rgb_free(&small);
	image_rgb_free(&red);
	image_rgb_free(&a);
	image_rgb_free(&b);
}
