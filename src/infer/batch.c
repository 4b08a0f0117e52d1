/* batch.c: runs a batch image by image (one thread per image, or all threads per image) when every node treats the images of a batch independently. */
#include <stdlib.h>
#include <string.h>

#include "session.h"

/* Whether ints attribute name is present and names positive axes only (the rank is not known here, so a
 * negative axis might be the batch). */
static int
axes_spare_batch(const pw_node *n, const char *name)
{
	const int64_t *a;
	int cnt = infer_attr_ints(n, name, &a);

	if (cnt <= 0)
		return 0;
	for (int i = 0; i < cnt; i++)
		if (a[i] <= 0)
			return 0;
	return 1;
}

/* A constant operand of an elementwise node broadcasts over the batch when its leading dimension (at the
 * output's rank) is 1 or absent. */
static int
const_spares_batch(const infer_tensor *t)
{
	return t == NULL || t->ndim <= 1 || t->dims[0] == 1;
}

/* Whether node n computes image i of its outputs from image i of its inputs only. Conservative: anything not
 * known to be so (Reshape to an explicit batch, axes through the batch, Shape) says no. */
static int
node_spares_batch(const infer_session *s, const pw_node *n)
{
	enum infer_op op = infer_op_from_name(n->op_type);

	switch (op) {
	case OP_CONV: case OP_RELU: case OP_CLIP: case OP_SIGMOID: case OP_HARDSIGMOID: case OP_HARDSWISH:
	case OP_BATCHNORM: case OP_GLOBALAVERAGEPOOL: case OP_AVERAGEPOOL: case OP_MAXPOOL: case OP_IDENTITY:
	case OP_DROPOUT: case OP_CONSTANT:
		/* Weights, scales and clip bounds are per channel or scalars. */
		return 1;
	case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV:
		for (int j = 0; j < n->n_inputs; j++) {
			int v = n->inputs[j];
			/* A non-constant operand is an activation with the batch in front (or a shape-less value,
			 * which the runtime broadcast handles per image only if it is constant: refuse). */
			if (v >= 0 && s->konst[v] != NULL && !const_spares_batch(s->konst[v]))
				return 0;
		}
		return 1;
	case OP_FLATTEN:
		return infer_attr_int(n, "axis", 1) != 0;
	case OP_CONCAT: case OP_SOFTMAX: {
		int64_t axis = infer_attr_int(n, "axis", op == OP_SOFTMAX && n->opset >= 13 ? -1 : 1);
		/* The rank is unknown here; a negative axis other than -1 could be the batch axis. */
		return axis > 0 || axis == -1;
	}
	case OP_REDUCEMEAN:
		/* Without axes (attribute, or input from opset 18) it reduces everything, batch included; without
		 * keepdims it could leave the batch alone in a rank-1 value, where an axis of -1 further on (Softmax,
		 * Concat) would be the batch. */
		return n->n_inputs < 2 && axes_spare_batch(n, "axes") && infer_attr_int(n, "keepdims", 1) != 0;
	case OP_GEMM:
		/* Rows of A are images; B and C are constants that do not depend on the batch. */
		return infer_attr_int(n, "transA", 0) == 0 && n->n_inputs >= 2 && n->inputs[1] >= 0 &&
		    s->konst[n->inputs[1]] != NULL && (n->n_inputs < 3 || n->inputs[2] < 0 ||
		    (s->konst[n->inputs[2]] != NULL && const_spares_batch(s->konst[n->inputs[2]])));
	case OP_RESHAPE: {
		const infer_tensor *shape = n->n_inputs >= 2 && n->inputs[1] >= 0 ? s->konst[n->inputs[1]] : NULL;
		int64_t first;
		/* Only a constant shape whose first entry keeps the batch (0 copies it) or infers it (-1, the
		 * others fixed and positive). */
		if (shape == NULL || shape->dtype != INFER_DTYPE_INT64 || shape->ndim != 1 || shape->dims[0] < 1)
			return 0;
		first = ((const int64_t *)shape->data)[0];
		if (first == 0)
			return 1;
		/* [-1] alone would flatten the whole batch into one vector. */
		if (first != -1 || shape->dims[0] < 2)
			return 0;
		for (int64_t i = 1; i < shape->dims[0]; i++)
			if (((const int64_t *)shape->data)[i] <= 0)
				return 0;
		return 1;
	}
	default:
		return 0;
	}
}

int
infer_batch_splittable(const infer_session *s)
{
	const infer_model *m = s->m;

	/* Every input carries a symbolic batch in front (a model that declares a fixed first dimension may mean
	 * anything by it), and all inputs have one rank, so that their batch axes line up under broadcasting. */
	for (int i = 0; i < m->n_inputs; i++) {
		const infer_tensor *d = &m->values[m->inputs[i]].decl;
		if (d->ndim < 1 || d->dims[0] >= 0 || d->dtype != INFER_DTYPE_FLOAT ||
		    d->ndim != m->values[m->inputs[0]].decl.ndim)
			return 0;
	}
	for (int i = 0; i < s->n_nodes; i++)
		if (!node_spares_batch(s, &s->nodes[i]))
			return 0;
	return 1;
}

/* Image i of t (dims[0] set to 1, data pointing into t). */
static infer_tensor
image_of(const infer_tensor *t, int64_t i)
{
	infer_tensor one = *t;
	int64_t per = infer_tensor_numel(t) / t->dims[0];

	one.dims[0] = 1;
	one.data = (char *)t->data + (size_t)(i * per) * infer_dtype_size(t->dtype);
	return one;
}

int
infer_batch_run(infer_session *s, infer_session **workers, int n_workers, const infer_tensor *inputs,
    size_t n_inputs, infer_tensor *outputs, size_t n_outputs, infer_error *err)
{
	int64_t N = inputs[0].dims[0];
	infer_tensor *per = calloc((size_t)N * n_outputs + 1, sizeof(*per));
	infer_tensor *one = calloc((size_t)N * n_inputs + 1, sizeof(*one));
	int failed = 0;
	infer_error first_err = { 0 };

	if (per == NULL || one == NULL) {
		free(per);
		free(one);
		infer_err(err, INFER_E_NOMEM, "out of memory splitting a batch");
		return -1;
	}
	memset(outputs, 0, n_outputs * sizeof(*outputs));
	for (int64_t i = 0; i < N; i++)
		for (size_t k = 0; k < n_inputs; k++)
			one[i * (int64_t)n_inputs + (int64_t)k] = image_of(&inputs[k], i);
	/* Each worker session runs whole images with one thread; without workers the session itself runs them
	 * one after the other with all its threads. */
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_workers > 0 ? n_workers : 1) if (n_workers > 1)
	for (int64_t i = 0; i < N; i++) {
		infer_error e = { 0 };
		int w = 0;
#ifdef _OPENMP
		w = omp_get_thread_num();
#endif
		if (__atomic_load_n(&failed, __ATOMIC_RELAXED))
			continue;
		if (infer_session_run_whole(n_workers > 0 ? workers[w] : s, one + i * (int64_t)n_inputs, n_inputs,
		    per + i * (int64_t)n_outputs, n_outputs, &e) < 0) {
#pragma omp critical(pw_batch_err)
			if (!failed) {
				first_err = e;
				failed = 1;
			}
		}
	}
	/* Each output: the images' results, which must all be one image of the same shape, stacked. */
	for (size_t k = 0; !failed && k < n_outputs; k++) {
		const infer_tensor *o0 = &per[k];
		int64_t dims[INFER_MAX_DIMS], each = infer_tensor_numel(o0);
		size_t bytes = (size_t)each * infer_dtype_size(o0->dtype);
		if (o0->ndim < 1 || o0->dims[0] != 1) {
			infer_err(&first_err, INFER_E_INVALID, "output %zu of one image has no batch dimension of 1", k);
			failed = 1;
			break;
		}
		memcpy(dims, o0->dims, sizeof(dims));
		dims[0] = N;
		if (infer_tensor_alloc(&outputs[k], o0->dtype, o0->ndim, dims, &first_err) < 0) {
			failed = 1;
			break;
		}
		for (int64_t i = 0; i < N; i++) {
			const infer_tensor *oi = &per[i * (int64_t)n_outputs + (int64_t)k];
			if (oi->ndim != o0->ndim || oi->dtype != o0->dtype || memcmp(oi->dims, o0->dims,
			    (size_t)o0->ndim * sizeof(o0->dims[0])) != 0) {
				infer_err(&first_err, INFER_E_INVALID, "output %zu differs in shape between images", k);
				failed = 1;
				break;
			}
			memcpy((char *)outputs[k].data + (size_t)i * bytes, oi->data, bytes);
		}
	}
	for (int64_t i = 0; i < N * (int64_t)n_outputs; i++)
		infer_tensor_release(&per[i]);
	free(per);
	free(one);
	if (failed) {
		for (size_t k = 0; k < n_outputs; k++)
			infer_tensor_release(&outputs[k]);
		*err = first_err;
		return -1;
	}
	return 0;
}
