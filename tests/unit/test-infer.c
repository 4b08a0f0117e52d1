/* test-infer.c: unit tests of the inference core: loader limits and errors, graph passes, arena, batch, backend ABI. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "internal.h"
#include "pricewatch/infer.h"

/* ---- a tiny ONNX model builder on protobuf-c, so each test states its graph in C ---- */

static void *allocs[4096];
static int n_allocs;

/* Every builder allocation is tracked and freed after the test (LeakSanitizer runs these tests). */
static void *
track(void *p)
{
	cr_assert_not_null(p);
	cr_assert_lt(n_allocs, 4096);
	allocs[n_allocs++] = p;
	return p;
}

static void
free_tracked(void)
{
	while (n_allocs > 0)
		free(allocs[--n_allocs]);
}

struct mb {
	Onnx__ModelProto model;
	Onnx__GraphProto graph;
	Onnx__OperatorSetIdProto opset, *opsets[1];
	Onnx__NodeProto *nodes[64];
	Onnx__TensorProto *inits[64];
	Onnx__ValueInfoProto *inputs[8], *outputs[8];
};

static void
mb_init(struct mb *b, int opset)
{
	memset(b, 0, sizeof(*b));
	onnx__model_proto__init(&b->model);
	onnx__graph_proto__init(&b->graph);
	onnx__operator_set_id_proto__init(&b->opset);
	b->opset.domain = "";
	b->opset.has_version = 1;
	b->opset.version = opset;
	b->opsets[0] = &b->opset;
	b->model.has_ir_version = 1;
	b->model.ir_version = 8;
	b->model.n_opset_import = 1;
	b->model.opset_import = b->opsets;
	b->model.graph = &b->graph;
	b->graph.name = "test";
	b->graph.node = b->nodes;
	b->graph.initializer = b->inits;
	b->graph.input = b->inputs;
	b->graph.output = b->outputs;
}

static Onnx__ValueInfoProto *
mk_vi(const char *name, int elem, int nd, const int64_t *dims)
{
	Onnx__ValueInfoProto *vi = track(calloc(1, sizeof(*vi)));
	Onnx__TypeProto *tp = track(calloc(1, sizeof(*tp)));
	Onnx__TypeProto__Tensor *tt = track(calloc(1, sizeof(*tt)));
	Onnx__TensorShapeProto *sh = track(calloc(1, sizeof(*sh)));
	Onnx__TensorShapeProto__Dimension **dv = track(calloc((size_t)nd + 1, sizeof(*dv)));

	onnx__value_info_proto__init(vi);
	onnx__type_proto__init(tp);
	onnx__type_proto__tensor__init(tt);
	onnx__tensor_shape_proto__init(sh);
	for (int i = 0; i < nd; i++) {
		dv[i] = track(calloc(1, sizeof(**dv)));
		onnx__tensor_shape_proto__dimension__init(dv[i]);
		if (dims[i] >= 0) {
			dv[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
			dv[i]->dim_value = dims[i];
		} else {
			dv[i]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
			dv[i]->dim_param = "N";
		}
	}
	sh->n_dim = (size_t)nd;
	sh->dim = dv;
	tt->has_elem_type = 1;
	tt->elem_type = elem;
	tt->shape = sh;
	tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
	tp->tensor_type = tt;
	vi->name = (char *)name;
	vi->type = tp;
	return vi;
}

static void
mb_input(struct mb *b, const char *name, int nd, const int64_t *dims)
{
	b->inputs[b->graph.n_input++] = mk_vi(name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, nd, dims);
}

static void
mb_output(struct mb *b, const char *name)
{
	b->outputs[b->graph.n_output++] = mk_vi(name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, 0, NULL);
}

/* A float initializer filled with a deterministic pattern (or data when given). */
static Onnx__TensorProto *
mb_init_f(struct mb *b, const char *name, int nd, const int64_t *dims, const float *data, float scale)
{
	Onnx__TensorProto *t = track(calloc(1, sizeof(*t)));
	int64_t n = 1;
	float *v;

	onnx__tensor_proto__init(t);
	for (int i = 0; i < nd; i++)
		n *= dims[i];
	v = track(calloc((size_t)n + 1, sizeof(float)));
	for (int64_t i = 0; i < n; i++)
		v[i] = data != NULL ? data[i] : scale * (float)(((i * 7919) % 23) - 11) / 11.0f;
	t->name = (char *)name;
	t->has_data_type = 1;
	t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
	t->n_dims = (size_t)nd;
	t->dims = track(calloc((size_t)nd + 1, sizeof(int64_t)));
	memcpy(t->dims, dims, (size_t)nd * sizeof(int64_t));
	t->n_float_data = (size_t)n;
	t->float_data = v;
	b->inits[b->graph.n_initializer++] = t;
	return t;
}

static Onnx__NodeProto *
mb_node(struct mb *b, const char *op, const char *name, const char *in0, const char *in1, const char *in2,
    const char *out)
{
	Onnx__NodeProto *n = track(calloc(1, sizeof(*n)));
	char **ins = track(calloc(3, sizeof(char *)));
	char **outs = track(calloc(1, sizeof(char *)));

	onnx__node_proto__init(n);
	n->op_type = (char *)op;
	n->name = (char *)name;
	if (in0 != NULL)
		ins[n->n_input++] = (char *)in0;
	if (in1 != NULL)
		ins[n->n_input++] = (char *)in1;
	if (in2 != NULL)
		ins[n->n_input++] = (char *)in2;
	n->input = ins;
	outs[0] = (char *)out;
	n->n_output = 1;
	n->output = outs;
	n->attribute = track(calloc(8, sizeof(*n->attribute)));
	b->nodes[b->graph.n_node++] = n;
	return n;
}

static Onnx__AttributeProto *
add_attr(Onnx__NodeProto *n, const char *name, Onnx__AttributeProto__AttributeType type)
{
	Onnx__AttributeProto *a = track(calloc(1, sizeof(*a)));

	onnx__attribute_proto__init(a);
	a->name = (char *)name;
	a->has_type = 1;
	a->type = type;
	n->attribute[n->n_attribute++] = a;
	return a;
}

static void
attr_int(Onnx__NodeProto *n, const char *name, int64_t v)
{
	Onnx__AttributeProto *a = add_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);

	a->has_i = 1;
	a->i = v;
}

static void
attr_ints(Onnx__NodeProto *n, const char *name, int cnt, const int64_t *v)
{
	Onnx__AttributeProto *a = add_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);

	a->n_ints = (size_t)cnt;
	a->ints = track(calloc((size_t)cnt + 1, sizeof(int64_t)));
	memcpy(a->ints, v, (size_t)cnt * sizeof(int64_t));
}

static void
attr_float(Onnx__NodeProto *n, const char *name, float v)
{
	Onnx__AttributeProto *a = add_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);

	a->has_f = 1;
	a->f = v;
}

/* Serialises the model; the buffer is tracked. */
static uint8_t *
mb_pack(struct mb *b, size_t *len)
{
	uint8_t *buf;

	*len = onnx__model_proto__get_packed_size(&b->model);
	buf = track(malloc(*len + 1));
	onnx__model_proto__pack(&b->model, buf);
	return buf;
}

static infer_model *
mb_load(struct mb *b, infer_error *err)
{
	size_t len;
	uint8_t *buf = mb_pack(b, &len);

	return infer_model_load_mem(buf, len, "test.onnx", err);
}

static infer_tensor
make_input(int nd, const int64_t *dims, unsigned seed)
{
	infer_tensor t;
	int64_t n;

	cr_assert_eq(infer_tensor_alloc(&t, INFER_DTYPE_FLOAT, nd, dims, NULL), 0);
	n = infer_tensor_numel(&t);
	for (int64_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		((float *)t.data)[i] = (float)((seed >> 8) % 2001) / 1000.0f - 1.0f;
	}
	return t;
}

static void
assert_close(const infer_tensor *a, const infer_tensor *b, float tol)
{
	int64_t n = infer_tensor_numel(a);

	cr_assert_eq(a->ndim, b->ndim);
	for (int i = 0; i < a->ndim; i++)
		cr_assert_eq(a->dims[i], b->dims[i]);
	for (int64_t i = 0; i < n; i++) {
		float x = ((const float *)a->data)[i], y = ((const float *)b->data)[i];
		cr_assert(fabsf(x - y) <= tol * (1.0f + fabsf(y)), "element %lld: %g vs %g", (long long)i, x, y);
	}
}

TestSuite(infer, .fini = free_tracked);

/* ---- a small CNN with every fusible pattern: Conv+BN+Relu, Identity, depthwise Conv+Clip, Gemm ---- */

static void
build_cnn(struct mb *b, int64_t batch)
{
	int64_t xd[4] = { batch, 3, 9, 9 }, w1[4] = { 4, 3, 3, 3 }, c4[1] = { 4 }, w2[4] = { 4, 1, 3, 3 };
	int64_t gw[2] = { 5, 4 }, gb[1] = { 5 }, scalar[1] = { 1 }, pads1[4] = { 1, 1, 1, 1 }, k2[2] = { 2, 2 };
	float var[4] = { 0.5f, 1.0f, 2.0f, 0.0f }, lo = 0.0f, hi = 0.3f;
	Onnx__NodeProto *n;

	mb_init(b, 13);
	mb_input(b, "x", 4, xd);
	mb_init_f(b, "w1", 4, w1, NULL, 0.5f);
	mb_init_f(b, "b1", 1, c4, NULL, 0.1f);
	mb_init_f(b, "gamma", 1, c4, NULL, 1.0f);
	mb_init_f(b, "beta", 1, c4, NULL, 0.2f);
	mb_init_f(b, "mean", 1, c4, NULL, 0.3f);
	mb_init_f(b, "var", 1, c4, var, 0);
	mb_init_f(b, "w2", 4, w2, NULL, 0.7f);
	mb_init_f(b, "lo", 0, scalar, &lo, 0);
	mb_init_f(b, "hi", 0, scalar, &hi, 0);
	mb_init_f(b, "gw", 2, gw, NULL, 0.9f);
	mb_init_f(b, "gb", 1, gb, NULL, 0.1f);
	n = mb_node(b, "Conv", "conv1", "x", "w1", "b1", "c1");
	attr_ints(n, "pads", 4, pads1);
	n = mb_node(b, "BatchNormalization", "bn1", "c1", "gamma", "beta", "bn");
	n->input = track(realloc(NULL, 5 * sizeof(char *)));
	n->n_input = 5;
	n->input[0] = "c1"; n->input[1] = "gamma"; n->input[2] = "beta"; n->input[3] = "mean"; n->input[4] = "var";
	attr_float(n, "epsilon", 1e-3f);
	mb_node(b, "Relu", "relu1", "bn", NULL, NULL, "r1");
	mb_node(b, "Identity", "id", "r1", NULL, NULL, "r1i");
	n = mb_node(b, "MaxPool", "pool", "r1i", NULL, NULL, "p1");
	attr_ints(n, "kernel_shape", 2, k2);
	attr_ints(n, "strides", 2, k2);
	attr_int(n, "ceil_mode", 1);
	n = mb_node(b, "Conv", "dw", "p1", "w2", NULL, "c2");
	attr_int(n, "group", 4);
	attr_ints(n, "pads", 4, pads1);
	attr_ints(n, "strides", 2, k2);
	mb_node(b, "Clip", "relu6", "c2", "lo", "hi", "c2c");
	mb_node(b, "GlobalAveragePool", "gap", "c2c", NULL, NULL, "g");
	mb_node(b, "Flatten", "flat", "g", NULL, NULL, "f");
	n = mb_node(b, "Gemm", "fc", "f", "gw", "gb", "logits");
	attr_int(n, "transB", 1);
	mb_node(b, "Relu", "fc_relu", "logits", NULL, NULL, "lr");
	mb_node(b, "Softmax", "softmax", "lr", NULL, NULL, "y");
	mb_output(b, "y");
	mb_output(b, "g");
}

Test(infer, cnn_passes_match_reference)
{
	struct mb b;
	infer_error err;
	infer_model *m;
	infer_session *plain, *fused;
	infer_session_opts off = { .flags = INFER_OPT_NO_PASSES | INFER_OPT_NO_ARENA }, on = { .threads = 2 };
	int64_t xd[4] = { 1, 3, 9, 9 };
	infer_tensor x = make_input(4, xd, 1), y0[2], y1[2];

	build_cnn(&b, -1);
	m = mb_load(&b, &err);
	cr_assert_not_null(m, "%s", err.msg);
	cr_assert_eq(infer_model_node_count(m), 12);
	plain = infer_session_create(m, &off, &err);
	cr_assert_not_null(plain, "%s", err.msg);
	fused = infer_session_create(m, &on, &err);
	cr_assert_not_null(fused, "%s", err.msg);
	/* BN folded, both Relus and the Clip fused, Identity removed: 12 - 5 = 7 nodes. */
	cr_assert_eq(infer_session_node_count(plain), 12);
	cr_assert_eq(infer_session_node_count(fused), 7);
	cr_assert_eq(infer_run(plain, &x, 1, y0, 2, &err), 0, "%s", err.msg);
	cr_assert_eq(infer_run(fused, &x, 1, y1, 2, &err), 0, "%s", err.msg);
	cr_assert_eq(y1[0].ndim, 2);
	cr_assert_eq(y1[0].dims[1], 5);
	assert_close(&y1[0], &y0[0], 1e-5f);
	assert_close(&y1[1], &y0[1], 1e-5f);
	/* The softmax sums to one and the Clip bounded the pooled features to [0, 0.3]. */
	{
		float sum = 0;
		for (int i = 0; i < 5; i++)
			sum += ((float *)y1[0].data)[i];
		cr_assert_float_eq(sum, 1.0f, 1e-5f);
		for (int i = 0; i < 4; i++) {
			float g = ((float *)y1[1].data)[i];
			cr_assert(g >= 0.0f && g <= 0.3f, "pooled %g outside the clip", g);
		}
	}
	cr_assert_eq(infer_session_arena_bytes(plain), 0);
	cr_assert_gt(infer_session_arena_bytes(fused), 0);
	for (int i = 0; i < 2; i++) {
		infer_tensor_release(&y0[i]);
		infer_tensor_release(&y1[i]);
	}
	/* A second run on the planned arena gives the same answer. */
	cr_assert_eq(infer_run(fused, &x, 1, y1, 2, &err), 0, "%s", err.msg);
	cr_assert_eq(infer_run(plain, &x, 1, y0, 2, &err), 0, "%s", err.msg);
	assert_close(&y1[0], &y0[0], 1e-5f);
	for (int i = 0; i < 2; i++) {
		infer_tensor_release(&y0[i]);
		infer_tensor_release(&y1[i]);
	}
	infer_tensor_release(&x);
	infer_session_free(plain);
	infer_session_free(fused);
	infer_model_free(m);
}

Test(infer, batch_equals_single_runs)
{
	struct mb b;
	infer_error err;
	infer_model *m;
	infer_session *s;
	int64_t d1[4] = { 1, 3, 9, 9 }, d3[4] = { 3, 3, 9, 9 };
	infer_tensor x3 = make_input(4, d3, 7), y3[2];
	int64_t per = 3 * 9 * 9;

	build_cnn(&b, -1);
	m = mb_load(&b, &err);
	cr_assert_not_null(m, "%s", err.msg);
	s = infer_session_create(m, NULL, &err);
	cr_assert_not_null(s, "%s", err.msg);
	cr_assert_eq(infer_run(s, &x3, 1, y3, 2, &err), 0, "%s", err.msg);
	cr_assert_eq(y3[0].dims[0], 3);
	for (int k = 0; k < 3; k++) {
		infer_tensor x1 = { .dtype = INFER_DTYPE_FLOAT, .ndim = 4, .data = (float *)x3.data + k * per }, y1[2];
		infer_tensor row = { .dtype = INFER_DTYPE_FLOAT, .ndim = 2, .dims = { 1, 5 },
			.data = (float *)y3[0].data + k * 5 };
		memcpy(x1.dims, d1, sizeof(d1));
		cr_assert_eq(infer_run(s, &x1, 1, y1, 2, &err), 0, "%s", err.msg);
		assert_close(&y1[0], &row, 1e-5f);
		infer_tensor_release(&y1[0]);
		infer_tensor_release(&y1[1]);
	}
	infer_tensor_release(&y3[0]);
	infer_tensor_release(&y3[1]);
	infer_tensor_release(&x3);
	infer_session_free(s);
	infer_model_free(m);
}

Test(infer, conv_known_values)
{
	/* 1x1 input channel 3x3, 2x2 kernel of ones, stride 1, no pad: each output is a 2x2 window sum. */
	struct mb b;
	infer_error err;
	infer_model *m;
	infer_session *s;
	int64_t xd[4] = { 1, 1, 3, 3 }, wd[4] = { 1, 1, 2, 2 };
	float ones[4] = { 1, 1, 1, 1 }, xv[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, want[4] = { 12, 16, 24, 28 };
	infer_tensor x = { .dtype = INFER_DTYPE_FLOAT, .ndim = 4, .dims = { 1, 1, 3, 3 }, .data = xv }, y;

	mb_init(&b, 13);
	mb_input(&b, "x", 4, xd);
	mb_init_f(&b, "w", 4, wd, ones, 0);
	mb_node(&b, "Conv", "c", "x", "w", NULL, "y");
	mb_output(&b, "y");
	m = mb_load(&b, &err);
	cr_assert_not_null(m, "%s", err.msg);
	s = infer_session_create(m, NULL, &err);
	cr_assert_not_null(s, "%s", err.msg);
	cr_assert_eq(infer_run(s, &x, 1, &y, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(y.dims[2], 2);
	cr_assert_eq(y.dims[3], 2);
	for (int i = 0; i < 4; i++)
		cr_assert_float_eq(((float *)y.data)[i], want[i], 1e-6f);
	infer_tensor_release(&y);
	infer_session_free(s);
	infer_model_free(m);
}

/* ---- the loader refuses bad files with a message naming the node and reason ---- */

Test(infer, rejects_missing_file)
{
	infer_error err;

	cr_assert_null(infer_model_load("/nonexistent/model.onnx", &err));
	cr_assert_eq(err.code, INFER_E_IO);
	cr_assert_not_null(strstr(err.msg, "/nonexistent/model.onnx"));
}

Test(infer, rejects_garbage)
{
	infer_error err;
	const char junk[] = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff not a model";

	cr_assert_null(infer_model_load_mem(junk, sizeof(junk), "junk.onnx", &err));
	cr_assert_eq(err.code, INFER_E_INVALID);
	cr_assert_not_null(strstr(err.msg, "junk.onnx"), "%s", err.msg);
}

Test(infer, rejects_cycle_naming_node)
{
	struct mb b;
	infer_error err;
	int64_t d[2] = { 1, 4 };

	mb_init(&b, 13);
	mb_input(&b, "x", 2, d);
	mb_node(&b, "Add", "first", "x", "b_out", NULL, "a_out");
	mb_node(&b, "Relu", "second", "a_out", NULL, NULL, "b_out");
	mb_output(&b, "b_out");
	cr_assert_null(mb_load(&b, &err));
	cr_assert_eq(err.code, INFER_E_INVALID);
	cr_assert_not_null(strstr(err.msg, "cycle"), "%s", err.msg);
	cr_assert(strstr(err.msg, "node 'first' (Add)") != NULL || strstr(err.msg, "node 'second' (Relu)") != NULL,
	    "%s", err.msg);
}

Test(infer, rejects_unsupported_op_naming_node)
{
	struct mb b;
	infer_error err;
	int64_t d[2] = { 1, 4 };

	mb_init(&b, 13);
	mb_input(&b, "x", 2, d);
	mb_node(&b, "Einsum", "mystery", "x", NULL, NULL, "y");
	mb_output(&b, "y");
	cr_assert_null(mb_load(&b, &err));
	cr_assert_eq(err.code, INFER_E_UNSUPPORTED);
	cr_assert_not_null(strstr(err.msg, "node 'mystery' (Einsum): operator not supported"), "%s", err.msg);
}

Test(infer, rejects_dangling_input)
{
	struct mb b;
	infer_error err;
	int64_t d[2] = { 1, 4 };

	mb_init(&b, 13);
	mb_input(&b, "x", 2, d);
	mb_node(&b, "Add", "adder", "x", "nowhere", NULL, "y");
	mb_output(&b, "y");
	cr_assert_null(mb_load(&b, &err));
	cr_assert_not_null(strstr(err.msg, "node 'adder' (Add): input 'nowhere'"), "%s", err.msg);
}

Test(infer, rejects_absurd_dims)
{
	struct mb b;
	infer_error err;
	int64_t d[2] = { 1, 4 }, huge[3] = { 1 << 20, 1 << 20, 1 << 20 };
	Onnx__TensorProto *t;

	mb_init(&b, 13);
	mb_input(&b, "x", 2, d);
	t = mb_init_f(&b, "w", 1, d, NULL, 1);
	/* Claims 2^60 elements while carrying four: refused before any allocation. */
	t->n_dims = 3;
	t->dims = huge;
	mb_node(&b, "Add", "adder", "x", "w", NULL, "y");
	mb_output(&b, "y");
	cr_assert_null(mb_load(&b, &err));
	cr_assert_eq(err.code, INFER_E_LIMIT);
	cr_assert_not_null(strstr(err.msg, "initializer 'w'"), "%s", err.msg);
}

Test(infer, rejects_wrong_raw_size)
{
	struct mb b;
	infer_error err;
	int64_t d[2] = { 1, 4 };
	Onnx__TensorProto *t;
	uint8_t raw[12] = { 0 };

	mb_init(&b, 13);
	mb_input(&b, "x", 2, d);
	t = mb_init_f(&b, "w", 2, d, NULL, 1);
	t->n_float_data = 0;
	t->has_raw_data = 1;
	t->raw_data.len = sizeof(raw);
	t->raw_data.data = raw;
	mb_node(&b, "Add", "adder", "x", "w", NULL, "y");
	mb_output(&b, "y");
	cr_assert_null(mb_load(&b, &err));
	cr_assert_eq(err.code, INFER_E_INVALID);
	cr_assert_not_null(strstr(err.msg, "raw_data holds 12 bytes, the shape needs 16"), "%s", err.msg);
}

Test(infer, refuses_external_data)
{
	struct mb b;
	infer_error err;
	int64_t d[2] = { 1, 4 };
	Onnx__TensorProto *t;
	Onnx__StringStringEntryProto loc, *locs[1] = { &loc };

	mb_init(&b, 13);
	mb_input(&b, "x", 2, d);
	t = mb_init_f(&b, "w", 2, d, NULL, 1);
	onnx__string_string_entry_proto__init(&loc);
	loc.key = "location";
	loc.value = "weights.bin";
	t->n_float_data = 0;
	t->n_external_data = 1;
	t->external_data = locs;
	t->has_data_location = 1;
	t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
	mb_node(&b, "Add", "adder", "x", "w", NULL, "y");
	mb_output(&b, "y");
	cr_assert_null(mb_load(&b, &err));
	cr_assert_eq(err.code, INFER_E_UNSUPPORTED);
	cr_assert_not_null(strstr(err.msg, "external data (file 'weights.bin')"), "%s", err.msg);
}

Test(infer, runtime_shape_error_names_node)
{
	struct mb b;
	infer_error err;
	infer_model *m;
	infer_session *s;
	int64_t xd[4] = { 1, 2, 5, 5 }, wd[4] = { 3, 3, 3, 3 };
	infer_tensor x = make_input(4, xd, 3), y;

	/* The weight wants 3 input channels, the input has 2. */
	mb_init(&b, 13);
	mb_input(&b, "x", 4, xd);
	mb_init_f(&b, "w", 4, wd, NULL, 1);
	mb_node(&b, "Conv", "bad_conv", "x", "w", NULL, "y");
	mb_output(&b, "y");
	m = mb_load(&b, &err);
	cr_assert_not_null(m, "%s", err.msg);
	s = infer_session_create(m, NULL, &err);
	cr_assert_not_null(s, "%s", err.msg);
	cr_assert_eq(infer_run(s, &x, 1, &y, 1, &err), -1);
	cr_assert_eq(err.code, INFER_E_INVALID);
	cr_assert_not_null(strstr(err.msg, "node 'bad_conv' (Conv): group 1"), "%s", err.msg);
	cr_assert_null(y.data);
	infer_tensor_release(&x);
	infer_session_free(s);
	infer_model_free(m);
}

Test(infer, input_shape_checked)
{
	struct mb b;
	infer_error err;
	infer_model *m;
	infer_session *s;
	int64_t bad[4] = { 1, 3, 8, 9 };
	infer_tensor x = make_input(4, bad, 3), y[2];

	build_cnn(&b, 1);
	m = mb_load(&b, &err);
	cr_assert_not_null(m, "%s", err.msg);
	s = infer_session_create(m, NULL, &err);
	cr_assert_not_null(s, "%s", err.msg);
	cr_assert_eq(infer_run(s, &x, 1, y, 2, &err), -1);
	cr_assert_not_null(strstr(err.msg, "input 'x' dimension 2 is 8, the model declares 9"), "%s", err.msg);
	infer_tensor_release(&x);
	infer_session_free(s);
	infer_model_free(m);
}

/* Truncated and bit-flipped copies of a valid model: each loads or fails cleanly, and whatever loads runs
 * or fails cleanly. ASan/UBSan builds make this a real memory-safety check. */
Test(infer, survives_truncation_and_corruption)
{
	struct mb b;
	infer_error err;
	size_t len;
	uint8_t *buf, *copy;
	int64_t xd[4] = { 1, 3, 9, 9 };
	infer_tensor x = make_input(4, xd, 5);
	int loaded = 0, refused = 0;

	build_cnn(&b, 1);
	buf = mb_pack(&b, &len);
	copy = track(malloc(len));
	for (size_t cut = 0; cut < len; cut += 1 + cut / 64) {
		infer_model *m = infer_model_load_mem(buf, cut, "cut.onnx", &err);
		if (m == NULL) {
			refused++;
			cr_assert_neq(err.msg[0], '\0');
		} else
			loaded++;
		infer_model_free(m);
	}
	for (size_t pos = 0; pos < len; pos += 3) {
		infer_model *m;
		memcpy(copy, buf, len);
		copy[pos] ^= (uint8_t)(0x5a + pos);
		m = infer_model_load_mem(copy, len, "flip.onnx", &err);
		if (m == NULL) {
			refused++;
			cr_assert_neq(err.msg[0], '\0');
			continue;
		}
		loaded++;
		{
			infer_session *s = infer_session_create(m, NULL, &err);
			infer_tensor y[8];
			size_t no = infer_model_output_count(m);
			if (s != NULL && infer_model_input_count(m) == 1 && no <= 8 &&
			    infer_run(s, &x, 1, y, no, &err) == 0)
				for (size_t i = 0; i < no; i++)
					infer_tensor_release(&y[i]);
			infer_session_free(s);
		}
		infer_model_free(m);
	}
	cr_assert_gt(refused, 0);
	cr_assert_gt(loaded, 0);
	infer_tensor_release(&x);
}

/* ---- sessions and the backend ABI ---- */

Test(infer, unknown_backend_refused)
{
	struct mb b;
	infer_error err;
	infer_model *m;
	infer_session_opts o = { .backend = "tpu" };

	build_cnn(&b, 1);
	m = mb_load(&b, &err);
	cr_assert_not_null(m, "%s", err.msg);
	cr_assert_null(infer_session_create(m, &o, &err));
	cr_assert_eq(err.code, INFER_E_BACKEND);
	cr_assert_not_null(strstr(err.msg, "'tpu'"), "%s", err.msg);
	infer_model_free(m);
}

Test(infer, backend_abi_mismatch_refused)
{
	pw_backend_ops ops = *infer_cpu_backend();
	infer_error err;

	cr_assert_eq(infer_backend_check(&ops, &err), 0);
	ops.abi_version = 99;
	cr_assert_eq(infer_backend_check(&ops, &err), -1);
	cr_assert_eq(err.code, INFER_E_BACKEND);
	cr_assert_not_null(strstr(err.msg, "backend 'cpu' was built for ABI version 99"), "%s", err.msg);
	ops.abi_version = PW_BACKEND_ABI_VERSION;
	ops.execute = NULL;
	cr_assert_eq(infer_backend_check(&ops, &err), -1);
	cr_assert_not_null(strstr(err.msg, "required entry point"), "%s", err.msg);
}

Test(infer, model_io_description)
{
	struct mb b;
	infer_error err;
	infer_model *m;
	infer_tensor info;

	build_cnn(&b, -1);
	m = mb_load(&b, &err);
	cr_assert_not_null(m, "%s", err.msg);
	cr_assert_eq(infer_model_input_count(m), 1);
	cr_assert_str_eq(infer_model_input_name(m, 0), "x");
	cr_assert_eq(infer_model_output_count(m), 2);
	cr_assert_str_eq(infer_model_output_name(m, 1), "g");
	cr_assert_eq(infer_model_input_info(m, 0, &info), 0);
	cr_assert_eq(info.ndim, 4);
	cr_assert_eq(info.dims[0], -1);
	cr_assert_eq(info.dims[1], 3);
	cr_assert_eq(infer_model_input_info(m, 1, &info), -1);
	infer_model_free(m);
}

static void
plugin_dir(char *buf, size_t len)
{
	const char *top = getenv("PW_TOP_BUILDDIR");

	cr_assert_lt(snprintf(buf, len, "%s/src/infer", top != NULL ? top : "."), (int)len);
}

/* The same model on "cpu" alone and split between the "reference" plugin and "cpu": same outputs. */
Test(infer, split_across_two_backends)
{
	struct mb b;
	infer_error err;
	infer_model *m;
	infer_session *one, *two;
	char dir[4096];
	infer_session_opts cpu = { .threads = 1 }, split = { .threads = 1, .backend = "reference" };
	int64_t xd[4] = { 2, 3, 9, 9 };
	infer_tensor x = make_input(4, xd, 11), y0[2], y1[2];
	int on_ref = 0, on_cpu = 0;

	plugin_dir(dir, sizeof(dir));
	split.plugin_dir = dir;
	/* The plugin claims only these, so the graph alternates between the two backends. */
	setenv("PW_REFERENCE_BACKEND_OPS", "Conv,GlobalAveragePool,Softmax", 1);
	build_cnn(&b, -1);
	m = mb_load(&b, &err);
	cr_assert_not_null(m, "%s", err.msg);
	one = infer_session_create(m, &cpu, &err);
	cr_assert_not_null(one, "%s", err.msg);
	two = infer_session_create(m, &split, &err);
	cr_assert_not_null(two, "%s", err.msg);
	cr_assert_eq(infer_session_subgraph_count(one), 1);
	cr_assert_geq(infer_session_subgraph_count(two), 4);
	for (size_t i = 0; i < infer_session_node_count(two); i++) {
		const char *be = infer_session_node_backend(two, i);
		on_ref += strcmp(be, "reference") == 0;
		on_cpu += strcmp(be, "cpu") == 0;
	}
	cr_assert_eq(on_ref, 4, "two Convs, the pool and the softmax on the plugin, not %d", on_ref);
	cr_assert_gt(on_cpu, 0);
	cr_assert_eq(infer_run(one, &x, 1, y0, 2, &err), 0, "%s", err.msg);
	cr_assert_eq(infer_run(two, &x, 1, y1, 2, &err), 0, "%s", err.msg);
	assert_close(&y1[0], &y0[0], 1e-5f);
	assert_close(&y1[1], &y0[1], 1e-5f);
	for (int i = 0; i < 2; i++) {
		infer_tensor_release(&y0[i]);
		infer_tensor_release(&y1[i]);
	}
	infer_tensor_release(&x);
	infer_session_free(one);
	infer_session_free(two);
	infer_model_free(m);
}

Test(infer, reference_plugin_takes_everything_it_supports)
{
	struct mb b;
	infer_error err;
	infer_model *m;
	infer_session *s;
	char dir[4096];
	infer_session_opts o = { .backend = "reference,cpu" };

	plugin_dir(dir, sizeof(dir));
	o.plugin_dir = dir;
	unsetenv("PW_REFERENCE_BACKEND_OPS");
	build_cnn(&b, 1);
	m = mb_load(&b, &err);
	cr_assert_not_null(m, "%s", err.msg);
	s = infer_session_create(m, &o, &err);
	cr_assert_not_null(s, "%s", err.msg);
	cr_assert_eq(infer_session_subgraph_count(s), 1);
	cr_assert_str_eq(infer_session_node_backend(s, 0), "reference");
	infer_session_free(s);
	infer_model_free(m);
}

Test(infer, backend_names_cannot_escape_the_directory)
{
	struct mb b;
	infer_error err;
	infer_model *m;
	infer_session_opts o = { .backend = "../../tmp/evil" };

	build_cnn(&b, 1);
	m = mb_load(&b, &err);
	cr_assert_not_null(m, "%s", err.msg);
	cr_assert_null(infer_session_create(m, &o, &err));
	cr_assert_eq(err.code, INFER_E_BACKEND);
	cr_assert_not_null(strstr(err.msg, "is invalid"), "%s", err.msg);
	infer_model_free(m);
}

/* ---- an inverted residual block (expand 1x1 + Relu6, depthwise 3x3 + Relu6, project 1x1, Add) ---- */

/* x is [N, 8, H, H], expanded to 48 channels; expose_mid also makes the expand output a graph output. */
static void
build_irb(struct mb *b, int64_t H, int stride, int expose_mid)
{
	int64_t xd[4] = { -1, 8, H, H }, we[4] = { 48, 8, 1, 1 }, wd[4] = { 48, 1, 3, 3 }, wp[4] = { 8, 48, 1, 1 };
	int64_t c48[1] = { 48 }, c8[1] = { 8 }, scalar[1] = { 1 }, pads1[4] = { 1, 1, 1, 1 }, s2[2] = { stride, stride };
	float lo = 0.0f, hi = 6.0f;
	Onnx__NodeProto *n;

	mb_init(b, 13);
	mb_input(b, "x", 4, xd);
	mb_init_f(b, "we", 4, we, NULL, 0.6f);
	mb_init_f(b, "be", 1, c48, NULL, 0.2f);
	mb_init_f(b, "wd", 4, wd, NULL, 0.5f);
	mb_init_f(b, "bd", 1, c48, NULL, 0.1f);
	mb_init_f(b, "wp", 4, wp, NULL, 0.3f);
	mb_init_f(b, "bp", 1, c8, NULL, 0.1f);
	mb_init_f(b, "lo", 0, scalar, &lo, 0);
	mb_init_f(b, "hi", 0, scalar, &hi, 0);
	/* The block reads an intermediate (in the arena), not the graph input: with stride 2 nothing reads it after
	 * the block, so the arena planner must not hand its memory to the block's output. */
	mb_node(b, "Relu", "pre", "x", NULL, NULL, "xr");
	mb_node(b, "Conv", "expand", "xr", "we", "be", "e");
	mb_node(b, "Clip", "expand_relu6", "e", "lo", "hi", "er");
	n = mb_node(b, "Conv", "depthwise", "er", "wd", "bd", "d");
	attr_int(n, "group", 48);
	attr_ints(n, "pads", 4, pads1);
	attr_ints(n, "strides", 2, s2);
	mb_node(b, "Clip", "depthwise_relu6", "d", "lo", "hi", "dr");
	mb_node(b, "Conv", "project", "dr", "wp", "bp", "p");
	if (stride == 1)
		mb_node(b, "Add", "add", "p", "xr", NULL, "y");
	mb_output(b, stride == 1 ? "y" : "p");
	if (expose_mid)
		mb_output(b, "er");
}

/* Runs the block with the fused path allowed (PW_INFER_FUSE unset) and forbidden (=0), at 1 and 2 threads and
 * batch 1 and 2, and compares both with the graph run as loaded (no passes). When fused, the middle values
 * never take arena space: that is how the test sees that the fused path ran. */
static void
check_irb(int64_t H, int stride, int expose_mid, int want_fused1, int want_fused2)
{
	struct mb b;
	infer_error err;
	infer_model *m;
	infer_session_opts plain_o = { .flags = INFER_OPT_NO_PASSES | INFER_OPT_NO_ARENA };
	int nout = expose_mid ? 2 : 1;

	build_irb(&b, H, stride, expose_mid);
	m = mb_load(&b, &err);
	cr_assert_not_null(m, "%s", err.msg);
	for (int64_t batch = 1; batch <= 2; batch++) {
		int64_t xd[4] = { batch, 8, H, H };
		infer_tensor x = make_input(4, xd, 11 + (unsigned)batch), want[2];
		infer_session *plain = infer_session_create(m, &plain_o, &err);
		cr_assert_not_null(plain, "%s", err.msg);
		cr_assert_eq(infer_run(plain, &x, 1, want, (size_t)nout, &err), 0, "%s", err.msg);
		for (int threads = 1; threads <= 2; threads++) {
			infer_session_opts o = { .threads = threads };
			size_t arena[2];
			for (int fuse = 0; fuse < 2; fuse++) {
				infer_session *s;
				infer_tensor got[2];
				if (fuse)
					unsetenv("PW_INFER_FUSE");
				else
					setenv("PW_INFER_FUSE", "0", 1);
				s = infer_session_create(m, &o, &err);
				cr_assert_not_null(s, "%s", err.msg);
				/* Twice: the second run reuses the planned arena and the fused path's band buffers. */
				for (int run = 0; run < 2; run++) {
					cr_assert_eq(infer_run(s, &x, 1, got, (size_t)nout, &err), 0, "%s", err.msg);
					for (int k = 0; k < nout; k++) {
						assert_close(&got[k], &want[k], 1e-4f);
						infer_tensor_release(&got[k]);
					}
				}
				arena[fuse] = infer_session_arena_bytes(s);
				infer_session_free(s);
			}
			unsetenv("PW_INFER_FUSE");
			/* A batch runs image by image on per-thread sessions, whose arenas are their own. */
			if (batch > 1)
				continue;
			if (threads == 1 ? want_fused1 : want_fused2)
				cr_assert_lt(arena[1], arena[0], "H %lld stride %d: the fused path did not run (arena %zu vs %zu)",
				    (long long)H, stride, arena[1], arena[0]);
			else
				cr_assert_eq(arena[1], arena[0], "H %lld stride %d: fused although it must not be", (long long)H,
				    stride);
		}
		for (int k = 0; k < nout; k++)
			infer_tensor_release(&want[k]);
		infer_tensor_release(&x);
		infer_session_free(plain);
	}
	infer_model_free(m);
}

Test(infer, inverted_residual_block_fused_matches_reference)
{
	/* 160x160 maps: 4.9 MB of expanded activations, run by rows at 1 and 2 threads. */
	check_irb(160, 1, 0, 1, 1);
	check_irb(161, 2, 0, 1, 1);
	/* The expanded activations are also a graph output: they must be materialised, so only the depthwise ->
	 * project pair may run fused (and the output compared above would be missing or wrong otherwise). */
	check_irb(160, 1, 1, 1, 1);
}

Test(infer, inverted_residual_block_small_runs_by_chunks_with_threads)
{
	/* 16x16: the block fits L2 unfused; one thread runs it unfused, two by channel chunks. */
	check_irb(16, 1, 0, 0, 1);
	/* 56x56 (600 KB expanded): too large for chunks; unfused at one thread, by rows at two. */
	check_irb(56, 1, 0, 0, 1);
}

/* A graph that mixes the images of a batch (Reshape to [1, -1], then Softmax over everything) must not be
 * split image by image: the batch of 3 gives one row of 3 x 48 values, not three rows. */
Test(infer, batch_mixing_graph_runs_whole)
{
	struct mb b;
	infer_error err;
	infer_model *m;
	infer_session *s;
	infer_session_opts o = { .threads = 2 };
	int64_t xd[4] = { -1, 3, 4, 4 }, x3[4] = { 3, 3, 4, 4 }, shape_dims[1] = { 2 };
	infer_tensor x = make_input(4, x3, 5), y;
	Onnx__TensorProto *shape;
	Onnx__NodeProto *n;
	double sum = 0;

	mb_init(&b, 13);
	mb_input(&b, "x", 4, xd);
	shape = mb_init_f(&b, "shape", 1, shape_dims, NULL, 0);
	/* An INT64 initializer: replace the float payload with the shape [1, -1]. */
	shape->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
	shape->n_float_data = 0;
	shape->float_data = NULL;
	shape->n_int64_data = 2;
	shape->int64_data = track(calloc(2, sizeof(int64_t)));
	shape->int64_data[0] = 1;
	shape->int64_data[1] = -1;
	mb_node(&b, "Reshape", "flat", "x", "shape", NULL, "r");
	n = mb_node(&b, "Softmax", "softmax", "r", NULL, NULL, "y");
	attr_int(n, "axis", 1);
	mb_output(&b, "y");
	m = mb_load(&b, &err);
	cr_assert_not_null(m, "%s", err.msg);
	s = infer_session_create(m, &o, &err);
	cr_assert_not_null(s, "%s", err.msg);
	cr_assert_eq(infer_run(s, &x, 1, &y, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(y.ndim, 2);
	cr_assert_eq(y.dims[0], 1);
	cr_assert_eq(y.dims[1], 3 * 48);
	for (int i = 0; i < 3 * 48; i++)
		sum += ((float *)y.data)[i];
	cr_assert_float_eq(sum, 1.0, 1e-5, "one softmax over all three images");
	infer_tensor_release(&y);
	infer_tensor_release(&x);
	infer_session_free(s);
	infer_model_free(m);
}

/* Reshape to [-1] flattens the whole batch into one vector: run whole, it gives one row of 3 x 48 values
 * (split image by image, each image would give 48 values and the batch could not be put back together). */
Test(infer, batch_flattening_reshape_runs_whole)
{
	struct mb b;
	infer_error err;
	infer_model *m;
	infer_session *s;
	infer_session_opts o = { .threads = 2 };
	int64_t xd[4] = { -1, 3, 4, 4 }, x3[4] = { 3, 3, 4, 4 }, shape_dims[1] = { 1 };
	infer_tensor x = make_input(4, x3, 6), y;
	Onnx__TensorProto *shape;

	mb_init(&b, 13);
	mb_input(&b, "x", 4, xd);
	shape = mb_init_f(&b, "shape", 1, shape_dims, NULL, 0);
	shape->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
	shape->n_float_data = 0;
	shape->float_data = NULL;
	shape->n_int64_data = 1;
	shape->int64_data = track(calloc(1, sizeof(int64_t)));
	shape->int64_data[0] = -1;
	mb_node(&b, "Reshape", "flat", "x", "shape", NULL, "y");
	mb_output(&b, "y");
	m = mb_load(&b, &err);
	cr_assert_not_null(m, "%s", err.msg);
	s = infer_session_create(m, &o, &err);
	cr_assert_not_null(s, "%s", err.msg);
	cr_assert_eq(infer_run(s, &x, 1, &y, 1, &err), 0, "%s", err.msg);
	cr_assert_eq(y.ndim, 1);
	cr_assert_eq(y.dims[0], 3 * 48);
	cr_assert_float_eq(((float *)y.data)[100], ((float *)x.data)[100], 0.0f);
	infer_tensor_release(&y);
	infer_tensor_release(&x);
	infer_session_free(s);
	infer_model_free(m);
}

/* A batch split image by image (2 threads: one image per thread) equals the whole batch run at once. */
Test(infer, batch_split_equals_whole_batch)
{
	struct mb b;
	infer_error err;
	infer_model *m;
	int64_t d5[4] = { 5, 3, 9, 9 };
	infer_tensor x5 = make_input(4, d5, 9), split[2], whole[2];

	build_cnn(&b, -1);
	m = mb_load(&b, &err);
	cr_assert_not_null(m, "%s", err.msg);
	for (int k = 0; k < 2; k++) {
		infer_session_opts o = { .threads = 2 };
		infer_session *s;
		if (k == 0)
			setenv("PW_INFER_SPLIT", "0", 1);
		s = infer_session_create(m, &o, &err);
		unsetenv("PW_INFER_SPLIT");
		cr_assert_not_null(s, "%s", err.msg);
		/* Twice: the second batch reuses the per-thread sessions. */
		for (int run = 0; run < 2; run++) {
			infer_tensor *y = k == 0 ? whole : split;
			if (run == 1) {
				infer_tensor_release(&y[0]);
				infer_tensor_release(&y[1]);
			}
			cr_assert_eq(infer_run(s, &x5, 1, y, 2, &err), 0, "%s", err.msg);
			cr_assert_eq(y[0].dims[0], 5);
			cr_assert_eq(y[1].dims[0], 5);
		}
		/* Split, the session's own arena stays unused: the images ran on the per-thread sessions. */
		if (k == 1)
			cr_assert_eq(infer_session_arena_bytes(s), 0);
		else
			cr_assert_gt(infer_session_arena_bytes(s), 0);
		infer_session_free(s);
	}
	assert_close(&split[0], &whole[0], 1e-5f);
	assert_close(&split[1], &whole[1], 1e-5f);
	for (int i = 0; i < 2; i++) {
		infer_tensor_release(&split[i]);
		infer_tensor_release(&whole[i]);
	}
	infer_tensor_release(&x5);
	infer_model_free(m);
}

/* ---- the HardSwish of TF-converted MobileNetV3: Conv -> Mul(0.16662598), Add(3) -> Clip(0, 6) -> Mul ---- */

static void
build_hswish(struct mb *b, int expose_add)
{
	int64_t xd[4] = { -1, 4, 6, 6 }, w[4] = { 5, 4, 3, 3 }, c5[1] = { 5 }, scalar[1] = { 1 }, pads[4] = { 1, 1, 1, 1 };
	float k = 0.16662598f, three = 3.0f, lo = 0.0f, hi = 6.0f;
	Onnx__NodeProto *n;

	mb_init(b, 13);
	mb_input(b, "x", 4, xd);
	mb_init_f(b, "w", 4, w, NULL, 2.0f);
	mb_init_f(b, "bias", 1, c5, NULL, 1.0f);
	mb_init_f(b, "k", 0, scalar, &k, 0);
	mb_init_f(b, "three", 0, scalar, &three, 0);
	mb_init_f(b, "lo", 0, scalar, &lo, 0);
	mb_init_f(b, "hi", 0, scalar, &hi, 0);
	n = mb_node(b, "Conv", "conv", "x", "w", "bias", "c");
	attr_ints(n, "pads", 4, pads);
	mb_node(b, "Mul", "hs_mul", "k", "c", NULL, "m");
	mb_node(b, "Add", "hs_add", "c", "three", NULL, "a");
	mb_node(b, "Clip", "hs_relu6", "a", "lo", "hi", "r");
	mb_node(b, "Mul", "hs_mul_1", "m", "r", NULL, "y");
	mb_output(b, "y");
	if (expose_add)
		mb_output(b, "a");
}

/* The chain runs as one Conv with the activation (its middle values take no arena space) and gives exactly
 * what the five nodes give, at batch 1 and 3; with a middle value read outside it stays five nodes. */
Test(infer, tf_hardswish_chain_fused_exactly)
{
	for (int expose = 0; expose <= 1; expose++) {
		struct mb b;
		infer_error err;
		infer_model *m;
		int nout = expose ? 2 : 1;

		build_hswish(&b, expose);
		m = mb_load(&b, &err);
		cr_assert_not_null(m, "%s", err.msg);
		for (int64_t batch = 1; batch <= 3; batch += 2) {
			int64_t xd[4] = { batch, 4, 6, 6 };
			infer_tensor x = make_input(4, xd, 3 + (unsigned)batch), want[2], got[2];
			infer_session_opts plain_o = { .flags = INFER_OPT_NO_PASSES | INFER_OPT_NO_ARENA }, o = { .threads = 1 };
			infer_session *plain = infer_session_create(m, &plain_o, &err), *unfused, *fused;
			cr_assert_not_null(plain, "%s", err.msg);
			setenv("PW_INFER_FUSE", "0", 1);
			unfused = infer_session_create(m, &o, &err);
			unsetenv("PW_INFER_FUSE");
			fused = infer_session_create(m, &o, &err);
			cr_assert(unfused != NULL && fused != NULL, "%s", err.msg);
			cr_assert_eq(infer_run(plain, &x, 1, want, (size_t)nout, &err), 0, "%s", err.msg);
			for (int run = 0; run < 2; run++) {
				infer_session *s = run == 0 ? fused : unfused;
				cr_assert_eq(infer_run(s, &x, 1, got, (size_t)nout, &err), 0, "%s", err.msg);
				for (int k = 0; k < nout; k++) {
					assert_close(&got[k], &want[k], 0.0f);
					infer_tensor_release(&got[k]);
				}
			}
			/* A second run of the fused session (arena planned) and the arena comparison. */
			cr_assert_eq(infer_run(fused, &x, 1, got, (size_t)nout, &err), 0, "%s", err.msg);
			assert_close(&got[0], &want[0], 0.0f);
			for (int k = 0; k < nout; k++)
				infer_tensor_release(&got[k]);
			if (batch == 1 && !expose)
				cr_assert_lt(infer_session_arena_bytes(fused), infer_session_arena_bytes(unfused),
				    "the chain did not run fused");
			if (batch == 1 && expose)
				cr_assert_eq(infer_session_arena_bytes(fused), infer_session_arena_bytes(unfused),
				    "fused although a middle value is a graph output");
			for (int k = 0; k < nout; k++)
				infer_tensor_release(&want[k]);
			infer_tensor_release(&x);
			infer_session_free(plain);
			infer_session_free(unfused);
			infer_session_free(fused);
		}
		infer_model_free(m);
	}
}
