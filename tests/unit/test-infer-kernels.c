/* test-infer-kernels.c: every optimised CPU kernel (packed GEMM, im2col and 1x1 conv, depthwise 3x3, the fused inverted residual block) against the reference on random shapes. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static unsigned rng = 12345u;

static float
frand(void)
{
	rng = rng * 1103515245u + 12345u;
	return (float)((rng >> 8) % 20001) / 10000.0f - 1.0f;
}

static int
irand(int lo, int hi)
{
	rng = rng * 1103515245u + 12345u;
	return lo + (int)((rng >> 8) % (unsigned)(hi - lo + 1));
}

static float *
rand_buf(size_t n)
{
	float *p = malloc((n > 0 ? n : 1) * sizeof(float));

	cr_assert_not_null(p);
	for (size_t i = 0; i < n; i++)
		p[i] = frand();
	return p;
}

/* The levels this CPU can run; the reference level is what everything is compared with. */
static int
levels(enum infer_cpu_level *out)
{
	int n = 0;

	out[n++] = CPU_GENERIC;
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		out[n++] = CPU_AVX2;
	else
		cr_log_warn("this CPU lacks AVX2+FMA: only the generic kernels are tested");
	if (__builtin_cpu_supports("avx512f") && n == 2)
		out[n++] = CPU_AVX512;
	else
		cr_log_warn("this CPU lacks AVX-512F: the AVX-512 kernels are not tested here");
#endif
	return n;
}

static int has_pw_kernel(void);

Test(infer_kernels, sgemm_matches_reference_on_odd_shapes)
{
	static const int Ms[] = { 1, 5, 6, 7, 12, 13, 25, 33 }, Ns[] = { 1, 15, 16, 17, 19, 50, 52, 129, 196 }, Ks[] = { 1, 3, 255, 256, 257, 600 };
	enum infer_cpu_level lv[4];
	int nl = levels(lv), cases = 0;

	for (size_t a = 0; a < sizeof(Ms) / sizeof(Ms[0]); a++)
	for (size_t b = 0; b < sizeof(Ns) / sizeof(Ns[0]); b++)
	for (size_t k = 0; k < sizeof(Ks) / sizeof(Ks[0]); k += 1 + (a + b) % 2) {
		int64_t M = Ms[a], N = Ns[b], K = Ks[k], lda = K + (a % 3), ldb = N + (b % 2), ldc = N + 3;
		float *A = rand_buf((size_t)(M * lda)), *B = rand_buf((size_t)(K * ldb)), *bias = rand_buf((size_t)M);
		float *C = malloc((size_t)(M * ldc) * sizeof(float));
		int use_bias = (int)((a + k) % 2);

		cr_assert_not_null(C);
		for (int l = 0; l < nl; l++) {
			for (int64_t i = 0; i < M * ldc; i++)
				C[i] = 1e30f; /* poison: every element must be written */
			infer_sgemm(lv[l], M, N, K, A, lda, B, ldb, C, ldc, use_bias ? bias : NULL, NULL, 2);
			for (int64_t i = 0; i < M; i++)
				for (int64_t j = 0; j < N; j++) {
					double want = use_bias ? bias[i] : 0.0, mag = fabs(want);
					for (int64_t q = 0; q < K; q++) {
						want += (double)A[i * lda + q] * B[q * ldb + j];
						mag += fabs((double)A[i * lda + q] * B[q * ldb + j]);
					}
					cr_assert(fabs(C[i * ldc + j] - want) <= 1e-5 * mag + 1e-6,
					    "%s M=%lld N=%lld K=%lld C[%lld][%lld] = %g, want %g", infer_cpu_level_name(lv[l]),
					    (long long)M, (long long)N, (long long)K, (long long)i, (long long)j,
					    C[i * ldc + j], want);
				}
			cases++;
		}
		free(A);
		free(B);
		free(bias);
		free(C);
	}
	cr_assert_gt(cases, 100);
}

/* One thread, many more rows than columns: the row-major order with the ragged tail done per group of row
 * blocks (several groups, K over one k block, a fused clamp), against a double-precision reference. */
Test(infer_kernels, sgemm_row_major_matches_reference)
{
	static const int Ns[] = { 49, 17, 4, 50 };
	static const struct infer_act clamp = { .kind = ACT_CLAMP, .lo = -0.5f, .hi = 0.75f };
	enum infer_cpu_level lv[4];
	int nl = levels(lv);

	for (size_t b = 0; b < sizeof(Ns) / sizeof(Ns[0]); b++) {
		int64_t M = 250 + (int64_t)b, N = Ns[b], K = 300 - 37 * (int64_t)b;
		float *A = rand_buf((size_t)(M * K)), *B = rand_buf((size_t)(K * N)), *bias = rand_buf((size_t)M);
		float *C = malloc((size_t)(M * N) * sizeof(float));

		cr_assert_not_null(C);
		for (int l = 0; l < nl; l++) {
			for (int64_t i = 0; i < M * N; i++)
				C[i] = 1e30f;
			infer_sgemm(lv[l], M, N, K, A, K, B, N, C, N, bias, &clamp, 1);
			for (int64_t i = 0; i < M; i++)
				for (int64_t j = 0; j < N; j++) {
					double want = bias[i], mag = fabs(want);
					for (int64_t q = 0; q < K; q++) {
						want += (double)A[i * K + q] * B[q * N + j];
						mag += fabs((double)A[i * K + q] * B[q * N + j]);
					}
					want = want < clamp.lo ? clamp.lo : want > clamp.hi ? clamp.hi : want;
					cr_assert(fabs(C[i * N + j] - want) <= 1e-5 * mag + 1e-6,
					    "%s M=%lld N=%lld K=%lld C[%lld][%lld] = %g, want %g", infer_cpu_level_name(lv[l]),
					    (long long)M, (long long)N, (long long)K, (long long)i, (long long)j, C[i * N + j], want);
				}
		}
		free(A);
		free(B);
		free(bias);
		free(C);
	}
}

/* Builds geometry for a 2-D conv the way the Conv op does (explicit pads). */
static struct spatial_geom
geom(int64_t H, int64_t W, int64_t kh, int64_t kw, int64_t s, int64_t d, const int64_t pads[4])
{
	struct spatial_geom g = { .nsp = 2 };
	int64_t in[2] = { H, W }, k[2] = { kh, kw };

	g.in[0] = g.k[0] = g.s[0] = g.d[0] = g.out[0] = 1;
	for (int i = 0; i < 2; i++) {
		g.in[1 + i] = in[i];
		g.k[1 + i] = k[i];
		g.s[1 + i] = s;
		g.d[1 + i] = d;
		g.pb[1 + i] = pads[i];
		g.pe[1 + i] = pads[2 + i];
		g.out[1 + i] = (in[i] + pads[i] + pads[2 + i] - ((k[i] - 1) * d + 1)) / s + 1;
	}
	return g;
}

static void
check_conv(int64_t N, int64_t C, int64_t M, int64_t G, int64_t H, int64_t W, int64_t kh, int64_t kw, int64_t s,
    int64_t d, const int64_t pads[4], int fused)
{
	static const struct infer_act clip = { .kind = ACT_CLAMP, .lo = 0.0f, .hi = 0.5f };
	static const struct infer_act hswish = { .kind = ACT_HARDSWISH };
	struct conv_params p = { .N = N, .C = C, .M = M, .G = G, .threads = 2 };
	enum infer_cpu_level lv[4];
	int nl = levels(lv);
	size_t ysz;
	float *x, *w, *b, *want, *got, *wpack = NULL, *res = NULL, *want_res = NULL;

	p.g = geom(H, W, kh, kw, s, d, pads);
	if (p.g.out[1] < 1 || p.g.out[2] < 1)
		return;
	ysz = (size_t)(N * M * p.g.out[1] * p.g.out[2]);
	x = rand_buf((size_t)(N * C * H * W));
	w = rand_buf((size_t)(M * (C / G) * kh * kw));
	b = rand_buf((size_t)M);
	want = malloc(ysz * sizeof(float));
	got = malloc(ysz * sizeof(float));
	cr_assert(want != NULL && got != NULL);
	p.x = x;
	p.w = w;
	p.bias = b;
	p.act = fused == 1 ? clip : fused == 2 ? hswish : (struct infer_act){ .kind = ACT_NONE };
	p.y = want;
	infer_conv_ref(&p);
	/* A 1x1 conv also runs with its weights packed for the small-map kernel (used at the AVX-512 level where
	 * it wins, the GEMM otherwise: both must match), then both ways with a residual added (a block's Add). */
	if (G == 1 && kh == 1 && kw == 1 && s == 1 && pads[0] == 0 && pads[1] == 0 && pads[2] == 0 && pads[3] == 0) {
		wpack = aligned_alloc(64, (infer_pw_packed_floats(M, C) * sizeof(float) + 63) / 64 * 64);
		cr_assert_not_null(wpack);
		infer_pw_pack(M, C, w, wpack);
		res = rand_buf(ysz);
		want_res = malloc(ysz * sizeof(float));
		cr_assert_not_null(want_res);
		for (size_t i = 0; i < ysz; i++)
			want_res[i] = want[i] + res[i];
	}
	for (int pass = 0; pass < (wpack != NULL ? 4 : 1); pass++)
	for (int l = 0; l < nl; l++) {
		int rc;
		const float *ref = pass >= 2 ? want_res : want;
		p.wpack = pass % 2 == 1 ? wpack : NULL;
		p.res = pass >= 2 ? res : NULL;
		for (size_t i = 0; i < ysz; i++)
			got[i] = 1e30f;
		p.y = got;
		rc = infer_conv_fast(&p, lv[l]);
		cr_assert_geq(rc, 0);
		if (rc > 0)
			continue; /* no fast path for this shape: the reference runs, nothing to compare */
		for (size_t i = 0; i < ysz; i++)
			cr_assert(fabsf(got[i] - ref[i]) <= 1e-4f * (1.0f + fabsf(ref[i])),
			    "%s pass %d N%lld C%lld M%lld G%lld %lldx%lld k%lldx%lld s%lld d%lld pads %lld,%lld,%lld,%lld: "
			    "y[%zu] = %g, want %g", infer_cpu_level_name(lv[l]), pass, (long long)N, (long long)C,
			    (long long)M, (long long)G, (long long)H, (long long)W, (long long)kh, (long long)kw, (long long)s,
			    (long long)d, (long long)pads[0], (long long)pads[1], (long long)pads[2], (long long)pads[3],
			    i, got[i], ref[i]);
	}
	free(res);
	free(want_res);
	free(x);
	free(w);
	free(b);
	free(want);
	free(got);
	free(wpack);
}

Test(infer_kernels, pointwise_conv_matches_reference)
{
	static const int64_t none[4] = { 0, 0, 0, 0 };

	check_conv(1, 3, 5, 1, 7, 9, 1, 1, 1, 1, none, 0);
	check_conv(2, 17, 33, 1, 5, 5, 1, 1, 1, 1, none, 1);
	check_conv(1, 64, 24, 1, 14, 14, 1, 1, 1, 1, none, 0);
	check_conv(1, 300, 7, 1, 3, 3, 1, 1, 1, 1, none, 1);
	/* Ragged last panels of 1-4 columns (7x7 and 14x14 maps) with fused activations: the tail kernel. */
	check_conv(1, 37, 29, 1, 7, 7, 1, 1, 1, 1, none, 1);
	check_conv(1, 21, 13, 1, 14, 14, 1, 1, 1, 1, none, 2);
	check_conv(1, 300, 50, 1, 3, 17, 1, 1, 1, 1, none, 1);
	check_conv(1, 9, 60, 1, 1, 51, 1, 1, 1, 1, none, 1);
	/* More rows than columns (row-major order, the tail done per group of row blocks), K over one k block. */
	check_conv(1, 40, 100, 1, 7, 7, 1, 1, 1, 1, none, 1);
	check_conv(1, 300, 77, 1, 7, 7, 1, 1, 1, 1, none, 2);
	check_conv(1, 260, 130, 1, 2, 2, 1, 1, 1, 1, none, 0);
	check_conv(1, 12, 8, 4, 6, 6, 1, 1, 1, 1, none, 0); /* grouped 1x1 */
	/* MobileNetV2's small-map shapes (the packed kernel where AVX-512 is there): 7x7 and 14x14, a 28x28
	 * projection, a 28x28 expansion and a 56x56 map (the GEMM). */
	check_conv(1, 160, 960, 1, 7, 7, 1, 1, 1, 1, none, 1);
	check_conv(1, 576, 96, 1, 14, 14, 1, 1, 1, 1, none, 0);
	check_conv(2, 144, 32, 1, 28, 28, 1, 1, 1, 1, none, 0);
	check_conv(1, 32, 192, 1, 28, 28, 1, 1, 1, 1, none, 2);
	check_conv(1, 24, 144, 1, 56, 56, 1, 1, 1, 1, none, 1);
}

/* Whether this CPU runs the AVX-512 small-map kernel (pointwise.c); logs why not. */
static int
has_pw_kernel(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
	    __builtin_cpu_supports("avx512dq"))
		return 1;
#endif
	cr_log_warn("this CPU lacks AVX-512F/VL/DQ: the small-map 1x1 kernel is not tested here");
	return 0;
}

/* The packed small-map 1x1 kernel on random shapes: channel ranges starting at any panel, partial k ranges,
 * accumulation, every activation, tiles of 1-8 pixels, leading dimensions wider than the rows, 1-2 threads.
 * Everything outside the rows and columns it owns must keep its poison. */
Test(infer_kernels, pointwise_small_map_kernel_matches_reference)
{
	static const struct infer_act acts[] = {
		{ .kind = ACT_NONE }, { .kind = ACT_CLAMP, .lo = -0.25f, .hi = 0.5f }, { .kind = ACT_HARDSWISH },
		{ .kind = ACT_HSWISH_SCALED, .scale = 0.16662598f, .add = 3.0f, .lo = 0.0f, .hi = 6.0f },
	};
	int cases = 0;

	if (!has_pw_kernel())
		return;
	for (int t = 0; t < 80; t++) {
		int64_t M = t < 8 ? (int64_t[]){ 1, 16, 17, 48, 63, 64, 65, 960 }[t] : irand(1, 200);
		int64_t K = irand(1, t % 5 == 0 ? 400 : 70), N = t < 16 ? 1 + t % 9 : irand(1, 70);
		int64_t ldb = N + irand(0, 3), ldc = N + irand(0, 3), starts[64];
		int64_t q = infer_pw_panels(M, starts), pi = irand(0, (int)q - 1);
		int64_t m0 = starts[pi], m1 = irand((int)m0 + 1, (int)M), k0 = irand(0, (int)K - 1), k1 = irand((int)k0 + 1, (int)K);
		int accumulate = t % 3 == 2;
		const struct infer_act *act = &acts[t % 4];
		float *W = rand_buf((size_t)(M * K)), *B = rand_buf((size_t)(K * ldb)), *bias = rand_buf((size_t)M);
		float *C = rand_buf((size_t)(M * ldc)), *want = malloc((size_t)(M * ldc) * sizeof(float));
		/* A residual (added after the activation) on every other case that does not accumulate. */
		float *R = !accumulate && t % 2 == 1 ? rand_buf((size_t)(M * ldc)) : NULL;
		float *wp = aligned_alloc(64, (infer_pw_packed_floats(M, K) * sizeof(float) + 63) / 64 * 64);

		cr_assert(q < 64 && starts[q] == M, "panels of %lld channels end at %lld", (long long)M, (long long)starts[q]);
		cr_assert(want != NULL && wp != NULL);
		infer_pw_pack(M, K, W, wp);
		/* Poison where the kernel must not write; accumulation starts from random values. */
		for (int64_t i = 0; i < M * ldc; i++) {
			if (!accumulate || i / ldc < m0 || i / ldc >= m1 || i % ldc >= N)
				C[i] = 1e30f;
			want[i] = C[i];
		}
		for (int64_t i = m0; i < m1; i++) {
			for (int64_t j = 0; j < N; j++) {
				double s = accumulate ? C[i * ldc + j] : bias[i];
				for (int64_t k = k0; k < k1; k++)
					s += (double)W[i * K + k] * B[k * ldb + j];
				want[i * ldc + j] = (float)s;
			}
			if (!accumulate)
				infer_act_apply(act, want + i * ldc, N);
			for (int64_t j = 0; R != NULL && j < N; j++)
				want[i * ldc + j] += R[i * ldc + j];
		}
		for (int threads = 1; threads <= 2; threads++) {
			struct pw_gemm g = { .wp = wp, .M = M, .K = K, .m0 = m0, .m1 = m1, .k0 = k0, .k1 = k1, .N = N,
				.b = B + k0 * ldb, .ldb = ldb, .c = C + m0 * ldc, .ldc = ldc, .bias = bias + m0, .act = act,
				.res = R != NULL ? R + m0 * ldc : NULL, .accumulate = accumulate, .threads = threads };
			float *got = malloc((size_t)(M * ldc) * sizeof(float));
			cr_assert_not_null(got);
			memcpy(got, C, (size_t)(M * ldc) * sizeof(float));
			g.c = got + m0 * ldc;
			cr_assert_eq(infer_pw_gemm(CPU_AVX512, &g), 0);
			for (int64_t i = 0; i < M * ldc; i++) {
				double mag = 1.0 + fabs(want[i]);
				cr_assert(got[i] == want[i] || fabs(got[i] - want[i]) <= 1e-5 * mag * (double)(k1 - k0 + 1),
				    "M%lld K%lld N%lld rows %lld..%lld k %lld..%lld acc %d res %d act %d threads %d: C[%lld][%lld] = "
				    "%g, want %g", (long long)M, (long long)K, (long long)N, (long long)m0, (long long)m1,
				    (long long)k0, (long long)k1, accumulate, R != NULL, (int)act->kind, threads, (long long)(i / ldc),
				    (long long)(i % ldc), got[i], want[i]);
			}
			free(got);
			cases++;
		}
		/* Not a panel start, or a level without the kernel: refused, nothing written. */
		if (m0 + 1 < m1) {
			struct pw_gemm g = { .wp = wp, .M = M, .K = K, .m0 = m0 + 1, .m1 = m1, .k0 = 0, .k1 = K, .N = N,
				.b = B, .ldb = ldb, .c = C, .ldc = ldc, .threads = 1 };
			cr_assert_eq(infer_pw_gemm(CPU_AVX512, &g), 1);
			g.m0 = m0;
			cr_assert_eq(infer_pw_gemm(CPU_AVX2, &g), 1);
		}
		free(W);
		free(B);
		free(bias);
		free(C);
		free(R);
		free(want);
		free(wp);
	}
	cr_assert_eq(cases, 160);
}

Test(infer_kernels, im2col_conv_matches_reference)
{
	static const int64_t p1[4] = { 1, 1, 1, 1 }, asym[4] = { 0, 0, 1, 1 }, odd[4] = { 2, 0, 1, 3 };

	check_conv(1, 3, 16, 1, 15, 15, 3, 3, 2, 1, asym, 1); /* the MobileNet first layer, padded bottom/right */
	check_conv(2, 5, 7, 1, 11, 9, 3, 3, 1, 1, p1, 0);
	check_conv(1, 4, 6, 2, 9, 10, 3, 3, 2, 1, p1, 0);
	check_conv(1, 3, 3, 1, 13, 12, 5, 3, 1, 2, odd, 2);
	check_conv(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, p1, 0);
	check_conv(1, 2, 3, 1, 4, 4, 3, 3, 3, 1, odd, 0);
}

Test(infer_kernels, depthwise3x3_matches_reference)
{
	static const int64_t p1[4] = { 1, 1, 1, 1 }, none[4] = { 0, 0, 0, 0 }, asym[4] = { 0, 0, 1, 1 };

	check_conv(1, 8, 8, 8, 17, 17, 3, 3, 1, 1, p1, 1);
	check_conv(2, 5, 5, 5, 16, 15, 3, 3, 2, 1, asym, 0);
	check_conv(1, 3, 3, 3, 3, 3, 3, 3, 1, 1, none, 2);
	check_conv(1, 7, 7, 7, 33, 29, 3, 3, 2, 1, p1, 1);
	check_conv(1, 4, 4, 4, 2, 2, 3, 3, 1, 1, p1, 0);
	/* Stride 2 reads the input in place: border vectors with masked loads on both sides, MobileNet widths. */
	check_conv(1, 9, 9, 9, 14, 14, 3, 3, 2, 1, asym, 1);
	check_conv(1, 3, 3, 3, 56, 56, 3, 3, 2, 1, asym, 0);
	check_conv(2, 3, 3, 3, 13, 37, 3, 3, 2, 1, p1, 2);
}

/* Pads wide enough for more border vectors than the stride-2 kernel keeps masks for (its fallback path). */
Test(infer_kernels, depthwise3x3_wide_pads_match_reference)
{
	static const int64_t wide[4] = { 3, 70, 2, 41 }, wide1[4] = { 2, 33, 1, 20 };

	check_conv(1, 3, 3, 3, 9, 40, 3, 3, 2, 1, wide, 1);
	check_conv(1, 2, 2, 2, 5, 11, 3, 3, 1, 1, wide1, 2);
}

/* The channel-interleaved kernel (8 channels per vector): channel counts with every remainder mod 8 (a last
 * group of 1-7 channels), batch 2, 7x7 and 14x14 maps (rows under 8 pixels go chunk-wise across rows, rows of 8
 * and more row by row), odd sizes, rows under 4 columns, outputs under 8 pixels, pads 0, 1, asymmetric and
 * wider than the kernel, strides 1-3, Clip and HardSwish; and the scratch-size limit on both sides. */
Test(infer_kernels, depthwise3x3_interleaved_matches_reference)
{
	static const int64_t p1[4] = { 1, 1, 1, 1 }, none[4] = { 0, 0, 0, 0 }, asym[4] = { 0, 0, 1, 1 };
	static const int64_t odd[4] = { 2, 0, 1, 3 }, wide[4] = { 4, 3, 5, 4 };
	static const int64_t *const pads[] = { p1, none, asym, odd };
	static const int64_t sizes[][2] = { { 7, 7 }, { 14, 14 }, { 9, 11 }, { 3, 5 }, { 13, 8 }, { 2, 2 }, { 1, 1 },
		{ 17, 3 }, { 28, 28 }, { 15, 16 } };

	/* MobileNetV2's small maps at widths that leave a partial group. */
	check_conv(1, 383, 383, 383, 14, 14, 3, 3, 1, 1, p1, 1);
	check_conv(2, 961, 961, 961, 7, 7, 3, 3, 1, 1, p1, 2);
	check_conv(2, 383, 383, 383, 28, 28, 3, 3, 2, 1, asym, 1);
	check_conv(1, 961, 961, 961, 14, 14, 3, 3, 2, 1, p1, 0);
	check_conv(1, 384, 384, 384, 14, 14, 3, 3, 2, 1, asym, 2);
	for (int64_t C = 1; C <= 20; C++) {
		const int64_t *hw = sizes[C % 10];
		check_conv(C % 2 + 1, C, C, C, hw[0], hw[1], 3, 3, 1 + C % 2, 1, pads[C % 4], (int)(C % 3));
		check_conv(2 - C % 2, C, C, C, hw[1] + 1, hw[0], 3, 3, 2 - C % 2, 1, pads[(C + 1) % 4], (int)((C + 1) % 3));
	}
	check_conv(2, 11, 11, 11, 10, 9, 3, 3, 1, 1, wide, 2);
	check_conv(1, 9, 9, 9, 19, 23, 3, 3, 3, 1, p1, 1); /* stride 3: only this kernel and the generic one */
	check_conv(2, 5, 5, 5, 8, 7, 3, 3, 3, 1, odd, 0);
	/* Padded 128x128 (the interleaved kernel's limit) and 129x129 (the plane kernels). */
	check_conv(1, 9, 9, 9, 126, 126, 3, 3, 1, 1, p1, 1);
	check_conv(1, 9, 9, 9, 127, 127, 3, 3, 1, 1, p1, 1);
}

/* Shapes past the blocking limits: several column blocks (NC 192), k blocks (KC 256), the direct/packed
 * switch at 48 rows, and wide planes. */
Test(infer_kernels, large_shapes_match_reference)
{
	static const int64_t none[4] = { 0, 0, 0, 0 }, p1[4] = { 1, 1, 1, 1 }, asym[4] = { 0, 0, 1, 1 };

	check_conv(1, 300, 48, 1, 20, 21, 1, 1, 1, 1, none, 1);
	check_conv(1, 17, 49, 1, 23, 19, 1, 1, 1, 1, none, 0);
	check_conv(2, 260, 50, 1, 9, 45, 1, 1, 1, 1, none, 2);
	check_conv(1, 3, 32, 1, 65, 67, 3, 3, 2, 1, asym, 1);
	check_conv(1, 6, 6, 6, 57, 61, 3, 3, 1, 1, p1, 1);
	check_conv(1, 6, 6, 6, 112, 112, 3, 3, 2, 1, asym, 1);
	check_conv(1, 4, 4, 4, 70, 33, 3, 3, 2, 1, p1, 0);
}

Test(infer_kernels, random_shapes_match_reference)
{
	for (int t = 0; t < 60; t++) {
		int64_t G = irand(0, 3) == 0 ? 0 : 1, C, M, pads[4];
		int64_t k = irand(0, 2) * 2 + 1, s = irand(1, 2), d = irand(0, 3) == 0 ? 2 : 1;
		C = irand(1, 20);
		if (G == 0) { /* depthwise */
			G = C;
			M = C;
			k = 3;
		} else {
			G = irand(0, 2) == 0 && C % 2 == 0 ? 2 : 1;
			M = G * irand(1, 12);
		}
		for (int i = 0; i < 4; i++)
			pads[i] = irand(0, 2);
		check_conv(irand(1, 2), C, M, G, irand(1, 23), irand(1, 23), k, k, s, d, pads, t % 3);
	}
}

/* The fused block (E = 0: no expand) against the three reference convolutions (and the residual Add when the
 * shapes allow it), at every level, by rows and by channel chunks, with 1 and 2 threads. */
static void
check_irb(int64_t N, int64_t C, int64_t E, int64_t M, int64_t H, int64_t W, int64_t s, const int64_t pads[4],
    int act)
{
	static const struct infer_act clip = { .kind = ACT_CLAMP, .lo = 0.0f, .hi = 6.0f };
	static const struct infer_act hswish = { .kind = ACT_HARDSWISH };
	struct irb_params p = { .N = N, .C = C, .E = E > 0 ? E : C, .M = M };
	enum infer_cpu_level lv[4];
	int nl = levels(lv);
	size_t ysz;
	float *x, *we = NULL, *be = NULL, *wd, *bd, *wp, *bp, *want, *got, *wep = NULL, *wpp = NULL;

	p.g = geom(H, W, 3, 3, s, 1, pads);
	if (p.g.out[1] < 1 || p.g.out[2] < 1)
		return;
	ysz = (size_t)(N * M * p.g.out[1] * p.g.out[2]);
	x = rand_buf((size_t)(N * C * H * W));
	if (E > 0) {
		we = rand_buf((size_t)(E * C));
		be = rand_buf((size_t)E);
	}
	wd = rand_buf((size_t)(p.E * 9));
	bd = rand_buf((size_t)p.E);
	wp = rand_buf((size_t)(M * p.E));
	bp = rand_buf((size_t)M);
	want = malloc(ysz * sizeof(float));
	got = malloc(ysz * sizeof(float));
	cr_assert(want != NULL && got != NULL);
	p.x = x;
	p.we = we, p.be = be, p.wd = wd, p.bd = bd, p.wp = wp, p.bp = bp;
	/* A block whose output has its input's shape gets the residual Add (the input itself). */
	if (M == C && p.g.out[1] == H && p.g.out[2] == W)
		p.res = x;
	p.acte = p.actd = act == 2 ? hswish : clip;
	p.actp = act == 1 ? clip : (struct infer_act){ .kind = ACT_NONE };
	p.y = want;
	p.threads = 1;
	cr_assert_eq(infer_irb_ref(&p), 0);
	/* Packed weights for the small-map 1x1 kernel: chunk mode uses them at the AVX-512 level. */
	if (has_pw_kernel()) {
		wpp = aligned_alloc(64, (infer_pw_packed_floats(M, p.E) * sizeof(float) + 63) / 64 * 64);
		cr_assert_not_null(wpp);
		infer_pw_pack(M, p.E, wp, wpp);
		if (we != NULL) {
			wep = aligned_alloc(64, (infer_pw_packed_floats(p.E, C) * sizeof(float) + 63) / 64 * 64);
			cr_assert_not_null(wep);
			infer_pw_pack(p.E, C, we, wep);
		}
	}
	for (int l = 0; l < nl; l++)
		for (int t = 1; t <= 6; t++) {
			float *work;
			int64_t nw;
			/* Threads 1-2 by rows, 3-4 (as 1-2) by channel chunks, 5-6 by chunks with packed weights. */
			if (t > 4 && wpp == NULL)
				break;
			p.threads = (t - 1) % 2 + 1;
			p.mode = t > 2 ? IRB_CHUNKS : IRB_ROWS;
			p.wep = t > 4 ? wep : NULL;
			p.wpp = t > 4 ? wpp : NULL;
			nw = infer_irb_work(&p);
			cr_assert_gt(nw, 0);
			work = aligned_alloc(64, (size_t)nw * sizeof(float));
			cr_assert_not_null(work);
			/* Garbage in the workspace and the output: nothing may depend on either. */
			for (int64_t i = 0; i < nw; i++)
				work[i] = 1e30f;
			for (size_t i = 0; i < ysz; i++)
				got[i] = 1e30f;
			p.y = got;
			cr_assert_eq(infer_irb_fast(&p, work, lv[l]), 0);
			for (size_t i = 0; i < ysz; i++)
				cr_assert(fabsf(got[i] - want[i]) <= 1e-4f * (1.0f + fabsf(want[i])),
				    "%s %s threads %d N%lld C%lld E%lld M%lld %lldx%lld s%lld pads %lld,%lld,%lld,%lld: y[%zu] = %g, "
				    "want %g", infer_cpu_level_name(lv[l]), p.mode == IRB_CHUNKS ? (p.wpp != NULL ? "packed chunks" : "chunks") : "rows", p.threads, (long long)N, (long long)C, (long long)E, (long long)M,
				    (long long)H, (long long)W, (long long)s, (long long)pads[0], (long long)pads[1],
				    (long long)pads[2], (long long)pads[3], i, got[i], want[i]);
			free(work);
		}
	cr_assert_eq(infer_irb_fast(&p, NULL, CPU_REFERENCE), 1, "the reference level has no fused path");
	free(wep);
	free(wpp);
	free(x);
	free(we);
	free(be);
	free(wd);
	free(bd);
	free(wp);
	free(bp);
	free(want);
	free(got);
}

Test(infer_kernels, fused_block_matches_reference)
{
	static const int64_t p1[4] = { 1, 1, 1, 1 }, asym[4] = { 0, 0, 1, 1 }, none[4] = { 0, 0, 0, 0 };

	/* MobileNetV2's shapes at reduced width: 112 -> 56 stride 2 with asymmetric pads, 56 stride 1. */
	check_irb(1, 16, 96, 24, 112, 112, 2, asym, 0);
	check_irb(1, 24, 144, 24, 56, 56, 1, p1, 1);
	/* No expand (the first block), batch 2, many bands of a tall narrow map, odd sizes, no padding; 14x14 and
	 * 7x7 with more channels than one chunk holds (chunk mode at 7x7 stride 2: 1000 channels, 4 chunks). */
	check_irb(1, 16, 200, 24, 14, 14, 1, p1, 1);
	check_irb(2, 24, 200, 24, 14, 14, 1, p1, 2);
	check_irb(2, 24, 1000, 40, 14, 14, 2, asym, 0);
	check_irb(2, 32, 0, 16, 113, 37, 1, p1, 2);
	check_irb(1, 16, 96, 16, 80, 80, 1, p1, 0);
	check_irb(3, 5, 7, 3, 9, 11, 2, none, 1);
	check_irb(1, 3, 1, 2, 1, 1, 1, p1, 0);
}

Test(infer_kernels, fused_block_random_shapes_match_reference)
{
	for (int t = 0; t < 30; t++) {
		int64_t pads[4];
		for (int i = 0; i < 4; i++)
			pads[i] = irand(0, 1);
		check_irb(irand(1, 3), irand(1, 20), irand(0, 3) == 0 ? 0 : irand(1, 40), irand(1, 20), irand(1, 40),
		    irand(1, 40), irand(1, 2), pads, t % 3);
	}
}

/* Depthwise K x K (5x5, 7x7; 3x3 and 2x2 through the same kernel) against the reference, batch and threads
 * included; act 0 none, 1 Clip(0, 0.5), 2 HardSwish. */
static void
check_dwk(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t s, const int64_t pads[4], int act,
    int threads)
{
	struct conv_params p = { .N = N, .C = C, .M = C, .G = C, .threads = threads };
	size_t ysz;
	float *x, *w, *b, *want, *got;
	int rc;

	p.g = geom(H, W, K, K, s, 1, pads);
	if (p.g.out[1] < 1 || p.g.out[2] < 1)
		return;
	ysz = (size_t)(N * C * p.g.out[1] * p.g.out[2]);
	x = rand_buf((size_t)(N * C * H * W));
	w = rand_buf((size_t)(C * K * K));
	b = rand_buf((size_t)C);
	want = malloc(ysz * sizeof(float));
	got = malloc((ysz + 1) * sizeof(float));
	cr_assert(want != NULL && got != NULL);
	p.x = x, p.w = w, p.bias = b;
	p.act = act == 1 ? (struct infer_act){ .kind = ACT_CLAMP, .lo = 0.0f, .hi = 0.5f } :
	    act == 2 ? (struct infer_act){ .kind = ACT_HARDSWISH } : (struct infer_act){ .kind = ACT_NONE };
	p.y = want;
	infer_conv_ref(&p);
	for (size_t i = 0; i <= ysz; i++)
		got[i] = 1e30f;
	p.y = got;
	rc = infer_dw_kxk_fast(&p, CPU_AVX2);
	if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) {
		cr_assert_eq(rc, 1, "no AVX2: the kernel must decline");
		goto out;
	}
	cr_assert_eq(rc, 0, "N%lld C%lld %lldx%lld k%lld s%lld: declined", (long long)N, (long long)C, (long long)H,
	    (long long)W, (long long)K, (long long)s);
	for (size_t i = 0; i < ysz; i++)
		cr_assert(fabsf(got[i] - want[i]) <= 1e-4f * (1.0f + fabsf(want[i])),
		    "N%lld C%lld %lldx%lld k%lld s%lld pads %lld,%lld,%lld,%lld act %d threads %d: y[%zu] = %g, want %g",
		    (long long)N, (long long)C, (long long)H, (long long)W, (long long)K, (long long)s, (long long)pads[0],
		    (long long)pads[1], (long long)pads[2], (long long)pads[3], act, threads, i, got[i], want[i]);
	cr_assert_eq(got[ysz], 1e30f, "wrote past the output");
out:
	free(x);
	free(w);
	free(b);
	free(want);
	free(got);
}

Test(infer_kernels, depthwise_kxk_matches_reference)
{
	static const int64_t p2[4] = { 2, 2, 2, 2 }, same5s2[4] = { 1, 1, 2, 2 }, p3[4] = { 3, 3, 3, 3 };
	static const int64_t none[4] = { 0, 0, 0, 0 }, odd[4] = { 0, 3, 4, 1 };

	/* MobileNetV3's 5x5 layers (SAME padding: symmetric at stride 1, bottom/right heavy at stride 2). */
	check_dwk(1, 72, 56, 56, 5, 2, same5s2, 1, 2);
	check_dwk(1, 120, 28, 28, 5, 1, p2, 2, 1);
	check_dwk(2, 13, 14, 14, 5, 1, p2, 0, 2);
	check_dwk(1, 9, 17, 23, 7, 1, p3, 1, 1);
	check_dwk(1, 5, 19, 16, 7, 2, odd, 2, 2);
	check_dwk(1, 3, 5, 5, 5, 1, none, 0, 1);
	check_dwk(1, 3, 1, 1, 5, 1, p2, 1, 1);
	check_dwk(1, 4, 9, 11, 3, 2, odd, 0, 1);
	for (int t = 0; t < 40; t++) {
		int64_t pads[4], K = irand(2, 7);
		for (int i = 0; i < 4; i++)
			pads[i] = irand(0, (int)K - 1);
		check_dwk(irand(1, 2), irand(1, 11), irand(1, 30), irand(1, 30), K, irand(1, 2), pads, t % 3, irand(1, 2));
	}
}

/* The elementwise kernels (at the CPU's level) against the plain formula, every length around the vector width,
 * both operand strides, and Clip keeping NaN. */
Test(infer_kernels, eltwise_matches_formula)
{
	static const enum infer_op ops[4] = { OP_ADD, OP_SUB, OP_MUL, OP_DIV };
	float a[41], b[41], y[41], want;

	for (int i = 0; i < 41; i++) {
		a[i] = frand();
		b[i] = frand() + 1.5f;
	}
	for (int k = 0; k < 4; k++)
		for (int n = 0; n <= 41; n++)
			for (int sa = 0; sa <= 1; sa++)
				for (int sb = 0; sb <= 1; sb++) {
					infer_binary_f32(ops[k], a, sa, b, sb, y, n);
					for (int i = 0; i < n; i++) {
						float x = a[i * sa], z = b[i * sb];
						want = k == 0 ? x + z : k == 1 ? x - z : k == 2 ? x * z : x / z;
						cr_assert_float_eq(y[i], want, 1e-6f, "op %d n %d strides %d %d: y[%d] = %g, want %g", k, n,
						    sa, sb, i, y[i], want);
					}
				}
	a[3] = NAN;
	a[20] = NAN;
	infer_clip_f32(a, y, 41, -0.25f, 0.5f);
	for (int i = 0; i < 41; i++) {
		if (isnan(a[i])) {
			cr_assert(isnan(y[i]), "Clip(NaN) must stay NaN at %d", i);
			continue;
		}
		want = a[i] < -0.25f ? -0.25f : a[i] > 0.5f ? 0.5f : a[i];
		cr_assert_eq(y[i], want, "clip y[%d] = %g, want %g", i, y[i], want);
	}
}

/* The pooling sum against a plain double loop, lengths around the 16-float step. */
Test(infer_kernels, sum_matches_double_loop)
{
	float x[100];

	for (int i = 0; i < 100; i++)
		x[i] = frand() * 100.0f;
	for (int n = 0; n <= 100; n++) {
		double want = 0.0, got = infer_sum_f32(x, n);
		for (int i = 0; i < n; i++)
			want += x[i];
		cr_assert(fabs(got - want) <= 1e-9 * (1.0 + fabs(want)), "n %d: %.12g, want %.12g", n, got, want);
	}
}
