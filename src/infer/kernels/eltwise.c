/* eltwise.c: float elementwise kernels (Add/Sub/Mul/Div with an operand that is contiguous or one repeated value, Clip, the sums of pooling), AVX2 or plain C. */
#include <math.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PW_X86 1
#endif

#include "internal.h"

/* The same element formula for the plain C loop and the vector loop's tail. */
static inline float
apply(enum infer_op op, float x, float y)
{
	switch (op) {
	case OP_ADD: return x + y;
	case OP_SUB: return x - y;
	case OP_MUL: return x * y;
	default: return x / y;
	}
}

static void
binary_generic(enum infer_op op, const float *a, int64_t sa, const float *b, int64_t sb, float *y, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		y[i] = apply(op, a[i * sa], b[i * sb]);
}

#ifdef PW_X86
/* Operand k of a step: 8 consecutive floats, or its one value broadcast. */
#define PW_OPERAND(p, s, i) ((s) ? _mm256_loadu_ps((p) + (i)) : _mm256_broadcast_ss(p))

__attribute__((target("avx2,fma"))) static void
binary_avx2(enum infer_op op, const float *a, int64_t sa, const float *b, int64_t sb, float *y, int64_t n)
{
	int64_t i = 0;

	switch (op) {
	case OP_ADD:
		for (; i + 8 <= n; i += 8)
			_mm256_storeu_ps(y + i, _mm256_add_ps(PW_OPERAND(a, sa, i), PW_OPERAND(b, sb, i)));
		break;
	case OP_SUB:
		for (; i + 8 <= n; i += 8)
			_mm256_storeu_ps(y + i, _mm256_sub_ps(PW_OPERAND(a, sa, i), PW_OPERAND(b, sb, i)));
		break;
	case OP_MUL:
		for (; i + 8 <= n; i += 8)
			_mm256_storeu_ps(y + i, _mm256_mul_ps(PW_OPERAND(a, sa, i), PW_OPERAND(b, sb, i)));
		break;
	default:
		for (; i + 8 <= n; i += 8)
			_mm256_storeu_ps(y + i, _mm256_div_ps(PW_OPERAND(a, sa, i), PW_OPERAND(b, sb, i)));
		break;
	}
	for (; i < n; i++)
		y[i] = apply(op, a[i * sa], b[i * sb]);
}
#undef PW_OPERAND

/* x < lo ? lo : x > hi ? hi : x, NaN kept (comparisons with NaN are false, so the blends leave it). */
__attribute__((target("avx2,fma"))) static void
clip_avx2(const float *x, float *y, int64_t n, float lo, float hi)
{
	__m256 vl = _mm256_set1_ps(lo), vh = _mm256_set1_ps(hi);
	int64_t i = 0;

	for (; i + 8 <= n; i += 8) {
		__m256 v = _mm256_loadu_ps(x + i);
		v = _mm256_blendv_ps(v, vl, _mm256_cmp_ps(v, vl, _CMP_LT_OQ));
		v = _mm256_blendv_ps(v, vh, _mm256_cmp_ps(v, vh, _CMP_GT_OQ));
		_mm256_storeu_ps(y + i, v);
	}
	for (; i < n; i++)
		y[i] = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
}

/* Sum of n floats in double precision: four 4-lane double accumulators (a single running sum is bound by the
 * add latency: a 28x28 plane took 4 cycles per element). */
__attribute__((target("avx2,fma"))) static double
sum_avx2(const float *x, int64_t n)
{
	__m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
	__m128d h;
	double t[4], r;
	int64_t i = 0;

	for (; i + 16 <= n; i += 16) {
		s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm_loadu_ps(x + i)));
		s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4)));
		s2 = _mm256_add_pd(s2, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 8)));
		s3 = _mm256_add_pd(s3, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 12)));
	}
	s0 = _mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3));
	h = _mm_add_pd(_mm256_castpd256_pd128(s0), _mm256_extractf128_pd(s0, 1));
	_mm_storeu_pd(t, h);
	r = t[0] + t[1];
	for (; i < n; i++)
		r += x[i];
	return r;
}
#endif

double
infer_sum_f32(const float *x, int64_t n)
{
	double r = 0.0;

#ifdef PW_X86
	if (infer_cpu_level() >= CPU_AVX2)
		return sum_avx2(x, n);
#endif
	for (int64_t i = 0; i < n; i++)
		r += x[i];
	return r;
}

void
infer_binary_f32(enum infer_op op, const float *a, int64_t sa, const float *b, int64_t sb, float *y, int64_t n)
{
#ifdef PW_X86
	if (infer_cpu_level() >= CPU_AVX2) {
		binary_avx2(op, a, sa, b, sb, y, n);
		return;
	}
#endif
	binary_generic(op, a, sa, b, sb, y, n);
}

void
infer_clip_f32(const float *x, float *y, int64_t n, float lo, float hi)
{
#ifdef PW_X86
	if (infer_cpu_level() >= CPU_AVX2) {
		clip_avx2(x, y, n, lo, hi);
		return;
	}
#endif
	for (int64_t i = 0; i < n; i++)
		y[i] = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
}
