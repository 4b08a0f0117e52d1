/* pointwise-bench.c: times MobileNetV2's small-map 1x1 convolutions on the GEMM and on the packed small-map kernel, with the weights warm in cache and coming from memory. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/*
 * Usage: bench/pointwise-bench [ROUNDS]   (1 thread; see bench/RESULTS.md "Fourth session")
 * "from memory" sweeps 32 MiB (the L3 of the development machine) before each call, which is what a model's
 * 14 MB of weights do to each other from one image to the next. Each figure is the best of ROUNDS calls.
 */

#define SWEEP_FLOATS ((size_t)8 << 20)

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static float *
buffer(size_t n, unsigned seed)
{
	float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);

	if (p == NULL) {
		fprintf(stderr, "pointwise-bench: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (float)((seed >> 8) % 2001) / 1000.0f - 1.0f;
	}
	return p;
}

/* Touches every cache line of the sweep buffer, evicting what the last call left in the caches. */
static float
sweep(float *s)
{
	float acc = 0.0f;

	for (size_t i = 0; i < SWEEP_FLOATS; i += 16) {
		s[i] += 1.0f;
		acc += s[i];
	}
	return acc;
}

int
main(int argc, char **argv)
{
	static const int64_t shapes[][3] = { /* M, K, pixels: MobileNetV2's 7x7 and 14x14 1x1 convs */
		{ 960, 160, 49 }, { 160, 960, 49 }, { 320, 960, 49 }, { 1280, 320, 49 },
		{ 576, 96, 196 }, { 96, 576, 196 }, { 384, 64, 196 }, { 64, 384, 196 },
	};
	int rounds = argc > 1 ? atoi(argv[1]) : 100;
	struct infer_act clamp = { .kind = ACT_CLAMP, .lo = 0.0f, .hi = 6.0f };
	float *sw = buffer(SWEEP_FLOATS, 7), sink = 0.0f;
	double tot[4] = { 0 };

	if (rounds < 1)
		rounds = 1;
	if (infer_cpu_level() < CPU_AVX512) {
		printf("pointwise-bench: this CPU runs %s kernels; the small-map kernel needs AVX-512\n",
		    infer_cpu_level_name(infer_cpu_level()));
		return 0;
	}
	printf("1 thread, best of %d; ms (GFLOP/s)\n", rounds);
	printf("%-18s %16s %16s %16s %16s %8s %8s\n", "M x K, pixels", "GEMM warm", "packed warm", "GEMM memory",
	    "packed memory", "warm", "memory");
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		int64_t M = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
		float *W = buffer((size_t)(M * K), 1), *B = buffer((size_t)(K * N), 2), *bias = buffer((size_t)M, 3);
		float *C0 = buffer((size_t)(M * N), 4), *C1 = buffer((size_t)(M * N), 5);
		float *wp = buffer(infer_pw_packed_floats(M, K), 6);
		struct pw_gemm g = { .wp = wp, .M = M, .K = K, .m0 = 0, .m1 = M, .k0 = 0, .k1 = K, .N = N, .b = B,
			.ldb = N, .c = C1, .ldc = N, .bias = bias, .act = &clamp, .threads = 1 };
		double best[4] = { 1e9, 1e9, 1e9, 1e9 }, maxdiff = 0.0, gflop = 2.0 * (double)(M * N * K) * 1e-6;

		infer_pw_pack(M, K, W, wp);
		/* best[0..1]: warm (the second of two calls in a row), best[2..3]: right after a sweep; even = GEMM,
		 * odd = packed. The two kernels alternate, so both see the same machine. */
		for (int r = 0; r < rounds; r++)
			for (int cold = 0; cold < 2; cold++)
				for (int k = 0; k < 2; k++)
					for (int rep = 0; rep < 2 - cold; rep++) {
						double t;
						if (cold)
							sink += sweep(sw);
						t = now_ms();
						if (k == 0)
							infer_sgemm(infer_cpu_level(), M, N, K, W, K, B, N, C0, N, bias, &clamp, 1);
						else if (infer_pw_gemm(infer_cpu_level(), &g) != 0)
							return 1;
						t = now_ms() - t;
						if (rep == 1 - cold && t < best[2 * cold + k])
							best[2 * cold + k] = t;
					}
		for (int64_t i = 0; i < M * N; i++)
			if (fabs((double)C0[i] - C1[i]) > maxdiff)
				maxdiff = fabs((double)C0[i] - C1[i]);
		char name[32];
		snprintf(name, sizeof(name), "%lld x %lld, %lld", (long long)M, (long long)K, (long long)N);
		printf("%-18s %7.4f (%5.1f) %7.4f (%5.1f) %7.4f (%5.1f) %7.4f (%5.1f) %7.2fx %7.2fx%s\n", name, best[0],
		    gflop / best[0], best[1], gflop / best[1], best[2], gflop / best[2], best[3], gflop / best[3],
		    best[0] / best[1], best[2] / best[3], maxdiff > 1e-3 ? "  RESULTS DIFFER" : "");
		for (int i = 0; i < 4; i++)
			tot[i] += best[i];
		free(W);
		free(B);
		free(bias);
		free(C0);
		free(C1);
		free(wp);
	}
	printf("%-18s %16.4f %16.4f %16.4f %16.4f %7.2fx %7.2fx   (GEMM / packed)\n", "sum", tot[0], tot[1], tot[2],
	    tot[3], tot[0] / tot[1], tot[2] / tot[3]);
	free(sw);
	return sink == 12345.0f ? 2 : 0; /* keeps the sweep from being optimised away */
}
