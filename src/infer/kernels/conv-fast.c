/* conv-fast.c: optimised 2-D convolutions: 1x1 as one GEMM, others as im2col + GEMM, depthwise 3x3 direct (AVX2 or plain C). */
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PW_X86 1
#endif

#include "internal.h"
#include "kernels/avx2.h"

/* One output of a depthwise 3x3 with bounds checks; base is the input column of tap kx = 0. */
static float
dw_point(const float *const *rows, int64_t W, const float *w9, float bias, int64_t base)
{
	float acc = bias;

	for (int ky = 0; ky < 3; ky++) {
		if (rows[ky] == NULL)
			continue;
		for (int kx = 0; kx < 3; kx++) {
			int64_t ix = base + kx;
			if (ix >= 0 && ix < W)
				acc += w9[ky * 3 + kx] * rows[ky][ix];
		}
	}
	return acc;
}

/* Depthwise 3x3 (any stride and padding, dilation 1) on one channel plane, plain C. */
static void
dw3x3_plane_generic(const struct conv_params *p, const float *x, const float *w9, float bias, float *y)
{
	int64_t H = p->g.in[1], W = p->g.in[2], OH = p->g.out[1], OW = p->g.out[2];
	int64_t sh = p->g.s[1], sw = p->g.s[2], pt = p->g.pb[1], pl = p->g.pb[2];

	for (int64_t oy = 0; oy < OH; oy++) {
		const float *rows[3];
		for (int ky = 0; ky < 3; ky++) {
			int64_t iy = oy * sh - pt + ky;
			rows[ky] = iy >= 0 && iy < H ? x + iy * W : NULL;
		}
		for (int64_t ox = 0; ox < OW; ox++)
			y[oy * OW + ox] = dw_point(rows, W, w9, bias, ox * sw - pl);
		infer_act_apply(&p->act, y + oy * OW, OW);
	}
}

/* Size of the zero-padded copy of one input plane that dw3x3_plane_pad_avx2 reads without bounds checks:
 * rows (OH-1)*sh + 3, columns sw * (OW rounded up to 8) + 18 (stride 2 reads 18 floats per 8 outputs). */
static void
dw_padded_size(const struct conv_params *p, int64_t *rows, int64_t *cols)
{
	*rows = (p->g.out[1] - 1) * p->g.s[1] + 3;
	*cols = p->g.s[2] * ((p->g.out[2] + 7) / 8 * 8) + 18;
}

#ifdef PW_X86
/* 8 outputs of one row from three input rows: out[j] = bias + sum w[ky][kx] * r[ky][j*sw + kx], sw 1 or 2. */
__attribute__((target("avx2,fma"))) static inline __m256
dw_vec8(const float *const *r, int64_t sw, const __m256 *wv, __m256 bv)
{
	__m256 a0, a1, a2;
	const float *b0 = r[0], *b1 = r[1], *b2 = r[2];

	if (sw == 1) {
		a0 = _mm256_fmadd_ps(wv[0], _mm256_loadu_ps(b0), bv);
		a1 = _mm256_mul_ps(wv[3], _mm256_loadu_ps(b1));
		a2 = _mm256_mul_ps(wv[6], _mm256_loadu_ps(b2));
		a0 = _mm256_fmadd_ps(wv[1], _mm256_loadu_ps(b0 + 1), a0);
		a1 = _mm256_fmadd_ps(wv[4], _mm256_loadu_ps(b1 + 1), a1);
		a2 = _mm256_fmadd_ps(wv[7], _mm256_loadu_ps(b2 + 1), a2);
		a0 = _mm256_fmadd_ps(wv[2], _mm256_loadu_ps(b0 + 2), a0);
		a1 = _mm256_fmadd_ps(wv[5], _mm256_loadu_ps(b1 + 2), a1);
		a2 = _mm256_fmadd_ps(wv[8], _mm256_loadu_ps(b2 + 2), a2);
	} else {
		a0 = _mm256_fmadd_ps(wv[0], pw_load_even(b0), bv);
		a1 = _mm256_mul_ps(wv[3], pw_load_even(b1));
		a2 = _mm256_mul_ps(wv[6], pw_load_even(b2));
		a0 = _mm256_fmadd_ps(wv[1], pw_load_odd(b0), a0);
		a1 = _mm256_fmadd_ps(wv[4], pw_load_odd(b1), a1);
		a2 = _mm256_fmadd_ps(wv[7], pw_load_odd(b2), a2);
		a0 = _mm256_fmadd_ps(wv[2], pw_load_even(b0 + 2), a0);
		a1 = _mm256_fmadd_ps(wv[5], pw_load_even(b1 + 2), a1);
		a2 = _mm256_fmadd_ps(wv[8], pw_load_even(b2 + 2), a2);
	}
	return _mm256_add_ps(_mm256_add_ps(a0, a1), a2);
}

/* Floats dw_vec8 reads from each row: 10 at stride 1, 18 at stride 2 (pw_load_even(b + 2) reads b[2..17]). */
#define DW_SPAN(sw) ((sw) == 1 ? 10 : 18)

/* Copies an input row of n floats into the zero-padded plane: whole vectors, the last one loaded under a mask
 * and stored whole when room (floats from d to the end of the padded row) allows, which writes zeros past the
 * row, where the plane is padding anyway. */
__attribute__((target("avx2,fma"))) static inline void
dw_copy_row(float *d, const float *s, int64_t n, int64_t room)
{
	int64_t i = 0;

	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(d + i, _mm256_loadu_ps(s + i));
	if (i < n && i + 8 <= room)
		_mm256_storeu_ps(d + i, _mm256_maskload_ps(s + i, pw_head_mask(n - i)));
	else
		for (; i < n; i++)
			d[i] = s[i];
}

/* Stores the first n (1..8) lanes of v at y, clamped when the activation is a clamp. */
__attribute__((target("avx2,fma"))) static inline void
dw_store(float *y, __m256 v, int64_t n, const struct infer_act *act, __m256 lo, __m256 hi)
{
	if (act->kind == ACT_CLAMP)
		v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
	if (n >= 8)
		_mm256_storeu_ps(y, v);
	else
		pw_store_part(y, v, n);
}

/* Lane mask of the columns idx .. idx+7 that lie inside [0, W). */
__attribute__((target("avx2,fma"))) static inline __m256i
dw_mask(int64_t idx, int64_t W)
{
	__m256i i = _mm256_add_epi32(_mm256_set1_epi32((int)idx), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));

	return _mm256_and_si256(_mm256_cmpgt_epi32(i, _mm256_set1_epi32(-1)), _mm256_cmpgt_epi32(_mm256_set1_epi32((int)W), i));
}

/* row[idx .. idx+7] under mask m (0 in the other lanes, which are not read: no fault). */
__attribute__((target("avx2,fma"))) static inline __m256
dw_mload(const float *row, int64_t idx, __m256i m)
{
	return _mm256_maskload_ps((const float *)((uintptr_t)row + (uintptr_t)(idx * (int64_t)sizeof(float))), m);
}

/* A border vector of outputs [ox, ox+n): its first input column and the lane masks of the columns it reads. */
struct dw_edge {
	int64_t ox, n, b0;
	__m256i m0, m1, m2, m8, m10;
};

/* At most this many border vectors per row keep their masks in registers/stack; more (huge pads) fall back to
 * masks computed per vector. */
#define DW_MAX_EDGES 4

__attribute__((target("avx2,fma"))) static void
dw_edge_init(struct dw_edge *e, int64_t ox, int64_t n, int64_t b0, int64_t W)
{
	e->ox = ox;
	e->n = n;
	e->b0 = b0;
	e->m0 = dw_mask(b0, W);
	e->m1 = dw_mask(b0 + 1, W);
	e->m2 = dw_mask(b0 + 2, W);
	e->m8 = dw_mask(b0 + 8, W);
	e->m10 = dw_mask(b0 + 10, W);
}

/* dw_vec8 at a border: input column b0 + j*sw + kx for output j, zero outside [0, W) and for NULL rows. */
__attribute__((target("avx2,fma"))) static inline __m256
dw_vec8_edge(const float *const *rows, const struct dw_edge *e, int64_t sw, const __m256 *wv, __m256 bv)
{
	__m256 acc = bv;
	int64_t b0 = e->b0;

	for (int ky = 0; ky < 3; ky++) {
		const float *r = rows[ky];
		if (r == NULL)
			continue;
		if (sw == 1) {
			acc = _mm256_fmadd_ps(wv[ky * 3], dw_mload(r, b0, e->m0), acc);
			acc = _mm256_fmadd_ps(wv[ky * 3 + 1], dw_mload(r, b0 + 1, e->m1), acc);
			acc = _mm256_fmadd_ps(wv[ky * 3 + 2], dw_mload(r, b0 + 2, e->m2), acc);
		} else {
			__m256 lo = dw_mload(r, b0, e->m0), hi = dw_mload(r, b0 + 8, e->m8);
			acc = _mm256_fmadd_ps(wv[ky * 3], pw_even(lo, hi), acc);
			acc = _mm256_fmadd_ps(wv[ky * 3 + 1], pw_odd(lo, hi), acc);
			acc = _mm256_fmadd_ps(wv[ky * 3 + 2], pw_even(dw_mload(r, b0 + 2, e->m2), dw_mload(r, b0 + 10, e->m10)),
			    acc);
		}
	}
	return acc;
}

/* Depthwise 3x3 on one channel plane (horizontal stride 2, or 1; any vertical stride and padding): 8 outputs per
 * step with all nine taps in registers, read straight from the input where the whole window is inside it; the
 * few outputs at the left and right borders use masked loads (masks computed once per plane), and rows outside
 * the input read zero (a W-float zero row), so the plane is never copied. */
__attribute__((target("avx2,fma"))) static void
dw3x3_plane_avx2(const struct conv_params *p, const float *x, const float *w9, float bias, float *y,
    const float *zero)
{
	int64_t H = p->g.in[1], W = p->g.in[2], OH = p->g.out[1], OW = p->g.out[2];
	int64_t sh = p->g.s[1], sw = p->g.s[2], pt = p->g.pb[1], pl = p->g.pb[2], span = DW_SPAN(sw);
	int64_t oxa = (pl + sw - 1) / sw, oxb;
	__m256 wv[9], bv = _mm256_set1_ps(bias);
	__m256 alo = _mm256_set1_ps(p->act.kind == ACT_CLAMP ? p->act.lo : 0.0f);
	__m256 ahi = _mm256_set1_ps(p->act.kind == ACT_CLAMP ? p->act.hi : 0.0f);
	struct dw_edge edges[DW_MAX_EDGES];
	int ne = 0, many = 0;

	for (int i = 0; i < 9; i++)
		wv[i] = _mm256_set1_ps(w9[i]);
	/* Interior vectors: [oxa, oxb) in steps of 8, every read inside [0, W). */
	if (oxa > OW)
		oxa = OW;
	oxb = oxa;
	while (oxb + 8 <= OW && oxb * sw - pl + span <= W)
		oxb += 8;
	/* Border vectors: [0, oxa) and [oxb, OW). */
	for (int side = 0; side < 2; side++) {
		int64_t a = side == 0 ? 0 : oxb, b = side == 0 ? oxa : OW;
		for (int64_t ox = a; ox < b; ox += 8) {
			if (ne == DW_MAX_EDGES) {
				many = 1;
				continue;
			}
			dw_edge_init(&edges[ne++], ox, b - ox < 8 ? b - ox : 8, ox * sw - pl, W);
		}
	}
	for (int64_t oy = 0; oy < OH; oy++) {
		const float *rows[3], *r[3];
		float *yr = y + oy * OW;
		for (int ky = 0; ky < 3; ky++) {
			int64_t iy = oy * sh - pt + ky;
			rows[ky] = iy >= 0 && iy < H ? x + iy * W : NULL;
		}
		for (int64_t ox = oxa; ox < oxb; ox += 8) {
			for (int ky = 0; ky < 3; ky++)
				r[ky] = (rows[ky] != NULL ? rows[ky] : zero) + ox * sw - pl;
			dw_store(yr + ox, dw_vec8(r, sw, wv, bv), 8, &p->act, alo, ahi);
		}
		for (int e = 0; e < ne; e++)
			dw_store(yr + edges[e].ox, dw_vec8_edge(rows, &edges[e], sw, wv, bv), edges[e].n, &p->act, alo, ahi);
		if (many) {
			/* More border vectors than edges[] holds (pads of 32 and more): masks per vector. */
			for (int side = 0; side < 2; side++) {
				int64_t a = side == 0 ? 0 : oxb, b = side == 0 ? oxa : OW;
				for (int64_t ox = a; ox < b; ox += 8) {
					struct dw_edge e;
					dw_edge_init(&e, ox, b - ox < 8 ? b - ox : 8, ox * sw - pl, W);
					dw_store(yr + ox, dw_vec8_edge(rows, &e, sw, wv, bv), e.n, &p->act, alo, ahi);
				}
			}
		}
		if (p->act.kind == ACT_HARDSWISH)
			infer_act_apply(&p->act, yr, OW);
	}
}

/* Stride 1: 8 outputs per step (three partial sums, one per kernel row, so the nine FMAs are not one
 * dependency chain), on a zero-padded copy of the plane so that borders need no special case. Measured faster
 * at stride 1 than reading the input in place with masked loads at the borders (a quarter of the vectors of a
 * 56-wide row are borders); pad must hold dw_padded_size() floats, zero outside the input's rectangle. */
__attribute__((target("avx2,fma"))) static void
dw3x3_plane_pad_avx2(const struct conv_params *p, const float *x, const float *w9, float bias, float *y, float *pad)
{
	int64_t H = p->g.in[1], W = p->g.in[2], OH = p->g.out[1], OW = p->g.out[2];
	int64_t sh = p->g.s[1], sw = p->g.s[2], pt = p->g.pb[1], pl = p->g.pb[2], PR, PC;
	__m256 wv[9], bv = _mm256_set1_ps(bias);
	__m256 alo = _mm256_set1_ps(p->act.kind == ACT_CLAMP ? p->act.lo : 0.0f);
	__m256 ahi = _mm256_set1_ps(p->act.kind == ACT_CLAMP ? p->act.hi : 0.0f);

	dw_padded_size(p, &PR, &PC);
	/* pad was zeroed once when the thread allocated it and only the input's own rectangle is ever written
	 * (the same one for every plane of a call), so the padding is still zero: copy the input rows only. */
	for (int64_t r = 0; r < PR; r++) {
		int64_t iy = r - pt, c0 = pl < PC ? pl : PC, n = W;
		if (iy < 0 || iy >= H)
			continue;
		/* Input columns past PC are never read by any output. */
		if (c0 + n > PC)
			n = PC - c0;
		dw_copy_row(pad + r * PC + c0, x + iy * W, n, PC - c0);
	}
	for (int i = 0; i < 9; i++)
		wv[i] = _mm256_set1_ps(w9[i]);
	for (int64_t oy = 0; oy < OH; oy++) {
		const float *r0 = pad + oy * sh * PC;
		float *yr = y + oy * OW;
		if (sw == 1 && sh == 1 && oy + 1 < OH && p->act.kind != ACT_HARDSWISH) {
			/* Two output rows at once: they share two of their four input rows, so 12 loads feed 18 FMAs. */
			for (int64_t ox = 0; ox < OW; ox += 8) {
				const float *b0 = r0 + ox, *b1 = b0 + PC, *b2 = b1 + PC, *b3 = b2 + PC;
				__m256 a0, a1, a2, c0, c1, c2, v, o0, o1;
				v = _mm256_loadu_ps(b0);
				a0 = _mm256_fmadd_ps(wv[0], v, bv);
				v = _mm256_loadu_ps(b0 + 1);
				a0 = _mm256_fmadd_ps(wv[1], v, a0);
				v = _mm256_loadu_ps(b0 + 2);
				a0 = _mm256_fmadd_ps(wv[2], v, a0);
				v = _mm256_loadu_ps(b1);
				a1 = _mm256_mul_ps(wv[3], v);
				c0 = _mm256_fmadd_ps(wv[0], v, bv);
				v = _mm256_loadu_ps(b1 + 1);
				a1 = _mm256_fmadd_ps(wv[4], v, a1);
				c0 = _mm256_fmadd_ps(wv[1], v, c0);
				v = _mm256_loadu_ps(b1 + 2);
				a1 = _mm256_fmadd_ps(wv[5], v, a1);
				c0 = _mm256_fmadd_ps(wv[2], v, c0);
				v = _mm256_loadu_ps(b2);
				a2 = _mm256_mul_ps(wv[6], v);
				c1 = _mm256_mul_ps(wv[3], v);
				v = _mm256_loadu_ps(b2 + 1);
				a2 = _mm256_fmadd_ps(wv[7], v, a2);
				c1 = _mm256_fmadd_ps(wv[4], v, c1);
				v = _mm256_loadu_ps(b2 + 2);
				a2 = _mm256_fmadd_ps(wv[8], v, a2);
				c1 = _mm256_fmadd_ps(wv[5], v, c1);
				v = _mm256_loadu_ps(b3);
				c2 = _mm256_mul_ps(wv[6], v);
				v = _mm256_loadu_ps(b3 + 1);
				c2 = _mm256_fmadd_ps(wv[7], v, c2);
				v = _mm256_loadu_ps(b3 + 2);
				c2 = _mm256_fmadd_ps(wv[8], v, c2);
				o0 = _mm256_add_ps(_mm256_add_ps(a0, a1), a2);
				o1 = _mm256_add_ps(_mm256_add_ps(c0, c1), c2);
				if (p->act.kind == ACT_CLAMP) {
					o0 = _mm256_min_ps(_mm256_max_ps(o0, alo), ahi);
					o1 = _mm256_min_ps(_mm256_max_ps(o1, alo), ahi);
				}
				if (ox + 8 <= OW) {
					_mm256_storeu_ps(yr + ox, o0);
					_mm256_storeu_ps(yr + OW + ox, o1);
				} else {
					pw_store_part(yr + ox, o0, OW - ox);
					pw_store_part(yr + OW + ox, o1, OW - ox);
				}
			}
			oy++;
			continue;
		}
		for (int64_t ox = 0; ox < OW; ox += 8) {
			const float *b[3] = { r0 + ox * sw, r0 + ox * sw + PC, r0 + ox * sw + 2 * PC };
			__m256 acc = dw_vec8(b, sw, wv, bv);
			if (p->act.kind == ACT_CLAMP)
				acc = _mm256_min_ps(_mm256_max_ps(acc, alo), ahi);
			if (ox + 8 <= OW)
				_mm256_storeu_ps(yr + ox, acc);
			else
				pw_store_part(yr + ox, acc, OW - ox);
		}
		if (p->act.kind == ACT_HARDSWISH)
			infer_act_apply(&p->act, yr, OW);
	}
}

/* Channel-interleaved depthwise 3x3, 8 channels at once (infer_conv_fast's kernel up to DWI_MAX_AREA). On a
 * 14x14 or 7x7 plane the plane kernels above spend most of their time per row and per plane (row setup, partial
 * stores, the padded copy), and at stride 2 they shuffle every input vector. Here 8 planes are transposed into
 * one zero-padded [PH][PW][8] scratch (pixel-major, one vector per pixel), every output pixel is one vector of 9
 * FMAs with per-channel weight vectors (any stride), and 8 pixels at a time are transposed back into the 8
 * output planes. A group of fewer than 8 channels (C % 8) repeats its last channel in the unused lanes and
 * stores only its own. */

/* Rows and columns of the interleaved scratch: the padded window every output reads, (O-1)*s + 3. */
static void
dwi_size(const struct conv_params *p, int64_t *rows, int64_t *cols)
{
	*rows = (p->g.out[1] - 1) * p->g.s[1] + 3;
	*cols = (p->g.out[2] - 1) * p->g.s[2] + 3;
}

static int64_t
dwi_cols(const struct conv_params *p)
{
	int64_t rows, cols;

	dwi_size(p, &rows, &cols);
	return cols;
}

/* Columns c .. c+3 of input row `off` of the 8 planes xs[0..7] as 4 pixel vectors v[0..3]: the rows of planes j
 * and j+4 share a vector (one per 128-bit half, broadcast loads and a blend), so one in-lane 4x4 transpose (8
 * shuffles) does what an 8x8 transpose does in 24. */
__attribute__((target("avx2,fma"))) static inline void
dwi_load4(const float *const *xs, int64_t off, __m256 *v)
{
	__m256 r[4], t0, t1, t2, t3;

#pragma GCC unroll 4
	for (int j = 0; j < 4; j++)
		r[j] = _mm256_blend_ps(_mm256_broadcast_ps((const __m128 *)(const void *)(xs[j] + off)),
		    _mm256_broadcast_ps((const __m128 *)(const void *)(xs[j + 4] + off)), 0xF0);
	t0 = _mm256_unpacklo_ps(r[0], r[1]);
	t1 = _mm256_unpackhi_ps(r[0], r[1]);
	t2 = _mm256_unpacklo_ps(r[2], r[3]);
	t3 = _mm256_unpackhi_ps(r[2], r[3]);
	v[0] = _mm256_shuffle_ps(t0, t2, 0x44);
	v[1] = _mm256_shuffle_ps(t0, t2, 0xEE);
	v[2] = _mm256_shuffle_ps(t1, t3, 0x44);
	v[3] = _mm256_shuffle_ps(t1, t3, 0xEE);
}

/* Copies the part of the 8 input planes xs[0..7] that outputs read into t ([PH][PW][8]), 4 columns at a time
 * (the last 4 of a row overlap the ones before rather than reading past it; rows under 4 columns go through
 * masked loads and an 8x8 transpose). Only this rectangle is ever written, the same for every group of a call,
 * so t's padding stays zero. */
__attribute__((target("avx2,fma"))) static void
dwi_pack(const struct conv_params *p, const float *const *xs, float *t, int64_t PH, int64_t PW)
{
	int64_t H = p->g.in[1], W = p->g.in[2], pt = p->g.pb[1], pl = p->g.pb[2];
	int64_t nx = W < PW - pl ? W : PW - pl;

	for (int64_t iy = 0; iy < H && iy + pt < PH && nx > 0; iy++) {
		float *d = t + ((iy + pt) * PW + pl) * 8;
		int64_t off = iy * W;
		if (nx < 4) {
			__m256 v[8];
			__m256i m = pw_head_mask(nx);
#pragma GCC unroll 8
			for (int j = 0; j < 8; j++)
				v[j] = _mm256_maskload_ps(xs[j] + off, m);
			pw_transpose8(v);
			for (int i = 0; i < 4; i++)
				if (i < nx)
					_mm256_store_ps(d + i * 8, v[i]);
			continue;
		}
		for (int64_t ix = 0; ix < nx; ix += 4) {
			__m256 v[4];
			int64_t b = nx - ix < 4 ? nx - 4 : ix;
			dwi_load4(xs, off + b, v);
#pragma GCC unroll 4
			for (int i = 0; i < 4; i++)
				_mm256_store_ps(d + (b + i) * 8, v[i]);
		}
	}
}

/* Window offsets (floats into the scratch) of output pixels 0..P-1 in plane order, then copies of the last one
 * up to 8 entries, so that a chunk of 8 pixels of a plane under 8 pixels reads only real windows. */
static void
dwi_offsets(const struct conv_params *p, int64_t PW, int32_t *off)
{
	int64_t OH = p->g.out[1], OW = p->g.out[2], q = 0;

	for (int64_t oy = 0; oy < OH; oy++)
		for (int64_t ox = 0; ox < OW; ox++)
			off[q++] = (int32_t)((oy * p->g.s[1] * PW + ox * p->g.s[2]) * 8);
	for (; q < 8; q++)
		off[q] = off[q - 1];
}

/* The activation of 8 channels of one pixel. */
__attribute__((target("avx2,fma"))) static inline __m256
dwi_act(__m256 v, enum infer_act_kind act, __m256 lo, __m256 hi)
{
	if (act == ACT_CLAMP)
		return _mm256_min_ps(_mm256_max_ps(v, lo), hi);
	if (act == ACT_HARDSWISH) {
		/* x * clamp(x/6 + 1/2, 0, 1), as act.c computes it */
		__m256 g = _mm256_fmadd_ps(v, _mm256_set1_ps(1.0f / 6.0f), _mm256_set1_ps(0.5f));
		return _mm256_mul_ps(v, _mm256_min_ps(_mm256_max_ps(g, _mm256_setzero_ps()), _mm256_set1_ps(1.0f)));
	}
	return v;
}

/* Activates the 8 pixel vectors v of a chunk and stores them as n floats (from pixel b) of each of the nch planes
 * ys[0..nch-1], through one 8x8 transpose. */
__attribute__((target("avx2,fma"), always_inline)) static inline void
dwi_store8(__m256 *v, int64_t b, int64_t n, enum infer_act_kind act, __m256 lo, __m256 hi, float *const *ys, int nch)
{
#pragma GCC unroll 8
	for (int i = 0; i < 8; i++)
		v[i] = dwi_act(v[i], act, lo, hi);
	pw_transpose8(v);
#pragma GCC unroll 8
	for (int j = 0; j < 8; j++) {
		if (j >= nch)
			break;
		if (n == 8)
			_mm256_storeu_ps(ys[j] + b, v[j]);
		else
			pw_store_part(ys[j] + b, v[j], n);
	}
}

/* All P output pixels of the group, 8 consecutive pixels of the plane at a time (across row ends, through the
 * offset table, so every chunk is whole: the last one of a plane of 8 or more overlaps the one before), for
 * rows under 8 pixels. Taps outer, pixels inner: 8 independent accumulators and one weight vector in registers,
 * the input read by the FMAs themselves. */
__attribute__((target("avx2,fma"))) static void
dwi_compute(const float *t, const int32_t *off, int64_t P, int64_t rs, const __m256 *wv, __m256 bv,
    enum infer_act_kind act, __m256 lo, __m256 hi, float *const *ys, int nch)
{
	for (int64_t p0 = 0; p0 < P; p0 += 8) {
		int64_t b = p0 + 8 > P && P >= 8 ? P - 8 : p0, n = P - b < 8 ? P - b : 8;
		const float *pb[8];
		__m256 acc[8];

#pragma GCC unroll 8
		for (int i = 0; i < 8; i++) {
			pb[i] = t + off[b + i];
			acc[i] = bv;
		}
#pragma GCC unroll 9
		for (int k = 0; k < 9; k++) {
			__m256 w = wv[k];
#pragma GCC unroll 8
			for (int i = 0; i < 8; i++)
				acc[i] = _mm256_fmadd_ps(w, _mm256_load_ps(pb[i] + (k / 3) * rs + (k % 3) * 8), acc[i]);
		}
		dwi_store8(acc, b, n, act, lo, hi, ys, nch);
	}
}

/* The same for rows of 8 pixels or more, 8 pixels of one row at a time (the last chunk of a row overlaps the
 * one before): neighbouring pixels share input columns, so each column vector is loaded once and feeds up to 3
 * FMAs (30 loads for 72 FMAs at stride 1, 51 at stride 2, instead of 72: loads were the bottleneck). sw is a
 * constant where inlined. */
__attribute__((target("avx2,fma"), always_inline)) static inline void
dwi_compute_rows(const float *t, int64_t OH, int64_t OW, int64_t sh, const int sw, int64_t rs, const __m256 *wv,
    __m256 bv, enum infer_act_kind act, __m256 lo, __m256 hi, float *const *ys, int nch)
{
	for (int64_t oy = 0; oy < OH; oy++)
		for (int64_t ox = 0; ox < OW; ox += 8) {
			int64_t b = ox + 8 > OW ? OW - 8 : ox;
			__m256 acc[8];

#pragma GCC unroll 8
			for (int i = 0; i < 8; i++)
				acc[i] = bv;
#pragma GCC unroll 3
			for (int ky = 0; ky < 3; ky++) {
				const float *r = t + oy * sh * rs + ky * rs + b * sw * 8;
				__m256 w0 = wv[ky * 3], w1 = wv[ky * 3 + 1], w2 = wv[ky * 3 + 2];
				/* Column c feeds pixel i through tap kx where c = i*sw + kx. */
#pragma GCC unroll 17
				for (int c = 0; c < 7 * sw + 3; c++) {
					__m256 v = _mm256_load_ps(r + c * 8);
					if (c % sw == 0 && c / sw < 8)
						acc[c / sw] = _mm256_fmadd_ps(w0, v, acc[c / sw]);
					if (c >= 1 && (c - 1) % sw == 0 && (c - 1) / sw < 8)
						acc[(c - 1) / sw] = _mm256_fmadd_ps(w1, v, acc[(c - 1) / sw]);
					if (c >= 2 && (c - 2) % sw == 0 && (c - 2) / sw < 8)
						acc[(c - 2) / sw] = _mm256_fmadd_ps(w2, v, acc[(c - 2) / sw]);
				}
			}
			dwi_store8(acc, oy * OW + b, 8, act, lo, hi, ys, nch);
		}
}

/* Depthwise 3x3 of nch (1..8) channel planes, isz and P floats apart in x and y: x, w (9 floats per channel),
 * bias (NULL: none) and y point at the group's first channel. t holds dwi_size() rows x cols x 8 floats,
 * 32-byte aligned and zero outside what dwi_pack wrote for the same geometry; off is dwi_offsets()'s table. */
__attribute__((target("avx2,fma"))) static void
dw3x3_group8_avx2(const struct conv_params *p, const float *x, const float *w, const float *bias, float *y, int nch,
    float *t, const int32_t *off, int64_t isz, int64_t P)
{
	int64_t OH = p->g.out[1], OW = p->g.out[2], PH, PW;
	int64_t sh = p->g.s[1], sw = p->g.s[2];
	const float *xs[8];
	float *ys[8];
	float wt[9 * 8] __attribute__((aligned(32))), bt[8];
	__m256 wv[9];
	__m256 lo = _mm256_set1_ps(p->act.kind == ACT_CLAMP ? p->act.lo : 0.0f);
	__m256 hi = _mm256_set1_ps(p->act.kind == ACT_CLAMP ? p->act.hi : 0.0f);

	dwi_size(p, &PH, &PW);
	for (int j = 0; j < 8; j++) {
		int c = j < nch ? j : nch - 1;
		xs[j] = x + c * isz;
		ys[j] = y + c * P;
		for (int k = 0; k < 9; k++)
			wt[k * 8 + j] = w[c * 9 + k];
		bt[j] = bias != NULL ? bias[c] : 0.0f;
	}
	for (int k = 0; k < 9; k++)
		wv[k] = _mm256_load_ps(wt + k * 8);
	dwi_pack(p, xs, t, PH, PW);
	if (OW < 8)
		dwi_compute(t, off, P, PW * 8, wv, _mm256_loadu_ps(bt), p->act.kind, lo, hi, ys, nch);
	else if (sw == 1)
		dwi_compute_rows(t, OH, OW, sh, 1, PW * 8, wv, _mm256_loadu_ps(bt), p->act.kind, lo, hi, ys, nch);
	else if (sw == 2)
		dwi_compute_rows(t, OH, OW, sh, 2, PW * 8, wv, _mm256_loadu_ps(bt), p->act.kind, lo, hi, ys, nch);
	else
		dwi_compute(t, off, P, PW * 8, wv, _mm256_loadu_ps(bt), p->act.kind, lo, hi, ys, nch);
}

/* Largest interleaved scratch (padded rows x columns) dw3x3_interleaved is used for: 512 KiB per thread, and
 * window offsets well inside int32_t. Measured on Zen 4 (1 thread, Clip, old and new interleaved in one
 * process), it beats the plane kernels on every MobileNetV2 depthwise shape, up to 112x112: 1.5-1.6x on the
 * 14x14 and 7x7 maps, 1.2x on 28x28 to 112x112 at stride 1, 1.6-2.1x at stride 2 (also from a cold cache);
 * past this size the plane kernels stay. */
#define DWI_MAX_AREA (128 * 128)

/* Whether the channel-interleaved kernel runs p (any stride; the plane kernels above take 1 and 2 only). */
static int
dwi_wins(const struct conv_params *p)
{
	int64_t PH, PW;

	dwi_size(p, &PH, &PW);
	return PH * PW <= DWI_MAX_AREA;
}

/* Depthwise 3x3 of all N * ceil(C/8) channel groups with dw3x3_group8_avx2, threads taking groups; each
 * thread's scratch is allocated and zeroed once per call, the pixel offset table is shared. Without memory
 * the groups run plane by plane with the generic kernel. */
static void
dw3x3_interleaved(const struct conv_params *p)
{
	int64_t isz = p->g.in[1] * p->g.in[2], P = p->g.out[1] * p->g.out[2], PH, PW, C = p->C;
	int64_t groups = (C + 7) / 8, jobs = p->N * groups;
	int nt = infer_nthreads(p->threads);
	size_t bytes;
	int32_t *off;

	if (jobs < 1 || P < 1)
		return; /* an empty output: nothing to write */
	off = malloc((size_t)(P > 8 ? P : 8) * sizeof(int32_t));
	dwi_size(p, &PH, &PW);
	bytes = ((size_t)(PH * PW * 8) * sizeof(float) + 63) / 64 * 64;
	if (off != NULL)
		dwi_offsets(p, PW, off);
	if (jobs < nt)
		nt = (int)jobs;
#pragma omp parallel num_threads(nt) if (nt > 1)
	{
		float *t = off != NULL ? aligned_alloc(64, bytes) : NULL;
		if (t != NULL)
			memset(t, 0, bytes);
		/* Dynamic, one group at a time: a 56x56 layer has only 18 groups, and pairs left one thread a pair
		 * behind the other at the barrier (a group is 5-20 us of work, the scheduling far less). */
#pragma omp for schedule(dynamic, 1)
		for (int64_t j = 0; j < jobs; j++) {
			int64_t n = j / groups, c0 = j % groups * 8;
			int nch = C - c0 < 8 ? (int)(C - c0) : 8;
			const float *x = p->x + (n * C + c0) * isz;
			float *y = p->y + (n * C + c0) * P;
			if (t != NULL) {
				dw3x3_group8_avx2(p, x, p->w + c0 * 9, p->bias != NULL ? p->bias + c0 : NULL, y, nch, t, off,
				    isz, P);
				continue;
			}
			for (int c = 0; c < nch; c++)
				dw3x3_plane_generic(p, x + c * isz, p->w + (c0 + c) * 9,
				    p->bias != NULL ? p->bias[c0 + c] : 0.0f, y + c * P);
		}
		free(t);
	}
	free(off);
}
#endif

/* Scratch (floats) that infer_dw3x3_plane needs for p's geometry. */
int64_t
infer_dw3x3_scratch(const struct conv_params *p)
{
	int64_t pr, pc;

	dw_padded_size(p, &pr, &pc);
	return pr * pc > p->g.in[2] ? pr * pc : p->g.in[2];
}

/* One depthwise 3x3 plane (dilation 1) with the best kernel for lvl. scratch holds infer_dw3x3_scratch(p)
 * floats that are zero outside what an earlier call with the same geometry wrote: zero it whenever the
 * geometry (in, out, strides, pads) differs from the previous call that used it. */
void
infer_dw3x3_plane(const struct conv_params *p, const float *x, const float *w9, float bias, float *y, float *scratch,
    enum infer_cpu_level lvl)
{
#ifdef PW_X86
	if (lvl >= CPU_AVX2 && p->g.s[1] <= 2 && p->g.s[2] <= 2) {
		if (p->g.s[2] == 1)
			dw3x3_plane_pad_avx2(p, x, w9, bias, y, scratch);
		else
			dw3x3_plane_avx2(p, x, w9, bias, y, scratch);
		return;
	}
#endif
	(void)scratch;
	(void)lvl;
	dw3x3_plane_generic(p, x, w9, bias, y);
}

/* Floats of the interleaved kernel's scratch (the [PH][PW][8] window, rounded to 16) and its offset table. */
#ifdef PW_X86
static void
dwi_scratch_parts(const struct conv_params *p, int64_t *t_n, int64_t *off_n)
{
	int64_t PH, PW, P = p->g.out[1] * p->g.out[2];

	dwi_size(p, &PH, &PW);
	*t_n = (PH * PW * 8 + 15) / 16 * 16;
	*off_n = P > 8 ? P : 8;
}
#endif

int64_t
infer_dw3x3_planes_scratch(const struct conv_params *p)
{
	int64_t n = infer_dw3x3_scratch(p);
#ifdef PW_X86
	int64_t t_n, off_n;
	dwi_scratch_parts(p, &t_n, &off_n);
	/* A geometry too large for the interleaved kernel may be followed by a smaller one (the fused block's last
	 * band) that takes it: room for the largest window it ever takes. */
	if (!dwi_wins(p))
		t_n = DWI_MAX_AREA * 8 + 16;
	if (t_n + off_n > n)
		n = t_n + off_n;
#endif
	return n;
}

void
infer_dw3x3_planes(const struct conv_params *p, const float *x, int64_t xstride, const float *w, const float *bias,
    float *y, int64_t ystride, int64_t nch, float *scratch, int fresh, enum infer_cpu_level lvl)
{
#ifdef PW_X86
	if (lvl >= CPU_AVX2 && dwi_wins(p)) {
		int64_t t_n, off_n;
		/* The offset table lives after the window, in the caller's (malloc'd) scratch. */
		int32_t *off;
		dwi_scratch_parts(p, &t_n, &off_n);
		off = (int32_t *)(void *)(scratch + t_n);
		if (fresh) {
			memset(scratch, 0, (size_t)t_n * sizeof(float));
			dwi_offsets(p, dwi_cols(p), off);
		}
		for (int64_t c0 = 0; c0 < nch; c0 += 8)
			dw3x3_group8_avx2(p, x + c0 * xstride, w + c0 * 9, bias != NULL ? bias + c0 : NULL, y + c0 * ystride,
			    nch - c0 < 8 ? (int)(nch - c0) : 8, scratch, off, xstride, ystride);
		return;
	}
#endif
	if (fresh)
		memset(scratch, 0, (size_t)infer_dw3x3_scratch(p) * sizeof(float));
	for (int64_t c = 0; c < nch; c++)
		infer_dw3x3_plane(p, x + c * xstride, w + c * 9, bias != NULL ? bias[c] : 0.0f, y + c * ystride, scratch, lvl);
}

/* Output rows [oy0, oy0+oh) of the im2col matrix: col[(c*KH + ky)*KW + kx][(oy-oy0)*OW + ox] =
 * x[c][oy*s - pt + ky*d][ox*s - pl + kx*d], 0 in the padding. */
#ifdef PW_X86
/* d[i] = s[2*i] for i < n, 8 at a time (pw_load_even reads s[2i .. 2i+15], so the vector loop stops early). */
__attribute__((target("avx2,fma"))) static void
copy_stride2_avx2(float *d, const float *s, int64_t n)
{
	int64_t i = 0;

	for (; i + 8 <= n && 2 * i + 16 <= 2 * n - 1; i += 8)
		_mm256_storeu_ps(d + i, pw_load_even(s + 2 * i));
	for (; i < n; i++)
		d[i] = s[2 * i];
}
#endif

/* d[i] = s[2*i] for i < n (the columns of a stride-2 convolution). */
static void
copy_stride2(float *d, const float *s, int64_t n, int avx2)
{
#ifdef PW_X86
	if (avx2) {
		copy_stride2_avx2(d, s, n);
		return;
	}
#endif
	(void)avx2;
	for (int64_t i = 0; i < n; i++)
		d[i] = s[2 * i];
}

static void
im2col_rows(const struct conv_params *p, const float *x, int64_t C, int64_t oy0, int64_t oh, float *col, int avx2)
{
	int64_t H = p->g.in[1], W = p->g.in[2], OW = p->g.out[2], KH = p->g.k[1], KW = p->g.k[2];
	int64_t sh = p->g.s[1], sw = p->g.s[2], dh = p->g.d[1], dw = p->g.d[2], pt = p->g.pb[1], pl = p->g.pb[2];

	for (int64_t c = 0; c < C; c++)
		for (int64_t ky = 0; ky < KH; ky++)
			for (int64_t kx = 0; kx < KW; kx++) {
				float *dst = col + ((c * KH + ky) * KW + kx) * oh * OW;
				/* Output columns [lo, hi) read inside the row; the rest is padding. */
				int64_t off = kx * dw - pl, lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
				int64_t hi = W - off <= 0 ? 0 : (W - off + sw - 1) / sw;
				if (hi > OW)
					hi = OW;
				if (lo > hi)
					lo = hi;
				for (int64_t r = 0; r < oh; r++) {
					int64_t iy = (oy0 + r) * sh - pt + ky * dh;
					float *d = dst + r * OW;
					if (iy < 0 || iy >= H) {
						memset(d, 0, (size_t)OW * sizeof(float));
						continue;
					}
					const float *src = x + (c * H + iy) * W + off;
					for (int64_t ox = 0; ox < lo; ox++)
						d[ox] = 0.0f;
					if (sw == 1)
						memcpy(d + lo, src + lo, (size_t)(hi - lo) * sizeof(float));
					else if (sw == 2)
						copy_stride2(d + lo, src + 2 * lo, hi - lo, avx2);
					else
						for (int64_t ox = lo; ox < hi; ox++)
							d[ox] = src[ox * sw];
					for (int64_t ox = hi; ox < OW; ox++)
						d[ox] = 0.0f;
				}
			}
}

/* im2col + GEMM over bands of output rows, so that each band's column matrix stays in L2 (the whole matrix of
 * a 224x224 first layer is 1.3 MB and would go to memory and back); threads take whole bands. */
static int
conv_im2col(const struct conv_params *p, enum infer_cpu_level lvl)
{
	const struct spatial_geom *g = &p->g;
	int64_t Cg = p->C / p->G, Mg = p->M / p->G, OH = g->out[1], OW = g->out[2], P = OH * OW;
	int64_t kk = g->k[1] * g->k[2], K = Cg * kk, isz = g->in[1] * g->in[2], rows, bands, jobs;
	int nt = infer_nthreads(p->threads), nomem = 0;

	/* About 96 KiB of column matrix per band, at least one output row. */
	rows = (96 * 1024 / (int64_t)sizeof(float)) / (K * OW > 0 ? K * OW : 1);
	if (rows < 1)
		rows = 1;
	if (rows > OH)
		rows = OH;
	bands = (OH + rows - 1) / rows;
	jobs = p->N * p->G * bands;
	if (jobs < nt)
		nt = (int)jobs;
#pragma omp parallel num_threads(nt) if (nt > 1)
	{
		float *col = malloc((size_t)(K * rows * OW > 0 ? K * rows * OW : 1) * sizeof(float));
		if (col == NULL) {
#pragma omp atomic write
			nomem = 1;
		}
		/* Dynamic: a thread that loses its core (a shared machine) leaves its remaining bands to the other. */
#pragma omp for schedule(dynamic, 1)
		for (int64_t j = 0; j < jobs; j++) {
			int64_t n = j / (p->G * bands), grp = j / bands % p->G, oy0 = j % bands * rows;
			int64_t oh = OH - oy0 < rows ? OH - oy0 : rows;
			if (col == NULL)
				continue;
			im2col_rows(p, p->x + (n * p->C + grp * Cg) * isz, Cg, oy0, oh, col, lvl >= CPU_AVX2);
			infer_sgemm(lvl, Mg, oh * OW, K, p->w + grp * Mg * K, K, col, oh * OW,
			    p->y + (n * p->M + grp * Mg) * P + oy0 * OW, P, p->bias != NULL ? p->bias + grp * Mg : NULL,
			    &p->act, 1);
		}
		free(col);
	}
	return nomem ? -1 : 0;
}

int
infer_conv_fast(const struct conv_params *p, enum infer_cpu_level lvl)
{
	const struct spatial_geom *g = &p->g;
	int64_t Cg = p->C / p->G, Mg = p->M / p->G, P = g->out[1] * g->out[2], isz = g->in[1] * g->in[2];
	int64_t kk = g->k[1] * g->k[2];
	/* 1x1, stride 1, unpadded: one GEMM per image and group (the depthwise 1x1 excepted, below). */
	int pointwise = kk == 1 && g->s[1] == 1 && g->s[2] == 1 && g->pb[1] == 0 && g->pb[2] == 0 && g->pe[1] == 0 &&
	    g->pe[2] == 0;

	if (lvl == CPU_REFERENCE || g->in[0] != 1 || g->k[0] != 1 || g->out[0] != 1)
		return 1;
	/* A residual is added by the 1x1 path only (the one the CPU backend fuses it with). */
	if (p->res != NULL && !(pointwise && !(Cg == 1 && Mg == 1)))
		return 1;
	if (Cg == 1 && Mg == 1 && g->k[1] == 3 && g->k[2] == 3 && g->d[1] == 1 && g->d[2] == 1) {
		int use_avx2 = 0;
#ifdef PW_X86
		if (lvl >= CPU_AVX2 && dwi_wins(p)) {
			dw3x3_interleaved(p);
			return 0;
		}
		use_avx2 = lvl >= CPU_AVX2 && g->s[1] <= 2 && g->s[2] <= 2;
#endif
#pragma omp parallel num_threads(infer_nthreads(p->threads)) if (infer_nthreads(p->threads) > 1)
		{
			/* Stride 1: a zero-padded copy of the plane; stride 2: a zero input row for the rows outside it.
			 * Without its scratch buffer a thread uses the generic plane kernel. */
			float *pad = NULL;
			if (use_avx2 && g->s[2] == 1) {
				int64_t pr, pc;
				dw_padded_size(p, &pr, &pc);
				/* Zeroed once: the plane kernel writes only the input's rectangle (see there). */
				pad = calloc((size_t)(pr * pc), sizeof(float));
			} else if (use_avx2)
				pad = calloc((size_t)g->in[2], sizeof(float));
			/* Dynamic in chunks of 4 planes, for the same reason as the im2col bands. */
#pragma omp for schedule(dynamic, 4)
			for (int64_t nc = 0; nc < p->N * p->C; nc++) {
				int64_t c = nc % p->C;
				float b = p->bias != NULL ? p->bias[c] : 0.0f;
				if (pad != NULL) {
#ifdef PW_X86
					if (g->s[2] == 1)
						dw3x3_plane_pad_avx2(p, p->x + nc * isz, p->w + c * 9, b, p->y + nc * P, pad);
					else
						dw3x3_plane_avx2(p, p->x + nc * isz, p->w + c * 9, b, p->y + nc * P, pad);
#endif
				} else
					dw3x3_plane_generic(p, p->x + nc * isz, p->w + c * 9, b, p->y + nc * P);
			}
			free(pad);
		}
	} else if (Cg == 1 && Mg == 1) {
		return 1; /* other depthwise kernels: the reference loop is as good as a 1-row GEMM */
	} else {
		if (!pointwise)
			return conv_im2col(p, lvl);
		for (int64_t n = 0; n < p->N; n++) {
			/* Small maps with prepacked weights: channels along the vector (pointwise.c). */
			if (p->wpack != NULL && p->G == 1 && infer_pw_wins(p->M, p->C, P)) {
				struct pw_gemm pg = { .wp = p->wpack, .M = p->M, .K = p->C, .m0 = 0, .m1 = p->M, .k0 = 0,
					.k1 = p->C, .N = P, .b = p->x + n * p->C * isz, .ldb = P, .c = p->y + n * p->M * P, .ldc = P,
					.bias = p->bias, .act = &p->act, .res = p->res != NULL ? p->res + n * p->M * P : NULL,
					.threads = p->threads };
				if (infer_pw_gemm(lvl, &pg) == 0)
					continue;
			}
			for (int64_t grp = 0; grp < p->G; grp++)
				infer_sgemm_res(lvl, Mg, P, Cg, p->w + grp * Mg * Cg, Cg, p->x + (n * p->C + grp * Cg) * isz, P,
				    p->y + (n * p->M + grp * Mg) * P, P, p->bias != NULL ? p->bias + grp * Mg : NULL,
				    &p->act, p->res != NULL ? p->res + (n * p->M + grp * Mg) * P : NULL, p->threads);
		}
	}
	return 0;
}
