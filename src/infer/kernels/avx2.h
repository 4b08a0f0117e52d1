/* avx2.h: the small AVX2 helpers the CPU kernels share (even/odd halves of 16 floats, partial stores, lane masks), defined inline for each kernel file. */
#ifndef PW_INFER_KERNELS_AVX2_H
#define PW_INFER_KERNELS_AVX2_H

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#include <stdint.h>

/* Elements 0, 2, .., 14 of the 16 floats lo:hi. */
__attribute__((target("avx2,fma"))) static inline __m256
pw_even(__m256 lo, __m256 hi)
{
	__m256 ev = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));

	return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(ev), 0xD8));
}

/* Elements 1, 3, .., 15 of the 16 floats lo:hi. */
__attribute__((target("avx2,fma"))) static inline __m256
pw_odd(__m256 lo, __m256 hi)
{
	__m256 od = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));

	return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(od), 0xD8));
}

/* b[0], b[2], .., b[14] and b[1], b[3], .., b[15] (reads b[0..15]). */
__attribute__((target("avx2,fma"))) static inline __m256
pw_load_even(const float *b)
{
	return pw_even(_mm256_loadu_ps(b), _mm256_loadu_ps(b + 8));
}

__attribute__((target("avx2,fma"))) static inline __m256
pw_load_odd(const float *b)
{
	return pw_odd(_mm256_loadu_ps(b), _mm256_loadu_ps(b + 8));
}

/* Lane mask of the first n (0..8) lanes. */
__attribute__((target("avx2,fma"))) static inline __m256i
pw_head_mask(int64_t n)
{
	return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Stores the first n (1..7) lanes of v: 4-, 2- and 1-float stores (a masked store is microcoded and slow on
 * AMD cores, and a memcpy call per row cost more than the row's arithmetic on 14x14 and 7x7 maps). */
__attribute__((target("avx2,fma"))) static inline void
pw_store_part(float *y, __m256 v, int64_t n)
{
	__m128 q = _mm256_castps256_ps128(v);

	if (n >= 4) {
		_mm_storeu_ps(y, q);
		q = _mm256_extractf128_ps(v, 1);
		y += 4;
		n -= 4;
	}
	if (n >= 2) {
		_mm_storel_pi((__m64 *)(void *)y, q);
		q = _mm_movehl_ps(q, q);
		y += 2;
		n -= 2;
	}
	if (n >= 1)
		_mm_store_ss(y, q);
}
#endif

#endif
