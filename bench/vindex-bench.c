/* vindex-bench.c: top-10 query latency of the catalogue vector index at 1,000,000 vectors (bench/RESULTS.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "match/vindex.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static float
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (float)((double)((rng_state * 0x2545f4914f6cdd1dULL) >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median and fastest of nq top-10 queries (after 2 warm-up queries), in ms. On a shared machine the
 * fastest is the uncontended cost; the median includes waiting for a preempted OpenMP thread. */
static void
measure(const vindex *ix, const float *queries, int nq, int threads, vindex_kernel kernel, double *p50,
    double *best)
{
	double *t = malloc((size_t)nq * sizeof *t);
	vindex_hit hits[10];
	uint32_t dim = vindex_dim(ix);

	if (t == NULL)
		exit(1);
	for (int i = 0; i < 2; i++)
		vindex_search_kernel(ix, queries, 10, threads, kernel, hits);
	for (int i = 0; i < nq; i++) {
		double t0 = now_ms();
		if (vindex_search_kernel(ix, queries + (size_t)i * dim, 10, threads, kernel, hits) != 10) {
			fprintf(stderr, "vindex-bench: search returned too few hits\n");
			exit(1);
		}
		t[i] = now_ms() - t0;
	}
	qsort(t, (size_t)nq, sizeof *t, cmp_double);
	*p50 = t[nq / 2];
	*best = t[0];
	free(t);
}

int
main(int argc, char **argv)
{
	size_t n = 1000000;
	int nq = 40, nq_ref = 5;
	const uint32_t dims[] = { 96, 88 };
	const vindex_storage sts[] = { VINDEX_F16, VINDEX_I8 };

	if (argc > 1) {
		char *end;
		unsigned long long v = strtoull(argv[1], &end, 10);
		if (*end != '\0' || v < 10 || v > 100000000ULL) {
			fprintf(stderr, "usage: vindex-bench [VECTORS (10..1e8, default 1000000)]\n");
			return 2;
		}
		n = (size_t)v;
	}
	{
		double la[3] = { 0 };
		if (getloadavg(la, 3) < 1)
			la[0] = -1;
		printf("# vindex-bench: %zu vectors, top-10, %d queries (reference: %d), auto kernel %s, load %.2f\n",
		    n, nq, nq_ref, vindex_kernel_name(VINDEX_KERNEL_AUTO), la[0]);
	}
	printf("| dim | storage | MiB | insert s | avx2 1T p50 / best ms | avx2 2T p50 / best ms | "
	       "reference 1T p50 ms | reference / avx2 (1T p50) |\n|---:|---|---:|---:|---:|---:|---:|---:|\n");
	for (size_t di = 0; di < 2; di++)
		for (size_t si = 0; si < 2; si++) {
			uint32_t dim = dims[di];
			vindex *ix = vindex_new(dim, sts[si]);
			float *vec = malloc(dim * sizeof *vec), *q = malloc((size_t)nq * dim * sizeof *q);
			double t0, ins, a1, a2, r1, b1, b2, br;
			if (ix == NULL || vec == NULL || q == NULL)
				return 1;
			t0 = now_ms();
			if (vindex_reserve(ix, n) != 0) {
				perror("vindex_reserve");
				return 1;
			}
			for (size_t i = 0; i < n; i++) {
				for (uint32_t d = 0; d < dim; d++)
					vec[d] = rnd();
				if (vindex_add(ix, i, vec) != 0) {
					perror("vindex_add");
					return 1;
				}
			}
			ins = (now_ms() - t0) / 1e3;
			for (size_t i = 0; i < (size_t)nq * dim; i++)
				q[i] = rnd();
			measure(ix, q, nq, 1, VINDEX_KERNEL_AVX2, &a1, &b1);
			measure(ix, q, nq, 2, VINDEX_KERNEL_AVX2, &a2, &b2);
			measure(ix, q, nq_ref, 1, VINDEX_KERNEL_REFERENCE, &r1, &br);
			printf("| %u | %s | %.0f | %.2f | %.2f / %.2f | %.2f / %.2f | %.1f | %.1f |\n", dim,
			    sts[si] == VINDEX_F16 ? "fp16" : "int8", (double)vindex_memory(ix) / 1048576.0, ins, a1, b1,
			    a2, b2, r1, r1 / a1);
			fflush(stdout);
			vindex_free(ix);
			free(vec);
			free(q);
		}
	return 0;
}
