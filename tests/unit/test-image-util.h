/* test-image-util.h: encoders (libjpeg, libpng, libwebp) and synthetic pictures that the image tests decode. */
#ifndef PW_TEST_IMAGE_UTIL_H
#define PW_TEST_IMAGE_UTIL_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>
#include <webp/encode.h>

#include "image/image.h"

/* A malloc'd encoded image; the test frees data. */
struct enc {
	uint8_t *data;
	size_t len;
};

/* JPEG from w*h pixels of comps components (1 grey, 3 RGB, 4 CMYK as Photoshop stores it: inverted, with the
 * Adobe marker libjpeg writes). app1 (may be NULL) is written as an APP1 marker. */
static inline struct enc
enc_jpeg(const uint8_t *px, uint32_t w, uint32_t h, int comps, int quality, bool progressive,
    const uint8_t *app1, size_t app1_len)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr jerr;
	unsigned char *out = NULL;
	unsigned long outlen = 0;
	struct enc e;

	c.err = jpeg_std_error(&jerr);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, &out, &outlen);
	c.image_width = w;
	c.image_height = h;
	c.input_components = comps;
	c.in_color_space = comps == 1 ? JCS_GRAYSCALE : comps == 3 ? JCS_RGB : JCS_CMYK;
	jpeg_set_defaults(&c);
	jpeg_set_quality(&c, quality, TRUE);
	if (progressive)
		jpeg_simple_progression(&c);
	jpeg_start_compress(&c, TRUE);
	if (app1 != NULL)
		jpeg_write_marker(&c, JPEG_APP0 + 1, app1, (unsigned)app1_len);
	while (c.next_scanline < h) {
		JSAMPROW row = (JSAMPROW)(px + (size_t)c.next_scanline * w * comps);

		jpeg_write_scanlines(&c, &row, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	e.data = out;
	e.len = outlen;
	return e;
}

/* An APP1 Exif payload whose IFD0 holds one Orientation entry. */
static inline size_t
make_exif(uint8_t *buf, bool little, int orientation)
{
	static const uint8_t le[] = {
		'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0, /* TIFF header, IFD0 at 8 */
		1, 0,                                                  /* one entry */
		0x12, 0x01, 3, 0, 1, 0, 0, 0, 0, 0, 0, 0,              /* Orientation SHORT x1 */
		0, 0, 0, 0,                                            /* no next IFD */
	};
	static const uint8_t be[] = {
		'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, 42, 0, 0, 0, 8,
		0, 1,
		0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0,
		0, 0, 0, 0,
	};
	memcpy(buf, little ? le : be, sizeof le);
	if (little)
		buf[6 + 8 + 2 + 8] = (uint8_t)orientation;
	else
		buf[6 + 8 + 2 + 9] = (uint8_t)orientation;
	return sizeof le;
}

struct growbuf {
	uint8_t *data;
	size_t len, cap;
};

static inline void
png_write_grow(png_structp png, png_bytep p, size_t n)
{
	struct growbuf *g = png_get_io_ptr(png);

	if (g->len + n > g->cap) {
		g->cap = (g->len + n) * 2;
		g->data = realloc(g->data, g->cap);
		if (g->data == NULL)
			abort();
	}
	memcpy(g->data + g->len, p, n);
	g->len += n;
}

static inline void
png_flush_none(png_structp png)
{
	(void)png;
}

/* PNG from raw rows already in PNG sample layout (packed sub-byte, big-endian 16-bit). */
static inline struct enc
enc_png(const uint8_t *raw, uint32_t w, uint32_t h, int ctype, int depth, const png_color *pal, int npal,
    const uint8_t *trns, int ntrns, bool interlace)
{
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	struct growbuf g = { 0 };
	size_t rowbytes;
	struct enc e;

	if (setjmp(png_jmpbuf(png)))
		abort();
	png_set_write_fn(png, &g, png_write_grow, png_flush_none);
	png_set_IHDR(png, info, w, h, depth, ctype, interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
	    PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	if (pal != NULL)
		png_set_PLTE(png, info, pal, npal);
	if (trns != NULL)
		png_set_tRNS(png, info, trns, ntrns, NULL);
	png_write_info(png, info);
	rowbytes = png_get_rowbytes(png, info);
	{
		int passes = png_set_interlace_handling(png);

		for (int pass = 0; pass < passes; pass++)
			for (uint32_t y = 0; y < h; y++)
				png_write_row(png, raw + (size_t)y * rowbytes);
	}
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	e.data = g.data;
	e.len = g.len;
	return e;
}

/* WebP: lossy RGB (quality > 0) or lossless RGBA (quality 0). Freed with free() after copying. */
static inline struct enc
enc_webp(const uint8_t *px, uint32_t w, uint32_t h, bool rgba, float quality)
{
	uint8_t *out = NULL;
	size_t n;
	struct enc e;

	if (quality <= 0)
		n = rgba ? WebPEncodeLosslessRGBA(px, (int)w, (int)h, (int)w * 4, &out)
		         : WebPEncodeLosslessRGB(px, (int)w, (int)h, (int)w * 3, &out);
	else
		n = rgba ? WebPEncodeRGBA(px, (int)w, (int)h, (int)w * 4, quality, &out)
		         : WebPEncodeRGB(px, (int)w, (int)h, (int)w * 3, quality, &out);
	e.data = malloc(n);
	if (e.data == NULL || n == 0)
		abort();
	memcpy(e.data, out, n);
	e.len = n;
	WebPFree(out);
	return e;
}

/* Deterministic xorshift so every run sees the same "random" images. */
static inline uint32_t
rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 32);
}

static inline image_rgb
img_new(uint32_t w, uint32_t h)
{
	image_rgb img = { w, h, calloc((size_t)w * h * 3, 1) };

	if (img.px == NULL)
		abort();
	return img;
}

static inline image_rgb
img_random(uint32_t w, uint32_t h, uint64_t seed)
{
	image_rgb img = img_new(w, h);
	uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;

	for (size_t i = 0; i < (size_t)w * h * 3; i++)
		img.px[i] = (uint8_t)rng_next(&s);
	return img;
}

/* A smooth "photograph": a few coloured Gaussian blobs on a gradient, different per seed. */
static inline image_rgb
img_scene(uint32_t w, uint32_t h, uint64_t seed)
{
	image_rgb img = img_new(w, h);
	uint64_t s = seed * 0x9E3779B97F4A7C15ull + 7;
	float bx[6], by[6], br[6], bc[6][3], g0[3], g1[3];

	for (int k = 0; k < 6; k++) {
		bx[k] = (float)(rng_next(&s) % 1000) / 1000.0f;
		by[k] = (float)(rng_next(&s) % 1000) / 1000.0f;
		br[k] = 0.05f + (float)(rng_next(&s) % 1000) / 4000.0f;
		for (int c = 0; c < 3; c++)
			bc[k][c] = (float)(rng_next(&s) % 511) - 255.0f;
	}
	for (int c = 0; c < 3; c++) {
		g0[c] = (float)(rng_next(&s) % 256);
		g1[c] = (float)(rng_next(&s) % 256);
	}
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			float u = (x + 0.5f) / w, v = (y + 0.5f) / h;

			for (int c = 0; c < 3; c++) {
				float val = g0[c] + (g1[c] - g0[c]) * (u + v) / 2;

				for (int k = 0; k < 6; k++) {
					float dx = u - bx[k], dy = v - by[k];

					val += bc[k][c] * expf(-(dx * dx + dy * dy) / (2 * br[k] * br[k]));
				}
				img.px[((size_t)y * w + x) * 3 + c] = val < 0 ? 0 : val > 255 ? 255 : (uint8_t)val;
			}
		}
	return img;
}

static inline const uint8_t *
px_at(const image_rgb *img, uint32_t x, uint32_t y)
{
	return img->px + ((size_t)y * img->width + x) * 3;
}

#endif
