/* dw-kxk.c: depthwise convolutions with larger square kernels (5x5, 7x7: MobileNetV3, EfficientNet), stride 1 or 2, AVX2, on zero-padded per-phase copies of each plane. */
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PW_X86 1
#endif

#include "internal.h"
#include "kernels/avx2.h"

#define KMAX 7

/* The padded plane as s phase copies: phase q of padded row r holds xp[r][s * j + q] for j < width, where xp
 * is the input shifted by the top/left pads, zero outside it. Tap (ky, kx) of output (oy, ox) is then phase
 * kx % s of row oy * s + ky at column ox + kx / s: a plain vector load for either stride. */
struct phases {
	int64_t rows, width;       /* padded rows; floats per phase row (whole vectors plus slack) */
};

static void
phases_of(const struct conv_params *p, struct phases *ph)
{
	int64_t K = p->g.k[1], s = p->g.s[1], OW = p->g.out[2];

	ph->rows = (p->g.out[1] - 1) * s + K;
	ph->width = (OW + 7) / 8 * 8 + (K - 1) / s + 8;
}

#ifdef PW_X86
/* Fills phase row(s) for padded row r from input row x (NULL: a row of padding). The buffer was zeroed when
 * the call began and every plane writes the same rectangle, so at stride 1 only the input's columns are
 * copied (a libc call per short row cost more than the row's arithmetic); stride 2 rewrites whole rows. */
__attribute__((target("avx2,fma"))) static void
fill_row(const float *x, int64_t W, int64_t pl, int64_t s, int64_t width, float *dst)
{
	if (x == NULL)
		return;
	if (s == 1) {
		int64_t n = W, i = 0;
		/* Columns past the phase row are never read by any output. */
		if (pl >= width)
			return;
		if (pl + n > width)
			n = width - pl;
		dst += pl;
		for (; i + 8 <= n; i += 8)
			_mm256_storeu_ps(dst + i, _mm256_loadu_ps(x + i));
		for (; i < n; i++)
			dst[i] = x[i];
		return;
	}
	/* Stride 2: even and odd columns of the shifted row, de-interleaved 16 at a time where whole. */
	{
		float *e = dst, *o = dst + width;
		int64_t j = 0;
		for (; j < width && 2 * j - pl < 0; j++) {
			int64_t ie = 2 * j - pl, io = ie + 1;
			e[j] = ie >= 0 && ie < W ? x[ie] : 0.0f;
			o[j] = io >= 0 && io < W ? x[io] : 0.0f;
		}
		for (; j + 8 <= width && 2 * j - pl + 16 <= W; j += 8) {
			const float *b = x + 2 * j - pl;
			__m256 lo = _mm256_loadu_ps(b), hi = _mm256_loadu_ps(b + 8);
			_mm256_storeu_ps(e + j, pw_even(lo, hi));
			_mm256_storeu_ps(o + j, pw_odd(lo, hi));
		}
		for (; j < width; j++) {
			int64_t ie = 2 * j - pl, io = ie + 1;
			e[j] = ie >= 0 && ie < W ? x[ie] : 0.0f;
			o[j] = io >= 0 && io < W ? x[io] : 0.0f;
		}
	}
}

/* Kernel row ky of nv (1..4) output vectors 8 columns apart: acc[v] += sum over kx of w[kx] * row[tap[kx] + 8v].
 * Inlined with a constant nv, the accumulators stay in registers. */
__attribute__((target("avx2,fma"), always_inline)) static inline void
kernel_row(const float *row, const __m256 *w, const int64_t *tap, int64_t K, int nv, __m256 *acc)
{
	for (int64_t kx = 0; kx < K; kx++) {
		__m256 wk = w[kx];
		const float *r = row + tap[kx];
#pragma GCC unroll 4
		for (int v = 0; v < nv; v++)
			acc[v] = _mm256_fmadd_ps(wk, _mm256_loadu_ps(r + 8 * v), acc[v]);
	}
}

/* nv output vectors of one output row: two partial sums per vector (even and odd kernel rows), so each vector's
 * K * K FMAs are two dependency chains and nv vectors give 2 nv chains to hide the FMA latency. */
__attribute__((target("avx2,fma"), always_inline)) static inline void
out_vectors(const float *row, int64_t rw, const __m256 *wv, const int64_t *tap, int64_t K, __m256 bv, int nv,
    __m256 *out)
{
	__m256 a0[4], a1[4];
	int64_t ky = 0;

#pragma GCC unroll 4
	for (int v = 0; v < nv; v++) {
		a0[v] = bv;
		a1[v] = _mm256_setzero_ps();
	}
	for (; ky + 1 < K; ky += 2) {
		kernel_row(row + ky * rw, wv + ky * K, tap, K, nv, a0);
		kernel_row(row + (ky + 1) * rw, wv + (ky + 1) * K, tap, K, nv, a1);
	}
	if (ky < K)
		kernel_row(row + ky * rw, wv + ky * K, tap, K, nv, a0);
#pragma GCC unroll 4
	for (int v = 0; v < nv; v++)
		out[v] = _mm256_add_ps(a0[v], a1[v]);
}

/* One plane: every output row from the phase rows, up to 4 vectors of 8 outputs per step. */
__attribute__((target("avx2,fma"))) static void
plane(const struct conv_params *p, const float *x, const float *w, float bias, float *y, float *ph_buf,
    const struct phases *ph)
{
	int64_t H = p->g.in[1], W = p->g.in[2], OH = p->g.out[1], OW = p->g.out[2], K = p->g.k[1], s = p->g.s[1];
	int64_t pt = p->g.pb[1], pl = p->g.pb[2], rw = s * ph->width;
	__m256 wv[KMAX * KMAX], bv = _mm256_set1_ps(bias);
	__m256 lo = _mm256_set1_ps(p->act.kind == ACT_CLAMP ? p->act.lo : 0.0f);
	__m256 hi = _mm256_set1_ps(p->act.kind == ACT_CLAMP ? p->act.hi : 0.0f);
	int64_t tap[KMAX];

	for (int64_t i = 0; i < K * K; i++)
		wv[i] = _mm256_set1_ps(w[i]);
	/* Column kx of a window: phase kx % s, kx / s columns in (computed once: a division per tap costs more
	 * than the FMA). */
	for (int64_t kx = 0; kx < K; kx++)
		tap[kx] = (kx % s) * ph->width + kx / s;
	for (int64_t r = 0; r < ph->rows; r++) {
		int64_t iy = r - pt;
		fill_row(iy >= 0 && iy < H ? x + iy * W : NULL, W, pl, s, ph->width, ph_buf + r * rw);
	}
	for (int64_t oy = 0; oy < OH; oy++) {
		float *yr = y + oy * OW;
		const float *row = ph_buf + oy * s * rw;
		for (int64_t ox = 0; ox < OW; ox += 32) {
			__m256 out[4];
			int64_t left = OW - ox;
			int nv = left >= 32 ? 4 : (int)((left + 7) / 8);
			switch (nv) {
			case 4: out_vectors(row + ox, rw, wv, tap, K, bv, 4, out); break;
			case 3: out_vectors(row + ox, rw, wv, tap, K, bv, 3, out); break;
			case 2: out_vectors(row + ox, rw, wv, tap, K, bv, 2, out); break;
			default: out_vectors(row + ox, rw, wv, tap, K, bv, 1, out); break;
			}
			for (int v = 0; v < nv; v++) {
				__m256 o = out[v];
				int64_t at = ox + 8 * v;
				if (p->act.kind == ACT_CLAMP)
					o = _mm256_min_ps(_mm256_max_ps(o, lo), hi);
				if (at + 8 <= OW)
					_mm256_storeu_ps(yr + at, o);
				else
					pw_store_part(yr + at, o, OW - at);
			}
		}
		if (p->act.kind == ACT_HARDSWISH)
			infer_act_apply(&p->act, yr, OW);
	}
}
#endif

int
infer_dw_kxk_fast(const struct conv_params *p, enum infer_cpu_level lvl)
{
	const struct spatial_geom *g = &p->g;
	int64_t K = g->k[1], P = g->out[1] * g->out[2], isz = g->in[1] * g->in[2];
	int nt = infer_nthreads(p->threads), nomem = 0;
	struct phases ph;

	if (lvl < CPU_AVX2 || p->G != p->C || p->M != p->C || g->in[0] != 1 || g->k[0] != 1 || g->out[0] != 1 ||
	    g->k[2] != K || K < 2 || K > KMAX || g->d[1] != 1 || g->d[2] != 1 || g->s[1] != g->s[2] || g->s[1] > 2)
		return 1;
#ifndef PW_X86
	return 1;
#else
	phases_of(p, &ph);
#pragma omp parallel num_threads(nt) if (nt > 1)
	{
		float *buf = calloc((size_t)(ph.rows * g->s[1] * ph.width), sizeof(float));
		if (buf == NULL) {
#pragma omp atomic write
			nomem = 1;
		}
		/* Dynamic in small chunks: a thread that loses its core leaves its remaining planes to the other. */
#pragma omp for schedule(dynamic, 4)
		for (int64_t nc = 0; nc < p->N * p->C; nc++) {
			int64_t c = nc % p->C;
			if (buf != NULL)
				plane(p, p->x + nc * isz, p->w + c * K * K, p->bias != NULL ? p->bias[c] : 0.0f, p->y + nc * P,
				    buf, &ph);
		}
		free(buf);
	}
	return nomem ? -1 : 0;
#endif
}
