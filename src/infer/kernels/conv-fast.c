/* conv-fast.c: optimised 2-D convolutions: 1x1 as one GEMM, others as im2col + GEMM, depthwise 3x3 direct (AVX2 or plain C). */
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PW_X86 1
#endif

#include "internal.h"

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

#ifdef PW_X86
/* x[b], x[b+2], ..., x[b+14]: the even elements of 16 consecutive floats. */
__attribute__((target("avx2,fma"))) static inline __m256
load_even(const float *b)
{
	__m256 lo = _mm256_loadu_ps(b), hi = _mm256_loadu_ps(b + 8);
	__m256 ev = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));

	return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(ev), 0xD8));
}

__attribute__((target("avx2,fma"))) static inline __m256
load_odd(const float *b)
{
	__m256 lo = _mm256_loadu_ps(b), hi = _mm256_loadu_ps(b + 8);
	__m256 od = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));

	return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(od), 0xD8));
}

/* Size of the zero-padded copy of one input plane that dw3x3_plane_avx2 reads without bounds checks:
 * rows (OH-1)*sh + 3, columns sw * (OW rounded up to 8) + 18 (stride 2 reads 18 floats per 8 outputs). */
static void
dw_padded_size(const struct conv_params *p, int64_t *rows, int64_t *cols)
{
	*rows = (p->g.out[1] - 1) * p->g.s[1] + 3;
	*cols = p->g.s[2] * ((p->g.out[2] + 7) / 8 * 8) + 18;
}

/* 8 outputs per step held in a register across all nine taps (stride 1 and 2), on a zero-padded copy of
 * the plane so that borders need no special case. pad must hold dw_padded_size() floats. */
__attribute__((target("avx2,fma"))) static void
dw3x3_plane_avx2(const struct conv_params *p, const float *x, const float *w9, float bias, float *y, float *pad)
{
	int64_t H = p->g.in[1], W = p->g.in[2], OH = p->g.out[1], OW = p->g.out[2];
	int64_t sh = p->g.s[1], sw = p->g.s[2], pt = p->g.pb[1], pl = p->g.pb[2], PR, PC;
	__m256 wv[9], bv = _mm256_set1_ps(bias);
	__m256 alo = _mm256_set1_ps(p->act.kind == ACT_CLAMP ? p->act.lo : 0.0f);
	__m256 ahi = _mm256_set1_ps(p->act.kind == ACT_CLAMP ? p->act.hi : 0.0f);

	dw_padded_size(p, &PR, &PC);
	for (int64_t r = 0; r < PR; r++) {
		int64_t iy = r - pt, c0 = pl < PC ? pl : PC, n = W;
		float *dst = pad + r * PC;
		if (iy < 0 || iy >= H) {
			memset(dst, 0, (size_t)PC * sizeof(float));
			continue;
		}
		/* Input columns past PC are never read by any output; only the borders are zeroed. */
		if (c0 + n > PC)
			n = PC - c0;
		memset(dst, 0, (size_t)c0 * sizeof(float));
		memcpy(dst + c0, x + iy * W, (size_t)n * sizeof(float));
		memset(dst + c0 + n, 0, (size_t)(PC - c0 - n) * sizeof(float));
	}
	for (int i = 0; i < 9; i++)
		wv[i] = _mm256_set1_ps(w9[i]);
	for (int64_t oy = 0; oy < OH; oy++) {
		const float *r0 = pad + oy * sh * PC;
		float *yr = y + oy * OW;
		for (int64_t ox = 0; ox < OW; ox += 8) {
			__m256 acc = bv;
			for (int ky = 0; ky < 3; ky++) {
				const float *b = r0 + ky * PC + ox * sw;
				if (sw == 1) {
					acc = _mm256_fmadd_ps(wv[ky * 3], _mm256_loadu_ps(b), acc);
					acc = _mm256_fmadd_ps(wv[ky * 3 + 1], _mm256_loadu_ps(b + 1), acc);
					acc = _mm256_fmadd_ps(wv[ky * 3 + 2], _mm256_loadu_ps(b + 2), acc);
				} else {
					acc = _mm256_fmadd_ps(wv[ky * 3], load_even(b), acc);
					acc = _mm256_fmadd_ps(wv[ky * 3 + 1], load_odd(b), acc);
					acc = _mm256_fmadd_ps(wv[ky * 3 + 2], load_even(b + 2), acc);
				}
			}
			if (p->act.kind == ACT_CLAMP)
				acc = _mm256_min_ps(_mm256_max_ps(acc, alo), ahi);
			if (ox + 8 <= OW)
				_mm256_storeu_ps(yr + ox, acc);
			else {
				float t[8];
				_mm256_storeu_ps(t, acc);
				memcpy(yr + ox, t, (size_t)(OW - ox) * sizeof(float));
			}
		}
		if (p->act.kind == ACT_HARDSWISH)
			infer_act_apply(&p->act, yr, OW);
	}
}
#endif

/* col[(c*KH + ky)*KW + kx][oy*OW + ox] = x[c][oy*s - pt + ky*d][ox*s - pl + kx*d], 0 in the padding. */
static void
im2col(const struct conv_params *p, const float *x, int64_t C, float *col)
{
	int64_t H = p->g.in[1], W = p->g.in[2], OH = p->g.out[1], OW = p->g.out[2], KH = p->g.k[1], KW = p->g.k[2];
	int64_t sh = p->g.s[1], sw = p->g.s[2], dh = p->g.d[1], dw = p->g.d[2], pt = p->g.pb[1], pl = p->g.pb[2];

	for (int64_t c = 0; c < C; c++)
		for (int64_t ky = 0; ky < KH; ky++)
			for (int64_t kx = 0; kx < KW; kx++) {
				float *dst = col + ((c * KH + ky) * KW + kx) * OH * OW;
				for (int64_t oy = 0; oy < OH; oy++) {
					int64_t iy = oy * sh - pt + ky * dh;
					float *d = dst + oy * OW;
					if (iy < 0 || iy >= H) {
						memset(d, 0, (size_t)OW * sizeof(float));
						continue;
					}
					/* Output columns [lo, hi) read inside the row; the rest is padding. */
					int64_t off = kx * dw - pl, lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
					int64_t hi = W - off <= 0 ? 0 : (W - off + sw - 1) / sw;
					const float *src = x + (c * H + iy) * W + off;
					if (hi > OW)
						hi = OW;
					if (lo > hi)
						lo = hi;
					for (int64_t ox = 0; ox < lo; ox++)
						d[ox] = 0.0f;
					if (sw == 1)
						memcpy(d + lo, src + lo, (size_t)(hi - lo) * sizeof(float));
					else
						for (int64_t ox = lo; ox < hi; ox++)
							d[ox] = src[ox * sw];
					for (int64_t ox = hi; ox < OW; ox++)
						d[ox] = 0.0f;
				}
			}
}

int
infer_conv_fast(const struct conv_params *p, enum infer_cpu_level lvl)
{
	const struct spatial_geom *g = &p->g;
	int64_t Cg = p->C / p->G, Mg = p->M / p->G, P = g->out[1] * g->out[2], isz = g->in[1] * g->in[2];
	int64_t kk = g->k[1] * g->k[2];

	if (lvl == CPU_REFERENCE || g->in[0] != 1 || g->k[0] != 1 || g->out[0] != 1)
		return 1;
	if (Cg == 1 && Mg == 1 && g->k[1] == 3 && g->k[2] == 3 && g->d[1] == 1 && g->d[2] == 1) {
		int use_avx2 = 0;
#ifdef PW_X86
		use_avx2 = lvl >= CPU_AVX2 && g->s[1] <= 2 && g->s[2] <= 2;
#endif
#pragma omp parallel num_threads(p->threads > 0 ? p->threads : omp_get_max_threads())
		{
			float *pad = NULL;
			if (use_avx2) {
				int64_t pr, pc;
				dw_padded_size(p, &pr, &pc);
				/* Without its scratch buffer a thread uses the generic plane kernel. */
				pad = malloc((size_t)(pr * pc) * sizeof(float));
			}
#pragma omp for schedule(static)
			for (int64_t nc = 0; nc < p->N * p->C; nc++) {
				int64_t c = nc % p->C;
				float b = p->bias != NULL ? p->bias[c] : 0.0f;
				if (pad != NULL) {
#ifdef PW_X86
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
		int pointwise = kk == 1 && g->s[1] == 1 && g->s[2] == 1 && g->pb[1] == 0 && g->pb[2] == 0 &&
		    g->pe[1] == 0 && g->pe[2] == 0;
		float *col = NULL;
		if (!pointwise) {
			size_t n = (size_t)(Cg * kk) * (size_t)P;
			col = malloc((n > 0 ? n : 1) * sizeof(float));
			if (col == NULL)
				return -1;
		}
		for (int64_t n = 0; n < p->N; n++)
			for (int64_t grp = 0; grp < p->G; grp++) {
				const float *xg = p->x + (n * p->C + grp * Cg) * isz;
				const float *B = xg;
				if (!pointwise) {
					im2col(p, xg, Cg, col);
					B = col;
				}
				infer_sgemm(lvl, Mg, P, Cg * kk, p->w + grp * Mg * Cg * kk, Cg * kk, B, P,
				    p->y + (n * p->M + grp * Mg) * P, P, p->bias != NULL ? p->bias + grp * Mg : NULL,
				    &p->act, p->threads);
			}
		free(col);
	}
	return 0;
}
