/* image.h: decoding product images (WebP, JPEG, PNG) to 8-bit RGB, resizing, normalising, and cheap image signals. */
#ifndef PW_IMAGE_IMAGE_H
#define PW_IMAGE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pricewatch/infer.h"

/* ---- decode.c -------------------------------------------------------------------------------------- */

typedef enum image_format {
	IMAGE_FMT_UNKNOWN = 0,
	IMAGE_FMT_JPEG,
	IMAGE_FMT_PNG,
	IMAGE_FMT_WEBP,
	IMAGE_FMT_GIF,  /* recognised so the error can name it; not decoded */
	IMAGE_FMT_AVIF, /* ISO-BMFF "ftyp" avif/heic; recognised, not decoded */
} image_format;

typedef enum image_status {
	IMAGE_OK = 0,
	IMAGE_E_INVALID,     /* bad arguments (NULL buffer, zero size asked for) */
	IMAGE_E_FORMAT,      /* not an image format we decode (sniffed from the magic bytes) */
	IMAGE_E_CORRUPT,     /* corrupt or truncated data */
	IMAGE_E_LIMIT,       /* encoded bytes, dimensions or decoded pixels over the limits */
	IMAGE_E_NOMEM,
} image_status;

/* Filled by every call that can fail: a code and a message naming the image (label) and the reason. */
typedef struct image_error {
	image_status code;
	char msg[256];
} image_error;

/* Limits checked BEFORE anything proportional to the image is allocated. Zero fields take the defaults. */
typedef struct image_limits {
	size_t max_bytes;    /* encoded size */
	uint64_t max_pixels; /* width * height as declared in the header */
	uint32_t max_side;   /* largest width or height */
} image_limits;

#define IMAGE_DEFAULT_MAX_BYTES ((size_t)16 << 20)
#define IMAGE_DEFAULT_MAX_PIXELS ((uint64_t)40000000)
#define IMAGE_DEFAULT_MAX_SIDE 16384u

/* A decoded image: width*height pixels, row-major, 3 bytes (R, G, B) each, no row padding.
 * px is malloc'd and owned by whoever holds the struct (image_rgb_free()). */
typedef struct image_rgb {
	uint32_t width, height;
	uint8_t *px;
} image_rgb;

/* Process-wide decode counters (atomic; the daemon exports them as metrics). */
typedef struct image_stats {
	uint64_t decoded;
	uint64_t rejected_format;
	uint64_t rejected_corrupt;
	uint64_t rejected_limit;
	uint64_t rejected_other; /* NOMEM, INVALID */
} image_stats;

/* The format named by the first bytes of buf (never by a URL or Content-Type). */
image_format image_sniff(const void *buf, size_t len);
const char *image_format_name(image_format fmt);
const char *image_status_name(image_status code);

/* Reads only the header: format and declared dimensions. Returns IMAGE_OK or an error (not counted). */
int image_probe(const void *buf, size_t len, image_format *fmt, uint32_t *width, uint32_t *height, image_error *err);

/* Decodes buf to RGB: alpha composited on white, grey/palette/16-bit/CMYK converted, JPEG EXIF orientation
 * applied. label (URL or path; may be NULL) names the image in err->msg. lim NULL means the defaults.
 * On success out->px is owned by the caller; on failure out is cleared, nothing is left allocated, and the
 * failure is counted in image_stats. */
int image_decode(const void *buf, size_t len, const image_limits *lim, const char *label, image_rgb *out,
    image_error *err);

/* EXIF orientation (1..8) from an APP1 payload ("Exif\0\0" + TIFF); 1 when absent, malformed or out of range. */
int image_exif_orientation(const uint8_t *app1, size_t len);
/* Applies EXIF orientation o (1..8) to src into a new image dst (caller owns dst->px). */
int image_orient(const image_rgb *src, int o, image_rgb *dst, image_error *err);

void image_rgb_free(image_rgb *img);
void image_stats_get(image_stats *out);

/* ---- resize.c -------------------------------------------------------------------------------------- */

typedef struct image_rect {
	uint32_t x, y, width, height;
} image_rect;

/* Area (box) filter: each destination pixel is the coverage-weighted mean of the source pixels under it.
 * Meant for downscaling (a plain pixel copy at 1:1); dst->px is new and owned by the caller. */
int image_resize_area(const image_rgb *src, uint32_t dw, uint32_t dh, image_rgb *dst, image_error *err);
/* Bilinear. align_corners true maps corner pixel centres onto each other (scale (in-1)/(out-1), TF/TF.js
 * resizeBilinear(alignCorners=true), which nsfwjs uses); false is TF's legacy scale in/out from the top-left. */
int image_resize_bilinear(const image_rgb *src, uint32_t dw, uint32_t dh, bool align_corners, image_rgb *dst,
    image_error *err);

/* The rectangle left after trimming uniform borders: rows/columns, from each side, whose pixels are all
 * within tolerance (per channel) of the border colour. The border colour is the top-left pixel when the
 * four corners agree within tolerance, else white if the image is padded with near-white; otherwise
 * nothing is trimmed. A uniform image is left whole. */
void image_trim_rect(const image_rgb *src, int tolerance, image_rect *r);
/* Copies rectangle r (which must lie inside src) into a new image. */
int image_crop(const image_rgb *src, const image_rect *r, image_rgb *dst, image_error *err);
/* image_trim_rect() + image_crop(). */
int image_trim(const image_rgb *src, int tolerance, image_rgb *dst, image_error *err);
/* Largest centred crop with aspect aw:ah (a square for 1:1). */
int image_center_crop(const image_rgb *src, uint32_t aw, uint32_t ah, image_rgb *dst, image_error *err);
/* Pads the shorter side, centred, to aspect aw:ah with colour rgb. */
int image_pad(const image_rgb *src, uint32_t aw, uint32_t ah, const uint8_t rgb[3], image_rgb *dst,
    image_error *err);

typedef enum image_layout {
	IMAGE_LAYOUT_NCHW = 0,
	IMAGE_LAYOUT_NHWC,
} image_layout;

/* How a model wants its input: value = (pixel * scale - mean[c]) / std[c], resized bilinear to width x height. */
typedef struct image_tensor_opts {
	uint32_t width, height;
	image_layout layout;
	bool align_corners;
	float scale;
	float mean[3];
	float std[3];
} image_tensor_opts;

/* The bundled data/models/mobilenetv2-nsfwjs.onnx: NCHW float RGB in [0,1], 224x224, bilinear alignCorners. */
#define IMAGE_TENSOR_OPTS_NSFWJS \
	((image_tensor_opts){ .width = 224, .height = 224, .layout = IMAGE_LAYOUT_NCHW, .align_corners = true, \
	    .scale = 1.0f / 255.0f, .mean = { 0, 0, 0 }, .std = { 1, 1, 1 } })

/* Resizes src straight to the model input (one bilinear pass from the 8-bit pixels, no intermediate image)
 * and fills out as a 1x3xHxW (or 1xHxWx3) FLOAT tensor whose data the caller owns (infer_tensor_release()
 * or free(out->data)). */
int image_to_tensor(const image_rgb *src, const image_tensor_opts *opts, infer_tensor *out, image_error *err);

/* ---- phash.c --------------------------------------------------------------------------------------- */

/* 64-bit DCT perceptual hash (pHash, the Python imagehash.phash recipe): area-resized to 32x32, luma (BT.601),
 * 2-D DCT-II, the 8x8 lowest frequencies compared with their median. Bit 63 - (8*u + v) is coefficient (u, v),
 * u the vertical frequency. Fails only on bad arguments or memory. */
int image_phash(const image_rgb *img, uint64_t *hash, image_error *err);
int image_hamming(uint64_t a, uint64_t b);

/* ---- histogram.c ----------------------------------------------------------------------------------- */

#define IMAGE_HIST_BINS 512 /* 8 x 8 x 8: the top 3 bits of R, G and B */

/* L1-normalised colour histogram (sums to 1; all zero for an empty image). */
void image_histogram(const image_rgb *img, float hist[IMAGE_HIST_BINS]);
/* Histogram intersection, sum of min(a[i], b[i]): 1 for identical histograms, 0 for disjoint colours. */
float image_hist_intersection(const float a[IMAGE_HIST_BINS], const float b[IMAGE_HIST_BINS]);
/* Cosine similarity of the two histograms as vectors (0 when either is all zero). */
float image_hist_cosine(const float a[IMAGE_HIST_BINS], const float b[IMAGE_HIST_BINS]);

#endif
