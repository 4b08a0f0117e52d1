/* infer-bench.c: times the inference core on one model and one .npy input (p50/p99 latency), for tuning kernels;
 * "ab [VAR]" times two sessions in alternation in one process, opened with VAR=0 and without it (default
 * PW_INFER_FUSE: the unfused and fused block paths; PW_INFER_SPLIT: whole batches and image by image). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pricewatch/infer.h"

/* Reads a little-endian float32 C-order .npy (format 1.0) into t; t->data is malloc'd, owned by the caller. */
static int
load_npy(const char *path, infer_tensor *t)
{
	FILE *f = fopen(path, "rb");
	unsigned char pre[10];
	char hdr[1024], *s;
	size_t hl;
	int64_t n = 1;

	if (f == NULL || fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0 || pre[6] != 1)
		goto bad;
	hl = (size_t)pre[8] | (size_t)pre[9] << 8;
	if (hl >= sizeof(hdr) || fread(hdr, 1, hl, f) != hl)
		goto bad;
	hdr[hl] = '\0';
	if (strstr(hdr, "'<f4'") == NULL || strstr(hdr, "'fortran_order': False") == NULL ||
	    (s = strstr(hdr, "'shape': (")) == NULL)
		goto bad;
	memset(t, 0, sizeof(*t));
	t->dtype = INFER_DTYPE_FLOAT;
	for (s += 10; *s != ')' && t->ndim < INFER_MAX_DIMS;) {
		char *e;
		long long d = strtoll(s, &e, 10);
		if (e == s || d <= 0 || d > 1 << 24)
			goto bad;
		t->dims[t->ndim++] = d;
		n *= d;
		s = e;
		while (*s == ',' || *s == ' ')
			s++;
	}
	if ((t->data = malloc((size_t)n * sizeof(float))) == NULL || fread(t->data, sizeof(float), (size_t)n, f) != (size_t)n)
		goto bad;
	fclose(f);
	return 0;
bad:
	fprintf(stderr, "infer-bench: %s: not a float32 .npy file this driver reads\n", path);
	if (f != NULL)
		fclose(f);
	return -1;
}

static double
clock_ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double
now_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One timed session: its latencies and CPU time. */
struct timed {
	const char *label;
	infer_session *s;
	double *t, cpu;
};

static int
run_once(struct timed *x, int i, const infer_tensor *in, infer_tensor *out, size_t nout, infer_error *err)
{
	double t0 = now_ms(), c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID);

	if (infer_run(x->s, in, 1, out, nout, err) < 0) {
		fprintf(stderr, "infer-bench: %s\n", err->msg);
		return -1;
	}
	if (i >= 0) {
		x->t[i] = now_ms() - t0;
		x->cpu += clock_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
	}
	for (size_t j = 0; j < nout; j++)
		infer_tensor_release(&out[j]);
	return 0;
}

int
main(int argc, char **argv)
{
	infer_error err = { 0 };
	infer_tensor in, out[8];
	infer_session_opts o = { 0 };
	infer_model *m;
	struct timed x[2] = { { .label = "default" }, { .label = "" } };
	int runs, warm = 20, nx = 1;
	const char *var = "PW_INFER_FUSE";
	size_t nout;

	if (argc < 5) {
		fprintf(stderr, "usage: infer-bench MODEL INPUT.npy THREADS RUNS [BATCH [ab [VAR]]]\n"
		    "  ab: time sessions opened with VAR=0 and without VAR in alternation (VAR: PW_INFER_FUSE)\n");
		return 2;
	}
	o.threads = (int)strtol(argv[3], NULL, 10);
	runs = (int)strtol(argv[4], NULL, 10);
	if (runs < 1 || runs > 100000 || load_npy(argv[2], &in) < 0)
		return 2;
	if (argc > 5) {
		/* Batch N: the same image repeated. */
		long b = strtol(argv[5], NULL, 10);
		size_t one = (size_t)(in.dims[1] * in.dims[2] * in.dims[3]);
		float *d;
		if (b < 1 || b > 64 || (d = malloc((size_t)b * one * sizeof(float))) == NULL)
			return 2;
		for (long i = 0; i < b; i++)
			memcpy(d + (size_t)i * one, in.data, one * sizeof(float));
		free(in.data);
		in.data = d;
		in.dims[0] = b;
	}
	if (argc > 6 && strcmp(argv[6], "ab") == 0) {
		nx = 2;
		if (argc > 7)
			var = argv[7];
		x[0].label = "off";
		x[1].label = "on";
	}
	if ((m = infer_model_load(argv[1], &err)) == NULL)
		goto fail;
	for (int k = 0; k < nx; k++) {
		/* The session reads these variables when it is opened. */
		if (nx == 2 && k == 0)
			setenv(var, "0", 1);
		else if (nx == 2)
			unsetenv(var);
		if ((x[k].s = infer_session_create(m, &o, &err)) == NULL)
			goto fail;
		if ((x[k].t = calloc((size_t)runs, sizeof(double))) == NULL)
			return 1;
	}
	nout = infer_model_output_count(m);
	if (nout > 8)
		return 1;
	for (int i = -warm; i < runs; i++)
		for (int k = 0; k < nx; k++)
			if (run_once(&x[(i & 1) ? nx - 1 - k : k], i, &in, out, nout, &err) < 0)
				return 1;
	for (int k = 0; k < nx; k++) {
		/* CPU time of the whole process per run: with other work on the machine, less noisy than wall time. */
		qsort(x[k].t, (size_t)runs, sizeof(double), cmp_double);
		printf("{\"path\":\"%s\",\"threads\":%d,\"batch\":%lld,\"runs\":%d,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
		    "\"min_ms\":%.3f,\"cpu_ms\":%.3f}\n", x[k].label, o.threads, (long long)in.dims[0], runs, x[k].t[runs / 2],
		    x[k].t[runs * 99 / 100], x[k].t[0], x[k].cpu / runs);
		free(x[k].t);
		infer_session_free(x[k].s);
	}
	free(in.data);
	infer_model_free(m);
	return 0;
fail:
	fprintf(stderr, "infer-bench: %s\n", err.msg);
	return 1;
}
