/* test-vindex.c: the catalogue vector index — every SIMD path against the plain C reference, ties, removal. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TEST_X86 1
#endif

#include "match/vindex.h"

static uint64_t rng_state;

static uint64_t
rng(void)
{
	/* xorshift64*: deterministic across runs. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* Uniform in [-1, 1). */
static float
rnd(void)
{
	return (float)((double)(rng() >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static float *
random_vectors(size_t n, uint32_t dim, uint64_t seed)
{
	float *v = malloc(n * dim * sizeof *v);

	cr_assert_not_null(v);
	rng_state = seed;
	for (size_t i = 0; i < n * dim; i++)
		v[i] = rnd();
	return v;
}

static double
cosine(const float *a, const float *b, uint32_t dim)
{
	double ab = 0, aa = 0, bb = 0;

	for (uint32_t d = 0; d < dim; d++) {
		ab += (double)a[d] * b[d];
		aa += (double)a[d] * a[d];
		bb += (double)b[d] * b[d];
	}
	return ab / sqrt(aa * bb);
}

static bool
have_avx2(void)
{
	return vindex_kernel_auto() == VINDEX_KERNEL_AVX2;
}

/* ---- binary16 ------------------------------------------------------------------------------------- */

Test(vindex, f16_roundtrip_every_half)
{
	/* Every finite half converts to a float and back to itself. */
	for (uint32_t h = 0; h < 0x10000; h++) {
		if ((h & 0x7c00) == 0x7c00)
			continue;
		float f = vindex_f16_to_f32((uint16_t)h);
		cr_assert_eq(vindex_f32_to_f16(f), h, "half 0x%04x -> %g -> 0x%04x", h, (double)f,
		    vindex_f32_to_f16(f));
	}
	cr_assert_eq(vindex_f32_to_f16(1.0f), 0x3c00);
	cr_assert_eq(vindex_f32_to_f16(-2.0f), 0xc000);
	cr_assert_eq(vindex_f32_to_f16(65504.0f), 0x7bff);
	cr_assert_eq(vindex_f32_to_f16(65520.0f), 0x7c00);
	cr_assert_eq(vindex_f32_to_f16(0x1p-24f), 0x0001);
	cr_assert_eq(vindex_f32_to_f16(0x1p-25f), 0x0000);         /* tie to even zero */
	cr_assert_eq(vindex_f32_to_f16(0x1.8p-24f), 0x0002);       /* 1.5 ulp: tie to even 2 */
	cr_assert_eq(vindex_f32_to_f16(1.0f + 0x1p-11f), 0x3c00); /* tie to even */
	cr_assert_eq(vindex_f32_to_f16(1.0f + 0x1.8p-10f), 0x3c02);
	cr_assert_float_eq(vindex_f16_to_f32(0x3555), 0.333251953125f, 0.0f);
}

#ifdef TEST_X86
__attribute__((target("avx2,f16c"))) static void
f16c_convert(const float *in, uint16_t *out, float *back)
{
	__m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(in), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	_mm_storeu_si128((__m128i *)out, h);
	_mm256_storeu_ps(back, _mm256_cvtph_ps(h));
}
#endif

Test(vindex, f16_software_matches_f16c)
{
#ifdef TEST_X86
	if (!have_avx2())
		cr_skip_test("no AVX2/F16C on this CPU");
	rng_state = 7;
	for (int i = 0; i < 200000; i++) {
		float in[8], back[8];
		uint16_t h[8];
		for (int j = 0; j < 8; j++) {
			/* Magnitudes from 2^-30 (below the subnormals) to 2^17 (above the largest half). */
			int e = (int)(rng() % 48) - 30;
			in[j] = ldexpf(rnd(), e);
		}
		f16c_convert(in, h, back);
		for (int j = 0; j < 8; j++) {
			cr_assert_eq(vindex_f32_to_f16(in[j]), h[j], "%a: software 0x%04x, F16C 0x%04x", (double)in[j],
			    vindex_f32_to_f16(in[j]), h[j]);
			if ((h[j] & 0x7c00) != 0x7c00)
				cr_assert_eq(vindex_f16_to_f32(h[j]), back[j]);
		}
	}
#else
	cr_skip_test("not x86");
#endif
}

/* ---- kernels against the reference ---------------------------------------------------------------- */

/* Builds an index of n random vectors (id = 1000 + i, every 7th one sharing the id of its predecessor). */
static vindex *
build(const float *v, size_t n, uint32_t dim, vindex_storage st)
{
	vindex *ix = vindex_new(dim, st);

	cr_assert_not_null(ix);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(vindex_add(ix, 1000 + (i % 7 == 6 ? i - 1 : i), v + i * dim), 0);
	cr_assert_eq(vindex_count(ix), n);
	return ix;
}

static void
compare_kernels(uint32_t dim, vindex_storage st, size_t n, int threads)
{
	float *v = random_vectors(n, dim, 0x1234 + dim);
	float *q = random_vectors(5, dim, 0x9876 + dim);
	vindex *ix = build(v, n, dim, st);
	size_t kmax = n + 9; /* larger than the index */
	vindex_hit *ref = calloc(kmax, sizeof *ref), *simd = calloc(kmax, sizeof *simd);
	/* fp16: only the summation order differs; int8: the integer dot is exact in both. */
	float tol = st == VINDEX_F16 ? 1e-5f : 0.0f;
	double qerr = st == VINDEX_F16 ? 2e-3 : 3e-2;
	size_t ks[] = { 1, 10, kmax };

	cr_assert(ref != NULL && simd != NULL);
	for (int qi = 0; qi < 5; qi++) {
		const float *query = q + (size_t)qi * dim;
		for (size_t t = 0; t < 3; t++) {
			size_t k = ks[t];
			size_t nr = vindex_search_kernel(ix, query, k, 1, VINDEX_KERNEL_REFERENCE, ref);
			size_t ns = vindex_search_kernel(ix, query, k, threads, VINDEX_KERNEL_AVX2, simd);
			cr_assert_eq(nr, k < n ? k : n);
			cr_assert_eq(ns, nr);
			for (size_t i = 0; i < nr; i++) {
				cr_assert_float_eq(simd[i].score, ref[i].score, tol, "dim %u st %d k %zu rank %zu: %g vs %g",
				    dim, (int)st, k, i, (double)simd[i].score, (double)ref[i].score);
				/* Ids agree unless two scores are within the tolerance of each other. */
				if (simd[i].id != ref[i].id)
					cr_assert(st == VINDEX_F16 &&
					        ((i + 1 < nr && fabsf(ref[i].score - ref[i + 1].score) <= 2 * tol) ||
					            (i > 0 && fabsf(ref[i].score - ref[i - 1].score) <= 2 * tol)),
					    "dim %u st %d rank %zu: id %llu vs %llu", dim, (int)st, i,
					    (unsigned long long)simd[i].id, (unsigned long long)ref[i].id);
				if (i > 0)
					cr_assert(ref[i - 1].score >= ref[i].score, "descending");
			}
		}
		/* The scores are the cosines of the original vectors, up to the storage error. */
		size_t nr = vindex_search_kernel(ix, query, kmax, 1, VINDEX_KERNEL_REFERENCE, ref);
		for (size_t i = 0; i < nr; i++) {
			size_t slot = (size_t)(ref[i].id - 1000);
			/* A shared id: the vector may be this slot's or the next one's. */
			double c0 = cosine(v + slot * dim, query, dim);
			double c1 = slot + 1 < n ? cosine(v + (slot + 1) * dim, query, dim) : 9.0;
			cr_assert(fabs(c0 - ref[i].score) <= qerr || fabs(c1 - ref[i].score) <= qerr,
			    "dim %u st %d: score %g, cosine %g / %g", dim, (int)st, (double)ref[i].score, c0, c1);
		}
	}
	free(ref);
	free(simd);
	vindex_free(ix);
	free(v);
	free(q);
}

static const uint32_t dims[] = { 1, 7, 88, 96, 97, 512, 1280 };

Test(vindex, avx2_matches_reference_f16)
{
	if (!have_avx2())
		cr_skip_test("no AVX2 on this CPU: nothing to compare");
	for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
		compare_kernels(dims[i], VINDEX_F16, 301, 1);
}

Test(vindex, avx2_matches_reference_i8)
{
	if (!have_avx2())
		cr_skip_test("no AVX2 on this CPU: nothing to compare");
	for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
		compare_kernels(dims[i], VINDEX_I8, 301, 1);
}

/* Above the parallel threshold (32768 slots): per-thread heaps merged give the single-thread answer. */
static void
compare_threads(vindex_storage st, vindex_kernel kernel)
{
	const uint32_t dim = 97;
	const size_t n = 40000, k = 50;
	float *v = random_vectors(n, dim, 42);
	float *q = random_vectors(3, dim, 43);
	vindex *ix = vindex_new(dim, st);
	vindex_hit one[50], two[50];

	cr_assert_not_null(ix);
	/* Exact copies of the first query spread over the index, so ties straddle the thread boundary. */
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(vindex_add(ix, i, i % 9973 == 5 ? q : v + i * dim), 0);
	for (int qi = 0; qi < 3; qi++) {
		size_t n1 = vindex_search_kernel(ix, q + (size_t)qi * dim, k, 1, kernel, one);
		size_t n2 = vindex_search_kernel(ix, q + (size_t)qi * dim, k, 2, kernel, two);
		cr_assert_eq(n1, k);
		cr_assert_eq(n2, k);
		for (size_t i = 0; i < k; i++) {
			cr_assert_eq(one[i].id, two[i].id, "rank %zu: %llu vs %llu", i, (unsigned long long)one[i].id,
			    (unsigned long long)two[i].id);
			cr_assert_eq(one[i].score, two[i].score);
		}
	}
	/* The copies come first, in insertion order, with equal scores. */
	size_t nh = vindex_search_kernel(ix, q, 6, 2, kernel, one);
	cr_assert_eq(nh, 6);
	cr_assert_eq(one[0].id, 5);
	cr_assert_eq(one[1].id, 5 + 9973);
	cr_assert_eq(one[2].id, 5 + 2 * 9973);
	cr_assert_eq(one[3].id, 5 + 3 * 9973);
	cr_assert_eq(one[0].score, one[3].score);
	cr_assert_gt(one[0].score, 0.97f);
	cr_assert_eq(one[4].id, 5 + 4 * 9973);
	cr_assert_eq(one[4].score, one[3].score);
	cr_assert_lt(one[5].score, one[4].score);
	vindex_free(ix);
	free(v);
	free(q);
}

Test(vindex, threads_f16)
{
	compare_threads(VINDEX_F16, VINDEX_KERNEL_AUTO);
	compare_threads(VINDEX_F16, VINDEX_KERNEL_REFERENCE);
}

Test(vindex, threads_i8)
{
	compare_threads(VINDEX_I8, VINDEX_KERNEL_AUTO);
	compare_threads(VINDEX_I8, VINDEX_KERNEL_REFERENCE);
}

/* ---- behaviour ------------------------------------------------------------------------------------ */

Test(vindex, ties_break_by_insertion_order)
{
	vindex_storage sts[] = { VINDEX_F16, VINDEX_I8 };

	for (int s = 0; s < 2; s++) {
		vindex *ix = vindex_new(3, sts[s]);
		float a[3] = { 1, 2, 3 }, a2[3] = { 2, 4, 6 }, b[3] = { 3, 2, 1 }, c[3] = { -1, -2, -3 };
		vindex_hit h[8];
		cr_assert_eq(vindex_add(ix, 50, b), 0);
		cr_assert_eq(vindex_add(ix, 9, a), 0);
		cr_assert_eq(vindex_add(ix, 3, a2), 0); /* the same direction: the same stored vector */
		cr_assert_eq(vindex_add(ix, 7, c), 0);
		cr_assert_eq(vindex_add(ix, 1, a), 0);
		cr_assert_eq(vindex_search(ix, a, 8, 1, h), 5);
		cr_assert_eq(h[0].id, 9);
		cr_assert_eq(h[1].id, 3);
		cr_assert_eq(h[2].id, 1);
		cr_assert_eq(h[0].score, h[2].score);
		cr_assert_float_eq(h[0].score, 1.0f, 2e-2f);
		cr_assert_eq(h[3].id, 50);
		cr_assert_float_eq(h[3].score, 10.0 / 14.0, 2e-2);
		cr_assert_eq(h[4].id, 7);
		cr_assert_float_eq(h[4].score, -1.0f, 2e-2f);
		vindex_free(ix);
	}
}

Test(vindex, remove_and_compact_keep_order)
{
	const uint32_t dim = 88;
	const size_t n = 600;
	float *v = random_vectors(n, dim, 99);
	vindex *ix = vindex_new(dim, VINDEX_I8), *fresh = vindex_new(dim, VINDEX_I8);
	vindex_hit a[600], b[600];
	size_t removed = 0;

	cr_assert(ix != NULL && fresh != NULL);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(vindex_add(ix, i % 300, v + i * dim), 0); /* each id twice */
	cr_assert_eq(vindex_remove(ix, 100000), 0);
	cr_assert_eq(vindex_remove(ix, 17), 2);
	cr_assert_eq(vindex_count(ix), n - 2);
	cr_assert_eq(vindex_search(ix, v + 17 * dim, 1, 1, a), 1);
	cr_assert_neq(a[0].id, 17);
	/* Enough removals to compact (a quarter dead). */
	for (uint64_t id = 0; id < 300; id += 2)
		removed += vindex_remove(ix, id);
	cr_assert_eq(removed, 300);
	cr_assert_eq(vindex_count(ix), n - 2 - 300);
	for (size_t i = 0; i < n; i++)
		if ((i % 300) % 2 == 1 && i % 300 != 17)
			cr_assert_eq(vindex_add(fresh, i % 300, v + i * dim), 0);
	cr_assert_eq(vindex_count(fresh), vindex_count(ix));
	for (int qi = 0; qi < 4; qi++) {
		const float *query = v + (size_t)(qi * 37) * dim;
		size_t na = vindex_search(ix, query, 600, 1, a), nb = vindex_search(fresh, query, 600, 1, b);
		cr_assert_eq(na, nb);
		for (size_t i = 0; i < na; i++) {
			cr_assert_eq(a[i].id, b[i].id);
			cr_assert_eq(a[i].score, b[i].score);
			cr_assert(a[i].id % 2 == 1 && a[i].id != 17);
		}
	}
	/* Removing everything leaves an empty, searchable index that takes new vectors. */
	for (uint64_t id = 0; id < 300; id++)
		vindex_remove(ix, id);
	cr_assert_eq(vindex_count(ix), 0);
	cr_assert_eq(vindex_search(ix, v, 5, 1, a), 0);
	cr_assert_eq(vindex_add(ix, 4242, v), 0);
	cr_assert_eq(vindex_search(ix, v, 5, 1, a), 1);
	cr_assert_eq(a[0].id, 4242);
	vindex_free(ix);
	vindex_free(fresh);
	free(v);
}

Test(vindex, bad_input_is_refused)
{
	float zero[4] = { 0 }, nan4[4] = { 1, NAN, 0, 0 }, inf4[4] = { INFINITY, 0, 0, 0 }, ok[4] = { 1, 0, 0, 0 };
	vindex_hit h[2];
	vindex *ix;

	cr_assert_null(vindex_new(0, VINDEX_F16));
	cr_assert_null(vindex_new(VINDEX_MAX_DIM + 1, VINDEX_I8));
	cr_assert_null(vindex_new(4, (vindex_storage)7));
	ix = vindex_new(4, VINDEX_F16);
	cr_assert_not_null(ix);
	cr_assert_eq(vindex_search(ix, ok, 1, 1, h), 0); /* empty */
	errno = 0;
	cr_assert_eq(vindex_add(ix, 1, zero), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(vindex_add(ix, 1, nan4), -1);
	cr_assert_eq(vindex_add(ix, 1, inf4), -1);
	cr_assert_eq(vindex_count(ix), 0);
	cr_assert_eq(vindex_add(ix, 1, ok), 0);
	cr_assert_eq(vindex_search(ix, zero, 1, 1, h), 0);
	cr_assert_eq(vindex_search(ix, nan4, 1, 1, h), 0);
	cr_assert_eq(vindex_search(ix, ok, 0, 1, h), 0);
	cr_assert_eq(vindex_search(ix, ok, 2, 1, h), 1);
	cr_assert_eq(h[0].id, 1);
	cr_assert_float_eq(h[0].score, 1.0f, 1e-3f);
	/* Huge components are normalised without overflow. */
	float big[4] = { 3e38f, 3e38f, 0, 0 };
	cr_assert_eq(vindex_add(ix, 2, big), 0);
	cr_assert_eq(vindex_search(ix, big, 1, 1, h), 1);
	cr_assert_eq(h[0].id, 2);
	cr_assert_float_eq(h[0].score, 1.0f, 1e-3f);
	cr_assert_gt(vindex_memory(ix), 0);
	vindex_free(ix);
	vindex_free(NULL);
}

Test(vindex, pw_cpu_generic_forces_reference)
{
	setenv("PW_CPU", "generic", 1);
	cr_assert_eq(vindex_kernel_auto(), VINDEX_KERNEL_REFERENCE);
	cr_assert_str_eq(vindex_kernel_name(VINDEX_KERNEL_AUTO), "reference");
	/* And the index still works on it. */
	float a[5] = { 1, 0, 0, 0, 1 }, b[5] = { 0, 1, 0, 0, 0 };
	vindex *ix = vindex_new(5, VINDEX_F16);
	vindex_hit h[2];
	cr_assert_eq(vindex_add(ix, 1, b), 0);
	cr_assert_eq(vindex_add(ix, 2, a), 0);
	cr_assert_eq(vindex_search(ix, a, 2, 1, h), 2);
	cr_assert_eq(h[0].id, 2);
	cr_assert_eq(h[1].id, 1);
	cr_assert_float_eq(h[1].score, 0.0f, 1e-6f);
	vindex_free(ix);
}

Test(vindex, reserve_avoids_regrowth)
{
	const uint32_t dim = 96;
	float *v = random_vectors(1500, dim, 5);
	vindex *ix = vindex_new(dim, VINDEX_F16);
	vindex_hit h[3];
	size_t mem;

	cr_assert_not_null(ix);
	errno = 0;
	cr_assert_eq(vindex_reserve(ix, SIZE_MAX), -1);
	cr_assert_eq(errno, ENOMEM);
	cr_assert_eq(vindex_reserve(ix, 1500), 0);
	mem = vindex_memory(ix);
	cr_assert_eq(mem, 1500 * (96 * 2 + 8 + 1));
	for (size_t i = 0; i < 1500; i++)
		cr_assert_eq(vindex_add(ix, i, v + i * dim), 0);
	cr_assert_eq(vindex_memory(ix), mem);
	cr_assert_eq(vindex_add(ix, 1500, v), 0); /* past the reservation: grows again */
	cr_assert_gt(vindex_memory(ix), mem);
	cr_assert_eq(vindex_search(ix, v + 700 * dim, 3, 1, h), 3);
	cr_assert_eq(h[0].id, 700);
	vindex_free(ix);
	free(v);
}

/* The int8 worst case for the integer accumulators: every component at the quantisation peak, on both
 * sides, at the largest dimension. The dot product must not overflow. */
Test(vindex, i8_flat_vectors_do_not_overflow)
{
	const uint32_t sizes[] = { 96, 1280, VINDEX_MAX_DIM };

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		uint32_t dim = sizes[i];
		float *ones = malloc(dim * sizeof *ones), *neg = malloc(dim * sizeof *neg);
		vindex *ix = vindex_new(dim, VINDEX_I8);
		vindex_hit h[2];
		cr_assert(ones != NULL && neg != NULL && ix != NULL);
		for (uint32_t d = 0; d < dim; d++) {
			ones[d] = 1.0f;
			neg[d] = -1.0f;
		}
		cr_assert_eq(vindex_add(ix, 1, ones), 0);
		cr_assert_eq(vindex_add(ix, 2, neg), 0);
		for (int k = 0; k < 2; k++) {
			vindex_kernel kern = k ? VINDEX_KERNEL_AVX2 : VINDEX_KERNEL_REFERENCE;
			cr_assert_eq(vindex_search_kernel(ix, ones, 2, 1, kern, h), 2);
			cr_assert_eq(h[0].id, 1, "dim %u kernel %d", dim, k);
			cr_assert_float_eq(h[0].score, 1.0f, 1e-3f, "dim %u kernel %d: %g", dim, k, (double)h[0].score);
			cr_assert_float_eq(h[1].score, -1.0f, 1e-3f, "dim %u kernel %d: %g", dim, k, (double)h[1].score);
		}
		vindex_free(ix);
		free(ones);
		free(neg);
	}
}
