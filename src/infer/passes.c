/* passes.c: graph passes run when a session opens: constant folding, Identity/Dropout removal,
 * BatchNorm folded into Conv, and Relu/Clip/HardSwish fused into Conv/Gemm. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

static int
is_graph_output(const infer_session *s, int v)
{
	for (int i = 0; i < s->m->n_outputs; i++)
		if (s->m->outputs[i] == v)
			return 1;
	return 0;
}

/* Readers of v among live nodes (removed[i] set means node i is gone). */
static int
n_readers(const infer_session *s, const unsigned char *removed, int v)
{
	int n = 0;

	for (int i = 0; i < s->n_nodes; i++)
		if (!removed[i])
			for (int j = 0; j < s->nodes[i].n_inputs; j++)
				n += s->nodes[i].inputs[j] == v;
	return n;
}

static int
op_of(const pw_node *n)
{
	return (int)infer_op_from_name(n->op_type);
}

/* Makes node's inputs/outputs session-owned copies (copy on write) with room for n entries. */
static int32_t *
own_ios(infer_session *s, const int32_t *src, int n_src, int n)
{
	int32_t *a = session_keep(s, malloc((size_t)(n > 0 ? n : 1) * sizeof(int32_t)));

	if (a != NULL) {
		for (int i = 0; i < n; i++)
			a[i] = i < n_src ? src[i] : -1;
	}
	return a;
}

/* Replaces every live read of from with to. */
static int
redirect(infer_session *s, const unsigned char *removed, int from, int to)
{
	for (int i = 0; i < s->n_nodes; i++) {
		pw_node *n = &s->nodes[i];
		int hit = 0;
		if (removed[i])
			continue;
		for (int j = 0; j < n->n_inputs; j++)
			hit |= n->inputs[j] == from;
		if (hit) {
			int32_t *ins = own_ios(s, n->inputs, n->n_inputs, n->n_inputs);
			if (ins == NULL)
				return -1;
			for (int j = 0; j < n->n_inputs; j++)
				if (ins[j] == from)
					ins[j] = to;
			n->inputs = ins;
		}
	}
	return 0;
}

static int
fold_alloc(pw_exec_env *env, int v, infer_dtype dt, int ndim, const int64_t *dims, infer_error *err)
{
	const infer_session *s = env->host;

	if (env->values[v].data != NULL) {
		infer_err(err, INFER_E_INVALID, "value #%d is produced twice", v);
		return -1;
	}
	if (infer_dims_numel(ndim, dims) > s->max_elems) {
		infer_err(err, INFER_E_LIMIT, "folded constant of %lld elements exceeds the session limit of %lld",
		    (long long)infer_dims_numel(ndim, dims), (long long)s->max_elems);
		return -1;
	}
	return infer_tensor_alloc(&env->values[v], dt, ndim, dims, err);
}

/* Runs nodes whose inputs are all constants once, now, and turns their outputs into constants. */
static int
fold_constants(infer_session *s, unsigned char *removed, infer_error *err)
{
	infer_tensor *values = calloc((size_t)s->cap_values, sizeof(*values));
	const infer_tensor **in = NULL;
	int max_in = 1, rc = -1;

	for (int i = 0; i < s->n_nodes; i++)
		if (s->nodes[i].n_inputs > max_in)
			max_in = s->nodes[i].n_inputs;
	in = calloc((size_t)max_in, sizeof(*in));
	if (values == NULL || in == NULL) {
		infer_err(err, INFER_E_NOMEM, "out of memory folding constants");
		goto out;
	}
	for (int i = 0; i < s->n_nodes; i++) {
		pw_node *n = &s->nodes[i];
		pw_exec_env env = { .values = values, .n_values = s->cap_values, .host = s, .alloc_output = fold_alloc };
		struct op_ctx c = { .node = n, .op = (enum infer_op)op_of(n), .in = in, .n_in = n->n_inputs,
			.env = &env, .err = err, .threads = 1 };
		int all_const = 1;

		if (removed[i])
			continue;
		for (int j = 0; j < n->n_inputs; j++) {
			int v = n->inputs[j];
			if (v >= 0 && s->konst[v] == NULL)
				all_const = 0;
			in[j] = v >= 0 ? s->konst[v] : NULL;
		}
		if (!all_const || n->n_outputs != 1 || n->outputs[0] < 0)
			continue;
		/* Failure here is the node's own error (bad attributes, bad shapes): report it now. */
		if (infer_op_run(&c) < 0)
			goto out;
		{
			int v = n->outputs[0];
			infer_tensor *t = malloc(sizeof(*t));
			infer_tensor **grown;
			if (t == NULL || (grown = realloc(s->owned_tensors,
			    ((size_t)s->n_owned_tensors + 1) * sizeof(*grown))) == NULL) {
				free(t);
				infer_err(err, INFER_E_NOMEM, "out of memory folding constants");
				goto out;
			}
			*t = values[v];
			memset(&values[v], 0, sizeof(values[v]));
			s->owned_tensors = grown;
			s->owned_tensors[s->n_owned_tensors++] = t;
			s->konst[v] = t;
			removed[i] = 1;
		}
	}
	rc = 0;
out:
	if (values != NULL)
		for (int v = 0; v < s->cap_values; v++)
			infer_tensor_release(&values[v]);
	free(values);
	free(in);
	return rc;
}

static int
remove_identities(infer_session *s, unsigned char *removed)
{
	for (int i = 0; i < s->n_nodes; i++) {
		pw_node *n = &s->nodes[i];
		int op = op_of(n);
		if (removed[i] || (op != OP_IDENTITY && op != OP_DROPOUT) || n->n_inputs < 1 || n->inputs[0] < 0 ||
		    is_graph_output(s, n->outputs[0]))
			continue;
		removed[i] = 1;
		if (redirect(s, removed, n->outputs[0], n->inputs[0]) < 0)
			return -1;
	}
	return 0;
}

/* The single live node producing v, or -1. */
static int
producer_of(const infer_session *s, const unsigned char *removed, int v)
{
	for (int i = 0; i < s->n_nodes; i++)
		if (!removed[i])
			for (int j = 0; j < s->nodes[i].n_outputs; j++)
				if (s->nodes[i].outputs[j] == v)
					return i;
	return -1;
}

/* Whether node p's output 0 is read only by node i and may be replaced by i's output. */
static int
sole_feed(const infer_session *s, const unsigned char *removed, int p, int i)
{
	int v = s->nodes[p].outputs[0];

	(void)i;
	return s->nodes[p].n_outputs == 1 && !is_graph_output(s, v) && n_readers(s, removed, v) == 1;
}

static infer_tensor *
new_tensor(infer_session *s, infer_dtype dt, int ndim, const int64_t *dims, infer_error *err)
{
	infer_tensor *t = malloc(sizeof(*t));

	if (t == NULL || infer_tensor_alloc(t, dt, ndim, dims, err) < 0) {
		free(t);
		return NULL;
	}
	if (session_add_constant(s, t) < 0) {
		infer_tensor_release(t);
		free(t);
		infer_err(err, INFER_E_NOMEM, "out of memory folding a BatchNormalization");
		return NULL;
	}
	return t;
}

static int
fold_batchnorm(infer_session *s, unsigned char *removed, infer_error *err)
{
	for (int i = 0; i < s->n_nodes; i++) {
		pw_node *bn = &s->nodes[i], *conv;
		const infer_tensor *W, *B = NULL, *p[4];
		infer_tensor *W2, *B2;
		int pi, ok = 1;
		int64_t M, per;
		float eps;
		int32_t *ins, *outs;

		if (removed[i] || op_of(bn) != OP_BATCHNORM || bn->n_inputs < 5 || bn->inputs[0] < 0)
			continue;
		pi = producer_of(s, removed, bn->inputs[0]);
		if (pi < 0 || op_of(&s->nodes[pi]) != OP_CONV || !sole_feed(s, removed, pi, i))
			continue;
		conv = &s->nodes[pi];
		if (infer_attr(conv, "pw.activation") != NULL || conv->n_inputs < 2 || conv->inputs[1] < 0 ||
		    (W = s->konst[conv->inputs[1]]) == NULL || W->dtype != INFER_DTYPE_FLOAT || W->ndim < 3)
			continue;
		M = W->dims[0];
		if (conv->n_inputs > 2 && conv->inputs[2] >= 0) {
			B = s->konst[conv->inputs[2]];
			if (B == NULL || B->dtype != INFER_DTYPE_FLOAT || infer_tensor_numel(B) != M)
				continue;
		}
		for (int k = 0; k < 4; k++) {
			int v = bn->inputs[1 + k];
			p[k] = v >= 0 ? s->konst[v] : NULL;
			if (p[k] == NULL || p[k]->dtype != INFER_DTYPE_FLOAT || infer_tensor_numel(p[k]) != M)
				ok = 0;
		}
		if (!ok)
			continue;
		eps = infer_attr_float(bn, "epsilon", 1e-5f);
		if ((W2 = new_tensor(s, INFER_DTYPE_FLOAT, W->ndim, W->dims, err)) == NULL ||
		    (B2 = new_tensor(s, INFER_DTYPE_FLOAT, 1, &M, err)) == NULL)
			return -1;
		per = infer_tensor_numel(W) / (M > 0 ? M : 1);
		for (int64_t m = 0; m < M; m++) {
			float scale = ((const float *)p[0]->data)[m] / sqrtf(((const float *)p[3]->data)[m] + eps);
			float bias = B != NULL ? ((const float *)B->data)[m] : 0.0f;
			for (int64_t k = 0; k < per; k++)
				((float *)W2->data)[m * per + k] = ((const float *)W->data)[m * per + k] * scale;
			((float *)B2->data)[m] = (bias - ((const float *)p[2]->data)[m]) * scale + ((const float *)p[1]->data)[m];
		}
		ins = own_ios(s, conv->inputs, conv->n_inputs, 3);
		outs = own_ios(s, bn->outputs, 1, 1);
		if (ins == NULL || outs == NULL) {
			infer_err(err, INFER_E_NOMEM, "out of memory folding a BatchNormalization");
			return -1;
		}
		ins[1] = s->n_values - 2;
		ins[2] = s->n_values - 1;
		conv->inputs = ins;
		conv->n_inputs = 3;
		conv->outputs = outs;
		conv->n_outputs = 1;
		removed[i] = 1;
	}
	return 0;
}

/* Adds the fused-activation attributes to node (a session-owned copy of its attribute array). */
static int
add_activation(infer_session *s, pw_node *n, const char *act, float lo, float hi)
{
	pw_attr *a = session_keep(s, malloc(((size_t)n->n_attrs + 3) * sizeof(*a)));
	int k = n->n_attrs;

	if (a == NULL)
		return -1;
	if (n->n_attrs > 0)
		memcpy(a, n->attrs, (size_t)n->n_attrs * sizeof(*a));
	a[k++] = (pw_attr){ .name = "pw.activation", .type = PW_ATTR_STRING, .s = act };
	if (strcmp(act, "Clip") == 0) {
		a[k++] = (pw_attr){ .name = "pw.clip_min", .type = PW_ATTR_FLOAT, .f = lo };
		a[k++] = (pw_attr){ .name = "pw.clip_max", .type = PW_ATTR_FLOAT, .f = hi };
	}
	n->attrs = a;
	n->n_attrs = k;
	return 0;
}

/* Clip bounds when they are known now (attributes before opset 11, constant scalar inputs after). */
static int
clip_bounds(const infer_session *s, const pw_node *n, float *lo, float *hi)
{
	*lo = -INFINITY;
	*hi = INFINITY;
	if (n->opset < 11) {
		*lo = infer_attr_float(n, "min", -INFINITY);
		*hi = infer_attr_float(n, "max", INFINITY);
		return 0;
	}
	for (int k = 1; k < 3 && k < n->n_inputs; k++) {
		const infer_tensor *t;
		if (n->inputs[k] < 0)
			continue;
		t = s->konst[n->inputs[k]];
		if (t == NULL || t->dtype != INFER_DTYPE_FLOAT || infer_tensor_numel(t) != 1)
			return -1;
		*(k == 1 ? lo : hi) = *(const float *)t->data;
	}
	return 0;
}

static int
fuse_activations(infer_session *s, unsigned char *removed, infer_error *err)
{
	for (int i = 0; i < s->n_nodes; i++) {
		pw_node *act = &s->nodes[i], *p;
		int op = op_of(act), pi, pop;
		float lo = 0, hi = 0;
		int32_t *outs;

		if (removed[i] || (op != OP_RELU && op != OP_CLIP && op != OP_HARDSWISH) || act->inputs[0] < 0)
			continue;
		if (op == OP_CLIP && clip_bounds(s, act, &lo, &hi) < 0)
			continue;
		pi = producer_of(s, removed, act->inputs[0]);
		if (pi < 0)
			continue;
		p = &s->nodes[pi];
		pop = op_of(p);
		if ((pop != OP_CONV && pop != OP_GEMM) || infer_attr(p, "pw.activation") != NULL ||
		    !sole_feed(s, removed, pi, i))
			continue;
		if (add_activation(s, p, infer_op_name((enum infer_op)op), lo, hi) < 0 ||
		    (outs = own_ios(s, act->outputs, 1, 1)) == NULL) {
			infer_err(err, INFER_E_NOMEM, "out of memory fusing an activation");
			return -1;
		}
		p->outputs = outs;
		p->n_outputs = 1;
		removed[i] = 1;
	}
	return 0;
}

int
infer_passes_run(infer_session *s, infer_error *err)
{
	unsigned char *removed = calloc((size_t)s->n_nodes + 1, 1);
	int rc = -1, k = 0;

	if (removed == NULL) {
		infer_err(err, INFER_E_NOMEM, "out of memory");
		return -1;
	}
	if (fold_constants(s, removed, err) < 0 || remove_identities(s, removed) < 0 ||
	    fold_batchnorm(s, removed, err) < 0 || fuse_activations(s, removed, err) < 0) {
		if (err != NULL && err->code == INFER_OK)
			infer_err(err, INFER_E_NOMEM, "out of memory in a graph pass");
		goto out;
	}
	for (int i = 0; i < s->n_nodes; i++)
		if (!removed[i])
			s->nodes[k++] = s->nodes[i];
	s->n_nodes = k;
	rc = 0;
out:
	free(removed);
	return rc;
}
