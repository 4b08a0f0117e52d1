/* test-backend-cli.c: `pricewatch bench --backend all|auto` through the built binary, with the flaky test plugin as the second backend. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/run.h"

/* Runs pricewatch bench with the flaky plugin directory, failing from execution fail_after on. */
static void
bench(struct test_run *r, const char *fail_after, const char *backend, int json)
{
	char dir[1024], env_fail[64];
	const char *top = getenv("PW_TOP_BUILDDIR");
	const char *env[] = { env_fail, NULL };
	const char *args[] = { "bench", "--backend", backend, "--plugin-dir", dir, "--runs", "3", "--warmup", "1",
		"--threads", "1", json ? "--json" : NULL, NULL };

	snprintf(dir, sizeof(dir), "%s/src/backends/flaky", top != NULL ? top : ".");
	snprintf(env_fail, sizeof(env_fail), "PW_FLAKY_FAIL_AFTER=%s", fail_after);
	test_run(r, "pricewatch", NULL, env, args);
}

Test(backend_cli, bench_all_shows_every_backend_side_by_side, .timeout = 120)
{
	struct test_run r;
	struct json_object *o, *arr;

	bench(&r, "1000", "all", 1);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	o = json_tokener_parse(r.out);
	cr_assert_not_null(o, "%s", r.out);
	cr_assert(json_object_object_get_ex(o, "backends", &arr));
	cr_assert_eq(json_object_array_length(arr), 2, "%s", r.out);
	for (size_t i = 0; i < 2; i++) {
		struct json_object *b = json_object_array_get_idx(arr, i), *v;
		cr_assert(json_object_object_get_ex(b, "backend", &v));
		cr_assert_str_eq(json_object_get_string(v), i == 0 ? "cpu" : "flaky");
		cr_assert(json_object_object_get_ex(b, "p50_ms", &v));
		cr_assert_gt(json_object_get_double(v), 0.0);
		cr_assert(json_object_object_get_ex(b, "cost_per_1000", &v));
		cr_assert(json_object_object_get_ex(b, "runs", &v));
		cr_assert_eq(json_object_get_int(v), 3);
	}
	json_object_put(o);
	test_run_free(&r);

	bench(&r, "1000", "all", 0);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "\ncpu "), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\nflaky "), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "cost/1000"), "%s", r.out);
	test_run_free(&r);
}

/* A backend that fails during the timing gets no figures (they would be the CPU's), and says why. */
Test(backend_cli, bench_reports_a_backend_dropped_while_timed, .timeout = 120)
{
	struct test_run r;

	bench(&r, "2", "flaky", 0);
	cr_assert_neq(r.rc, 0, "%s", r.out);
	cr_assert_not_null(strstr(r.err, "dropped for this session"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "backend 'flaky' failed during the benchmark"), "%s", r.err);
	test_run_free(&r);

	bench(&r, "2", "all", 0);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "\nflaky        failed"), "%s", r.out);
	test_run_free(&r);
}

/* auto measures both and names its choice: the flaky backend fails at once, so the CPU is chosen. */
Test(backend_cli, bench_auto_names_the_measured_choice, .timeout = 120)
{
	struct test_run r;

	bench(&r, "0", "auto", 0);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.err, "inference backend auto: chose 'cpu'"), "%s", r.err);
	cr_assert_not_null(strstr(r.out, "backend auto: cpu,"), "%s", r.out);
	test_run_free(&r);
}
