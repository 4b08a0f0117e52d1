/* test-backend-gpu.c: a GPU backend plugin (PW_TEST_BACKEND: "opencl" or "cuda") against the reference C kernels, op by op on random odd shapes, and on the bundled model end to end. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

#ifndef PW_TEST_BACKEND
#define PW_TEST_BACKEND "opencl"
#endif

#define MAX_VALUES 8
#define MAX_ATTRS 12

/* One single-node graph: values 0..n_values-1 (inputs, constants), the output is the last value. */
struct one {
	infer_tensor vals[MAX_VALUES];
	const infer_tensor *konst[MAX_VALUES];
	int n_values;
	int32_t ins[MAX_VALUES];
	int n_ins;
	pw_attr attrs[MAX_ATTRS];
	int64_t ints[MAX_ATTRS][8];
	int n_attrs;
	uint32_t seed;
};

static struct infer_backend gpu;

/* Under LeakSanitizer: Criterion keeps a few strings of each test (its skip messages, its fixtures' names)
 * to the end, and the OpenCL ICD loader its vendor list; neither is ours to free. Full stack unwinding lets the
 * suppressions see the library frames of allocations made without frame pointers. */
const char *__lsan_default_suppressions(void);
const char *__asan_default_options(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:libcriterion.so\nleak:libOpenCL.so\nleak:libpocl.so\n";
}

const char *
__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

static void
plugin_dir(char *buf, size_t len)
{
	const char *top = getenv("PW_TOP_BUILDDIR");

	cr_assert_lt(snprintf(buf, len, "%s/src/backends/%s", top != NULL ? top : ".", PW_TEST_BACKEND), (int)len);
}

/* Opens the backend under test; skips (with the reason) only when the machine has no such device. */
static void
open_gpu(void)
{
	char dir[1024];
	infer_error err;

	setenv("PW_CPU", "reference", 1);
	plugin_dir(dir, sizeof(dir));
	if (infer_backend_open(PW_TEST_BACKEND, strlen(PW_TEST_BACKEND), dir, &gpu, &err) < 0) {
		if (strstr(err.msg, "no OpenCL platform") != NULL || strstr(err.msg, "no CUDA device") != NULL)
			cr_skip_test("%s backend: %s", PW_TEST_BACKEND, err.msg);
		cr_assert_fail("%s backend did not open: %s", PW_TEST_BACKEND, err.msg);
	}
}

static void
close_gpu(void)
{
	infer_backend_close(&gpu);
}

TestSuite(gpu, .init = open_gpu, .fini = close_gpu, .timeout = 120);

static float
rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return (float)(*s >> 8) / 8388608.0f - 1.0f;
}

static int
irand(struct one *o, int lo, int hi)
{
	o->seed = o->seed * 1103515245u + 12345u;
	return lo + (int)((o->seed >> 8) % (uint32_t)(hi - lo + 1));
}

/* Adds a random float tensor (a constant when konst); returns its value id. */
static int
add_tensor(struct one *o, int ndim, const int64_t *dims, int konst)
{
	infer_tensor *t = &o->vals[o->n_values];
	infer_error err;
	int64_t n;

	cr_assert_lt(o->n_values, MAX_VALUES - 1);
	cr_assert_eq(infer_tensor_alloc(t, INFER_DTYPE_FLOAT, ndim, dims, &err), 0, "%s", err.msg);
	n = infer_tensor_numel(t);
	for (int64_t i = 0; i < n; i++)
		((float *)t->data)[i] = rnd(&o->seed);
	if (konst)
		o->konst[o->n_values] = t;
	o->ins[o->n_ins++] = o->n_values;
	return o->n_values++;
}

static void
add_i64(struct one *o, int64_t n, const int64_t *v)
{
	infer_tensor *t = &o->vals[o->n_values];
	infer_error err;

	cr_assert_eq(infer_tensor_alloc(t, INFER_DTYPE_INT64, 1, &n, &err), 0, "%s", err.msg);
	memcpy(t->data, v, (size_t)n * sizeof(int64_t));
	o->konst[o->n_values] = t;
	o->ins[o->n_ins++] = o->n_values++;
}

static void
attr_int(struct one *o, const char *name, int64_t v)
{
	o->attrs[o->n_attrs++] = (pw_attr){ .name = name, .type = PW_ATTR_INT, .i = v };
}

static void
attr_float(struct one *o, const char *name, float v)
{
	o->attrs[o->n_attrs++] = (pw_attr){ .name = name, .type = PW_ATTR_FLOAT, .f = v };
}

static void
attr_str(struct one *o, const char *name, const char *v)
{
	o->attrs[o->n_attrs++] = (pw_attr){ .name = name, .type = PW_ATTR_STRING, .s = v };
}

static void
attr_ints(struct one *o, const char *name, int n, const int64_t *v)
{
	memcpy(o->ints[o->n_attrs], v, (size_t)n * sizeof(*v));
	o->attrs[o->n_attrs] = (pw_attr){ .name = name, .type = PW_ATTR_INTS, .ints = o->ints[o->n_attrs], .n = (size_t)n };
	o->n_attrs++;
}

static int
test_alloc(pw_exec_env *env, int v, infer_dtype dt, int ndim, const int64_t *dims, infer_error *err)
{
	return infer_tensor_alloc(&env->values[v], dt, ndim, dims, err);
}

/* Runs the node on backend ops/ctx; *out receives the result (caller releases). */
static void
run_on(struct one *o, const char *op, const pw_backend_ops *ops, void *ctx, infer_tensor *out)
{
	int32_t outv = o->n_values;
	pw_node n = { .name = "n", .op_type = op, .opset = 13, .n_inputs = o->n_ins, .inputs = o->ins, .n_outputs = 1,
		.outputs = &outv, .n_attrs = o->n_attrs, .attrs = o->attrs };
	pw_subgraph sg = { .nodes = &n, .n_nodes = 1, .constants = o->konst, .n_values = o->n_values + 1, .threads = 1 };
	infer_tensor values[MAX_VALUES + 1];
	pw_exec_env env = { .values = values, .n_values = o->n_values + 1, .alloc_output = test_alloc };
	infer_error err;
	void *compiled = NULL;

	memset(values, 0, sizeof(values));
	memcpy(values, o->vals, (size_t)o->n_values * sizeof(values[0]));
	cr_assert(ops->supports(ctx, &n), "%s: %s refuses the node", ops->name, op);
	cr_assert_eq(ops->compile(ctx, &sg, &compiled, &err), 0, "%s: %s", ops->name, err.msg);
	cr_assert_eq(ops->execute(ctx, compiled, &env, &err), 0, "%s: %s", ops->name, err.msg);
	if (ops->synchronize != NULL)
		cr_assert_eq(ops->synchronize(ctx), 0);
	ops->release(ctx, compiled);
	*out = values[outv];
}

/* Runs the node on the reference kernels and on the GPU backend; the results must agree. */
static void
check(struct one *o, const char *op, const char *what)
{
	infer_tensor want, got;
	int64_t n;
	double scale = 1.0;

	run_on(o, op, infer_cpu_backend(), NULL, &want);
	run_on(o, op, gpu.ops, gpu.ctx, &got);
	cr_assert_eq(got.ndim, want.ndim, "%s: rank %d, want %d", what, got.ndim, want.ndim);
	for (int i = 0; i < want.ndim; i++)
		cr_assert_eq(got.dims[i], want.dims[i], "%s: dim %d is %lld, want %lld", what, i, (long long)got.dims[i],
		    (long long)want.dims[i]);
	n = infer_tensor_numel(&want);
	for (int64_t i = 0; i < n; i++)
		scale = fmax(scale, fabs(((float *)want.data)[i]));
	for (int64_t i = 0; i < n; i++) {
		float g = ((float *)got.data)[i], w = ((float *)want.data)[i];
		cr_assert(fabs(g - w) <= 1e-4 * scale, "%s: element %lld is %.7g, want %.7g", what, (long long)i, g, w);
	}
	infer_tensor_release(&want);
	infer_tensor_release(&got);
	for (int v = 0; v < o->n_values; v++)
		infer_tensor_release(&o->vals[v]);
	memset(o->konst, 0, sizeof(o->konst));
	o->n_values = o->n_ins = o->n_attrs = 0;
}

static void
fuse_random(struct one *o)
{
	static const char *const acts[] = { NULL, "Relu", "Clip", "HardSwish" };
	const char *a = acts[irand(o, 0, 3)];

	if (a == NULL)
		return;
	attr_str(o, "pw.activation", a);
	if (strcmp(a, "Clip") == 0) {
		attr_float(o, "pw.clip_min", 0.0f);
		attr_float(o, "pw.clip_max", 0.5f);
	}
}

Test(gpu, conv_random_shapes)
{
	struct one o = { .seed = 7 };

	for (int trial = 0; trial < 24; trial++) {
		int64_t k = (int64_t[]){ 1, 3, 5 }[irand(&o, 0, 2)], s = irand(&o, 1, 2), d = irand(&o, 1, 2);
		int64_t N = irand(&o, 1, 2), C = irand(&o, 1, 7), H = irand(&o, (int)((k - 1) * d + 1), 19);
		int64_t W = irand(&o, (int)((k - 1) * d + 1), 19);
		int64_t G = trial % 3 == 0 ? C : 1, M = G == C ? C * irand(&o, 1, 2) : irand(&o, 1, 9);
		int64_t p[4] = { irand(&o, 0, 2), irand(&o, 0, 2), irand(&o, 0, 2), irand(&o, 0, 2) };
		char what[128];

		add_tensor(&o, 4, (int64_t[]){ N, C, H, W }, 0);
		add_tensor(&o, 4, (int64_t[]){ M, C / G, k, k }, 1);
		if (trial % 2 == 0)
			add_tensor(&o, 1, (int64_t[]){ M }, 1);
		attr_int(&o, "group", G);
		attr_ints(&o, "strides", 2, (int64_t[]){ s, s });
		attr_ints(&o, "dilations", 2, (int64_t[]){ d, d });
		attr_ints(&o, "pads", 4, p);
		fuse_random(&o);
		snprintf(what, sizeof(what), "conv N%lld C%lld %lldx%lld M%lld k%lld s%lld d%lld g%lld", (long long)N,
		    (long long)C, (long long)H, (long long)W, (long long)M, (long long)k, (long long)s, (long long)d,
		    (long long)G);
		check(&o, "Conv", what);
	}
}

/* 1x1 convolutions take the tiled GEMM path: sizes that are not multiples of the 16x16 tile. */
Test(gpu, conv_1x1_gemm_path)
{
	struct one o = { .seed = 11 };
	static const int64_t shapes[][4] = { { 1, 17, 7, 7 }, { 2, 33, 5, 9 }, { 1, 3, 1, 1 }, { 3, 40, 14, 13 } };

	for (int i = 0; i < 4; i++) {
		add_tensor(&o, 4, shapes[i], 0);
		add_tensor(&o, 4, (int64_t[]){ 5 + 11 * i, shapes[i][1], 1, 1 }, 1);
		add_tensor(&o, 1, (int64_t[]){ 5 + 11 * i }, 1);
		fuse_random(&o);
		check(&o, "Conv", "1x1 conv");
	}
}

/* The model's stride-2 depthwise layers: pads bottom/right only, Relu6 fused. */
Test(gpu, conv_depthwise_asymmetric_pad)
{
	struct one o = { .seed = 13 };

	add_tensor(&o, 4, (int64_t[]){ 1, 19, 15, 15 }, 0);
	add_tensor(&o, 4, (int64_t[]){ 19, 1, 3, 3 }, 1);
	add_tensor(&o, 1, (int64_t[]){ 19 }, 1);
	attr_int(&o, "group", 19);
	attr_ints(&o, "strides", 2, (int64_t[]){ 2, 2 });
	attr_ints(&o, "pads", 4, (int64_t[]){ 0, 0, 1, 1 });
	attr_str(&o, "pw.activation", "Clip");
	attr_float(&o, "pw.clip_min", 0.0f);
	attr_float(&o, "pw.clip_max", 6.0f);
	check(&o, "Conv", "depthwise 3x3 s2");
}

Test(gpu, gemm_transposes_and_bias_broadcast)
{
	struct one o = { .seed = 17 };

	for (int trial = 0; trial < 12; trial++) {
		int64_t M = irand(&o, 1, 37), N = irand(&o, 1, 41), K = irand(&o, 1, 35);
		int ta = trial & 1, tb = (trial >> 1) & 1, cshape = trial % 4;

		add_tensor(&o, 2, ta ? (int64_t[]){ K, M } : (int64_t[]){ M, K }, 0);
		add_tensor(&o, 2, tb ? (int64_t[]){ N, K } : (int64_t[]){ K, N }, 1);
		if (cshape == 1)
			add_tensor(&o, 1, (int64_t[]){ N }, 1);
		else if (cshape == 2)
			add_tensor(&o, 2, (int64_t[]){ M, 1 }, 1);
		else if (cshape == 3)
			add_tensor(&o, 2, (int64_t[]){ M, N }, 0);
		attr_int(&o, "transA", ta);
		attr_int(&o, "transB", tb);
		attr_float(&o, "alpha", 0.75f);
		attr_float(&o, "beta", 1.5f);
		fuse_random(&o);
		check(&o, "Gemm", "gemm");
	}
}

Test(gpu, matmul_batched)
{
	struct one o = { .seed = 19 };

	add_tensor(&o, 2, (int64_t[]){ 9, 23 }, 0);
	add_tensor(&o, 2, (int64_t[]){ 23, 17 }, 1);
	check(&o, "MatMul", "matmul 2-D");
	add_tensor(&o, 3, (int64_t[]){ 3, 5, 19 }, 0);
	add_tensor(&o, 2, (int64_t[]){ 19, 21 }, 1);
	check(&o, "MatMul", "matmul batch x shared weights");
	add_tensor(&o, 4, (int64_t[]){ 2, 3, 7, 18 }, 0);
	add_tensor(&o, 4, (int64_t[]){ 2, 3, 18, 5 }, 0);
	check(&o, "MatMul", "matmul batch x batch");
}

Test(gpu, binary_broadcasting)
{
	static const char *const ops[] = { "Add", "Sub", "Mul", "Div" };
	static const int64_t a[][4] = { { 2, 7, 5, 3 }, { 1, 13, 9, 9 }, { 3, 1, 4, 1 }, { 5, 7, 1, 1 } };
	static const int64_t b[][4] = { { 2, 7, 5, 3 }, { 1, 13, 1, 1 }, { 1, 6, 1, 5 }, { 1, 1, 1, 1 } };
	struct one o = { .seed = 23 };

	for (int op = 0; op < 4; op++)
		for (int i = 0; i < 4; i++) {
			add_tensor(&o, 4, a[i], 0);
			add_tensor(&o, 4 - (i == 3) * 2, b[i] + (i == 3) * 2, i % 2);
			if (op == 3) /* keep divisors away from zero */
				for (int64_t k = 0; k < infer_tensor_numel(&o.vals[1]); k++)
					((float *)o.vals[1].data)[k] = 0.5f + fabsf(((float *)o.vals[1].data)[k]);
			check(&o, ops[op], ops[op]);
		}
}

Test(gpu, activations)
{
	static const char *const ops[] = { "Relu", "Sigmoid", "HardSigmoid", "HardSwish", "Clip" };
	struct one o = { .seed = 29 };

	for (int i = 0; i < 5; i++) {
		add_tensor(&o, 3, (int64_t[]){ 3, 11, 13 }, 0);
		for (int64_t k = 0; k < infer_tensor_numel(&o.vals[0]); k++)
			((float *)o.vals[0].data)[k] *= 5.0f;
		if (i == 2) {
			attr_float(&o, "alpha", 0.3f);
			attr_float(&o, "beta", 0.4f);
		}
		if (i == 4) {
			float *lo, *hi;
			add_tensor(&o, 0, (int64_t[]){ 1 }, 1);
			add_tensor(&o, 0, (int64_t[]){ 1 }, 1);
			lo = o.vals[1].data;
			hi = o.vals[2].data;
			*lo = -1.5f;
			*hi = 2.25f;
		}
		check(&o, ops[i], ops[i]);
	}
}

Test(gpu, pooling)
{
	struct one o = { .seed = 31 };

	for (int trial = 0; trial < 16; trial++) {
		int64_t k = irand(&o, 1, 4), s = irand(&o, 1, 3), p = irand(&o, 0, k - 1);
		const char *op = trial % 2 ? "MaxPool" : "AveragePool";

		add_tensor(&o, 4, (int64_t[]){ irand(&o, 1, 2), irand(&o, 1, 5), irand(&o, k + 1, 17), irand(&o, k + 1, 17) },
		    0);
		attr_ints(&o, "kernel_shape", 2, (int64_t[]){ k, k });
		attr_ints(&o, "strides", 2, (int64_t[]){ s, s });
		attr_ints(&o, "pads", 4, (int64_t[]){ p, p, p, p });
		attr_int(&o, "ceil_mode", trial % 4 >= 2);
		attr_int(&o, "count_include_pad", trial % 8 >= 4);
		check(&o, op, op);
	}
}

Test(gpu, global_average_pool)
{
	struct one o = { .seed = 37 };

	add_tensor(&o, 4, (int64_t[]){ 3, 17, 7, 9 }, 0);
	check(&o, "GlobalAveragePool", "gap");
	add_tensor(&o, 3, (int64_t[]){ 2, 5, 33 }, 0);
	check(&o, "GlobalAveragePool", "gap 1-D");
}

Test(gpu, concat_flatten_reshape)
{
	struct one o = { .seed = 41 };

	for (int axis = -1; axis < 3; axis++) {
		int64_t d0[3] = { 2, 3, 5 }, d1[3] = { 2, 3, 5 }, a = axis < 0 ? 2 : axis;
		d1[a] = 7;
		add_tensor(&o, 3, d0, 0);
		add_tensor(&o, 3, d1, 1);
		add_tensor(&o, 3, d0, 0);
		attr_int(&o, "axis", axis);
		check(&o, "Concat", "concat");
	}
	add_tensor(&o, 4, (int64_t[]){ 2, 3, 5, 7 }, 0);
	attr_int(&o, "axis", 2);
	check(&o, "Flatten", "flatten");
	add_tensor(&o, 4, (int64_t[]){ 2, 3, 5, 7 }, 0);
	add_i64(&o, 3, (int64_t[]){ 0, -1, 7 });
	check(&o, "Reshape", "reshape");
}

/* The bundled MobileNetV2 on the backend under test against the CPU backend, at batch 1 and 2. */
static void
model_outputs(infer_model *m, const char *backend, int batch, infer_tensor out[2], infer_session **keep)
{
	char dir[1024];
	infer_session_opts so = { .threads = 2, .backend = backend };
	infer_tensor in = { .dtype = INFER_DTYPE_FLOAT, .ndim = 4, .dims = { batch, 3, 224, 224 } };
	uint32_t seed = 12345;
	infer_error err;
	infer_session *s;
	int64_t n = infer_tensor_numel(&in);

	plugin_dir(dir, sizeof(dir));
	so.plugin_dir = dir;
	in.data = malloc((size_t)n * sizeof(float));
	cr_assert_not_null(in.data);
	for (int64_t i = 0; i < n; i++)
		((float *)in.data)[i] = (rnd(&seed) + 1.0f) / 2.0f;
	s = infer_session_create(m, &so, &err);
	cr_assert_not_null(s, "%s: %s", backend, err.msg);
	cr_assert_eq(infer_run(s, &in, 1, out, 2, &err), 0, "%s: %s", backend, err.msg);
	free(in.data);
	if (keep != NULL)
		*keep = s;
	else
		infer_session_free(s);
}

static double
cosine(const infer_tensor *a, const infer_tensor *b)
{
	int64_t n = infer_tensor_numel(a);
	double dot = 0, aa = 0, bb = 0;

	cr_assert_eq(n, infer_tensor_numel(b));
	for (int64_t i = 0; i < n; i++) {
		double x = ((float *)a->data)[i], y = ((float *)b->data)[i];
		dot += x * y;
		aa += x * x;
		bb += y * y;
	}
	return dot / (sqrt(aa) * sqrt(bb) + 1e-30);
}

/* The bundled model (the caller frees it). */
static infer_model *
load_model(void)
{
	char path[1024];
	const char *top = getenv("PW_TOP_SRCDIR");
	infer_error err;
	infer_model *m;

	snprintf(path, sizeof(path), "%s/data/models/mobilenetv2-nsfwjs.onnx", top != NULL ? top : "..");
	m = infer_model_load(path, &err);
	cr_assert_not_null(m, "%s", err.msg);
	return m;
}

Test(gpu, model_end_to_end_matches_cpu, .timeout = 300)
{
	infer_model *m = load_model();
	infer_session *s;
	for (int batch = 1; batch <= 2; batch++) {
		infer_tensor want[2], got[2];
		model_outputs(m, "cpu", batch, want, NULL);
		model_outputs(m, PW_TEST_BACKEND, batch, got, &s);
		/* Every node runs on the device: one subgraph, copies only at its edges. */
		cr_assert_eq(infer_session_subgraph_count(s), 1);
		for (size_t i = 0; i < infer_session_node_count(s); i++)
			cr_assert_str_eq(infer_session_node_backend(s, i), PW_TEST_BACKEND);
		infer_session_free(s);
		for (int k = 0; k < 2; k++) {
			double c = cosine(&got[k], &want[k]);
			cr_assert_geq(c, 0.9999, "batch %d output %d: cosine %.7f", batch, k, c);
			infer_tensor_release(&want[k]);
			infer_tensor_release(&got[k]);
		}
	}
	infer_model_free(m);
}

/* A device lost in the middle of the model: the run still returns the CPU's outputs, and the backend is
 * dropped for the rest of the session. */
Test(gpu, device_loss_falls_back_to_cpu, .timeout = 300)
{
	infer_tensor want[2], got[2];
	infer_model *m = load_model();
	infer_session *s;

	model_outputs(m, "cpu", 1, want, NULL);
	close_gpu();
	setenv("PW_GPU_FAIL_AFTER", "20", 1);
	model_outputs(m, PW_TEST_BACKEND, 1, got, &s);
	for (size_t i = 0; i < infer_session_node_count(s); i++)
		cr_assert_str_eq(infer_session_node_backend(s, i), "cpu");
	infer_session_free(s);
	for (int k = 0; k < 2; k++) {
		cr_assert_geq(cosine(&got[k], &want[k]), 0.99999);
		infer_tensor_release(&want[k]);
		infer_tensor_release(&got[k]);
	}
	infer_model_free(m);
	unsetenv("PW_GPU_FAIL_AFTER");
}
