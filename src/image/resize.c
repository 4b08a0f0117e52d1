/* resize.c: area and bilinear resizing, border trimming, crop/pad, and the float tensor a model takes as input. */
#include <config.h>

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/image.h"

static int fail(image_error *err, image_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
fail(image_error *err, image_status code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return code;
}

static bool
valid(const image_rgb *img)
{
	return img != NULL && img->px != NULL && img->width > 0 && img->height > 0;
}

/* Largest output the helpers here will allocate (they never make more than a decoder may). */
static bool
too_big(uint64_t w, uint64_t h)
{
	return w == 0 || h == 0 || w > 65535 || h > 65535 || w * h > IMAGE_DEFAULT_MAX_PIXELS;
}

static uint8_t
clamp_u8(float v)
{
	if (!(v > 0.0f))
		return 0;
	if (v >= 255.0f)
		return 255;
	return (uint8_t)(v + 0.5f);
}

/* ---- area filter ------------------------------------------------------------------------------------ */

/* Per destination index: the source indices under it and their coverage weights (summing to 1).
 * In units of 1/out source pixels, destination i spans [i*in, (i+1)*in) and source j spans [j*out, (j+1)*out),
 * so the overlaps are exact integers. */
struct area_axis {
	uint32_t *first; /* out + 1 offsets into idx/wt */
	uint32_t *idx;
	float *wt;
};

static void
area_axis_free(struct area_axis *a)
{
	free(a->first);
	free(a->idx);
	free(a->wt);
}

static int
area_axis_init(struct area_axis *a, uint32_t in, uint32_t out)
{
	size_t cap = (size_t)in + out, k = 0;

	a->first = malloc(((size_t)out + 1) * sizeof *a->first);
	a->idx = malloc(cap * sizeof *a->idx);
	a->wt = malloc(cap * sizeof *a->wt);
	if (a->first == NULL || a->idx == NULL || a->wt == NULL) {
		area_axis_free(a);
		return -1;
	}
	for (uint32_t i = 0; i < out; i++) {
		uint64_t lo = (uint64_t)i * in, hi = lo + in;
		uint32_t j0 = (uint32_t)(lo / out), j1 = (uint32_t)((hi - 1) / out);

		a->first[i] = (uint32_t)k;
		for (uint32_t j = j0; j <= j1 && j < in; j++) {
			uint64_t s = (uint64_t)j * out, e = s + out;
			uint64_t ov = (e < hi ? e : hi) - (s > lo ? s : lo);

			a->idx[k] = j;
			a->wt[k] = (float)((double)ov / in);
			k++;
		}
	}
	a->first[out] = (uint32_t)k;
	return 0;
}

int
image_resize_area(const image_rgb *src, uint32_t dw, uint32_t dh, image_rgb *dst, image_error *err)
{
	struct area_axis ax = { 0 }, ay = { 0 };
	uint32_t W, H;
	float *tmp = NULL, *acc = NULL;
	uint8_t *px = NULL;

	memset(dst, 0, sizeof *dst);
	if (!valid(src) || too_big(dw, dh))
		return fail(err, IMAGE_E_INVALID, "resize: bad source or target size %ux%u", dw, dh);
	W = src->width;
	H = src->height;
	tmp = malloc((size_t)dw * H * 3 * sizeof *tmp);
	acc = malloc((size_t)dw * 3 * sizeof *acc);
	px = malloc((size_t)dw * dh * 3);
	if (tmp == NULL || acc == NULL || px == NULL || area_axis_init(&ax, W, dw) != 0 || area_axis_init(&ay, H, dh) != 0) {
		free(tmp);
		free(acc);
		free(px);
		area_axis_free(&ax);
		area_axis_free(&ay);
		return fail(err, IMAGE_E_NOMEM, "resize: out of memory");
	}
	/* Horizontal pass into floats, then vertical; rounding happens once. A destination pixel's sources are
	 * consecutive, so each sum walks one contiguous run. */
	for (uint32_t y = 0; y < H; y++) {
		const uint8_t *s = src->px + (size_t)y * W * 3;
		float *t = tmp + (size_t)y * dw * 3;

		for (uint32_t x = 0; x < dw; x++) {
			uint32_t k0 = ax.first[x], n = ax.first[x + 1] - k0;
			const uint8_t *p = s + (size_t)ax.idx[k0] * 3;
			const float *wt = ax.wt + k0;
			float r = 0, g = 0, b = 0;

			for (uint32_t k = 0; k < n; k++) {
				r += wt[k] * p[3 * k];
				g += wt[k] * p[3 * k + 1];
				b += wt[k] * p[3 * k + 2];
			}
			t[3 * x] = r;
			t[3 * x + 1] = g;
			t[3 * x + 2] = b;
		}
	}
	/* Vertical pass one output row at a time: a few axpy sweeps over contiguous rows, which vectorise. */
	for (uint32_t y = 0; y < dh; y++) {
		uint8_t *d = px + (size_t)y * dw * 3;
		size_t n = (size_t)dw * 3;

		for (size_t x = 0; x < n; x++)
			acc[x] = 0;
		for (uint32_t k = ay.first[y]; k < ay.first[y + 1]; k++) {
			const float *row = tmp + (size_t)ay.idx[k] * n;
			float w = ay.wt[k];

			for (size_t x = 0; x < n; x++)
				acc[x] += w * row[x];
		}
		for (size_t x = 0; x < n; x++)
			d[x] = clamp_u8(acc[x]);
	}
	free(acc);
	free(tmp);
	area_axis_free(&ax);
	area_axis_free(&ay);
	dst->width = dw;
	dst->height = dh;
	dst->px = px;
	return IMAGE_OK;
}

/* ---- bilinear --------------------------------------------------------------------------------------- */

/* Source coordinates along one axis, as TF.js resizeBilinear computes them (float32 fractions). */
struct bilin_axis {
	uint32_t *i0, *i1;
	float *f;
};

static void
bilin_axis_free(struct bilin_axis *a)
{
	free(a->i0);
	free(a->i1);
	free(a->f);
}

static int
bilin_axis_init(struct bilin_axis *a, uint32_t in, uint32_t out, bool align_corners)
{
	double eff_in = align_corners && out > 1 ? in - 1.0 : in;
	double eff_out = align_corners && out > 1 ? out - 1.0 : out;
	double ratio = eff_in / eff_out;

	a->i0 = malloc(out * sizeof *a->i0);
	a->i1 = malloc(out * sizeof *a->i1);
	a->f = malloc(out * sizeof *a->f);
	if (a->i0 == NULL || a->i1 == NULL || a->f == NULL) {
		bilin_axis_free(a);
		return -1;
	}
	for (uint32_t i = 0; i < out; i++) {
		double s = ratio * i;
		uint32_t lo = (uint32_t)floor(s), hi = (uint32_t)ceil(s);

		if (lo > in - 1)
			lo = in - 1;
		if (hi > in - 1)
			hi = in - 1;
		a->i0[i] = lo;
		a->i1[i] = hi;
		a->f[i] = (float)(s - floor(s));
	}
	return 0;
}

/* One bilinear sweep writing each value through put(); shared by the 8-bit and the tensor outputs. */
typedef void (*bilin_put)(void *ctx, uint32_t x, uint32_t y, const float rgb[3]);

static int
bilinear_sweep(const image_rgb *src, uint32_t dw, uint32_t dh, bool align_corners, bilin_put put, void *ctx)
{
	struct bilin_axis ax = { 0 }, ay = { 0 };
	uint32_t W = src->width;

	if (bilin_axis_init(&ax, W, dw, align_corners) != 0 ||
	    bilin_axis_init(&ay, src->height, dh, align_corners) != 0) {
		bilin_axis_free(&ax);
		bilin_axis_free(&ay);
		return -1;
	}
	for (uint32_t y = 0; y < dh; y++) {
		const uint8_t *r0 = src->px + (size_t)ay.i0[y] * W * 3;
		const uint8_t *r1 = src->px + (size_t)ay.i1[y] * W * 3;
		float fy = ay.f[y];

		for (uint32_t x = 0; x < dw; x++) {
			size_t a = (size_t)ax.i0[x] * 3, b = (size_t)ax.i1[x] * 3;
			float fx = ax.f[x], v[3];

			for (int c = 0; c < 3; c++) {
				float top = r0[a + c] + (r0[b + c] - (float)r0[a + c]) * fx;
				float bot = r1[a + c] + (r1[b + c] - (float)r1[a + c]) * fx;

				v[c] = top + (bot - top) * fy;
			}
			put(ctx, x, y, v);
		}
	}
	bilin_axis_free(&ax);
	bilin_axis_free(&ay);
	return 0;
}

struct put_u8 {
	uint8_t *px;
	uint32_t w;
};

static void
put_u8(void *ctx, uint32_t x, uint32_t y, const float rgb[3])
{
	struct put_u8 *p = ctx;
	uint8_t *d = p->px + ((size_t)y * p->w + x) * 3;

	d[0] = clamp_u8(rgb[0]);
	d[1] = clamp_u8(rgb[1]);
	d[2] = clamp_u8(rgb[2]);
}

int
image_resize_bilinear(const image_rgb *src, uint32_t dw, uint32_t dh, bool align_corners, image_rgb *dst,
    image_error *err)
{
	struct put_u8 p;

	memset(dst, 0, sizeof *dst);
	if (!valid(src) || too_big(dw, dh))
		return fail(err, IMAGE_E_INVALID, "resize: bad source or target size %ux%u", dw, dh);
	p.w = dw;
	p.px = malloc((size_t)dw * dh * 3);
	if (p.px == NULL || bilinear_sweep(src, dw, dh, align_corners, put_u8, &p) != 0) {
		free(p.px);
		return fail(err, IMAGE_E_NOMEM, "resize: out of memory");
	}
	dst->width = dw;
	dst->height = dh;
	dst->px = p.px;
	return IMAGE_OK;
}

/* ---- the model input tensor ------------------------------------------------------------------------- */

struct put_tensor {
	float *data;
	uint32_t w, h;
	image_layout layout;
	float mul[3], add[3]; /* value = pixel * mul + add, folded from scale, mean and std */
};

static void
put_tensor(void *ctx, uint32_t x, uint32_t y, const float rgb[3])
{
	struct put_tensor *p = ctx;
	size_t plane = (size_t)p->w * p->h, at = (size_t)y * p->w + x;

	for (int c = 0; c < 3; c++) {
		float v = rgb[c] * p->mul[c] + p->add[c];

		if (p->layout == IMAGE_LAYOUT_NCHW)
			p->data[(size_t)c * plane + at] = v;
		else
			p->data[at * 3 + (size_t)c] = v;
	}
}

int
image_to_tensor(const image_rgb *src, const image_tensor_opts *opts, infer_tensor *out, image_error *err)
{
	struct put_tensor p;
	size_t n;

	memset(out, 0, sizeof *out);
	if (!valid(src) || opts == NULL || opts->width == 0 || opts->height == 0 || opts->width > 8192 ||
	    opts->height > 8192)
		return fail(err, IMAGE_E_INVALID, "tensor: bad source or input size");
	for (int c = 0; c < 3; c++) {
		if (!(opts->std[c] != 0.0f) || !isfinite(opts->std[c]) || !isfinite(opts->mean[c]) ||
		    !isfinite(opts->scale))
			return fail(err, IMAGE_E_INVALID, "tensor: std must be finite and non-zero");
		/* (pixel * scale - mean) / std without a division per element. */
		p.mul[c] = opts->scale / opts->std[c];
		p.add[c] = -opts->mean[c] / opts->std[c];
	}
	n = (size_t)opts->width * opts->height * 3;
	p.data = malloc(n * sizeof(float));
	p.w = opts->width;
	p.h = opts->height;
	p.layout = opts->layout;
	if (p.data == NULL || bilinear_sweep(src, p.w, p.h, opts->align_corners, put_tensor, &p) != 0) {
		free(p.data);
		return fail(err, IMAGE_E_NOMEM, "tensor: out of memory");
	}
	out->dtype = INFER_DTYPE_FLOAT;
	out->ndim = 4;
	out->dims[0] = 1;
	if (opts->layout == IMAGE_LAYOUT_NCHW) {
		out->dims[1] = 3;
		out->dims[2] = opts->height;
		out->dims[3] = opts->width;
	} else {
		out->dims[1] = opts->height;
		out->dims[2] = opts->width;
		out->dims[3] = 3;
	}
	out->data = p.data;
	return IMAGE_OK;
}

/* ---- trim, crop, pad -------------------------------------------------------------------------------- */

static bool
near(const uint8_t *a, const uint8_t *b, int tol)
{
	return abs(a[0] - b[0]) <= tol && abs(a[1] - b[1]) <= tol && abs(a[2] - b[2]) <= tol;
}

static bool
row_is(const image_rgb *img, uint32_t y, uint32_t x0, uint32_t x1, const uint8_t *ref, int tol)
{
	const uint8_t *p = img->px + (size_t)y * img->width * 3;

	for (uint32_t x = x0; x < x1; x++)
		if (!near(p + (size_t)x * 3, ref, tol))
			return false;
	return true;
}

static bool
col_is(const image_rgb *img, uint32_t x, uint32_t y0, uint32_t y1, const uint8_t *ref, int tol)
{
	for (uint32_t y = y0; y < y1; y++)
		if (!near(img->px + ((size_t)y * img->width + x) * 3, ref, tol))
			return false;
	return true;
}

void
image_trim_rect(const image_rgb *src, int tol, image_rect *r)
{
	static const uint8_t white[3] = { 255, 255, 255 };
	uint32_t W, H, top = 0, bottom, left = 0, right;
	const uint8_t *c0, *c1, *c2, *c3, *ref;

	memset(r, 0, sizeof *r);
	if (!valid(src))
		return;
	W = src->width;
	H = src->height;
	*r = (image_rect){ 0, 0, W, H };
	if (tol < 0)
		tol = 0;
	c0 = src->px;
	c1 = src->px + (size_t)(W - 1) * 3;
	c2 = src->px + (size_t)(H - 1) * W * 3;
	c3 = c2 + (size_t)(W - 1) * 3;
	/* Four agreeing corners name the padding colour; otherwise only white padding (on some sides) is cut. */
	ref = near(c0, c1, tol) && near(c0, c2, tol) && near(c0, c3, tol) ? c0 : white;
	while (top < H && row_is(src, top, 0, W, ref, tol))
		top++;
	if (top == H)
		return; /* uniform: nothing to keep apart from the padding, so keep it all */
	bottom = H;
	while (bottom > top + 1 && row_is(src, bottom - 1, 0, W, ref, tol))
		bottom--;
	right = W;
	while (left < W && col_is(src, left, top, bottom, ref, tol))
		left++;
	while (right > left + 1 && col_is(src, right - 1, top, bottom, ref, tol))
		right--;
	*r = (image_rect){ left, top, right - left, bottom - top };
}

int
image_crop(const image_rgb *src, const image_rect *r, image_rgb *dst, image_error *err)
{
	uint8_t *px;

	memset(dst, 0, sizeof *dst);
	if (!valid(src) || r == NULL || r->width == 0 || r->height == 0 || r->x > src->width ||
	    r->width > src->width - r->x || r->y > src->height || r->height > src->height - r->y)
		return fail(err, IMAGE_E_INVALID, "crop: rectangle outside the image");
	px = malloc((size_t)r->width * r->height * 3);
	if (px == NULL)
		return fail(err, IMAGE_E_NOMEM, "crop: out of memory");
	for (uint32_t y = 0; y < r->height; y++)
		memcpy(px + (size_t)y * r->width * 3, src->px + (((size_t)r->y + y) * src->width + r->x) * 3,
		    (size_t)r->width * 3);
	dst->width = r->width;
	dst->height = r->height;
	dst->px = px;
	return IMAGE_OK;
}

int
image_trim(const image_rgb *src, int tolerance, image_rgb *dst, image_error *err)
{
	image_rect r;

	image_trim_rect(src, tolerance, &r);
	return image_crop(src, &r, dst, err);
}

int
image_center_crop(const image_rgb *src, uint32_t aw, uint32_t ah, image_rgb *dst, image_error *err)
{
	image_rect r;
	uint64_t W, H;

	memset(dst, 0, sizeof *dst);
	if (!valid(src) || aw == 0 || ah == 0)
		return fail(err, IMAGE_E_INVALID, "center crop: bad arguments");
	W = src->width;
	H = src->height;
	if (W * ah > H * aw) { /* too wide */
		r.height = (uint32_t)H;
		r.width = (uint32_t)(H * aw / ah);
	} else {
		r.width = (uint32_t)W;
		r.height = (uint32_t)(W * ah / aw);
	}
	if (r.width == 0)
		r.width = 1;
	if (r.height == 0)
		r.height = 1;
	r.x = (uint32_t)((W - r.width) / 2);
	r.y = (uint32_t)((H - r.height) / 2);
	return image_crop(src, &r, dst, err);
}

int
image_pad(const image_rgb *src, uint32_t aw, uint32_t ah, const uint8_t rgb[3], image_rgb *dst, image_error *err)
{
	uint64_t W, H, nw, nh, x0, y0;
	uint8_t *px;

	memset(dst, 0, sizeof *dst);
	if (!valid(src) || aw == 0 || ah == 0 || rgb == NULL)
		return fail(err, IMAGE_E_INVALID, "pad: bad arguments");
	W = src->width;
	H = src->height;
	if (W * ah > H * aw) { /* too wide: add rows */
		nw = W;
		nh = (W * ah + aw - 1) / aw;
	} else {
		nh = H;
		nw = (H * aw + ah - 1) / ah;
	}
	if (too_big(nw, nh))
		return fail(err, IMAGE_E_LIMIT, "pad: %llux%llu would be too large", (unsigned long long)nw,
		    (unsigned long long)nh);
	px = malloc((size_t)(nw * nh * 3));
	if (px == NULL)
		return fail(err, IMAGE_E_NOMEM, "pad: out of memory");
	for (size_t i = 0; i < nw * nh; i++)
		memcpy(px + i * 3, rgb, 3);
	x0 = (nw - W) / 2;
	y0 = (nh - H) / 2;
	for (uint64_t y = 0; y < H; y++)
		memcpy(px + ((y0 + y) * nw + x0) * 3, src->px + y * W * 3, (size_t)W * 3);
	dst->width = (uint32_t)nw;
	dst->height = (uint32_t)nh;
	dst->px = px;
	return IMAGE_OK;
}
