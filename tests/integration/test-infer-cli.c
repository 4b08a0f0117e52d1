/* test-infer-cli.c: runs the built "pricewatch infer/embed/bench" on real ONNX models and checks outputs, errors and JSON. */
#include "config.h"

#include <criterion/criterion.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/npy.h"
#include "common/util.h"
#include "harness/run.h"
#include "pricewatch/infer.h"

#define NODE_TESTS "/usr/share/libonnx-testdata/data/node"

/* Output of one run of the binary. */
static char tmp[] = "/tmp/pw-infer-cli-XXXXXX";
static char model[512], input[512], features[512];

static void
setup(void)
{
	const char *top = getenv("PW_TOP_SRCDIR");

	if (top == NULL)
		top = "..";
	cr_assert_not_null(mkdtemp(tmp));
	cr_assert(pw_snprintf(model, sizeof model, "%s/data/models/mobilenetv2-nsfwjs.onnx", top));
	cr_assert(pw_snprintf(input, sizeof input, "%s/data/models/mobilenetv2-nsfwjs.input.npy", top));
	cr_assert(pw_snprintf(features, sizeof features, "%s/data/models/mobilenetv2-nsfwjs.features.npy", top));
}

static void
teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", tmp);

	cr_assert_eq(system(cmd), 0);
	free(cmd);
}

TestSuite(infer_cli, .init = setup, .fini = teardown);

/* Runs $PW_TOP_BUILDDIR/pricewatch with args (NULL-terminated), in the temporary directory. */
static void
run_pw(struct test_run *r, const char *const *args)
{
	/* Two threads at most: the machine running the tests is shared. */
	static const char *const env[] = { "OMP_NUM_THREADS=2", NULL };

	test_run(r, "pricewatch", tmp, env, args);
}

static void
load(const char *path, infer_tensor *t)
{
	char err[512];

	cr_assert(npy_read(path, t, 0, err, sizeof err), "%s", err);
}

static double
cosine(const float *a, const float *b, int64_t n)
{
	double dot = 0, aa = 0, bb = 0;

	for (int64_t i = 0; i < n; i++) {
		dot += (double)a[i] * b[i];
		aa += (double)a[i] * a[i];
		bb += (double)b[i] * b[i];
	}
	return dot / sqrt(aa * bb);
}

static char *
tmp_path(const char *name)
{
	return xasprintf("%s/%s", tmp, name);
}

/* Writes a float tensor of the given shape, all values v, as a .npy under tmp; returns its path. */
static char *
write_filled(const char *name, int ndim, const int64_t *dims, float v)
{
	infer_tensor t = { .dtype = INFER_DTYPE_FLOAT, .ndim = ndim };
	char err[512], *path = tmp_path(name);
	int64_t n;

	memcpy(t.dims, dims, (size_t)ndim * sizeof(*dims));
	n = infer_tensor_numel(&t);
	t.data = xcalloc((size_t)n, sizeof(float));
	for (int64_t i = 0; i < n; i++)
		((float *)t.data)[i] = v;
	cr_assert(npy_write(path, &t, err, sizeof err), "%s", err);
	free(t.data);
	return path;
}

Test(infer_cli, bundled_model_matches_onnx_runtime)
{
	char *dir = tmp_path("out"), *arg = xasprintf("input=%s", input), *f, *b;
	const char *args[] = { "infer", "--model", model, "--input", arg, "--output-dir", dir, "--threads", "2", NULL };
	infer_tensor got, want, b10;
	struct test_run r;

	run_pw(&r, args);
	cr_assert_eq(r.rc, 0, "rc %d: %s", r.rc, r.err);
	cr_assert_not_null(strstr(r.out, "features  (1, 1280)  float32"), "%s", r.out);
	f = tmp_path("out/features.npy");
	b = tmp_path("out/block10.npy");
	load(f, &got);
	load(features, &want);
	cr_assert_eq(got.ndim, 2);
	cr_assert_eq(got.dims[0], 1);
	cr_assert_eq(got.dims[1], 1280);
	cr_assert_geq(cosine(got.data, want.data, 1280), 0.9999);
	load(b, &b10);
	cr_assert_eq(b10.dims[1], 96);
	infer_tensor_release(&got);
	infer_tensor_release(&want);
	infer_tensor_release(&b10);
	test_run_free(&r);
	free(f);
	free(b);
	free(dir);
	free(arg);
}

/* Converts a test_data_set_0 .pb tensor to .npy under tmp; returns its path. */
static char *
pb_to_npy(const char *pb, const char *name)
{
	infer_tensor t;
	infer_error ierr;
	char err[512], *path = tmp_path(name);

	cr_assert_eq(infer_tensor_load_pb(pb, &t, &ierr), 0, "%s", ierr.msg);
	cr_assert(npy_write(path, &t, err, sizeof err), "%s", err);
	infer_tensor_release(&t);
	return path;
}

/* Runs an ONNX node test's model through the CLI and compares with output_0.pb (ONNX's tolerances). */
static void
node_test(const char *test)
{
	char *dir = xasprintf("%s/%s", NODE_TESTS, test), *mpath = xasprintf("%s/model.onnx", dir);
	char *args_buf[8], *outdir = tmp_path(test), *outfile, *pb;
	const char *args[20];
	infer_tensor got, want;
	infer_error ierr;
	infer_model *m;
	struct test_run r;
	size_t n_in, argc = 0;
	int64_t n;

	if (access(mpath, R_OK) != 0)
		cr_skip_test("%s is not installed (Debian package libonnx-testdata)", mpath);
	m = infer_model_load(mpath, &ierr);
	cr_assert_not_null(m, "%s", ierr.msg);
	n_in = infer_model_input_count(m);
	cr_assert_leq(n_in, 4);
	args[argc++] = "infer";
	args[argc++] = "--model";
	args[argc++] = mpath;
	for (size_t i = 0; i < n_in; i++) {
		char *in_pb = xasprintf("%s/test_data_set_0/input_%zu.pb", dir, i);
		char *name = xasprintf("%s-in%zu.npy", test, i);
		char *npy = pb_to_npy(in_pb, name);

		args_buf[i] = xasprintf("%s=%s", infer_model_input_name(m, i), npy);
		args[argc++] = "--input";
		args[argc++] = args_buf[i];
		free(in_pb);
		free(name);
		free(npy);
	}
	args[argc++] = "-o";
	args[argc++] = outdir;
	args[argc] = NULL;
	run_pw(&r, args);
	cr_assert_eq(r.rc, 0, "%s: rc %d: %s", test, r.rc, r.err);

	outfile = xasprintf("%s/%s.npy", outdir, infer_model_output_name(m, 0));
	pb = xasprintf("%s/test_data_set_0/output_0.pb", dir);
	load(outfile, &got);
	cr_assert_eq(infer_tensor_load_pb(pb, &want, &ierr), 0, "%s", ierr.msg);
	cr_assert_eq(got.ndim, want.ndim);
	for (int d = 0; d < want.ndim; d++)
		cr_assert_eq(got.dims[d], want.dims[d]);
	n = infer_tensor_numel(&want);
	cr_assert_gt(n, 0);
	for (int64_t i = 0; i < n; i++) {
		float g = ((float *)got.data)[i], w = ((float *)want.data)[i];

		cr_assert_leq(fabsf(g - w), 1e-7f + 1e-3f * fabsf(w), "%s[%lld]: %g, want %g", test,
		    (long long)i, g, w);
	}
	infer_tensor_release(&got);
	infer_tensor_release(&want);
	for (size_t i = 0; i < n_in; i++)
		free(args_buf[i]);
	infer_model_free(m);
	test_run_free(&r);
	free(outfile);
	free(pb);
	free(outdir);
	free(mpath);
	free(dir);
}

Test(infer_cli, onnx_node_test_conv)
{
	node_test("test_conv_with_strides_padding");
}

Test(infer_cli, onnx_node_test_add_broadcast)
{
	node_test("test_add_bcast");
}

Test(infer_cli, unknown_and_missing_inputs)
{
	char *wrong = xasprintf("image=%s", input), *bare = xasprintf("%s", input);
	const char *a1[] = { "infer", "--model", model, "--input", wrong, NULL };
	const char *a2[] = { "infer", "--model", model, NULL };
	const char *a3[] = { "infer", "--input", bare, NULL };
	struct test_run r;

	run_pw(&r, a1);
	cr_assert_eq(r.rc, 2);
	cr_assert_not_null(strstr(r.err, "the model has no input 'image' (its inputs: input)"), "%s", r.err);
	test_run_free(&r);
	run_pw(&r, a2);
	cr_assert_eq(r.rc, 2);
	cr_assert_not_null(strstr(r.err, "no --input given"), "%s", r.err);
	test_run_free(&r);
	run_pw(&r, a3);
	cr_assert_eq(r.rc, 2);
	cr_assert_not_null(strstr(r.err, "--model FILE is required"), "%s", r.err);
	test_run_free(&r);
	free(wrong);
	free(bare);
}

Test(infer_cli, missing_second_input)
{
	char *mpath = xasprintf("%s/test_add/model.onnx", NODE_TESTS), *x;
	const int64_t dims[] = { 3, 4, 5 };
	char *arg;
	struct test_run r;

	if (access(mpath, R_OK) != 0)
		cr_skip_test("%s is not installed", mpath);
	x = write_filled("x.npy", 3, dims, 1.0f);
	arg = xasprintf("x=%s", x);
	{
		const char *args[] = { "infer", "--model", mpath, "--input", arg, NULL };

		run_pw(&r, args);
	}
	cr_assert_eq(r.rc, 2);
	cr_assert_not_null(strstr(r.err, "model input 'y' is not given (--input y=FILE.npy)"), "%s", r.err);
	test_run_free(&r);
	free(arg);
	free(x);
	free(mpath);
}

Test(infer_cli, wrong_shape_and_type)
{
	const int64_t small[] = { 1, 3, 8, 8 };
	char *p = write_filled("small.npy", 4, small, 0.5f), *arg = xasprintf("input=%s", p);
	const char *args[] = { "infer", "--model", model, "--input", arg, NULL };
	int64_t ints[2] = { 1, 2 };
	infer_tensor it = { .dtype = INFER_DTYPE_INT64, .ndim = 1, .dims = { 2 }, .data = ints };
	char err[512], *ip = tmp_path("ints.npy"), *iarg = xasprintf("input=%s", ip);
	const char *args2[] = { "infer", "--model", model, "--input", iarg, NULL };
	struct test_run r;

	run_pw(&r, args);
	cr_assert_eq(r.rc, 4);
	cr_assert_not_null(strstr(r.err, "has shape (1, 3, 8, 8) but the model expects (?, 3, 224, 224)"),
	    "%s", r.err);
	cr_assert_not_null(strstr(r.err, p), "%s", r.err);
	test_run_free(&r);

	cr_assert(npy_write(ip, &it, err, sizeof err), "%s", err);
	run_pw(&r, args2);
	cr_assert_eq(r.rc, 4);
	cr_assert_not_null(strstr(r.err, "wants float32"), "%s", r.err);
	test_run_free(&r);
	free(p);
	free(arg);
	free(ip);
	free(iarg);
}

Test(infer_cli, hostile_npy_is_refused)
{
	char *p = tmp_path("hostile.npy"), *arg = xasprintf("input=%s", p);
	const char *args[] = { "infer", "--model", model, "--input", arg, NULL };
	/* A header claiming 1 x 3 x 224 x 224 floats, and 4 bytes of data. */
	static const char hdr[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), }";
	FILE *f = fopen(p, "wb");
	unsigned char pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, sizeof hdr - 1, 0 };
	struct test_run r;

	cr_assert_not_null(f);
	fwrite(pre, 1, sizeof pre, f);
	fwrite(hdr, 1, sizeof hdr - 1, f);
	fwrite("abcd", 1, 4, f);
	fclose(f);
	run_pw(&r, args);
	cr_assert_eq(r.rc, 4);
	cr_assert_not_null(strstr(r.err, "truncated: shape (1, 3, 224, 224) needs 602112 bytes of data, "
	    "the file has 4"), "%s", r.err);
	test_run_free(&r);
	free(p);
	free(arg);
}

Test(infer_cli, infer_bench_json)
{
	char *arg = xasprintf("input=%s", input);
	const char *args[] = { "infer", "--model", model, "--threads", "1", "--input", arg, "--bench", "3",
		"--warmup", "1", "--json", NULL };
	struct json_object *doc, *v;
	struct test_run r;

	run_pw(&r, args);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	doc = json_tokener_parse(r.out);
	cr_assert_not_null(doc, "not JSON: %s", r.out);
	cr_assert(json_object_object_get_ex(doc, "p50_ms", &v) && json_object_get_double(v) > 0);
	cr_assert(json_object_object_get_ex(doc, "p99_ms", &v) && json_object_get_double(v) > 0);
	cr_assert(json_object_object_get_ex(doc, "runs", &v) && json_object_get_int(v) == 3);
	cr_assert(json_object_object_get_ex(doc, "threads", &v) && json_object_get_int(v) == 1);
	cr_assert(json_object_object_get_ex(doc, "batch", &v) && json_object_get_int(v) == 1);
	cr_assert(json_object_object_get_ex(doc, "backend", &v) && strcmp(json_object_get_string(v), "cpu") == 0);
	/* No --output-dir with --bench: nothing is written. */
	cr_assert(json_object_object_get_ex(doc, "outputs", &v) && json_object_array_length(v) == 2);
	cr_assert_eq(json_object_get_type(json_object_object_get(json_object_array_get_idx(v, 0), "file")),
	    json_type_null);
	json_object_put(doc);
	test_run_free(&r);
	free(arg);
}

Test(infer_cli, bench_json_has_the_kpis)
{
	const char *args[] = { "bench", "--model", model, "--threads", "1", "--runs", "3", "--warmup", "1",
		"--watts", "100", "--kwh-price", "0.30", "--currency", "EUR", "--hardware-cost", "1000",
		"--lifetime-years", "2", "--json", NULL };
	struct json_object *doc, *v;
	double ips, energy, hardware, total;
	struct test_run r;

	run_pw(&r, args);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	doc = json_tokener_parse(r.out);
	cr_assert_not_null(doc, "not JSON: %s", r.out);
	cr_assert(json_object_object_get_ex(doc, "p50_ms", &v) && json_object_get_double(v) > 0);
	cr_assert(json_object_object_get_ex(doc, "p99_ms", &v));
	cr_assert(json_object_object_get_ex(doc, "throughput_ips", &v));
	ips = json_object_get_double(v);
	cr_assert_gt(ips, 0);
	cr_assert(json_object_object_get_ex(doc, "currency", &v) && strcmp(json_object_get_string(v), "EUR") == 0);
	cr_assert(json_object_object_get_ex(doc, "energy_cost_per_1000", &v));
	energy = json_object_get_double(v);
	cr_assert(json_object_object_get_ex(doc, "hardware_cost_per_1000", &v));
	hardware = json_object_get_double(v);
	cr_assert(json_object_object_get_ex(doc, "cost_per_1000", &v));
	total = json_object_get_double(v);
	/* Six fixed decimals in the text, as written (no binary-float noise). */
	{
		const char *p = strstr(r.out, "\"cost_per_1000\": 0.");

		cr_assert_not_null(p, "%s", r.out);
		p += strlen("\"cost_per_1000\": 0.");
		cr_assert_eq(strspn(p, "0123456789"), 6, "%s", r.out);
	}
	/* The documented formula, within the rounding to 6 decimals. */
	cr_assert_lt(fabs(energy - 1000.0 / ips * 100 / 3.6e6 * 0.30), 1e-6);
	cr_assert_lt(fabs(hardware - 1000.0 / ips * 1000 / (2 * 365.25 * 86400)), 1e-6);
	cr_assert_lt(fabs(total - (energy + hardware)), 1.5e-6);
	json_object_put(doc);
	test_run_free(&r);
}

Test(infer_cli, bench_usage_errors)
{
	const char *a1[] = { "bench", "--kwh-price", "0x10", NULL };
	const char *a2[] = { "bench", "--lifetime-years", "0", NULL };
	const char *a3[] = { "bench", "--model", model, "--batch", "0", NULL };
	struct test_run r;

	run_pw(&r, a1);
	cr_assert_eq(r.rc, 2);
	cr_assert_not_null(strstr(r.err, "--kwh-price '0x10' is not a decimal"), "%s", r.err);
	test_run_free(&r);
	run_pw(&r, a2);
	cr_assert_eq(r.rc, 2);
	test_run_free(&r);
	run_pw(&r, a3);
	cr_assert_eq(r.rc, 2);
	cr_assert_not_null(strstr(r.err, "--batch '0' is not 1..4096"), "%s", r.err);
	test_run_free(&r);
}

Test(infer_cli, embed_json_is_normalised)
{
	infer_tensor in, want;
	char err[512], *chw = tmp_path("chw.npy");
	const char *args[] = { "embed", "--model", model, "--json", input, chw, NULL };
	struct json_object *doc, *item, *emb, *v;
	float got[1280];
	double norm = 0;
	struct test_run r;

	/* The same image without its batch dimension: embed adds it. */
	load(input, &in);
	in.ndim = 3;
	memmove(in.dims, in.dims + 1, 3 * sizeof(in.dims[0]));
	cr_assert(npy_write(chw, &in, err, sizeof err), "%s", err);
	infer_tensor_release(&in);

	run_pw(&r, args);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	doc = json_tokener_parse(r.out);
	cr_assert_not_null(doc, "not JSON: %s", r.out);
	cr_assert_eq(json_object_array_length(doc), 2);
	load(features, &want);
	for (size_t k = 0; k < 2; k++) {
		item = json_object_array_get_idx(doc, k);
		cr_assert(json_object_object_get_ex(item, "file", &v));
		cr_assert_str_eq(json_object_get_string(v), k == 0 ? input : chw);
		cr_assert(json_object_object_get_ex(item, "embedding", &emb));
		cr_assert_eq(json_object_array_length(emb), 1280);
		norm = 0;
		for (size_t i = 0; i < 1280; i++) {
			got[i] = (float)json_object_get_double(json_object_array_get_idx(emb, i));
			norm += (double)got[i] * got[i];
		}
		cr_assert_lt(fabs(sqrt(norm) - 1.0), 1e-5);
		cr_assert_geq(cosine(got, want.data, 1280), 0.9999);
	}
	infer_tensor_release(&want);
	json_object_put(doc);
	test_run_free(&r);
	free(chw);
}

/* Reads the embeddings of a JSON embed output into vecs[k] (at most 4 of at most 128 values); returns the width. */
static size_t
embeddings(const char *json, size_t n, float vecs[][128])
{
	struct json_object *doc = json_tokener_parse(json), *item, *emb;
	size_t width = 0;

	cr_assert_not_null(doc, "not JSON: %s", json);
	cr_assert_eq(json_object_array_length(doc), n);
	for (size_t k = 0; k < n; k++) {
		item = json_object_array_get_idx(doc, k);
		cr_assert(json_object_object_get_ex(item, "embedding", &emb));
		width = json_object_array_length(emb);
		cr_assert_leq(width, 128);
		for (size_t i = 0; i < width; i++)
			vecs[k][i] = (float)json_object_get_double(json_object_array_get_idx(emb, i));
	}
	json_object_put(doc);
	return width;
}

/*
 * Images go through the matcher's preprocessing: the nsfwjs model's learned
 * signal is block10 (96 values), L2-normalised; EXIF orientation is applied
 * (a copy stored rotated with orientation 6 embeds like the original), and
 * another photo embeds differently. A file that is not an image is refused.
 */
Test(infer_cli, embed_reads_images_as_the_matcher_does)
{
	const char *top = getenv("PW_TOP_SRCDIR");
	char *cat = xasprintf("%s/tests/unit/images/chelsea.jpg", top);
	char *cat6 = xasprintf("%s/tests/unit/images/chelsea-exif6.jpg", top);
	char *cup = xasprintf("%s/tests/unit/images/coffee.jpg", top);
	char *fake = tmp_path("photo.jpg");
	const char *args[] = { "embed", "--model", model, "--json", cat, cat6, cup, NULL };
	const char *bad[] = { "embed", "--model", model, fake, NULL };
	const char *help[] = { "embed", "--help", NULL };
	float v[3][128];
	double norm = 0;
	size_t width;
	struct test_run r;
	FILE *f;

	run_pw(&r, args);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	width = embeddings(r.out, 3, v);
	cr_assert_eq(width, 96);
	for (size_t i = 0; i < width; i++)
		norm += (double)v[0][i] * v[0][i];
	cr_assert_lt(fabs(sqrt(norm) - 1.0), 1e-5);
	cr_assert_geq(cosine(v[0], v[1], 96), 0.99, "EXIF-rotated copy: %f", cosine(v[0], v[1], 96));
	cr_assert_lt(cosine(v[0], v[2], 96), 0.95, "cat vs cup: %f", cosine(v[0], v[2], 96));
	test_run_free(&r);

	f = fopen(fake, "wb");
	cr_assert_not_null(f);
	fputs("\xff\xd8\xff\xe0 not really a jpeg", f);
	fclose(f);
	run_pw(&r, bad);
	cr_assert_eq(r.rc, 4);
	cr_assert_not_null(strstr(r.err, "photo.jpg"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "1 of 1 input refused"), "%s", r.err);
	test_run_free(&r);
	run_pw(&r, help);
	cr_assert_eq(r.rc, 0);
	cr_assert_not_null(strstr(r.out, "IMAGE (JPEG, PNG or WebP) goes through the matcher's own preprocessing"),
	    "%s", r.out);
	test_run_free(&r);
	free(cat);
	free(cat6);
	free(cup);
	free(fake);
}

Test(infer_cli, reference_backend_plugin)
{
	const char *top = getenv("PW_TOP_BUILDDIR");
	char *plugdir = xasprintf("%s/src/infer", top != NULL ? top : "."), *so, *dir = tmp_path("ref");
	char *arg = xasprintf("input=%s", input), *f = tmp_path("ref/features.npy");
	const char *args[] = { "infer", "--model", model, "--backend", "reference,cpu", "--input", arg, "-o", dir, NULL };
	infer_tensor got, want;
	struct test_run r;

	so = xasprintf("%s/pw-backend-reference.so", plugdir);
	if (access(so, R_OK) != 0)
		cr_skip_test("%s is not built", so);
	setenv("PW_BACKEND_DIR", plugdir, 1);
	run_pw(&r, args);
	unsetenv("PW_BACKEND_DIR");
	cr_assert_eq(r.rc, 0, "rc %d: %s", r.rc, r.err);
	load(f, &got);
	load(features, &want);
	cr_assert_geq(cosine(got.data, want.data, 1280), 0.9999);
	infer_tensor_release(&got);
	infer_tensor_release(&want);
	test_run_free(&r);
	free(plugdir);
	free(so);
	free(dir);
	free(arg);
	free(f);
}

Test(infer_cli, bench_text_names_the_costs)
{
	const char *args[] = { "bench", "--model", model, "--threads", "1", "--runs", "2", "--warmup", "0",
		"--currency", "JPY", NULL };
	struct test_run r;

	run_pw(&r, args);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert_not_null(strstr(r.out, "latency     p50 "), "%s", r.out);
	cr_assert_not_null(strstr(r.out, " JPY per 1,000 inferences: energy 0."), "%s", r.out);
	cr_assert_not_null(strstr(r.out, "at 0.1500 JPY/kWh, hardware 0.000000 (0.00 JPY over 3.00 years)"),
	    "%s", r.out);
	cr_assert_not_null(strstr(r.out, "1 thread, batch 1, 2 runs after 0 warm-up"), "%s", r.out);
	test_run_free(&r);
}
