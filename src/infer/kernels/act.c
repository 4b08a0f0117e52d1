/* act.c: fused activations (clamp for Relu/Clip, HardSwish) applied in place, AVX2 or plain C. */
#include <math.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define PW_X86 1
#endif

#include "internal.h"

static void
act_generic(const struct infer_act *a, float *x, int64_t n)
{
	if (a->kind == ACT_CLAMP) {
		for (int64_t i = 0; i < n; i++)
			x[i] = x[i] < a->lo ? a->lo : x[i] > a->hi ? a->hi : x[i];
	} else if (a->kind == ACT_HARDSWISH) {
		for (int64_t i = 0; i < n; i++)
			x[i] = x[i] * fmaxf(0.0f, fminf(1.0f, x[i] / 6.0f + 0.5f));
	} else if (a->kind == ACT_HSWISH_SCALED) {
		for (int64_t i = 0; i < n; i++) {
			float m = x[i] * a->scale, r = x[i] + a->add;
			/* Clip's own formula (NaN stays NaN). */
			r = r < a->lo ? a->lo : r > a->hi ? a->hi : r;
			x[i] = m * r;
		}
	}
}

#ifdef PW_X86
__attribute__((target("avx2,fma"))) static void
act_avx2(const struct infer_act *a, float *x, int64_t n)
{
	int64_t i = 0;

	if (a->kind == ACT_CLAMP) {
		__m256 lo = _mm256_set1_ps(a->lo), hi = _mm256_set1_ps(a->hi);
		for (; i + 8 <= n; i += 8)
			_mm256_storeu_ps(x + i, _mm256_min_ps(_mm256_max_ps(_mm256_loadu_ps(x + i), lo), hi));
	} else if (a->kind == ACT_HARDSWISH) {
		__m256 sixth = _mm256_set1_ps(1.0f / 6.0f), half = _mm256_set1_ps(0.5f);
		__m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
		for (; i + 8 <= n; i += 8) {
			__m256 v = _mm256_loadu_ps(x + i);
			__m256 g = _mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(v, sixth, half), zero), one);
			_mm256_storeu_ps(x + i, _mm256_mul_ps(v, g));
		}
	} else if (a->kind == ACT_HSWISH_SCALED) {
		__m256 sc = _mm256_set1_ps(a->scale), ad = _mm256_set1_ps(a->add);
		__m256 lo = _mm256_set1_ps(a->lo), hi = _mm256_set1_ps(a->hi);
		for (; i + 8 <= n; i += 8) {
			__m256 v = _mm256_loadu_ps(x + i), m = _mm256_mul_ps(v, sc), r = _mm256_add_ps(v, ad);
			r = _mm256_blendv_ps(r, lo, _mm256_cmp_ps(r, lo, _CMP_LT_OQ));
			r = _mm256_blendv_ps(r, hi, _mm256_cmp_ps(r, hi, _CMP_GT_OQ));
			_mm256_storeu_ps(x + i, _mm256_mul_ps(m, r));
		}
	}
	act_generic(a, x + i, n - i);
}
#endif

void
infer_act_apply(const struct infer_act *a, float *x, int64_t n)
{
	if (a == NULL || a->kind == ACT_NONE || n <= 0)
		return;
#ifdef PW_X86
	if (infer_cpu_level() >= CPU_AVX2) {
		act_avx2(a, x, n);
		return;
	}
#endif
	act_generic(a, x, n);
}
