/* decode.c: sniffs and decodes WebP, JPEG and PNG to 8-bit RGB within size limits, never trusting the input. */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include <webp/decode.h>

#include "image/image.h"

/* A progressive JPEG may carry thousands of tiny scans, each a full pass over the coefficients: a CPU bomb in
 * a few kilobytes. libjpeg-turbo's own tools stop at 500 (TJFLAG_LIMITSCANS); so do we. */
#define JPEG_MAX_SCANS 500
/* Ancillary PNG chunks (iCCP, zTXt, iTXt) are inflated into memory: cap each, and their number. */
#define PNG_MAX_CHUNK_BYTES ((png_alloc_size_t)2 << 20)
#define PNG_MAX_CACHED_CHUNKS 128

static uint64_t stat_decoded, stat_format, stat_corrupt, stat_limit, stat_other;

static int set_err(image_error *err, image_status code, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
set_err(image_error *err, image_status code, const char *label, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err == NULL)
		return code;
	err->code = code;
	n = snprintf(err->msg, sizeof err->msg, "%s: ", label != NULL ? label : "image");
	if (n < 0 || (size_t)n >= sizeof err->msg)
		return code;
	va_start(ap, fmt);
	vsnprintf(err->msg + n, sizeof err->msg - (size_t)n, fmt, ap);
	va_end(ap);
	return code;
}

const char *
image_format_name(image_format fmt)
{
	switch (fmt) {
	case IMAGE_FMT_JPEG: return "JPEG";
	case IMAGE_FMT_PNG: return "PNG";
	case IMAGE_FMT_WEBP: return "WebP";
	case IMAGE_FMT_GIF: return "GIF";
	case IMAGE_FMT_AVIF: return "AVIF/HEIF";
	case IMAGE_FMT_UNKNOWN: break;
	}
	return "unknown";
}

const char *
image_status_name(image_status code)
{
	switch (code) {
	case IMAGE_OK: return "ok";
	case IMAGE_E_INVALID: return "invalid argument";
	case IMAGE_E_FORMAT: return "unsupported format";
	case IMAGE_E_CORRUPT: return "corrupt image";
	case IMAGE_E_LIMIT: return "over limit";
	case IMAGE_E_NOMEM: return "out of memory";
	}
	return "unknown";
}

image_format
image_sniff(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	if (p == NULL)
		return IMAGE_FMT_UNKNOWN;
	if (len >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF)
		return IMAGE_FMT_JPEG;
	if (len >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
		return IMAGE_FMT_PNG;
	if (len >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
		return IMAGE_FMT_WEBP;
	if (len >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0))
		return IMAGE_FMT_GIF;
	if (len >= 12 && memcmp(p + 4, "ftyp", 4) == 0 &&
	    (memcmp(p + 8, "avif", 4) == 0 || memcmp(p + 8, "avis", 4) == 0 || memcmp(p + 8, "heic", 4) == 0 ||
	     memcmp(p + 8, "mif1", 4) == 0))
		return IMAGE_FMT_AVIF;
	return IMAGE_FMT_UNKNOWN;
}

static uint32_t
be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Walks the JPEG markers up to the first SOFn and reads its dimensions; every read is bounds-checked. */
static int
probe_jpeg(const uint8_t *p, size_t len, uint32_t *w, uint32_t *h)
{
	size_t off = 2;

	while (off < len) {
		uint8_t m;
		size_t seglen;

		if (p[off] != 0xFF)
			return -1;
		while (off < len && p[off] == 0xFF) /* fill bytes */
			off++;
		if (off >= len)
			return -1;
		m = p[off++];
		if (m == 0x01 || (m >= 0xD0 && m <= 0xD7))
			continue;
		if (m == 0xD9 || m == 0xDA) /* EOI or SOS before any frame header */
			return -1;
		if (len - off < 2)
			return -1;
		seglen = be16(p + off);
		if (seglen < 2 || seglen > len - off)
			return -1;
		if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
			if (seglen < 7)
				return -1;
			*h = be16(p + off + 3);
			*w = be16(p + off + 5);
			return 0;
		}
		off += seglen;
	}
	return -1;
}

static int
probe(const void *buf, size_t len, const char *label, image_format *fmt, uint32_t *width, uint32_t *height,
    image_error *err)
{
	const uint8_t *p = buf;
	image_format f = image_sniff(buf, len);
	uint32_t w = 0, h = 0;

	if (fmt != NULL)
		*fmt = f;
	switch (f) {
	case IMAGE_FMT_JPEG:
		if (probe_jpeg(p, len, &w, &h) != 0)
			return set_err(err, IMAGE_E_CORRUPT, label, "JPEG: no frame header (SOFn) found");
		break;
	case IMAGE_FMT_PNG:
		/* The signature is followed by IHDR: length 13, "IHDR", width, height. */
		if (len < 33 || be32(p + 8) != 13 || memcmp(p + 12, "IHDR", 4) != 0)
			return set_err(err, IMAGE_E_CORRUPT, label, "PNG: IHDR missing or truncated");
		w = be32(p + 16);
		h = be32(p + 20);
		break;
	case IMAGE_FMT_WEBP: {
		int iw = 0, ih = 0;

		if (!WebPGetInfo(p, len, &iw, &ih) || iw <= 0 || ih <= 0)
			return set_err(err, IMAGE_E_CORRUPT, label, "WebP: bad header");
		w = (uint32_t)iw;
		h = (uint32_t)ih;
		break;
	}
	case IMAGE_FMT_GIF:
	case IMAGE_FMT_AVIF:
	case IMAGE_FMT_UNKNOWN:
		return set_err(err, IMAGE_E_FORMAT, label, "%s image format is not supported",
		    image_format_name(f));
	}
	if (width != NULL)
		*width = w;
	if (height != NULL)
		*height = h;
	return IMAGE_OK;
}

int
image_probe(const void *buf, size_t len, image_format *fmt, uint32_t *width, uint32_t *height, image_error *err)
{
	return probe(buf, len, NULL, fmt, width, height, err);
}

/* Refuses dimensions that are zero or over the limits; called before any pixel memory exists. */
static int
check_dims(const image_limits *lim, const char *label, const char *fmt, uint64_t w, uint64_t h, image_error *err)
{
	if (w == 0 || h == 0)
		return set_err(err, IMAGE_E_CORRUPT, label, "%s: zero dimension (%llux%llu)", fmt,
		    (unsigned long long)w, (unsigned long long)h);
	if (w > lim->max_side || h > lim->max_side || w * h > lim->max_pixels)
		return set_err(err, IMAGE_E_LIMIT, label,
		    "%s: %llux%llu is over the limit (%u per side, %llu pixels)", fmt, (unsigned long long)w,
		    (unsigned long long)h, lim->max_side, (unsigned long long)lim->max_pixels);
	return IMAGE_OK;
}

/* Alpha over white, rounded: what a product shot on a transparent background looks like on a shop page. */
static inline uint8_t
over_white(uint8_t c, uint8_t a)
{
	return (uint8_t)(((unsigned)c * a + 255u * (255u - a) + 127u) / 255u);
}

/* Converts w*h RGBA pixels to RGB in place (the write index never passes the read index). */
static void
rgba_to_rgb_inplace(uint8_t *px, size_t npix)
{
	for (size_t i = 0; i < npix; i++) {
		uint8_t a = px[4 * i + 3];

		px[3 * i + 0] = over_white(px[4 * i + 0], a);
		px[3 * i + 1] = over_white(px[4 * i + 1], a);
		px[3 * i + 2] = over_white(px[4 * i + 2], a);
	}
}

/* Shrinks a buffer after in-place conversion; keeps the larger one if realloc declines. */
static uint8_t *
shrink(uint8_t *px, size_t n)
{
	uint8_t *q = realloc(px, n);

	return q != NULL ? q : px;
}

/* ---- EXIF orientation ---------------------------------------------------------------------------- */

int
image_exif_orientation(const uint8_t *app1, size_t len)
{
	const uint8_t *t;
	size_t tlen, ifd, n;
	bool le;

	if (app1 == NULL || len < 6 + 8 || memcmp(app1, "Exif\0\0", 6) != 0)
		return 1;
	t = app1 + 6;
	tlen = len - 6;
	if (memcmp(t, "II*\0", 4) == 0)
		le = true;
	else if (memcmp(t, "MM\0*", 4) == 0)
		le = false;
	else
		return 1;
#define RD16(q) (le ? (uint32_t)(q)[0] | (uint32_t)(q)[1] << 8 : be16(q))
#define RD32(q) (le ? (uint32_t)(q)[0] | (uint32_t)(q)[1] << 8 | (uint32_t)(q)[2] << 16 | (uint32_t)(q)[3] << 24 \
                    : be32(q))
	ifd = RD32(t + 4);
	/* IFD0 must lie after the header and leave room for its entry count. */
	if (ifd < 8 || ifd > tlen || tlen - ifd < 2)
		return 1;
	n = RD16(t + ifd);
	if (n > (tlen - ifd - 2) / 12)
		return 1;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *e = t + ifd + 2 + 12 * i;

		/* Orientation: tag 0x0112, type SHORT (3), count 1; the value sits in the first 2 value bytes. */
		if (RD16(e) == 0x0112) {
			uint32_t v;

			if (RD16(e + 2) != 3 || RD32(e + 4) != 1)
				return 1;
			v = RD16(e + 8);
			return v >= 1 && v <= 8 ? (int)v : 1;
		}
	}
#undef RD16
#undef RD32
	return 1;
}

int
image_orient(const image_rgb *src, int o, image_rgb *dst, image_error *err)
{
	uint32_t W, H, dw, dh;
	uint8_t *px;

	memset(dst, 0, sizeof *dst);
	if (src == NULL || src->px == NULL || o < 1 || o > 8)
		return set_err(err, IMAGE_E_INVALID, NULL, "orient: bad arguments");
	W = src->width;
	H = src->height;
	dw = o >= 5 ? H : W;
	dh = o >= 5 ? W : H;
	px = malloc((size_t)W * H * 3);
	if (px == NULL)
		return set_err(err, IMAGE_E_NOMEM, NULL, "orient: out of memory");
	for (uint32_t y = 0; y < dh; y++) {
		for (uint32_t x = 0; x < dw; x++) {
			uint32_t sx, sy;

			switch (o) {
			default:
			case 1: sx = x; sy = y; break;
			case 2: sx = W - 1 - x; sy = y; break;         /* mirrored horizontally */
			case 3: sx = W - 1 - x; sy = H - 1 - y; break; /* rotated 180 */
			case 4: sx = x; sy = H - 1 - y; break;         /* mirrored vertically */
			case 5: sx = y; sy = x; break;                 /* transposed */
			case 6: sx = y; sy = H - 1 - x; break;         /* needs 90 degrees clockwise */
			case 7: sx = W - 1 - y; sy = H - 1 - x; break; /* transversed */
			case 8: sx = W - 1 - y; sy = x; break;         /* needs 90 degrees counter-clockwise */
			}
			memcpy(px + ((size_t)y * dw + x) * 3, src->px + ((size_t)sy * W + sx) * 3, 3);
		}
	}
	dst->width = dw;
	dst->height = dh;
	dst->px = px;
	return IMAGE_OK;
}

/* ---- JPEG (libjpeg-turbo) -------------------------------------------------------------------------- */

struct jpeg_guard {
	struct jpeg_error_mgr pub;
	struct jpeg_progress_mgr progress;
	j_decompress_ptr cinfo;
	jmp_buf jb;
	image_status code;
	char msg[JMSG_LENGTH_MAX];
};

/* libjpeg's default error_exit calls exit(): ours records the message and unwinds to decode_jpeg(). */
static void
jpeg_on_error(j_common_ptr c)
{
	struct jpeg_guard *g = (struct jpeg_guard *)(void *)c->err;

	c->err->format_message(c, g->msg);
	g->code = IMAGE_E_CORRUPT;
	longjmp(g->jb, 1);
}

/* Warnings are silent, except a premature end of data: a truncated image is an error, not a grey half. */
static void
jpeg_on_message(j_common_ptr c, int level)
{
	if (level == -1 && c->err->msg_code == JWRN_JPEG_EOF)
		jpeg_on_error(c);
	if (level == -1)
		c->err->num_warnings++;
}

static void
jpeg_on_progress(j_common_ptr c)
{
	struct jpeg_guard *g = (struct jpeg_guard *)(void *)c->err;

	if (g->cinfo->input_scan_number > JPEG_MAX_SCANS) {
		snprintf(g->msg, sizeof g->msg, "more than %d progressive scans", JPEG_MAX_SCANS);
		g->code = IMAGE_E_LIMIT;
		longjmp(g->jb, 1);
	}
}

static int
decode_jpeg(const uint8_t *buf, size_t len, const image_limits *lim, const char *label, image_rgb *out,
    image_error *err)
{
	struct jpeg_decompress_struct cinfo;
	struct jpeg_guard g;
	uint8_t *volatile px = NULL;
	uint8_t *volatile row = NULL;
	volatile int orientation = 1;
	uint32_t w, h;
	bool cmyk, adobe;
	int rc;

	memset(&cinfo, 0, sizeof cinfo);
	memset(&g, 0, sizeof g);
	cinfo.err = jpeg_std_error(&g.pub);
	g.pub.error_exit = jpeg_on_error;
	g.pub.emit_message = jpeg_on_message;
	g.cinfo = &cinfo;
	if (setjmp(g.jb) != 0) {
		jpeg_destroy_decompress(&cinfo);
		free(px);
		free(row);
		return set_err(err, g.code, label, "JPEG: %s", g.msg);
	}
	jpeg_create_decompress(&cinfo);
	g.progress.progress_monitor = jpeg_on_progress;
	cinfo.progress = &g.progress;
	jpeg_mem_src(&cinfo, buf, (unsigned long)len);
	jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
	jpeg_read_header(&cinfo, TRUE);
	if ((rc = check_dims(lim, label, "JPEG", cinfo.image_width, cinfo.image_height, err)) != IMAGE_OK) {
		jpeg_destroy_decompress(&cinfo);
		return rc;
	}
	for (jpeg_saved_marker_ptr m = cinfo.marker_list; m != NULL; m = m->next) {
		if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && memcmp(m->data, "Exif\0\0", 6) == 0) {
			orientation = image_exif_orientation(m->data, m->data_length);
			break;
		}
	}
	cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
	/* Photoshop (the usual source of CMYK JPEGs) writes inverted CMYK and says so in an Adobe APP14. */
	adobe = cinfo.saw_Adobe_marker;
	cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
	jpeg_start_decompress(&cinfo);
	w = cinfo.output_width;
	h = cinfo.output_height;
	if (w != cinfo.image_width || h != cinfo.image_height ||
	    cinfo.output_components != (cmyk ? 4 : 3)) {
		snprintf(g.msg, sizeof g.msg, "unexpected output geometry");
		g.code = IMAGE_E_CORRUPT;
		longjmp(g.jb, 1);
	}
	px = malloc((size_t)w * h * 3);
	row = cmyk ? malloc((size_t)w * 4) : NULL;
	if (px == NULL || (cmyk && row == NULL)) {
		snprintf(g.msg, sizeof g.msg, "out of memory for %ux%u", w, h);
		g.code = IMAGE_E_NOMEM;
		longjmp(g.jb, 1);
	}
	while (cinfo.output_scanline < h) {
		uint8_t *dst = px + (size_t)cinfo.output_scanline * w * 3;
		JSAMPROW rp = cmyk ? row : dst;

		if (jpeg_read_scanlines(&cinfo, &rp, 1) != 1) {
			snprintf(g.msg, sizeof g.msg, "no scanline read at row %u", cinfo.output_scanline);
			g.code = IMAGE_E_CORRUPT;
			longjmp(g.jb, 1);
		}
		if (cmyk) {
			for (uint32_t x = 0; x < w; x++) {
				unsigned c = row[4 * x], m = row[4 * x + 1], yy = row[4 * x + 2], k = row[4 * x + 3];

				if (!adobe) {
					c = 255 - c;
					m = 255 - m;
					yy = 255 - yy;
					k = 255 - k;
				}
				dst[3 * x + 0] = (uint8_t)((c * k + 127) / 255);
				dst[3 * x + 1] = (uint8_t)((m * k + 127) / 255);
				dst[3 * x + 2] = (uint8_t)((yy * k + 127) / 255);
			}
		}
	}
	jpeg_finish_decompress(&cinfo);
	jpeg_destroy_decompress(&cinfo);
	free(row);
	out->width = w;
	out->height = h;
	out->px = px;
	if (orientation != 1) {
		image_rgb turned;

		if ((rc = image_orient(out, orientation, &turned, err)) != IMAGE_OK) {
			image_rgb_free(out);
			return set_err(err, rc, label, "JPEG: out of memory applying EXIF orientation");
		}
		image_rgb_free(out);
		*out = turned;
	}
	return IMAGE_OK;
}

/* ---- PNG (libpng) ---------------------------------------------------------------------------------- */

struct png_guard {
	const uint8_t *buf;
	size_t len, off;
	char msg[128];
};

static void
png_on_error(png_structp png, png_const_charp msg)
{
	struct png_guard *g = png_get_error_ptr(png);

	snprintf(g->msg, sizeof g->msg, "%s", msg != NULL ? msg : "error");
	png_longjmp(png, 1);
}

static void
png_on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

static void
png_read_mem(png_structp png, png_bytep out, size_t n)
{
	struct png_guard *g = png_get_io_ptr(png);

	if (n > g->len - g->off)
		png_error(png, "truncated data");
	memcpy(out, g->buf + g->off, n);
	g->off += n;
}

static int
decode_png(const uint8_t *buf, size_t len, const image_limits *lim, const char *label, image_rgb *out,
    image_error *err)
{
	struct png_guard g = { .buf = buf, .len = len };
	png_structp png;
	png_infop info = NULL;
	uint8_t *volatile px = NULL;
	png_bytep *volatile rows = NULL;
	png_uint_32 w, h;
	int depth, ctype, interlace, rc;

	png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &g, png_on_error, png_on_warning);
	if (png == NULL || (info = png_create_info_struct(png)) == NULL) {
		png_destroy_read_struct(&png, NULL, NULL);
		return set_err(err, IMAGE_E_NOMEM, label, "PNG: out of memory");
	}
	if (setjmp(png_jmpbuf(png)) != 0) {
		png_destroy_read_struct(&png, &info, NULL);
		free(px);
		free(rows);
		return set_err(err, IMAGE_E_CORRUPT, label, "PNG: %s", g.msg);
	}
	/* Our own check_dims() decides (as a limit error); libpng's default 1e6 cap would call it corruption. */
	png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
	png_set_chunk_malloc_max(png, PNG_MAX_CHUNK_BYTES);
	png_set_chunk_cache_max(png, PNG_MAX_CACHED_CHUNKS);
	png_set_read_fn(png, &g, png_read_mem);
	png_read_info(png, info);
	png_get_IHDR(png, info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
	if ((rc = check_dims(lim, label, "PNG", w, h, err)) != IMAGE_OK) {
		png_destroy_read_struct(&png, &info, NULL);
		return rc;
	}
	/* Everything becomes 8-bit RGBA; alpha is composited afterwards. */
	if (ctype == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(png);
	if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8)
		png_set_expand_gray_1_2_4_to_8(png);
	if (png_get_valid(png, info, PNG_INFO_tRNS))
		png_set_tRNS_to_alpha(png);
	if (depth == 16)
		png_set_scale_16(png);
	if (ctype == PNG_COLOR_TYPE_GRAY || ctype == PNG_COLOR_TYPE_GRAY_ALPHA)
		png_set_gray_to_rgb(png);
	png_set_filler(png, 0xFF, PNG_FILLER_AFTER);
	png_set_interlace_handling(png);
	png_read_update_info(png, info);
	if (png_get_rowbytes(png, info) != (size_t)w * 4)
		png_error(png, "unexpected row size after conversion");
	px = malloc((size_t)w * h * 4);
	rows = malloc((size_t)h * sizeof *rows);
	if (px == NULL || rows == NULL) {
		png_destroy_read_struct(&png, &info, NULL);
		free(px);
		free(rows);
		return set_err(err, IMAGE_E_NOMEM, label, "PNG: out of memory for %ux%u", w, h);
	}
	for (png_uint_32 y = 0; y < h; y++)
		rows[y] = px + (size_t)y * w * 4;
	png_read_image(png, rows);
	/* Up to IEND: a file cut after its last pixel row is still a truncated file. */
	png_read_end(png, NULL);
	png_destroy_read_struct(&png, &info, NULL);
	free(rows);
	rgba_to_rgb_inplace(px, (size_t)w * h);
	out->width = w;
	out->height = h;
	out->px = shrink(px, (size_t)w * h * 3);
	return IMAGE_OK;
}

/* ---- WebP (libwebp) -------------------------------------------------------------------------------- */

static int
decode_webp(const uint8_t *buf, size_t len, const image_limits *lim, const char *label, image_rgb *out,
    image_error *err)
{
	WebPBitstreamFeatures f;
	VP8StatusCode st;
	size_t npix;
	uint8_t *px;
	int rc;

	if ((st = WebPGetFeatures(buf, len, &f)) != VP8_STATUS_OK)
		return set_err(err, IMAGE_E_CORRUPT, label, "WebP: bad header (status %d)", (int)st);
	if (f.has_animation)
		return set_err(err, IMAGE_E_FORMAT, label, "WebP: animated WebP is not supported");
	if ((rc = check_dims(lim, label, "WebP", f.width > 0 ? (uint64_t)f.width : 0,
	    f.height > 0 ? (uint64_t)f.height : 0, err)) != IMAGE_OK)
		return rc;
	npix = (size_t)f.width * (size_t)f.height;
	px = malloc(npix * (f.has_alpha ? 4 : 3));
	if (px == NULL)
		return set_err(err, IMAGE_E_NOMEM, label, "WebP: out of memory for %dx%d", f.width, f.height);
	if (f.has_alpha) {
		if (WebPDecodeRGBAInto(buf, len, px, npix * 4, f.width * 4) == NULL) {
			free(px);
			return set_err(err, IMAGE_E_CORRUPT, label, "WebP: corrupt or truncated data");
		}
		rgba_to_rgb_inplace(px, npix);
		px = shrink(px, npix * 3);
	} else if (WebPDecodeRGBInto(buf, len, px, npix * 3, f.width * 3) == NULL) {
		free(px);
		return set_err(err, IMAGE_E_CORRUPT, label, "WebP: corrupt or truncated data");
	}
	out->width = (uint32_t)f.width;
	out->height = (uint32_t)f.height;
	out->px = px;
	return IMAGE_OK;
}

/* ---- entry point ----------------------------------------------------------------------------------- */

static void
count(image_status code)
{
	uint64_t *c;

	switch (code) {
	case IMAGE_OK: c = &stat_decoded; break;
	case IMAGE_E_FORMAT: c = &stat_format; break;
	case IMAGE_E_CORRUPT: c = &stat_corrupt; break;
	case IMAGE_E_LIMIT: c = &stat_limit; break;
	default: c = &stat_other; break;
	}
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

int
image_decode(const void *buf, size_t len, const image_limits *lim_in, const char *label, image_rgb *out,
    image_error *err)
{
	image_limits lim = {
		.max_bytes = IMAGE_DEFAULT_MAX_BYTES,
		.max_pixels = IMAGE_DEFAULT_MAX_PIXELS,
		.max_side = IMAGE_DEFAULT_MAX_SIDE,
	};
	image_format fmt;
	uint32_t w, h;
	int rc;

	if (err != NULL) {
		err->code = IMAGE_OK;
		err->msg[0] = '\0';
	}
	if (out == NULL) {
		count(IMAGE_E_INVALID);
		return set_err(err, IMAGE_E_INVALID, label, "no output image");
	}
	memset(out, 0, sizeof *out);
	if (lim_in != NULL) {
		if (lim_in->max_bytes != 0)
			lim.max_bytes = lim_in->max_bytes;
		if (lim_in->max_pixels != 0)
			lim.max_pixels = lim_in->max_pixels;
		if (lim_in->max_side != 0)
			lim.max_side = lim_in->max_side;
	}
	if (buf == NULL || len == 0) {
		rc = set_err(err, IMAGE_E_CORRUPT, label, "empty image");
		goto done;
	}
	if (len > lim.max_bytes) {
		rc = set_err(err, IMAGE_E_LIMIT, label, "%zu encoded bytes is over the limit of %zu", len,
		    lim.max_bytes);
		goto done;
	}
	/* The header alone decides whether the pixels may be allocated; each decoder checks again what its
	 * library reports. */
	if ((rc = probe(buf, len, label, &fmt, &w, &h, err)) != IMAGE_OK)
		goto done;
	if ((rc = check_dims(&lim, label, image_format_name(fmt), w, h, err)) != IMAGE_OK)
		goto done;
	switch (fmt) {
	case IMAGE_FMT_JPEG: rc = decode_jpeg(buf, len, &lim, label, out, err); break;
	case IMAGE_FMT_PNG: rc = decode_png(buf, len, &lim, label, out, err); break;
	case IMAGE_FMT_WEBP: rc = decode_webp(buf, len, &lim, label, out, err); break;
	default: rc = set_err(err, IMAGE_E_FORMAT, label, "unsupported format"); break;
	}
done:
	if (rc != IMAGE_OK)
		memset(out, 0, sizeof *out);
	count((image_status)rc);
	return rc;
}

void
image_rgb_free(image_rgb *img)
{
	if (img == NULL)
		return;
	free(img->px);
	memset(img, 0, sizeof *img);
}

void
image_stats_get(image_stats *out)
{
	out->decoded = __atomic_load_n(&stat_decoded, __ATOMIC_RELAXED);
	out->rejected_format = __atomic_load_n(&stat_format, __ATOMIC_RELAXED);
	out->rejected_corrupt = __atomic_load_n(&stat_corrupt, __ATOMIC_RELAXED);
	out->rejected_limit = __atomic_load_n(&stat_limit, __ATOMIC_RELAXED);
	out->rejected_other = __atomic_load_n(&stat_other, __ATOMIC_RELAXED);
}
