/* test-image.c: decoding WebP, JPEG and PNG made in the test itself, EXIF orientation, and hostile images. */
#include <config.h>

#include <criterion/criterion.h>

#include "test-image-util.h"

static const uint8_t RED[3] = { 255, 0, 0 }, GREEN[3] = { 0, 255, 0 }, BLUE[3] = { 0, 0, 255 },
    WHITE[3] = { 255, 255, 255 };

/* w x h with four flat quadrants: red top-left, green top-right, blue bottom-left, white bottom-right. */
static image_rgb
quadrants(uint32_t w, uint32_t h)
{
	image_rgb img = img_new(w, h);

	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++) {
			const uint8_t *c = y < h / 2 ? (x < w / 2 ? RED : GREEN) : (x < w / 2 ? BLUE : WHITE);

			memcpy(img.px + ((size_t)y * w + x) * 3, c, 3);
		}
	return img;
}

static void
assert_near(const uint8_t *got, const uint8_t *want, int tol, const char *what)
{
	for (int c = 0; c < 3; c++)
		cr_assert(abs(got[c] - want[c]) <= tol, "%s: channel %d is %d, want %d (+-%d)", what, c, got[c],
		    want[c], tol);
}

/* The centre of each quadrant of img, in order TL, TR, BL, BR. */
static void
assert_quadrants(const image_rgb *img, const uint8_t *tl, const uint8_t *tr, const uint8_t *bl, const uint8_t *br,
    int tol)
{
	uint32_t qx = img->width / 4, qy = img->height / 4;

	assert_near(px_at(img, qx, qy), tl, tol, "top-left");
	assert_near(px_at(img, 3 * qx, qy), tr, tol, "top-right");
	assert_near(px_at(img, qx, 3 * qy), bl, tol, "bottom-left");
	assert_near(px_at(img, 3 * qx, 3 * qy), br, tol, "bottom-right");
}

static image_rgb
decode_ok(const struct enc *e)
{
	image_rgb out;
	image_error err;
	int rc = image_decode(e->data, e->len, NULL, "test.img", &out, &err);

	cr_assert_eq(rc, IMAGE_OK, "decode failed: %s", err.msg);
	cr_assert_not_null(out.px);
	return out;
}

static int
decode_fails(const void *buf, size_t len, const image_limits *lim, image_error *err)
{
	image_rgb out;
	int rc = image_decode(buf, len, lim, "https://shop.example/p/1.img", &out, err);

	cr_assert_neq(rc, IMAGE_OK, "hostile image decoded");
	cr_assert_eq(err->code, rc);
	cr_assert_null(out.px);
	cr_assert(strstr(err->msg, "https://shop.example/p/1.img: ") == err->msg, "message lacks the label: %s",
	    err->msg);
	return rc;
}

Test(image, sniff_by_magic_bytes)
{
	cr_assert_eq(image_sniff("\xFF\xD8\xFF\xE0", 4), IMAGE_FMT_JPEG);
	cr_assert_eq(image_sniff("\x89PNG\r\n\x1a\n", 8), IMAGE_FMT_PNG);
	cr_assert_eq(image_sniff("RIFF\0\0\0\0WEBPVP8 ", 16), IMAGE_FMT_WEBP);
	cr_assert_eq(image_sniff("RIFF\0\0\0\0WAVEfmt ", 16), IMAGE_FMT_UNKNOWN);
	cr_assert_eq(image_sniff("GIF89a", 6), IMAGE_FMT_GIF);
	cr_assert_eq(image_sniff("\0\0\0\x1c" "ftypavif", 12), IMAGE_FMT_AVIF);
	cr_assert_eq(image_sniff("<html>", 6), IMAGE_FMT_UNKNOWN);
	cr_assert_eq(image_sniff("\xFF\xD8", 2), IMAGE_FMT_UNKNOWN);
	cr_assert_eq(image_sniff(NULL, 0), IMAGE_FMT_UNKNOWN);
}

Test(image, jpeg_rgb_grey_progressive)
{
	image_rgb src = quadrants(64, 48), out;
	struct enc e = enc_jpeg(src.px, 64, 48, 3, 95, false, NULL, 0);
	uint8_t grey[40 * 30];
	uint32_t w, h;
	image_format f;

	cr_assert_eq(image_probe(e.data, e.len, &f, &w, &h, NULL), IMAGE_OK);
	cr_assert_eq(f, IMAGE_FMT_JPEG);
	cr_assert_eq(w, 64);
	cr_assert_eq(h, 48);
	out = decode_ok(&e);
	cr_assert_eq(out.width, 64);
	cr_assert_eq(out.height, 48);
	assert_quadrants(&out, RED, GREEN, BLUE, WHITE, 10);
	image_rgb_free(&out);
	free(e.data);

	e = enc_jpeg(src.px, 64, 48, 3, 90, true, NULL, 0);
	out = decode_ok(&e);
	assert_quadrants(&out, RED, GREEN, BLUE, WHITE, 12);
	image_rgb_free(&out);
	free(e.data);

	for (size_t i = 0; i < sizeof grey; i++)
		grey[i] = (uint8_t)(i % 40 < 20 ? 40 : 200);
	e = enc_jpeg(grey, 40, 30, 1, 95, false, NULL, 0);
	out = decode_ok(&e);
	cr_assert_eq(out.width, 40);
	{
		const uint8_t *l = px_at(&out, 5, 15), *r = px_at(&out, 35, 15);

		cr_assert(l[0] == l[1] && l[1] == l[2], "grey is not grey");
		cr_assert(abs(l[0] - 40) <= 3 && abs(r[0] - 200) <= 3, "grey levels %d %d", l[0], r[0]);
	}
	image_rgb_free(&out);
	free(e.data);
	image_rgb_free(&src);
}

Test(image, jpeg_cmyk_adobe_inverted)
{
	/* Photoshop stores CMYK inverted (255 = no ink). Red = no cyan, full magenta and yellow, no black. */
	static const uint8_t inks[4][4] = {
		{ 255, 0, 0, 255 },   /* red */
		{ 0, 255, 0, 255 },   /* green */
		{ 0, 0, 255, 255 },   /* blue */
		{ 255, 255, 255, 255 }, /* white */
	};
	uint8_t px[64 * 64 * 4];
	image_rgb out;
	struct enc e;

	for (uint32_t y = 0; y < 64; y++)
		for (uint32_t x = 0; x < 64; x++)
			memcpy(px + (y * 64 + x) * 4, inks[(y >= 32) * 2 + (x >= 32)], 4);
	e = enc_jpeg(px, 64, 64, 4, 95, false, NULL, 0);
	out = decode_ok(&e);
	assert_quadrants(&out, RED, GREEN, BLUE, WHITE, 12);
	image_rgb_free(&out);
	free(e.data);
}

Test(image, orient_all_eight)
{
	/* 3x2 pixels a b c / d e f, labelled by their red channel; expected layouts per EXIF 1..8. */
	static const char *const want[9] = {
		NULL, "abcdef", "cbafed", "fedcba", "defabc", "adbecf", "daebfc", "fcebda", "cfbead",
	};
	image_rgb src = img_new(3, 2);

	for (int i = 0; i < 6; i++)
		src.px[i * 3] = (uint8_t)('a' + i);
	for (int o = 1; o <= 8; o++) {
		image_rgb dst;
		char got[7] = { 0 };

		cr_assert_eq(image_orient(&src, o, &dst, NULL), IMAGE_OK);
		cr_assert_eq(dst.width, o >= 5 ? 2u : 3u);
		cr_assert_eq(dst.height, o >= 5 ? 3u : 2u);
		for (int i = 0; i < 6; i++)
			got[i] = (char)dst.px[i * 3];
		cr_assert_str_eq(got, want[o], "orientation %d", o);
		image_rgb_free(&dst);
	}
	image_rgb_free(&src);
}

Test(image, jpeg_exif_orientation_applied)
{
	image_rgb src = quadrants(64, 32), out;
	uint8_t exif[64];
	size_t n = make_exif(exif, true, 6);
	struct enc e = enc_jpeg(src.px, 64, 32, 3, 95, false, exif, n);

	cr_assert_eq(image_exif_orientation(exif, n), 6);
	out = decode_ok(&e);
	/* Rotated 90 degrees clockwise for display. */
	cr_assert_eq(out.width, 32);
	cr_assert_eq(out.height, 64);
	assert_quadrants(&out, BLUE, RED, WHITE, GREEN, 12);
	image_rgb_free(&out);
	free(e.data);

	n = make_exif(exif, false, 3); /* big-endian TIFF, upside down */
	cr_assert_eq(image_exif_orientation(exif, n), 3);
	e = enc_jpeg(src.px, 64, 32, 3, 95, false, exif, n);
	out = decode_ok(&e);
	cr_assert_eq(out.width, 64);
	assert_quadrants(&out, WHITE, BLUE, GREEN, RED, 12);
	image_rgb_free(&out);
	free(e.data);
	image_rgb_free(&src);
}

Test(image, exif_bad_offsets_are_ignored)
{
	uint8_t ok[64], b[64];
	size_t n = make_exif(ok, true, 8);

	cr_assert_eq(image_exif_orientation(ok, n), 8);
	cr_assert_eq(image_exif_orientation(ok, 13), 1, "cut inside the TIFF header");
	cr_assert_eq(image_exif_orientation(ok, 6 + 8 + 2 + 11), 1, "cut inside the entry");
	cr_assert_eq(image_exif_orientation(NULL, 0), 1);
	/* IFD0 offset past the end, huge, and pointing into the header. */
	memcpy(b, ok, n);
	b[10] = 200;
	cr_assert_eq(image_exif_orientation(b, n), 1);
	memcpy(b, ok, n);
	b[10] = b[11] = b[12] = b[13] = 0xFF;
	cr_assert_eq(image_exif_orientation(b, n), 1);
	memcpy(b, ok, n);
	b[10] = 2;
	cr_assert_eq(image_exif_orientation(b, n), 1);
	/* Entry count far beyond the data. */
	memcpy(b, ok, n);
	b[14] = b[15] = 0xFF;
	cr_assert_eq(image_exif_orientation(b, n), 1);
	/* Wrong type, wrong count, value out of range. */
	memcpy(b, ok, n);
	b[18] = 4;
	cr_assert_eq(image_exif_orientation(b, n), 1);
	memcpy(b, ok, n);
	b[20] = 2;
	cr_assert_eq(image_exif_orientation(b, n), 1);
	memcpy(b, ok, n);
	b[24] = 9;
	cr_assert_eq(image_exif_orientation(b, n), 1);
	memcpy(b, ok, n);
	b[24] = 0;
	cr_assert_eq(image_exif_orientation(b, n), 1);
	/* Not Exif, not TIFF. */
	memcpy(b, ok, n);
	b[6] = 'X';
	cr_assert_eq(image_exif_orientation(b, n), 1);

	/* A JPEG carrying a broken EXIF block still decodes, unrotated. */
	{
		image_rgb src = quadrants(64, 32), out;
		struct enc e;

		memcpy(b, ok, n);
		b[10] = b[11] = b[12] = b[13] = 0xFF;
		e = enc_jpeg(src.px, 64, 32, 3, 95, false, b, n);
		out = decode_ok(&e);
		cr_assert_eq(out.width, 64);
		assert_quadrants(&out, RED, GREEN, BLUE, WHITE, 12);
		image_rgb_free(&out);
		image_rgb_free(&src);
		free(e.data);
	}
}

Test(image, png_colour_types)
{
	uint8_t raw[8 * 8 * 8];
	image_rgb out;
	struct enc e;

	/* RGB 8-bit, interlaced: exact. */
	for (int i = 0; i < 8 * 8 * 3; i++)
		raw[i] = (uint8_t)(i * 7);
	e = enc_png(raw, 8, 8, PNG_COLOR_TYPE_RGB, 8, NULL, 0, NULL, 0, true);
	out = decode_ok(&e);
	cr_assert_eq(out.width, 8);
	cr_assert_eq(memcmp(out.px, raw, 8 * 8 * 3), 0);
	image_rgb_free(&out);
	free(e.data);

	/* RGBA: opaque kept, transparent becomes white, half alpha blends with white. */
	{
		const uint8_t rgba[] = { 10, 20, 30, 255, 10, 20, 30, 0, 0, 0, 0, 128, 200, 100, 0, 51 };

		e = enc_png(rgba, 4, 1, PNG_COLOR_TYPE_RGB_ALPHA, 8, NULL, 0, NULL, 0, false);
		out = decode_ok(&e);
		assert_near(px_at(&out, 0, 0), (const uint8_t[]){ 10, 20, 30 }, 0, "opaque");
		assert_near(px_at(&out, 1, 0), WHITE, 0, "transparent");
		assert_near(px_at(&out, 2, 0), (const uint8_t[]){ 127, 127, 127 }, 0, "half black");
		/* 200*0.2 + 255*0.8 = 244, 100*0.2 + 204 = 224, 0 + 204 = 204 */
		assert_near(px_at(&out, 3, 0), (const uint8_t[]){ 244, 224, 204 }, 0, "20% orange");
		image_rgb_free(&out);
		free(e.data);
	}

	/* Grey 1-bit: 0 and 1 become black and white. */
	{
		const uint8_t bits[] = { 0xA0 }; /* 1 0 1 0 */

		e = enc_png(bits, 4, 1, PNG_COLOR_TYPE_GRAY, 1, NULL, 0, NULL, 0, false);
		out = decode_ok(&e);
		assert_near(px_at(&out, 0, 0), WHITE, 0, "bit 1");
		assert_near(px_at(&out, 1, 0), (const uint8_t[]){ 0, 0, 0 }, 0, "bit 0");
		image_rgb_free(&out);
		free(e.data);
	}

	/* Grey + alpha 8-bit. */
	{
		const uint8_t ga[] = { 100, 255, 100, 0 };

		e = enc_png(ga, 2, 1, PNG_COLOR_TYPE_GRAY_ALPHA, 8, NULL, 0, NULL, 0, false);
		out = decode_ok(&e);
		assert_near(px_at(&out, 0, 0), (const uint8_t[]){ 100, 100, 100 }, 0, "grey opaque");
		assert_near(px_at(&out, 1, 0), WHITE, 0, "grey transparent");
		image_rgb_free(&out);
		free(e.data);
	}

	/* Palette 4-bit with a transparent entry (tRNS). */
	{
		const png_color pal[3] = { { 255, 0, 0 }, { 0, 0, 255 }, { 0, 0, 0 } };
		const uint8_t trns[3] = { 255, 255, 0 };
		const uint8_t idx[] = { 0x01, 0x20 }; /* 0 1 2 0 */

		e = enc_png(idx, 4, 1, PNG_COLOR_TYPE_PALETTE, 4, pal, 3, trns, 3, false);
		out = decode_ok(&e);
		assert_near(px_at(&out, 0, 0), RED, 0, "palette 0");
		assert_near(px_at(&out, 1, 0), BLUE, 0, "palette 1");
		assert_near(px_at(&out, 2, 0), WHITE, 0, "palette 2 transparent");
		image_rgb_free(&out);
		free(e.data);
	}

	/* RGB 16-bit, big-endian samples: scaled to 8 bits. */
	{
		const uint8_t rgb16[] = { 0xFF, 0xFF, 0x80, 0x00, 0x00, 0x00 };

		e = enc_png(rgb16, 1, 1, PNG_COLOR_TYPE_RGB, 16, NULL, 0, NULL, 0, false);
		out = decode_ok(&e);
		assert_near(px_at(&out, 0, 0), (const uint8_t[]){ 255, 128, 0 }, 0, "16-bit");
		image_rgb_free(&out);
		free(e.data);
	}
}

Test(image, webp_lossless_and_lossy)
{
	uint8_t rgba[16 * 16 * 4];
	image_rgb src = quadrants(64, 64), out;
	struct enc e;

	for (int i = 0; i < 16 * 16; i++) {
		rgba[4 * i] = (uint8_t)i;
		rgba[4 * i + 1] = (uint8_t)(255 - i);
		rgba[4 * i + 2] = 77;
		rgba[4 * i + 3] = i < 128 ? 255 : 0;
	}
	e = enc_webp(rgba, 16, 16, true, 0);
	out = decode_ok(&e);
	cr_assert_eq(out.width, 16);
	assert_near(px_at(&out, 5, 0), (const uint8_t[]){ 5, 250, 77 }, 0, "opaque lossless");
	assert_near(px_at(&out, 5, 12), WHITE, 0, "transparent lossless");
	image_rgb_free(&out);
	free(e.data);

	e = enc_webp(src.px, 64, 64, false, 90);
	out = decode_ok(&e);
	assert_quadrants(&out, RED, GREEN, BLUE, WHITE, 16);
	image_rgb_free(&out);
	free(e.data);
	image_rgb_free(&src);
}

/* Every prefix-cut of a valid file fails cleanly (and never crashes). */
static void
truncations(const struct enc *e)
{
	size_t cuts[] = { 1, 2, 3, 7, 12, 20, 40, e->len / 3, e->len / 2, e->len - 20, e->len - 1 };

	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		image_error err;

		if (cuts[i] >= e->len)
			continue;
		decode_fails(e->data, cuts[i], NULL, &err);
		cr_assert(err.code == IMAGE_E_CORRUPT || err.code == IMAGE_E_FORMAT, "cut at %zu: %s", cuts[i],
		    err.msg);
	}
}

Test(image, truncated_files_are_errors)
{
	image_rgb src = img_scene(96, 64, 3);
	uint8_t *rgb16 = malloc(96 * 64 * 6);
	struct enc e;

	e = enc_jpeg(src.px, 96, 64, 3, 80, false, NULL, 0);
	truncations(&e);
	free(e.data);
	e = enc_jpeg(src.px, 96, 64, 3, 80, true, NULL, 0);
	truncations(&e);
	free(e.data);
	e = enc_png(src.px, 96, 64, PNG_COLOR_TYPE_RGB, 8, NULL, 0, NULL, 0, false);
	truncations(&e);
	free(e.data);
	for (size_t i = 0; i < 96 * 64 * 3; i++)
		rgb16[2 * i] = rgb16[2 * i + 1] = src.px[i];
	e = enc_png(rgb16, 96, 64, PNG_COLOR_TYPE_RGB, 16, NULL, 0, NULL, 0, true);
	truncations(&e);
	free(e.data);
	e = enc_webp(src.px, 96, 64, false, 75);
	truncations(&e);
	free(e.data);
	free(rgb16);
	image_rgb_free(&src);
}

/* Random byte flips: the decoder may succeed or fail, but must answer consistently and never crash. */
static void
bitflips(const struct enc *e, uint64_t seed)
{
	uint8_t *buf = malloc(e->len);
	uint64_t s = seed;

	for (int round = 0; round < 150; round++) {
		image_rgb out;
		image_error err;
		int rc, nflips = 1 + (int)(rng_next(&s) % 8);

		memcpy(buf, e->data, e->len);
		for (int k = 0; k < nflips; k++)
			buf[rng_next(&s) % e->len] ^= (uint8_t)(1u << (rng_next(&s) % 8));
		rc = image_decode(buf, e->len, NULL, "flip", &out, &err);
		if (rc == IMAGE_OK) {
			cr_assert(out.px != NULL && out.width > 0 && out.height > 0);
			image_rgb_free(&out);
		} else {
			cr_assert_null(out.px);
			cr_assert(strncmp(err.msg, "flip: ", 6) == 0 && strlen(err.msg) > 8, "msg: %s", err.msg);
		}
	}
	free(buf);
}

Test(image, bit_flipped_files_never_crash)
{
	image_rgb src = img_scene(64, 48, 5);
	struct enc e;

	e = enc_jpeg(src.px, 64, 48, 3, 80, false, NULL, 0);
	bitflips(&e, 11);
	free(e.data);
	e = enc_jpeg(src.px, 64, 48, 3, 80, true, NULL, 0);
	bitflips(&e, 12);
	free(e.data);
	e = enc_png(src.px, 64, 48, PNG_COLOR_TYPE_RGB, 8, NULL, 0, NULL, 0, true);
	bitflips(&e, 13);
	free(e.data);
	e = enc_webp(src.px, 64, 48, false, 70);
	bitflips(&e, 14);
	free(e.data);
	image_rgb_free(&src);
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Offset of the SOF0 segment's height field in a baseline JPEG. */
static size_t
sof_dims_offset(const struct enc *e)
{
	for (size_t i = 2; i + 9 < e->len; i++)
		if (e->data[i] == 0xFF && (e->data[i + 1] == 0xC0 || e->data[i + 1] == 0xC2))
			return i + 5;
	cr_assert_fail("no SOF in the test JPEG");
	return 0;
}

Test(image, huge_and_zero_declared_dimensions)
{
	image_rgb src = quadrants(16, 16);
	image_error err;
	struct enc e;
	size_t off;

	/* PNG declaring 100000 x 100000 (CRC left stale: the header check comes first). */
	e = enc_png(src.px, 16, 16, PNG_COLOR_TYPE_RGB, 8, NULL, 0, NULL, 0, false);
	put_be32(e.data + 16, 100000);
	put_be32(e.data + 20, 100000);
	cr_assert_eq(decode_fails(e.data, e.len, NULL, &err), IMAGE_E_LIMIT, "%s", err.msg);
	cr_assert(strstr(err.msg, "100000x100000") != NULL, "%s", err.msg);
	put_be32(e.data + 16, 0);
	cr_assert_eq(decode_fails(e.data, e.len, NULL, &err), IMAGE_E_CORRUPT, "%s", err.msg);
	cr_assert(strstr(err.msg, "zero dimension") != NULL, "%s", err.msg);
	free(e.data);

	/* JPEG SOF declaring 65000 x 65000, and a zero height. */
	e = enc_jpeg(src.px, 16, 16, 3, 90, false, NULL, 0);
	off = sof_dims_offset(&e);
	e.data[off] = e.data[off + 2] = 0xFD;
	e.data[off + 1] = e.data[off + 3] = 0xE8;
	cr_assert_eq(decode_fails(e.data, e.len, NULL, &err), IMAGE_E_LIMIT, "%s", err.msg);
	e.data[off] = e.data[off + 1] = 0;
	cr_assert_eq(decode_fails(e.data, e.len, NULL, &err), IMAGE_E_CORRUPT, "%s", err.msg);
	free(e.data);

	/* Lossless WebP (VP8L) declaring 16384 x 16384: 268 Mpixels, over the pixel limit. */
	e = enc_webp(src.px, 16, 16, false, 0);
	cr_assert_eq(memcmp(e.data + 12, "VP8L", 4), 0);
	e.data[21] = 0xFF;
	e.data[22] = 0xFF;
	e.data[23] = 0xFF;
	e.data[24] = (uint8_t)((e.data[24] & 0xF0) | 0x0F);
	cr_assert_eq(decode_fails(e.data, e.len, NULL, &err), IMAGE_E_LIMIT, "%s", err.msg);
	free(e.data);
	image_rgb_free(&src);
}

Test(image, png_bomb_is_refused_before_allocation)
{
	/* 6000 x 6000 one-bit black: 36 Mpixels from a few kilobytes. */
	uint32_t w = 6000, h = 6000;
	uint8_t *raw = calloc((size_t)(w / 8) * h, 1);
	image_limits lim = { .max_pixels = 4000000 };
	image_stats before, after;
	image_error err;
	struct enc e = enc_png(raw, w, h, PNG_COLOR_TYPE_GRAY, 1, NULL, 0, NULL, 0, false);

	free(raw);
	cr_assert_lt(e.len, 64 * 1024, "bomb is %zu bytes", e.len);
	image_stats_get(&before);
	cr_assert_eq(decode_fails(e.data, e.len, &lim, &err), IMAGE_E_LIMIT, "%s", err.msg);
	cr_assert(strstr(err.msg, "6000x6000") != NULL, "%s", err.msg);
	image_stats_get(&after);
	cr_assert_eq(after.rejected_limit, before.rejected_limit + 1);
	free(e.data);
}

Test(image, encoded_size_limit_and_counters)
{
	image_rgb src = quadrants(32, 32), out;
	image_limits lim;
	image_stats before, after;
	image_error err;
	struct enc e = enc_png(src.px, 32, 32, PNG_COLOR_TYPE_RGB, 8, NULL, 0, NULL, 0, false);

	image_stats_get(&before);
	lim = (image_limits){ .max_bytes = e.len - 1 };
	cr_assert_eq(decode_fails(e.data, e.len, &lim, &err), IMAGE_E_LIMIT);
	lim.max_bytes = e.len;
	cr_assert_eq(image_decode(e.data, e.len, &lim, "x", &out, &err), IMAGE_OK, "%s", err.msg);
	image_rgb_free(&out);
	lim = (image_limits){ .max_side = 31 };
	cr_assert_eq(decode_fails(e.data, e.len, &lim, &err), IMAGE_E_LIMIT);
	cr_assert_eq(decode_fails("GIF89a\x01\0\x01\0\0\0\0", 13, NULL, &err), IMAGE_E_FORMAT);
	cr_assert(strstr(err.msg, "GIF") != NULL, "%s", err.msg);
	cr_assert_eq(decode_fails("<!doctype html>", 15, NULL, &err), IMAGE_E_FORMAT);
	cr_assert_eq(decode_fails("", 0, NULL, &err), IMAGE_E_CORRUPT);
	image_stats_get(&after);
	cr_assert_eq(after.decoded, before.decoded + 1);
	cr_assert_eq(after.rejected_limit, before.rejected_limit + 2);
	cr_assert_eq(after.rejected_format, before.rejected_format + 2);
	cr_assert_eq(after.rejected_corrupt, before.rejected_corrupt + 1);
	free(e.data);
	image_rgb_free(&src);
}
