/* conformance.c: runs the ONNX backend node tests from Debian's libonnx-testdata through our engine and compares outputs. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pricewatch/infer.h"

/* ONNX's own backend-test tolerances (onnx/backend/test/runner: rtol 1e-3, atol 1e-7). */
#define RTOL 1e-3
#define ATOL 1e-7
#define MAX_IO 64

struct tally {
	int ran, passed, failed, skipped;
};

static int verbose;

static int
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Compares got with want; on mismatch writes why into msg and returns -1. */
static int
compare(const infer_tensor *got, const infer_tensor *want, char *msg, size_t len)
{
	int64_t n = infer_tensor_numel(want);

	if (got->dtype != want->dtype) {
		snprintf(msg, len, "element type %d, expected %d", (int)got->dtype, (int)want->dtype);
		return -1;
	}
	if (got->ndim != want->ndim) {
		snprintf(msg, len, "rank %d, expected %d", got->ndim, want->ndim);
		return -1;
	}
	for (int i = 0; i < got->ndim; i++)
		if (got->dims[i] != want->dims[i]) {
			snprintf(msg, len, "dimension %d is %lld, expected %lld", i, (long long)got->dims[i],
			    (long long)want->dims[i]);
			return -1;
		}
	for (int64_t i = 0; i < n; i++) {
		if (want->dtype == INFER_DTYPE_FLOAT) {
			double g = ((const float *)got->data)[i], w = ((const float *)want->data)[i];
			if (isnan(w) && isnan(g))
				continue;
			if (isinf(w) && g == w)
				continue;
			if (!(fabs(g - w) <= ATOL + RTOL * fabs(w))) {
				snprintf(msg, len, "element %lld is %.9g, expected %.9g", (long long)i, g, w);
				return -1;
			}
		} else if (((const int64_t *)got->data)[i] != ((const int64_t *)want->data)[i]) {
			snprintf(msg, len, "element %lld is %lld, expected %lld", (long long)i,
			    (long long)((const int64_t *)got->data)[i], (long long)((const int64_t *)want->data)[i]);
			return -1;
		}
	}
	return 0;
}

static void
release_all(infer_tensor *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		infer_tensor_release(&t[i]);
}

static void
skip(struct tally *t, const char *name, const char *why)
{
	t->skipped++;
	if (verbose)
		printf("SKIP %s: %s\n", name, why);
}

static void
fail(struct tally *t, const char *name, const char *why)
{
	t->ran++;
	t->failed++;
	printf("FAIL %s: %s\n", name, why);
}

/* Loads input_N.pb or output_N.pb files in order; returns the count, or -1 with err filled. */
static int
load_set(const char *dir, const char *prefix, infer_tensor *t, infer_error *err)
{
	int n = 0;
	char path[4096];

	for (;; n++) {
		if (snprintf(path, sizeof(path), "%s/test_data_set_0/%s_%d.pb", dir, prefix, n) >= (int)sizeof(path) ||
		    !is_file(path))
			return n;
		if (n >= MAX_IO) {
			snprintf(err->msg, sizeof(err->msg), "more than %d %s files", MAX_IO, prefix);
			err->code = INFER_E_LIMIT;
			release_all(t, (size_t)n);
			return -1;
		}
		if (infer_tensor_load_pb(path, &t[n], err) < 0) {
			release_all(t, (size_t)n);
			return -1;
		}
	}
}

static void
run_test(const char *dir, const char *name, struct tally *t)
{
	char path[4096], why[600];
	infer_tensor in[MAX_IO], want[MAX_IO], got[MAX_IO];
	int n_in = 0, n_want = 0;
	infer_error err = { 0 };
	infer_model *m = NULL;
	infer_session *s = NULL;

	if (snprintf(path, sizeof(path), "%s/model.onnx", dir) >= (int)sizeof(path) || !is_file(path))
		return;
	m = infer_model_load(path, &err);
	if (m == NULL) {
		if (err.code == INFER_E_UNSUPPORTED)
			skip(t, name, err.msg);
		else
			fail(t, name, err.msg);
		return;
	}
	if ((n_in = load_set(dir, "input", in, &err)) < 0 || (n_want = load_set(dir, "output", want, &err)) < 0) {
		if (n_in > 0)
			release_all(in, (size_t)n_in);
		if (err.code == INFER_E_UNSUPPORTED)
			skip(t, name, err.msg);
		else
			fail(t, name, err.msg);
		infer_model_free(m);
		return;
	}
	if ((size_t)n_in != infer_model_input_count(m) || (size_t)n_want != infer_model_output_count(m)) {
		snprintf(why, sizeof(why), "test data has %d inputs and %d outputs, the model %zu and %zu", n_in, n_want,
		    infer_model_input_count(m), infer_model_output_count(m));
		fail(t, name, why);
		goto out;
	}
	/* Each test runs with the graph passes and arena (twice: the second run reuses the planned arena)
	 * and once as loaded, with plain malloc; every result must match. */
	for (int mode = 0; mode < 3; mode++) {
		infer_session_opts o = { .flags = mode == 2 ? INFER_OPT_NO_PASSES | INFER_OPT_NO_ARENA : 0 };
		if (mode != 1) {
			infer_session_free(s);
			s = infer_session_create(m, &o, &err);
		}
		if (s == NULL || infer_run(s, in, (size_t)n_in, got, (size_t)n_want, &err) < 0) {
			if (err.code == INFER_E_UNSUPPORTED)
				skip(t, name, err.msg);
			else
				fail(t, name, err.msg);
			goto out;
		}
		for (int i = 0; i < n_want; i++) {
			char msg[300];
			if (compare(&got[i], &want[i], msg, sizeof(msg)) < 0) {
				snprintf(why, sizeof(why), "output '%s' (%s): %s", infer_model_output_name(m, (size_t)i),
				    mode == 0 ? "first run" : mode == 1 ? "arena run" : "no passes", msg);
				release_all(got, (size_t)n_want);
				fail(t, name, why);
				goto out;
			}
		}
		release_all(got, (size_t)n_want);
	}
	t->ran++;
	t->passed++;
	if (verbose)
		printf("PASS %s\n", name);
out:
	release_all(in, (size_t)n_in);
	release_all(want, (size_t)n_want);
	infer_session_free(s);
	infer_model_free(m);
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void
run_suite(const char *root, const char *suite, const char *only, struct tally *t)
{
	char dir[4096];
	struct dirent **ents;
	int n;

	if (snprintf(dir, sizeof(dir), "%s/%s", root, suite) >= (int)sizeof(dir))
		return;
	n = scandir(dir, &ents, NULL, by_name);
	if (n < 0)
		return;
	for (int i = 0; i < n; i++) {
		char test[4096], name[512];
		if (ents[i]->d_name[0] != '.' && (only == NULL || strstr(ents[i]->d_name, only) != NULL) &&
		    snprintf(test, sizeof(test), "%s/%s", dir, ents[i]->d_name) < (int)sizeof(test) &&
		    snprintf(name, sizeof(name), "%s/%s", suite, ents[i]->d_name) < (int)sizeof(name) && is_dir(test))
			run_test(test, name, t);
		free(ents[i]);
	}
	free(ents);
}

int
main(int argc, char **argv)
{
	const char *root = getenv("PW_ONNX_TESTDATA");
	const char *only = argc > 1 ? argv[1] : NULL;
	struct tally t = { 0 };

	verbose = getenv("PW_CONFORMANCE_VERBOSE") != NULL;
	if (root == NULL || root[0] == '\0')
		root = "/usr/share/libonnx-testdata/data";
	if (!is_dir(root)) {
		printf("conformance: %s is absent (install libonnx-testdata); skipping\n", root);
		return 77;
	}
	run_suite(root, "node", only, &t);
	run_suite(root, "pytorch-converted", only, &t);
	printf("conformance: %d ran, %d passed, %d failed, %d skipped (unsupported)\n", t.ran, t.passed, t.failed,
	    t.skipped);
	printf("%d passed, %d failed, %d skipped\n", t.passed, t.failed, t.skipped);
	return t.failed > 0 ? 1 : 0;
}
