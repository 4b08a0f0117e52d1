/* sgemm.c: packed single-precision GEMM for convolutions: 6x16 register tiles (AVX2+FMA, plain C), B packed in 16-column panels. */
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PW_X86 1
#endif

#include "internal.h"

#define MR 6                 /* rows per tile */
#define NR 16
#define KC 256
#define NC 192

/* Where a tile's result goes and how to finish it. */
struct tile_out {
	float *c;                  /* top-left of the tile in C */
	int64_t ldc;
	int mr, nr;                /* valid rows and columns */
	const float *bias;         /* bias of the tile's first row, or NULL */
	int first;                 /* first k block: start from bias, else add to C */
	const struct infer_act *act; /* applied on the last k block, else NULL */
};

/* Writes the accumulator tile acc (rows of NR floats) into C (valid part only). */
static void
finish_tile(const float *acc, const struct tile_out *o)
{
	for (int i = 0; i < o->mr; i++) {
		float *c = o->c + i * o->ldc;
		const float *t = acc + i * NR;
		if (o->first) {
			float b0 = o->bias != NULL ? o->bias[i] : 0.0f;
			for (int j = 0; j < o->nr; j++)
				c[j] = b0 + t[j];
		} else
			for (int j = 0; j < o->nr; j++)
				c[j] += t[j];
		if (o->act != NULL)
			infer_act_apply(o->act, c, o->nr);
	}
}

/* acc = sum over k of a[i][k] * bp[k][j]; a[i] points at row i of A (offset by the k block). */
static void
ukernel_generic(int64_t kc, const float *const *a, const float *bp, int64_t ldbp, const struct tile_out *o)
{
	float t[MR][NR] = { { 0 } };

	for (int64_t k = 0; k < kc; k++) {
		const float *b = bp + k * ldbp;
		for (int i = 0; i < MR; i++) {
			float av = a[i][k];
			for (int j = 0; j < NR; j++)
				t[i][j] += av * b[j];
		}
	}
	finish_tile(&t[0][0], o);
}

#ifdef PW_X86
__attribute__((target("avx2,fma"), always_inline)) static inline void
tile_avx2(int64_t kc, const float *const *a, const float *bp, int64_t ldbp, const struct tile_out *o)
{
	__m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
	__m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
	const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3], *a4 = a[4], *a5 = a[5];

	for (int64_t k = 0; k < kc; k++) {
		__m256 b0 = _mm256_loadu_ps(bp + k * ldbp), b1 = _mm256_loadu_ps(bp + k * ldbp + 8), av;
		av = _mm256_broadcast_ss(a0 + k);
		c00 = _mm256_fmadd_ps(av, b0, c00);
		c01 = _mm256_fmadd_ps(av, b1, c01);
		av = _mm256_broadcast_ss(a1 + k);
		c10 = _mm256_fmadd_ps(av, b0, c10);
		c11 = _mm256_fmadd_ps(av, b1, c11);
		av = _mm256_broadcast_ss(a2 + k);
		c20 = _mm256_fmadd_ps(av, b0, c20);
		c21 = _mm256_fmadd_ps(av, b1, c21);
		av = _mm256_broadcast_ss(a3 + k);
		c30 = _mm256_fmadd_ps(av, b0, c30);
		c31 = _mm256_fmadd_ps(av, b1, c31);
		av = _mm256_broadcast_ss(a4 + k);
		c40 = _mm256_fmadd_ps(av, b0, c40);
		c41 = _mm256_fmadd_ps(av, b1, c41);
		av = _mm256_broadcast_ss(a5 + k);
		c50 = _mm256_fmadd_ps(av, b0, c50);
		c51 = _mm256_fmadd_ps(av, b1, c51);
	}
	if (o->nr == NR) {
		/* Whole 16-column rows, finished in registers: with the short k loops of the early layers
		 * (K = 16..32) an accumulator array spilled to the stack and read back cost a third of the tile.
		 * Rows past mr were computed from a repeated row of A and are not stored. */
		__m256 lo = _mm256_set1_ps(o->act != NULL && o->act->kind == ACT_CLAMP ? o->act->lo : 0.0f);
		__m256 hi = _mm256_set1_ps(o->act != NULL && o->act->kind == ACT_CLAMP ? o->act->hi : 0.0f);
		__m256 sixth = _mm256_set1_ps(1.0f / 6.0f), half = _mm256_set1_ps(0.5f);
		__m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
		float *c = o->c;
		int64_t ldc = o->ldc;
		int act = o->act != NULL ? (int)o->act->kind : ACT_NONE, first = o->first, mr = o->mr;
		const float *bias = o->bias;
#define PW_HSWISH(x) _mm256_mul_ps((x), _mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps((x), sixth, half), zero), one))
#define PW_TILE_ROW(i, v0, v1)                                                                                  \
	do {                                                                                                    \
		float *cr = c + (i) * ldc;                                                                      \
		__m256 x0 = (v0), x1 = (v1);                                                                    \
		if (first) {                                                                                    \
			__m256 b = _mm256_set1_ps(bias != NULL ? bias[i] : 0.0f);                               \
			x0 = _mm256_add_ps(x0, b);                                                              \
			x1 = _mm256_add_ps(x1, b);                                                              \
		} else {                                                                                        \
			x0 = _mm256_add_ps(x0, _mm256_loadu_ps(cr));                                            \
			x1 = _mm256_add_ps(x1, _mm256_loadu_ps(cr + 8));                                        \
		}                                                                                               \
		if (act == ACT_CLAMP) {                                                                         \
			x0 = _mm256_min_ps(_mm256_max_ps(x0, lo), hi);                                          \
			x1 = _mm256_min_ps(_mm256_max_ps(x1, lo), hi);                                          \
		} else if (act == ACT_HARDSWISH) {                                                              \
			x0 = PW_HSWISH(x0);                                                                     \
			x1 = PW_HSWISH(x1);                                                                     \
		}                                                                                               \
		_mm256_storeu_ps(cr, x0);                                                                       \
		_mm256_storeu_ps(cr + 8, x1);                                                                   \
	} while (0)
		PW_TILE_ROW(0, c00, c01);
		if (mr > 1)
			PW_TILE_ROW(1, c10, c11);
		if (mr > 2)
			PW_TILE_ROW(2, c20, c21);
		if (mr > 3)
			PW_TILE_ROW(3, c30, c31);
		if (mr > 4)
			PW_TILE_ROW(4, c40, c41);
		if (mr > 5)
			PW_TILE_ROW(5, c50, c51);
#undef PW_TILE_ROW
#undef PW_HSWISH
	} else {
		float t[MR * NR];
		__m256 r[2 * MR] = { c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51 };
		for (int i = 0; i < 2 * MR; i++)
			_mm256_storeu_ps(t + i * 8, r[i]);
		finish_tile(t, o);
	}
}
#endif

#ifdef PW_X86
__attribute__((target("avx2,fma"))) static void
ukernel_avx2(int64_t kc, const float *const *a, const float *bp, int64_t ldbp, const struct tile_out *o)
{
	tile_avx2(kc, a, bp, ldbp, o);
}

/* np whole 16-column panels in a row of one row block: panel p is at bp + p * pstride, its output 16 columns
 * further. One call for the whole row: with the short k loops of the early layers (K = 16..32) the call and
 * row-pointer setup per tile cost as much as a third of the tile. */
__attribute__((target("avx2,fma"))) static void
strip_avx2(int64_t kc, const float *const *a, const float *bp, int64_t ldbp, int64_t pstride, int64_t np,
    const struct tile_out *o)
{
	struct tile_out t = *o;

	for (int64_t p = 0; p < np; p++, bp += pstride, t.c += NR)
		tile_avx2(kc, a, bp, ldbp, &t);
}
#endif

/* Dot products for a ragged last panel of at most TAIL_DOT columns: one useful column in a 16-wide tile
 * wastes 15/16 of the FMAs, while a row-by-column dot product wastes none. */
#define TAIL_DOT 4
/* Row blocks per tail call in row-major order (24 rows of A: a few KiB per k block, still in L1). */
#define TAIL_GROUP 4

static float
dot_generic(const float *a, const float *b, int64_t n)
{
	float s = 0.0f;

	for (int64_t i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

#ifdef PW_X86
__attribute__((target("avx2,fma"))) static float
dot_avx2(const float *a, const float *b, int64_t n)
{
	__m256 s0 = _mm256_setzero_ps(), s1 = s0;
	__m128 h;
	int64_t i = 0;
	float t;

	for (; i + 16 <= n; i += 16) {
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
	}
	for (; i + 8 <= n; i += 8)
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
	s0 = _mm256_add_ps(s0, s1);
	h = _mm_add_ps(_mm256_castps256_ps128(s0), _mm256_extractf128_ps(s0, 1));
	h = _mm_add_ps(h, _mm_movehl_ps(h, h));
	h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
	t = _mm_cvtss_f32(h);
	for (; i < n; i++)
		t += a[i] * b[i];
	return t;
}
#endif

#ifdef PW_X86
/* Sums of each of the 8 vectors v[0..7], as two 4-lane vectors (v0..v3, v4..v7). */
__attribute__((target("avx2,fma"))) static inline void
hsum8(const __m256 *v, __m128 *lo, __m128 *hi)
{
	__m256 t0 = _mm256_hadd_ps(v[0], v[1]), t1 = _mm256_hadd_ps(v[2], v[3]);
	__m256 t2 = _mm256_hadd_ps(v[4], v[5]), t3 = _mm256_hadd_ps(v[6], v[7]);
	__m256 a = _mm256_hadd_ps(t0, t1), b = _mm256_hadd_ps(t2, t3);

	*lo = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
	*hi = _mm_add_ps(_mm256_castps256_ps128(b), _mm256_extractf128_ps(b, 1));
}

/* Finishes one element of a tail column: bias or accumulate, then the activation. */
static inline void
tail_store(float *c, float v, int first, float bias, const struct infer_act *act)
{
	*c = first ? v + bias : *c + v;
	if (act != NULL) {
		if (act->kind == ACT_CLAMP)
			*c = *c < act->lo ? act->lo : *c > act->hi ? act->hi : *c;
		else
			infer_act_apply(act, c, 1);
	}
}

/* The ragged last nr (1..TAIL_DOT) columns for rows [r0, r1) and k block [kb, kb+kc), vectorised along k with
 * many rows and columns at once (one dot product at a time is bound by the FMA latency and the horizontal sum):
 * one column, 8 rows per step; 2..4 columns, 2 rows per step with the missing columns read as zeros.
 * col is TAIL_DOT * kc floats of scratch (filled when gather is set); rows past r1 reuse row r1 - 1 and are
 * discarded. */
__attribute__((target("avx2,fma"))) static void
tail_avx2(const float *A, int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc, const float *bias,
    const struct infer_act *act, int64_t r0, int64_t r1, int64_t j0, int64_t nr, int64_t kb, int64_t kc, int first,
    float *col, int gather)
{
	int64_t k8 = kc / 8 * 8;

	/* The columns, transposed into col; a caller doing several row ranges of one k block gathers once. */
	for (int64_t j = 0; gather && j < TAIL_DOT; j++)
		for (int64_t k = 0; k < kc; k++)
			col[j * kc + k] = j < nr ? B[(kb + k) * ldb + j0 + j] : 0.0f;
	if (nr == 1) {
		for (int64_t i0 = r0; i0 < r1; i0 += 8) {
			const float *a[8];
			__m256 acc[8], s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
			__m128 lo, hi;
			float t[8];
			for (int i = 0; i < 8; i++)
				a[i] = A + (i0 + i < r1 ? i0 + i : r1 - 1) * lda + kb;
			/* Named accumulators: an indexed array here was kept on the stack by the compiler. */
			for (int64_t k = 0; k < k8; k += 8) {
				__m256 b = _mm256_loadu_ps(col + k);
				s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a[0] + k), b, s0);
				s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a[1] + k), b, s1);
				s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a[2] + k), b, s2);
				s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a[3] + k), b, s3);
				s4 = _mm256_fmadd_ps(_mm256_loadu_ps(a[4] + k), b, s4);
				s5 = _mm256_fmadd_ps(_mm256_loadu_ps(a[5] + k), b, s5);
				s6 = _mm256_fmadd_ps(_mm256_loadu_ps(a[6] + k), b, s6);
				s7 = _mm256_fmadd_ps(_mm256_loadu_ps(a[7] + k), b, s7);
			}
			acc[0] = s0, acc[1] = s1, acc[2] = s2, acc[3] = s3, acc[4] = s4, acc[5] = s5, acc[6] = s6, acc[7] = s7;
			hsum8(acc, &lo, &hi);
			_mm_storeu_ps(t, lo);
			_mm_storeu_ps(t + 4, hi);
			for (int i = 0; i < 8 && i0 + i < r1; i++) {
				for (int64_t k = k8; k < kc; k++)
					t[i] += a[i][k] * col[k];
				tail_store(C + (i0 + i) * ldc + j0, t[i], first, bias != NULL ? bias[i0 + i] : 0.0f, act);
			}
		}
		return;
	}
	for (int64_t i0 = r0; i0 < r1; i0 += 2) {
		const float *a0 = A + i0 * lda + kb, *a1 = A + (i0 + 1 < r1 ? i0 + 1 : i0) * lda + kb;
		const float *c0 = col, *c1 = col + kc, *c2 = col + 2 * kc, *c3 = col + 3 * kc;
		__m256 acc[8], s00 = _mm256_setzero_ps(), s01 = s00, s02 = s00, s03 = s00;
		__m256 s10 = s00, s11 = s00, s12 = s00, s13 = s00;
		__m128 lo, hi;
		float t[8];
		for (int64_t k = 0; k < k8; k += 8) {
			__m256 x0 = _mm256_loadu_ps(a0 + k), x1 = _mm256_loadu_ps(a1 + k), b;
			b = _mm256_loadu_ps(c0 + k);
			s00 = _mm256_fmadd_ps(x0, b, s00);
			s10 = _mm256_fmadd_ps(x1, b, s10);
			b = _mm256_loadu_ps(c1 + k);
			s01 = _mm256_fmadd_ps(x0, b, s01);
			s11 = _mm256_fmadd_ps(x1, b, s11);
			b = _mm256_loadu_ps(c2 + k);
			s02 = _mm256_fmadd_ps(x0, b, s02);
			s12 = _mm256_fmadd_ps(x1, b, s12);
			b = _mm256_loadu_ps(c3 + k);
			s03 = _mm256_fmadd_ps(x0, b, s03);
			s13 = _mm256_fmadd_ps(x1, b, s13);
		}
		acc[0] = s00, acc[1] = s01, acc[2] = s02, acc[3] = s03, acc[4] = s10, acc[5] = s11, acc[6] = s12, acc[7] = s13;
		hsum8(acc, &lo, &hi);
		_mm_storeu_ps(t, lo);
		_mm_storeu_ps(t + 4, hi);
		for (int i = 0; i < 2 && i0 + i < r1; i++) {
			const float *ar = i == 0 ? a0 : a1;
			for (int64_t j = 0; j < nr; j++) {
				float v = t[i * TAIL_DOT + j];
				for (int64_t k = k8; k < kc; k++)
					v += ar[k] * col[j * kc + k];
				tail_store(C + (i0 + i) * ldc + j0 + j, v, first, bias != NULL ? bias[i0 + i] : 0.0f, act);
			}
		}
	}
}
#endif

/* C[r0..r1) x columns [j0, j0+nr) for k block [kb, kb+kc), by dot products; col is kc floats of scratch. */
static void
tail_dots(float (*dot)(const float *, const float *, int64_t), const float *A, int64_t lda, const float *B,
    int64_t ldb, float *C, int64_t ldc, const float *bias, const struct infer_act *act, int64_t r0, int64_t r1,
    int64_t j0, int64_t nr, int64_t kb, int64_t kc, int first, float *col)
{
	for (int64_t j = 0; j < nr; j++) {
		for (int64_t k = 0; k < kc; k++)
			col[k] = B[(kb + k) * ldb + j0 + j];
		for (int64_t i = r0; i < r1; i++) {
			float v = dot(A + i * lda + kb, col, kc);
			float *c = C + i * ldc + j0 + j;
			*c = first ? v + (bias != NULL ? bias[i] : 0.0f) : *c + v;
			if (act != NULL)
				infer_act_apply(act, c, 1);
		}
	}
}

static void
sgemm_naive(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, float *C,
    int64_t ldc, const float *bias, const struct infer_act *act, int accumulate)
{
	for (int64_t i = 0; i < M; i++) {
		for (int64_t j = 0; j < N; j++) {
			float acc = accumulate ? C[i * ldc + j] : bias != NULL ? bias[i] : 0.0f;
			for (int64_t k = 0; k < K; k++)
				acc += A[i * lda + k] * B[k * ldb + j];
			C[i * ldc + j] = acc;
		}
		infer_act_apply(act, C + i * ldc, N);
	}
}

/* Packs rows [kb, kb+kc) and columns [jc, jc+nc) of B into 16-column panels (zero-padded), reading B's
 * rows sequentially. */
static void
pack_b(const float *B, int64_t ldb, int64_t kb, int64_t kc, int64_t jc, int64_t nc, float *bp)
{
	int64_t panels = (nc + NR - 1) / NR;

	for (int64_t k = 0; k < kc; k++) {
		const float *brow = B + (kb + k) * ldb + jc;
		for (int64_t p = 0; p < panels; p++) {
			float *dst = bp + (p * kc + k) * NR;
			int64_t j0 = p * NR, nr = nc - j0 < NR ? nc - j0 : NR, j = 0;
			if (nr == NR) {
				/* A constant size: two vector moves, not a scalar loop. */
				memcpy(dst, brow + j0, NR * sizeof(float));
				continue;
			}
			for (; j < nr; j++)
				dst[j] = brow[j0 + j];
			for (; j < NR; j++)
				dst[j] = 0.0f;
		}
	}
}

typedef void (*ukernel_fn)(int64_t, const float *const *, const float *, int64_t, const struct tile_out *);
typedef void (*strip_fn)(int64_t, const float *const *, const float *, int64_t, int64_t, int64_t,
    const struct tile_out *);

/* Short k blocks run row-major with whole rows of panels per call (strip_avx2): the packed B block (at most
 * STRIP_KC x NC floats, 24 KiB) stays in L1 across the row blocks. */
#define STRIP_KC 32

/* C rows [r0, r1) x columns [jc, jc+nc), all of K, with bp as this thread's packing buffer. With few rows
 * a packed panel would be reused only a couple of times, so full panels are read from B in place (direct)
 * and only a ragged last panel is packed. */
static void
gemm_block(ukernel_fn ukernel, strip_fn strip, float (*dot)(const float *, const float *, int64_t), int mrmax,
    int64_t M, int64_t K, const float *A, int64_t lda, const float *B, int64_t ldb, float *C, int64_t ldc,
    const float *bias, const struct infer_act *act, int64_t r0, int64_t r1, int64_t jc, int64_t nc, float *bp,
    int acc)
{
	int64_t full = nc / NR, rest = nc - full * NR;
	int direct = r1 - r0 <= 8 * MR, dots = rest > 0 && rest <= TAIL_DOT;
	/* A narrow ragged panel goes to tail_avx2 (tail_dots without AVX2); it is not packed or tiled. */
	int64_t panels = full + (rest > 0 && !dots ? 1 : 0);

	for (int64_t kb = 0; kb < K; kb += KC) {
		int64_t kc = K - kb < KC ? K - kb : KC;
		/* The first k block starts from the bias, unless the caller accumulates into C. */
		int first = kb == 0 && !acc;
		if (!direct)
			pack_b(B, ldb, kb, kc, jc, panels * NR < nc ? panels * NR : nc, bp);
		else if (full < panels)
			pack_b(B, ldb, kb, kc, jc + full * NR, nc - full * NR, bp);
		/* Panel-major order keeps a B panel in L1 across all row blocks; with many more rows than columns
		 * (7x7 maps with hundreds of channels) A is the big operand and would be streamed again for every panel,
		 * so row-major order keeps an A block in L1 across the few panels (and the ragged tail, done per group
		 * of TAIL_GROUP row blocks while their rows of A are still in L1). The threshold (4x) is a guess: 1x,
		 * 4x and never were within the noise of the shared development machine for MobileNetV2. */
		int use_strip = strip != NULL && kc <= STRIP_KC && full > 1;
		int row_major = r1 - r0 > 4 * nc || use_strip, tail_in_loop = 0;
		int64_t n_outer = row_major ? (r1 - r0 + mrmax - 1) / mrmax : panels;
		int64_t n_inner = row_major ? panels : (r1 - r0 + mrmax - 1) / mrmax;
		/* bp's start is free here only in direct mode; otherwise use the space after the packed panels
		 * (the buffer holds KC * NC floats; panels * kc * NR + TAIL_DOT * kc fits, panels <= NC/NR - 1). */
		float *scratch = bp + (direct ? 0 : panels * kc * NR);
		if (dots) {
#ifdef PW_X86
			if (dot != dot_generic) {
				tail_in_loop = row_major;
				tail_avx2(A, lda, B, ldb, C, ldc, bias, kb + kc >= K ? act : NULL, r0, tail_in_loop ? r0 :
				    r1 < M ? r1 : M, jc + full * NR, rest, kb, kc, first, scratch, 1);
			} else
#endif
				tail_dots(dot, A, lda, B, ldb, C, ldc, bias, kb + kc >= K ? act : NULL, r0, r1 < M ? r1 : M,
				    jc + full * NR, rest, kb, kc, first, scratch);
		}
		for (int64_t t = 0; t < n_outer * n_inner; t++) {
			int64_t p = row_major ? t % n_inner : t / n_inner;
			int64_t i0 = r0 + (row_major ? t / n_inner : t % n_inner) * mrmax;
			const float *panel = bp + p * kc * NR;
			int64_t ldbp = NR;
			if (direct) {
				if (p < full) {
					panel = B + kb * ldb + jc + p * NR;
					ldbp = ldb;
				} else
					panel = bp;
			}
			{
				int64_t mr = M - i0 < mrmax ? M - i0 : mrmax;
				int64_t j0 = p * NR, nr = nc - j0 < NR ? nc - j0 : NR;
				const float *arow[MR];
				struct tile_out o = { .c = C + i0 * ldc + jc + j0, .ldc = ldc, .mr = (int)mr, .nr = (int)nr,
					.bias = bias != NULL ? bias + i0 : NULL, .first = first,
					.act = kb + kc >= K ? act : NULL };
				/* Rows past M reuse row i0: computed, never stored. */
				for (int i = 0; i < mrmax; i++)
					arow[i] = A + (i0 + (i < mr ? i : 0)) * lda + kb;
				if (use_strip && p == 0) {
					/* All full panels of this row block at once; the loop goes on after them. */
					strip(kc, arow, panel, ldbp, direct ? NR : kc * NR, full, &o);
					t += full - 1;
					p = full - 1;
				} else
					ukernel(kc, arow, panel, ldbp, &o);
			}
#ifdef PW_X86
			/* Row-major with a ragged tail: the tail of a group of row blocks right after their last panel. */
			if (tail_in_loop && p == n_inner - 1) {
				int64_t b = t / n_inner;
				if ((b + 1) % TAIL_GROUP == 0 || b == n_outer - 1) {
					int64_t g0 = r0 + (b - b % TAIL_GROUP) * mrmax, g1 = r0 + (b + 1) * mrmax;
					if (g1 > r1)
						g1 = r1;
					if (g1 > M)
						g1 = M;
					if (g0 < g1)
						tail_avx2(A, lda, B, ldb, C, ldc, bias, kb + kc >= K ? act : NULL, g0, g1, jc + full * NR,
						    rest, kb, kc, first, scratch, 0);
				}
			}
#endif
		}
#ifdef PW_X86
		/* No full panel at all (at most TAIL_DOT columns): the tail for all rows at once. */
		if (tail_in_loop && n_inner == 0)
			tail_avx2(A, lda, B, ldb, C, ldc, bias, kb + kc >= K ? act : NULL, r0, r1 < M ? r1 : M, jc + full * NR,
			    rest, kb, kc, first, scratch, 0);
#else
		(void)tail_in_loop;
#endif
	}
}

/* C[r0..r1) x [jc, jc+nc) += R (same leading dimension as C): the residual of a block, added to a part of C
 * this thread has just written, while it is in this core's cache. */
static void
add_residual(float *C, int64_t ldc, const float *R, int64_t r0, int64_t r1, int64_t jc, int64_t nc)
{
	for (int64_t i = r0; i < r1; i++)
		infer_binary_f32(OP_ADD, C + i * ldc + jc, 1, R + i * ldc + jc, 1, C + i * ldc + jc, nc);
}

static int
sgemm_run(enum infer_cpu_level lvl, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
    const float *B, int64_t ldb, float *C, int64_t ldc, const float *bias, const struct infer_act *act,
    int threads, int acc, const float *res)
{
	ukernel_fn ukernel = ukernel_generic;
	strip_fn strip = NULL;
	float (*dot)(const float *, const float *, int64_t) = dot_generic;
	int mrmax = MR, nt = 1, nomem = 0;
	int64_t row_blocks, col_blocks = (N + NC - 1) / NC;

	if (M <= 0 || N <= 0)
		return 0;
	if (act != NULL && act->kind == ACT_NONE)
		act = NULL;
	if (lvl == CPU_REFERENCE || K == 0) {
		sgemm_naive(M, N, K, A, lda, B, ldb, C, ldc, bias, act, acc);
		if (res != NULL)
			add_residual(C, ldc, res, 0, M, 0, N);
		return 0;
	}
#ifdef PW_X86
	if (lvl >= CPU_AVX2)
		dot = dot_avx2;
	/* AVX-512 machines use these tiles too: a 12x16 zmm tile measured 5-7 % slower over MobileNetV2 on Zen 4
	 * (512-bit operations are double-pumped there); the AVX-512 kernel is the small-map one (pointwise.c). */
	if (lvl >= CPU_AVX2) {
		ukernel = ukernel_avx2;
		strip = strip_avx2;
	}
#endif
	row_blocks = (M + mrmax - 1) / mrmax;
#ifdef _OPENMP
	nt = threads > 0 ? threads : omp_get_max_threads();
#endif
	(void)threads;
	/* One parallel region and no barrier inside: each thread packs B into its own buffer. Many column
	 * blocks (at least 4 per thread, so that dynamic scheduling balances them): threads take whole blocks.
	 * Few (small spatial maps; a 14x14 map is one 192-column block and a 4-column one, which would leave one
	 * thread idle): each thread takes a band of rows and packs all of B itself, which is cheap exactly
	 * because N is small. Barriers are what hurts when the machine is shared, so there are none but the
	 * last. */
#pragma omp parallel num_threads(nt) if (nt > 1)
	{
		float *bp = aligned_alloc(64, (size_t)KC * NC * sizeof(float));
		if (bp == NULL) {
#pragma omp atomic write
			nomem = 1;
		} else if (nt == 1 || col_blocks >= 4 * (int64_t)nt || row_blocks < 2) {
#pragma omp for schedule(dynamic, 1) nowait
			for (int64_t b = 0; b < col_blocks; b++) {
				int64_t jc = b * NC, nc = N - jc < NC ? N - jc : NC;
				gemm_block(ukernel, strip, dot, mrmax, M, K, A, lda, B, ldb, C, ldc, bias, act, 0, M, jc, nc, bp, acc);
				if (res != NULL)
					add_residual(C, ldc, res, 0, M, jc, nc);
			}
		} else {
			int64_t bands = row_blocks < 4 * (int64_t)nt ? row_blocks : 4 * (int64_t)nt;
#pragma omp for schedule(dynamic, 1) nowait
			for (int64_t band = 0; band < bands; band++) {
				int64_t r0 = row_blocks * band / bands * mrmax, r1 = row_blocks * (band + 1) / bands * mrmax;
				if (r1 > M)
					r1 = M;
				for (int64_t jc = 0; jc < N; jc += NC)
					gemm_block(ukernel, strip, dot, mrmax, M, K, A, lda, B, ldb, C, ldc, bias, act, r0, r1, jc,
					    N - jc < NC ? N - jc : NC, bp, acc);
				if (res != NULL && r0 < r1)
					add_residual(C, ldc, res, r0, r1, 0, N);
			}
		}
		free(bp);
	}
	/* Out of memory for a packing buffer: redo the whole product the slow way (it overwrites C, so it cannot
	 * when accumulating: some blocks may already have added to it). */
	if (nomem && !acc) {
		sgemm_naive(M, N, K, A, lda, B, ldb, C, ldc, bias, act, 0);
		if (res != NULL)
			add_residual(C, ldc, res, 0, M, 0, N);
	}
	return nomem && acc ? -1 : 0;
}

void
infer_sgemm(enum infer_cpu_level lvl, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
    const float *B, int64_t ldb, float *C, int64_t ldc, const float *bias, const struct infer_act *act,
    int threads)
{
	(void)sgemm_run(lvl, M, N, K, A, lda, B, ldb, C, ldc, bias, act, threads, 0, NULL);
}

void
infer_sgemm_res(enum infer_cpu_level lvl, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
    const float *B, int64_t ldb, float *C, int64_t ldc, const float *bias, const struct infer_act *act,
    const float *res, int threads)
{
	(void)sgemm_run(lvl, M, N, K, A, lda, B, ldb, C, ldc, bias, act, threads, 0, res);
}

int
infer_sgemm_acc(enum infer_cpu_level lvl, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
    const float *B, int64_t ldb, float *C, int64_t ldc, int threads)
{
	return sgemm_run(lvl, M, N, K, A, lda, B, ldb, C, ldc, NULL, NULL, threads, 1, NULL);
}
