/* pointwise.c: 1x1 convolutions on small maps (AVX-512) with the weights packed once into channel panels, output channels along the vector and pixels broadcast. */
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PW_X86 1
#endif

#include "internal.h"
#include "avx2.h"

/*
 * Why a second GEMM shape: the 14x14 and 7x7 layers of a MobileNet multiply many weights (up to 1280 x 320)
 * by few pixels (196 or 49). With pixels along the vector (sgemm.c) a 7x7 map is three 16-column panels and a
 * ragged column, and the weights are broadcast one float at a time from six rows read in place. Here output
 * channels go along the vector instead: the weights are packed once (at compile time) into panels of up to 48
 * channels, [K][48] each, and read as whole vectors in the order they are stored; the pixels are broadcast
 * from the activation rows, which stay in L1/L2 (a 7x7 map with 160 channels is 31 KiB). A tile is up to 8
 * pixels x 48 channels: 24 zmm accumulators, 3 weight loads and up to 8 broadcasts per 24 FMAs (the 6x16
 * AVX2 tile does 8 loads per 12 FMAs). The price is a transpose at the end of each tile, since NCHW wants
 * the pixels of a channel together: done in registers, 8x8 blocks at a time.
 */

#define PW_PANEL PW_PANEL_MAX /* channels per weight panel (3 zmm) */
#define PW_TILE 8   /* pixels per tile */

/* Widths of the panels for M channels: 48 while more than 64 remain, then one or two panels of at most 32
 * (64 = 32 + 32 keeps the last tiles from being a third full). Returns the panel count; widths may be NULL. */
static int64_t
panel_widths(int64_t M, int *widths)
{
	int64_t q = 0, left = M;

	while (left > 0) {
		int w;
		if (left > 64)
			w = PW_PANEL;
		else if (left > 48)
			w = 32;
		else
			w = (int)((left + 15) / 16 * 16);
		if (widths != NULL)
			widths[q] = w;
		q++;
		left -= w;
	}
	return q;
}

/* Whether an M x K weight on a map of P pixels runs faster here than as infer_sgemm. Measured on Zen 4
 * (MobileNetV2, 1 thread, each layer both ways): every layer of 196 pixels or fewer (14x14, 7x7) gains up to
 * 25 %; at 784 (28x28) the projections (K >= 4 M: 144 or 192 -> 32) gain 15 % while the expansions (32 ->
 * 192) lose 15 % (with K = 32 the transposes at the end of each tile weigh too much); at 3136 (56x56) every
 * layer loses 20-30 % (the activations no longer fit L2 and are read again for every panel). Below one tile
 * of pixels (the 1x1 maps of a squeeze-excite) the GEMM's dot products waste nothing while a tile here would
 * load all its weights for a few FMAs: MobileNetV3's squeeze-excite convs ran 30-50 % slower here.
 * PW_INFER_PW_PIXELS moves the first limit (the second is 4x it), for measurements. */
int
infer_pw_wins(int64_t M, int64_t K, int64_t P)
{
	static int64_t cached = -1;
	int64_t lim = __atomic_load_n(&cached, __ATOMIC_RELAXED);

	if (lim < 0) {
		const char *e = getenv("PW_INFER_PW_PIXELS");
		lim = e != NULL && e[0] != '\0' ? atoll(e) : 196;
		__atomic_store_n(&cached, lim, __ATOMIC_RELAXED);
	}
	return P >= PW_TILE && (P <= lim || (P <= 4 * lim && K >= 4 * M));
}

size_t
infer_pw_packed_floats(int64_t M, int64_t K)
{
	int64_t q = panel_widths(M, NULL);
	int w[q > 0 ? q : 1];
	size_t n = 0;

	panel_widths(M, w);
	for (int64_t i = 0; i < q; i++)
		n += (size_t)w[i] * (size_t)K;
	return n;
}

void
infer_pw_pack(int64_t M, int64_t K, const float *W, float *dst)
{
	int64_t q = panel_widths(M, NULL), m0 = 0;
	int w[q > 0 ? q : 1];

	panel_widths(M, w);
	for (int64_t i = 0; i < q; i++) {
		for (int64_t k = 0; k < K; k++)
			for (int c = 0; c < w[i]; c++)
				*dst++ = m0 + c < M ? W[(m0 + c) * K + k] : 0.0f;
		m0 += w[i];
	}
}

#ifdef PW_X86
#define PW_T512 __attribute__((target("avx512f,avx512vl,avx512dq,fma")))

/* What a tile does with its sums: C = act(sum + bias), or C += sum (accumulate: no bias, no activation). */
struct pw_out {
	float *c;                 /* C at (first channel of the panel, first pixel of the tile) */
	int64_t ldc;
	int64_t mvalid;           /* channels of the panel that exist (the rest are padding) */
	const float *bias;        /* at the panel's first channel, or NULL */
	const struct infer_act *act;
	const float *res;         /* at the same place as c, or NULL */
	int accumulate;
	const char *pf;           /* the slice of the next panel this tile prefetches, pf_step bytes per k, or NULL */
	int64_t pf_step;
};

/* The end of a tile: t holds its sums, t[p][c] for pixel p (P of them) and panel channel c (16 J of them).
 * Two 8x8 transposes per 16 channels give each channel's P pixels as one row vector, which gets its bias,
 * activation and residual (or is added to C) and is stored. Called out of line (below): inlined into the tile,
 * this code made GCC keep half of the accumulators of the k loop in memory (a 64-channel layer ran 30 %
 * slower). */
PW_T512 __attribute__((always_inline)) static inline void
pw_finish(int P, int J, float (*t)[PW_PANEL], const struct pw_out *o)
{
	int act = o->act != NULL && !o->accumulate ? (int)o->act->kind : ACT_NONE;
	__m256 lo = _mm256_set1_ps(act == ACT_CLAMP ? o->act->lo : 0.0f);
	__m256 hi = _mm256_set1_ps(act == ACT_CLAMP ? o->act->hi : 0.0f);
	__m256 sixth = _mm256_set1_ps(1.0f / 6.0f), half = _mm256_set1_ps(0.5f);
	__m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
	__mmask8 pm = (__mmask8)((1u << P) - 1u);

	for (int p = P; p < PW_TILE; p++)
		memset(t[p], 0, sizeof(t[p]));
#pragma GCC unroll 6
	for (int c0 = 0; c0 < 16 * J; c0 += 8) {
		__m256 r[8];
		if (c0 >= o->mvalid)
			break;
#pragma GCC unroll 8
		for (int p = 0; p < PW_TILE; p++)
			r[p] = _mm256_load_ps(t[p] + c0);
		pw_transpose8(r);
#pragma GCC unroll 8
		for (int c = 0; c < 8; c++) {
			int64_t ch = c0 + c;
			if (ch >= o->mvalid)
				break;
			float *cr = o->c + ch * o->ldc;
			__m256 v = r[c];
			if (o->accumulate)
				v = _mm256_add_ps(v, _mm256_maskz_loadu_ps(pm, cr));
			else {
				if (o->bias != NULL)
					v = _mm256_add_ps(v, _mm256_set1_ps(o->bias[ch]));
				if (act == ACT_CLAMP)
					v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
				else if (act == ACT_HARDSWISH) /* x * clamp(x/6 + 1/2, 0, 1), as act.c */
					v = _mm256_mul_ps(v, _mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(v, sixth, half), zero), one));
				if (o->res != NULL && act != ACT_HSWISH_SCALED)
					v = _mm256_add_ps(v, _mm256_maskz_loadu_ps(pm, o->res + ch * o->ldc));
			}
			if (P == PW_TILE)
				_mm256_storeu_ps(cr, v);
			else
				_mm256_mask_storeu_ps(cr, pm, v);
			if (act == ACT_HSWISH_SCALED) {
				infer_act_apply(o->act, cr, P);
				if (o->res != NULL)
					infer_binary_f32(OP_ADD, cr, 1, o->res + ch * o->ldc, 1, cr, P);
			}
		}
	}
}

/* Out of line (see pw_finish): whole tiles of each width with constant loop bounds, and the last tile of a row
 * of pixels. */
PW_T512 __attribute__((noinline)) static void
pw_finish_8x3(float (*t)[PW_PANEL], const struct pw_out *o)
{
	pw_finish(PW_TILE, 3, t, o);
}

PW_T512 __attribute__((noinline)) static void
pw_finish_8x2(float (*t)[PW_PANEL], const struct pw_out *o)
{
	pw_finish(PW_TILE, 2, t, o);
}

PW_T512 __attribute__((noinline)) static void
pw_finish_8x1(float (*t)[PW_PANEL], const struct pw_out *o)
{
	pw_finish(PW_TILE, 1, t, o);
}

PW_T512 __attribute__((noinline)) static void
pw_finish_part(int P, int J, float (*t)[PW_PANEL], const struct pw_out *o)
{
	pw_finish(P, J, t, o);
}

/* One tile: P pixels (1..8, a constant after inlining) x J zmm of channels (1..3). b points at the tile's
 * first pixel in row 0 of B (row stride ldb), wp at the panel ([K][16 J]). The accumulators stay in registers
 * through the k loop (24 of the 32 zmm at most) and leave through t. */
PW_T512 __attribute__((always_inline)) static inline void
pw_tile(int P, int J, int64_t K, const float *wp, const float *b, int64_t ldb, const struct pw_out *o)
{
	__m512 acc[PW_TILE][3];
	float t[PW_TILE][PW_PANEL] __attribute__((aligned(64)));

#pragma GCC unroll 8
	for (int p = 0; p < PW_TILE; p++)
#pragma GCC unroll 3
		for (int j = 0; j < 3; j++)
			acc[p][j] = _mm512_setzero_ps();
	for (int64_t k = 0; k < K; k++) {
		__m512 w[3];
		const float *bk = b + k * ldb;
		if (o->pf != NULL)
			_mm_prefetch(o->pf + k * o->pf_step, _MM_HINT_T0);
#pragma GCC unroll 3
		for (int j = 0; j < 3; j++)
			if (j < J)
				w[j] = _mm512_loadu_ps(wp + (k * J + j) * 16);
#pragma GCC unroll 8
		for (int p = 0; p < PW_TILE; p++) {
			if (p < P) {
				__m512 bv = _mm512_set1_ps(bk[p]);
#pragma GCC unroll 3
				for (int j = 0; j < 3; j++)
					if (j < J)
						acc[p][j] = _mm512_fmadd_ps(bv, w[j], acc[p][j]);
			}
		}
	}
#pragma GCC unroll 8
	for (int p = 0; p < PW_TILE; p++)
#pragma GCC unroll 3
		for (int j = 0; j < 3; j++)
			if (p < P && j < J)
				_mm512_store_ps(t[p] + 16 * j, acc[p][j]);
	if (P < PW_TILE)
		pw_finish_part(P, J, t, o);
	else if (J == 3)
		pw_finish_8x3(t, o);
	else if (J == 2)
		pw_finish_8x2(t, o);
	else
		pw_finish_8x1(t, o);
}

/* Panel of J zmm: all its tiles over pixels [n0, n1). */
PW_T512 __attribute__((always_inline)) static inline void
pw_panel(int J, int64_t K, const float *wp, const float *B, int64_t ldb, int64_t n0, int64_t n1, struct pw_out o)
{
	float *c = o.c;
	const float *res = o.res;
	const char *pf = o.pf;
	int64_t n = n0, tiles = (n1 - n0 + PW_TILE - 1) / PW_TILE, slice = 0;

	/* The next panel (o.pf_step bytes of it) is prefetched a slice per tile, spread over the k loop, so that
	 * it arrives at a steady rate: read by the first tile alone, a 7x7 layer's panel (up to 184 KB with
	 * K = 960) came from memory at the bandwidth limit while the other tiles found theirs in L2. */
	if (pf != NULL) {
		slice = (o.pf_step + tiles - 1) / tiles;
		o.pf_step = (slice + K - 1) / K;
	}
	for (; n + PW_TILE <= n1; n += PW_TILE) {
		o.c = c + n;
		o.res = res != NULL ? res + n : NULL;
		o.pf = pf != NULL ? pf + (n - n0) / PW_TILE * slice : NULL;
		pw_tile(PW_TILE, J, K, wp, B + n, ldb, &o);
	}
	if (n < n1) {
		o.c = c + n;
		o.res = res != NULL ? res + n : NULL;
		o.pf = pf != NULL ? pf + (n - n0) / PW_TILE * slice : NULL;
		switch (n1 - n) {
		case 1: pw_tile(1, J, K, wp, B + n, ldb, &o); break;
		case 2: pw_tile(2, J, K, wp, B + n, ldb, &o); break;
		case 3: pw_tile(3, J, K, wp, B + n, ldb, &o); break;
		case 4: pw_tile(4, J, K, wp, B + n, ldb, &o); break;
		case 5: pw_tile(5, J, K, wp, B + n, ldb, &o); break;
		case 6: pw_tile(6, J, K, wp, B + n, ldb, &o); break;
		default: pw_tile(7, J, K, wp, B + n, ldb, &o); break;
		}
	}
}

PW_T512 static void
pw_panel1(int64_t K, const float *wp, const float *B, int64_t ldb, int64_t n0, int64_t n1, struct pw_out o)
{
	pw_panel(1, K, wp, B, ldb, n0, n1, o);
}

PW_T512 static void
pw_panel2(int64_t K, const float *wp, const float *B, int64_t ldb, int64_t n0, int64_t n1, struct pw_out o)
{
	pw_panel(2, K, wp, B, ldb, n0, n1, o);
}

PW_T512 static void
pw_panel3(int64_t K, const float *wp, const float *B, int64_t ldb, int64_t n0, int64_t n1, struct pw_out o)
{
	pw_panel(3, K, wp, B, ldb, n0, n1, o);
}
#endif

int64_t
infer_pw_panels(int64_t M, int64_t *starts)
{
	int64_t q = panel_widths(M, NULL);
	int w[q > 0 ? q : 1];

	panel_widths(M, w);
	if (starts != NULL) {
		starts[0] = 0;
		for (int64_t i = 0; i < q; i++)
			starts[i + 1] = starts[i] + w[i] < M ? starts[i] + w[i] : M;
	}
	return q;
}

int
infer_pw_gemm(enum infer_cpu_level lvl, const struct pw_gemm *g)
{
#ifdef PW_X86
	int64_t q = panel_widths(g->M, NULL), p0 = -1, p1 = 0;
	int w[q > 0 ? q : 1];
	int64_t off[q > 0 ? q : 1], ms[q > 0 ? q : 1];
	int nt = infer_nthreads(g->threads);

	if (lvl < CPU_AVX512 || g->m1 <= g->m0 || g->N <= 0 || g->k1 <= g->k0 || g->m0 < 0 || g->m1 > g->M ||
	    g->k0 < 0 || g->k1 > g->K)
		return 1;
	panel_widths(g->M, w);
	/* Panel i: channels ms[i].., weights at off[i] ([K][w[i]]), k0 rows in for the k range. */
	for (int64_t i = 0, o = 0, m = 0; i < q; i++) {
		off[i] = o + g->k0 * w[i];
		ms[i] = m;
		if (m == g->m0)
			p0 = i;
		if (m < g->m1)
			p1 = i + 1;
		o += (int64_t)w[i] * g->K;
		m += w[i];
	}
	if (p0 < 0)
		return 1; /* m0 is not a panel start */
	/* Work items: a panel x a run of pixel tiles, so that a layer with few panels (64 channels: two)
	 * still gives every thread work. */
	int64_t np = p1 - p0, tiles = (g->N + PW_TILE - 1) / PW_TILE, splits = 1, kc = g->k1 - g->k0;
	if (nt > 1)
		while (np * splits < 4 * nt && splits < tiles)
			splits++;
#pragma omp parallel for num_threads(nt) if (nt > 1) schedule(dynamic, 1)
	for (int64_t it = 0; it < np * splits; it++) {
		int64_t i = p0 + it / splits, s = it % splits;
		int64_t n0 = tiles * s / splits * PW_TILE, n1 = tiles * (s + 1) / splits * PW_TILE;
		int64_t rel = ms[i] - g->m0;
		if (n1 > g->N)
			n1 = g->N;
		struct pw_out o = { .c = g->c + rel * g->ldc, .ldc = g->ldc,
			.mvalid = g->m1 - ms[i] < w[i] ? g->m1 - ms[i] : w[i],
			.bias = g->bias != NULL ? g->bias + rel : NULL, .act = g->act,
			.res = g->res != NULL && !g->accumulate ? g->res + rel * g->ldc : NULL, .accumulate = g->accumulate };
		/* Each panel prefetches the next one (when one item is the whole panel, as at one thread). */
		if (splits == 1 && i + 1 < p1) {
			o.pf = (const char *)(g->wp + off[i + 1]);
			o.pf_step = (int64_t)w[i + 1] * kc * (int64_t)sizeof(float);
		}
		if (w[i] == 48)
			pw_panel3(kc, g->wp + off[i], g->b, g->ldb, n0, n1, o);
		else if (w[i] == 32)
			pw_panel2(kc, g->wp + off[i], g->b, g->ldb, n0, n1, o);
		else
			pw_panel1(kc, g->wp + off[i], g->b, g->ldb, n0, n1, o);
	}
	return 0;
#else
	(void)lvl;
	(void)g;
	return 1;
#endif
}
