/* norm.c: reference BatchNormalization (inference), Softmax (both opset semantics) and ReduceMean. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int
op_batchnorm(struct op_ctx *c)
{
	const infer_tensor *X = op_input(c, 0, INFER_DTYPE_FLOAT), *p[4];
	float eps = infer_attr_float(c->node, "epsilon", 1e-5f);
	int64_t N, C, sp = 1;
	infer_tensor *Y;

	if (X == NULL)
		return -1;
	if (X->ndim < 2)
		return op_fail(c, INFER_E_INVALID, "input rank %d is below 2", X->ndim);
	N = X->dims[0];
	C = X->dims[1];
	for (int i = 2; i < X->ndim; i++)
		sp *= X->dims[i];
	for (int i = 0; i < 4; i++) {
		if ((p[i] = op_input(c, 1 + i, INFER_DTYPE_FLOAT)) == NULL)
			return -1;
		if (infer_tensor_numel(p[i]) != C)
			return op_fail(c, INFER_E_INVALID, "input #%d must hold %lld values", 1 + i, (long long)C);
	}
	if ((Y = op_output(c, 0, INFER_DTYPE_FLOAT, X->ndim, X->dims)) == NULL)
		return -1;
	for (int64_t n = 0; n < N; n++)
		for (int64_t ch = 0; ch < C; ch++) {
			const float *x = (const float *)X->data + (n * C + ch) * sp;
			float *y = (float *)Y->data + (n * C + ch) * sp;
			float scale = ((const float *)p[0]->data)[ch] / sqrtf(((const float *)p[3]->data)[ch] + eps);
			float shift = ((const float *)p[1]->data)[ch] - ((const float *)p[2]->data)[ch] * scale;
			for (int64_t i = 0; i < sp; i++)
				y[i] = x[i] * scale + shift;
		}
	return 0;
}

int
op_softmax(struct op_ctx *c)
{
	const infer_tensor *X = op_input(c, 0, INFER_DTYPE_FLOAT);
	int legacy = c->node->opset < 13, axis;
	int64_t outer = 1, len = 1, inner = 1;
	infer_tensor *Y;

	if (X == NULL)
		return -1;
	if (infer_norm_axis(infer_attr_int(c->node, "axis", legacy ? 1 : -1), X->ndim, legacy, &axis) < 0)
		return op_fail(c, INFER_E_INVALID, "axis out of range for rank %d", X->ndim);
	if ((Y = op_output(c, 0, INFER_DTYPE_FLOAT, X->ndim, X->dims)) == NULL)
		return -1;
	/* Before opset 13 the input is viewed as a matrix [prod(d[:axis]), prod(d[axis:])]. */
	for (int i = 0; i < X->ndim; i++) {
		if (i < axis)
			outer *= X->dims[i];
		else if (legacy || i == axis)
			len *= X->dims[i];
		else
			inner *= X->dims[i];
	}
	for (int64_t o = 0; o < outer; o++)
		for (int64_t in = 0; in < inner; in++) {
			const float *x = (const float *)X->data + o * len * inner + in;
			float *y = (float *)Y->data + o * len * inner + in;
			float mx = -INFINITY;
			double sum = 0.0;
			for (int64_t i = 0; i < len; i++)
				if (x[i * inner] > mx)
					mx = x[i * inner];
			for (int64_t i = 0; i < len; i++) {
				y[i * inner] = expf(x[i * inner] - mx);
				sum += y[i * inner];
			}
			for (int64_t i = 0; i < len; i++)
				y[i * inner] = (float)(y[i * inner] / sum);
		}
	return 0;
}

int
op_reduce_mean(struct op_ctx *c)
{
	const infer_tensor *X = op_input(c, 0, INFER_DTYPE_FLOAT);
	int keep = (int)infer_attr_int(c->node, "keepdims", 1), reduce[INFER_MAX_DIMS] = { 0 }, n_axes = 0, nod = 0;
	int64_t od[INFER_MAX_DIMS], kd[INFER_MAX_DIMS], os[INFER_MAX_DIMS], total, count = 1, s;
	const int64_t *axes = NULL;
	double *acc;
	infer_tensor *Y;

	if (X == NULL)
		return -1;
	if (c->node->opset >= 18) {
		const infer_tensor *A = c->n_in > 1 ? c->in[1] : NULL;
		if (A != NULL) {
			if (A->dtype != INFER_DTYPE_INT64 || A->ndim > 1)
				return op_fail(c, INFER_E_INVALID, "axes must be a 1-D int64 tensor");
			axes = A->data;
			n_axes = (int)infer_tensor_numel(A);
		}
		if (n_axes == 0 && infer_attr_int(c->node, "noop_with_empty_axes", 0) != 0) {
			if ((Y = op_output(c, 0, INFER_DTYPE_FLOAT, X->ndim, X->dims)) == NULL)
				return -1;
			memcpy(Y->data, X->data, (size_t)infer_tensor_numel(X) * sizeof(float));
			return 0;
		}
	} else {
		n_axes = infer_attr_ints(c->node, "axes", &axes);
		if (n_axes < 0)
			n_axes = 0;
	}
	for (int i = 0; i < n_axes; i++) {
		int a;
		if (infer_norm_axis(axes[i], X->ndim, 0, &a) < 0)
			return op_fail(c, INFER_E_INVALID, "axis %lld out of range", (long long)axes[i]);
		reduce[a] = 1;
	}
	if (n_axes == 0)
		for (int i = 0; i < X->ndim; i++)
			reduce[i] = 1;
	for (int i = 0; i < X->ndim; i++) {
		kd[i] = reduce[i] ? 1 : X->dims[i];
		if (reduce[i])
			count *= X->dims[i];
		if (!reduce[i] || keep)
			od[nod++] = kd[i];
	}
	if ((Y = op_output(c, 0, INFER_DTYPE_FLOAT, nod, od)) == NULL)
		return -1;
	total = infer_tensor_numel(Y);
	acc = calloc(total > 0 ? (size_t)total : 1, sizeof(double));
	if (acc == NULL)
		return op_fail(c, INFER_E_NOMEM, "out of memory");
	/* Strides of the kept-dims view, 0 on reduced dims, so each input element adds into its slot. */
	s = 1;
	for (int i = X->ndim - 1; i >= 0; i--) {
		os[i] = reduce[i] ? 0 : s;
		s *= kd[i];
	}
	{
		int64_t n = infer_tensor_numel(X), idx[INFER_MAX_DIMS] = { 0 }, off = 0;
		const float *x = X->data;
		for (int64_t i = 0; i < n; i++) {
			acc[off] += x[i];
			for (int d = X->ndim - 1; d >= 0; d--) {
				off += os[d];
				if (++idx[d] < X->dims[d])
					break;
				off -= os[d] * X->dims[d];
				idx[d] = 0;
			}
		}
	}
	for (int64_t i = 0; i < total; i++)
		((float *)Y->data)[i] = count > 0 ? (float)(acc[i] / (double)count) : NAN;
	free(acc);
	return 0;
}
