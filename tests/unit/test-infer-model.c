/* test-infer-model.c: runs the reference MobileNetV2 (data/models/) and compares with the outputs ONNX Runtime computed. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pricewatch/infer.h"

#define MODEL "data/models/mobilenetv2-nsfwjs"

static void
model_path(char *buf, size_t len, const char *suffix)
{
	const char *top = getenv("PW_TOP_SRCDIR");

	cr_assert_lt(snprintf(buf, len, "%s/%s%s", top != NULL ? top : "..", MODEL, suffix), (int)len);
}

/* Reads a little-endian float32, C-order .npy file (format 1.0-3.0) into t; the caller owns t->data. */
static void
load_npy(const char *path, infer_tensor *t)
{
	FILE *f = fopen(path, "rb");
	unsigned char pre[12];
	size_t hlen, pos;
	char *hdr, *sh;
	int64_t n;

	cr_assert_not_null(f, "%s", path);
	cr_assert_eq(fread(pre, 1, 10, f), 10);
	cr_assert_eq(memcmp(pre, "\x93NUMPY", 6), 0, "%s: not a .npy file", path);
	if (pre[6] == 1)
		hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
	else {
		cr_assert_eq(fread(pre + 10, 1, 2, f), 2);
		hlen = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
	}
	cr_assert_lt(hlen, 65536);
	hdr = calloc(1, hlen + 1);
	cr_assert_not_null(hdr);
	cr_assert_eq(fread(hdr, 1, hlen, f), hlen);
	cr_assert_not_null(strstr(hdr, "'descr': '<f4'"), "%s: %s", path, hdr);
	cr_assert_not_null(strstr(hdr, "'fortran_order': False"), "%s: %s", path, hdr);
	sh = strstr(hdr, "'shape': (");
	cr_assert_not_null(sh);
	memset(t, 0, sizeof(*t));
	t->dtype = INFER_DTYPE_FLOAT;
	pos = (size_t)(sh - hdr) + strlen("'shape': (");
	while (hdr[pos] != ')' && hdr[pos] != '\0') {
		char *end;
		long long d = strtoll(hdr + pos, &end, 10);
		cr_assert_neq(end, hdr + pos, "%s: bad shape", path);
		cr_assert_lt(t->ndim, INFER_MAX_DIMS);
		t->dims[t->ndim++] = d;
		pos = (size_t)(end - hdr);
		while (hdr[pos] == ',' || hdr[pos] == ' ')
			pos++;
	}
	free(hdr);
	n = infer_tensor_numel(t);
	cr_assert_gt(n, 0);
	t->data = malloc((size_t)n * sizeof(float));
	cr_assert_not_null(t->data);
	cr_assert_eq(fread(t->data, sizeof(float), (size_t)n, f), (size_t)n, "%s: short", path);
	fclose(f);
}

/* Cosine >= 0.9999 and max|diff| <= 1e-3 * max|expected| (data/models/README.md), on row `row` of got. */
static void
assert_matches(const infer_tensor *got, int64_t row, const infer_tensor *want, const char *what)
{
	int64_t n = want->dims[want->ndim - 1];
	const float *g = (const float *)got->data + row * n, *w = want->data;
	double dot = 0, gg = 0, ww = 0, maxdiff = 0, maxw = 0;

	cr_assert_eq(got->dims[got->ndim - 1], n, "%s: width", what);
	for (int64_t i = 0; i < n; i++) {
		dot += (double)g[i] * w[i];
		gg += (double)g[i] * g[i];
		ww += (double)w[i] * w[i];
		maxdiff = fmax(maxdiff, fabs((double)g[i] - w[i]));
		maxw = fmax(maxw, fabs((double)w[i]));
	}
	cr_assert_geq(dot / sqrt(gg * ww), 0.9999, "%s: cosine %.7f", what, dot / sqrt(gg * ww));
	cr_assert_leq(maxdiff, 1e-3 * maxw, "%s: max|diff| %g vs max|expected| %g", what, maxdiff, maxw);
}

static int
have_model(void)
{
	char path[4096];
	FILE *f;

	model_path(path, sizeof(path), ".onnx");
	f = fopen(path, "rb");
	if (f == NULL)
		return 0;
	fclose(f);
	return 1;
}

static void
check_model(unsigned flags, int threads, int batch)
{
	char path[4096];
	infer_tensor in, feat, b10, x, out[2];
	infer_error err;
	infer_model *m;
	infer_session *s;
	infer_session_opts o = { .threads = threads, .flags = flags };
	int64_t per;

	if (!have_model())
		cr_skip_test("%s.onnx is absent", MODEL);
	model_path(path, sizeof(path), ".input.npy");
	load_npy(path, &in);
	model_path(path, sizeof(path), ".features.npy");
	load_npy(path, &feat);
	model_path(path, sizeof(path), ".block10.npy");
	load_npy(path, &b10);
	model_path(path, sizeof(path), ".onnx");
	m = infer_model_load(path, &err);
	cr_assert_not_null(m, "%s", err.msg);
	cr_assert_str_eq(infer_model_output_name(m, 0), "features");
	cr_assert_str_eq(infer_model_output_name(m, 1), "block10");
	s = infer_session_create(m, &o, &err);
	cr_assert_not_null(s, "%s", err.msg);
	/* The batch is `batch` copies of the test vector: every row must match. */
	x = in;
	x.dims[0] = batch;
	per = infer_tensor_numel(&in);
	x.data = malloc((size_t)(per * batch) * sizeof(float));
	cr_assert_not_null(x.data);
	for (int k = 0; k < batch; k++)
		memcpy((float *)x.data + k * per, in.data, (size_t)per * sizeof(float));
	for (int run = 0; run < 2; run++) {
		cr_assert_eq(infer_run(s, &x, 1, out, 2, &err), 0, "%s", err.msg);
		cr_assert_eq(out[0].dims[0], batch);
		for (int k = 0; k < batch; k++) {
			assert_matches(&out[0], k, &feat, "features");
			assert_matches(&out[1], k, &b10, "block10");
		}
		infer_tensor_release(&out[0]);
		infer_tensor_release(&out[1]);
	}
	if (!(flags & INFER_OPT_NO_PASSES)) {
		cr_assert_lt(infer_session_node_count(s), infer_model_node_count(m), "passes removed nothing");
		cr_log_info("mobilenetv2: %zu nodes -> %zu, arena %zu bytes", infer_model_node_count(m),
		    infer_session_node_count(s), infer_session_arena_bytes(s));
	}
	free(x.data);
	infer_tensor_release(&in);
	infer_tensor_release(&feat);
	infer_tensor_release(&b10);
	infer_session_free(s);
	infer_model_free(m);
}

Test(infer_model, mobilenetv2_matches_onnxruntime, .timeout = 300)
{
	check_model(0, 2, 1);
}

Test(infer_model, mobilenetv2_batch_of_three, .timeout = 300)
{
	check_model(0, 2, 3);
}

Test(infer_model, mobilenetv2_without_passes, .timeout = 300)
{
	check_model(INFER_OPT_NO_PASSES | INFER_OPT_NO_ARENA, 1, 1);
}
