/* test-backend.c: backend selection on the host side: a backend failing at run time is dropped without losing the run, "auto" measures and caches its choice, and the available list. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pricewatch/infer.h"

static infer_model *model;
static infer_tensor input;

static void
flaky_dir(char *buf, size_t len)
{
	const char *top = getenv("PW_TOP_BUILDDIR");

	cr_assert_lt(snprintf(buf, len, "%s/src/backends/flaky", top != NULL ? top : "."), (int)len);
}

static void
setup(void)
{
	char path[1024];
	const char *top = getenv("PW_TOP_SRCDIR");
	infer_error err;
	uint32_t seed = 99;

	snprintf(path, sizeof(path), "%s/data/models/mobilenetv2-nsfwjs.onnx", top != NULL ? top : "..");
	model = infer_model_load(path, &err);
	cr_assert_not_null(model, "%s", err.msg);
	input = (infer_tensor){ .dtype = INFER_DTYPE_FLOAT, .ndim = 4, .dims = { 1, 3, 224, 224 } };
	input.data = malloc(3 * 224 * 224 * sizeof(float));
	cr_assert_not_null(input.data);
	for (int i = 0; i < 3 * 224 * 224; i++) {
		seed = seed * 1103515245u + 12345u;
		((float *)input.data)[i] = (float)(seed >> 8) / 16777216.0f;
	}
}

static void
teardown(void)
{
	infer_model_free(model);
	free(input.data);
}

TestSuite(backend, .init = setup, .fini = teardown, .timeout = 120);

static infer_session *
open_session(const char *backend, const char *dir, const char *cache_dir)
{
	infer_session_opts o = { .threads = 1, .backend = backend, .plugin_dir = dir, .cache_dir = cache_dir };
	infer_error err;
	infer_session *s = infer_session_create(model, &o, &err);

	cr_assert_not_null(s, "%s: %s", backend, err.msg);
	return s;
}

static void
run(infer_session *s, infer_tensor out[2])
{
	infer_error err;

	cr_assert_eq(infer_run(s, &input, 1, out, 2, &err), 0, "%s", err.msg);
}

/* Runs the model on cpu and on s: the same features (the flaky backend and the fallback both use the CPU
 * kernels). */
static void
assert_same_as_cpu(infer_session *cpu, infer_session *s)
{
	infer_tensor a[2], b[2];

	run(cpu, a);
	run(s, b);
	for (int k = 0; k < 2; k++) {
		int64_t n = infer_tensor_numel(&a[k]);
		cr_assert_eq(n, infer_tensor_numel(&b[k]));
		for (int64_t i = 0; i < n; i++)
			cr_assert_float_eq(((float *)a[k].data)[i], ((float *)b[k].data)[i], 1e-5, "output %d[%lld]", k,
			    (long long)i);
		infer_tensor_release(&a[k]);
		infer_tensor_release(&b[k]);
	}
}

/* The flaky plugin, failing from execution number fail_after on. */
static infer_session *
open_flaky(const char *fail_after)
{
	char dir[1024];

	flaky_dir(dir, sizeof(dir));
	setenv("PW_FLAKY_FAIL_AFTER", fail_after, 1);
	return open_session("flaky", dir, NULL);
}

Test(backend, failing_backend_is_dropped_and_the_run_completes)
{
	infer_session *cpu = open_session("cpu", NULL, NULL), *s = open_flaky("0");

	cr_assert_str_eq(infer_session_backend(s), "flaky");
	cr_assert_str_eq(infer_session_node_backend(s, 0), "flaky");
	assert_same_as_cpu(cpu, s);
	/* Dropped for the session: every node is on the CPU now, and later runs go straight there. */
	cr_assert_str_eq(infer_session_backend(s), "cpu");
	for (size_t i = 0; i < infer_session_node_count(s); i++)
		cr_assert_str_eq(infer_session_node_backend(s, i), "cpu");
	assert_same_as_cpu(cpu, s);
	infer_session_free(s);
	infer_session_free(cpu);
}

Test(backend, backend_failing_after_some_runs_loses_no_image)
{
	infer_session *cpu = open_session("cpu", NULL, NULL), *s = open_flaky("2");

	for (int r = 0; r < 4; r++) {
		assert_same_as_cpu(cpu, s);
		cr_assert_str_eq(infer_session_backend(s), r < 2 ? "flaky" : "cpu", "run %d", r);
	}
	infer_session_free(s);
	infer_session_free(cpu);
}

Test(backend, available_lists_cpu_and_the_plugins_that_open)
{
	char dir[1024], names[8][INFER_BACKEND_NAME_MAX];
	int n;

	flaky_dir(dir, sizeof(dir));
	n = infer_backend_available(dir, names, 8);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(names[0], "cpu");
	cr_assert_str_eq(names[1], "flaky");
	n = infer_backend_available("/nonexistent/pricewatch-backends", names, 8);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(names[0], "cpu");
}

static void
read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	cr_assert_not_null(f, "%s", path);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* auto measures every backend that opens; the one that fails at run time cannot win. The choice is cached
 * per model and machine, and a cached choice is used without measuring again. */
Test(backend, auto_measures_then_uses_the_cache)
{
	char dir[1024], cache[] = "/tmp/pw-backend-test-XXXXXX", file[1100], text[512], *sp;
	infer_session *cpu = open_session("cpu", NULL, NULL), *s;
	FILE *f;

	flaky_dir(dir, sizeof(dir));
	cr_assert_not_null(mkdtemp(cache));
	snprintf(file, sizeof(file), "%s/backend-choice", cache);
	setenv("PW_FLAKY_FAIL_AFTER", "0", 1);
	s = open_session("auto", dir, cache);
	cr_assert_str_eq(infer_session_backend(s), "cpu");
	assert_same_as_cpu(cpu, s);
	infer_session_free(s);
	read_file(file, text, sizeof(text));
	cr_assert_not_null(strstr(text, " cpu "), "%s", text);
	/* Rewrite the cached choice: the next session must take it from the cache, not measure. */
	sp = strstr(text, " cpu ");
	f = fopen(file, "w");
	cr_assert_not_null(f);
	fprintf(f, "%.*s flaky %s", (int)(sp - text), text, sp + 5);
	fclose(f);
	setenv("PW_FLAKY_FAIL_AFTER", "5", 1);
	s = open_session("auto", dir, cache);
	cr_assert_str_eq(infer_session_backend(s), "flaky");
	infer_session_free(s);
	infer_session_free(cpu);
	unlink(file);
	rmdir(cache);
}
