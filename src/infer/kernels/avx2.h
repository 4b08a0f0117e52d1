/* avx2.h: the small AVX2 helpers the CPU kernels share (even/odd halves of 16 floats, partial stores, lane masks, 8x8 transposes), defined inline for each kernel file. */
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

/* Transposes the 8x8 block r[0..7] in place: r[i] lane j becomes r[j] lane i. */
__attribute__((target("avx2,fma"))) static inline void
pw_transpose8(__m256 *r)
{
	__m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
	__m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
	__m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
	__m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
	__m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
	__m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
	__m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
	__m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);

	r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
	r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
	r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
	r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
	r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
	r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
	r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
	r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}
#endif

#endif
