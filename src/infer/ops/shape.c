/* shape.c: reference layout and shape operators (Concat, Flatten, Reshape, Transpose, Squeeze, Unsqueeze,
 * Pad, Constant, Identity, Shape, Gather, Cast). Outputs never alias inputs: each copies its data. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

/* Output 0 with X's dtype and the given shape, holding X's elements in order (sizes must agree). */
static int
copy_reshaped(struct op_ctx *c, const infer_tensor *X, int ndim, const int64_t *dims)
{
	infer_tensor *Y;
	int64_t n = infer_tensor_numel(X);

	if (infer_dims_numel(ndim, dims) != n)
		return op_fail(c, INFER_E_INVALID, "new shape holds a different number of elements");
	if ((Y = op_output(c, 0, X->dtype, ndim, dims)) == NULL)
		return -1;
	if (n > 0)
		memcpy(Y->data, X->data, (size_t)n * infer_dtype_size(X->dtype));
	return 0;
}

/* Reads an int64 vector input (axes, pads, shape); *n is -1 when the input is absent. */
static int
int_vector(struct op_ctx *c, int idx, const int64_t **v, int *n)
{
	const infer_tensor *t = idx < c->n_in ? c->in[idx] : NULL;

	*n = -1;
	*v = NULL;
	if (t == NULL)
		return 0;
	if (t->dtype != INFER_DTYPE_INT64 || t->ndim > 1)
		return op_fail(c, INFER_E_INVALID, "input #%d must be a 1-D int64 tensor", idx);
	*n = (int)infer_tensor_numel(t);
	if (*n > 4 * INFER_MAX_DIMS)
		return op_fail(c, INFER_E_INVALID, "input #%d has too many entries", idx);
	*v = t->data;
	return 0;
}

int
op_concat(struct op_ctx *c)
{
	const infer_tensor *X0 = op_input(c, 0, 0);
	int axis;
	int64_t od[INFER_MAX_DIMS], outer = 1, inner = 1, off = 0;
	size_t es;
	infer_tensor *Y;

	if (X0 == NULL)
		return -1;
	if (infer_attr(c->node, "axis") == NULL)
		return op_fail(c, INFER_E_INVALID, "attribute axis is required");
	if (infer_norm_axis(infer_attr_int(c->node, "axis", 0), X0->ndim, 0, &axis) < 0)
		return op_fail(c, INFER_E_INVALID, "axis out of range for rank %d", X0->ndim);
	memcpy(od, X0->dims, sizeof(od));
	od[axis] = 0;
	for (int i = 0; i < c->n_in; i++) {
		const infer_tensor *X = op_input(c, i, X0->dtype);
		if (X == NULL)
			return -1;
		if (X->ndim != X0->ndim)
			return op_fail(c, INFER_E_INVALID, "input #%d has rank %d, not %d", i, X->ndim, X0->ndim);
		for (int d = 0; d < X->ndim; d++)
			if (d != axis && X->dims[d] != X0->dims[d])
				return op_fail(c, INFER_E_INVALID, "input #%d differs in dimension %d", i, d);
		od[axis] += X->dims[axis];
		if (od[axis] > INFER_MAX_TENSOR_ELEMS)
			return op_fail(c, INFER_E_LIMIT, "result too large");
	}
	if ((Y = op_output(c, 0, X0->dtype, X0->ndim, od)) == NULL)
		return -1;
	for (int d = 0; d < axis; d++)
		outer *= od[d];
	for (int d = axis + 1; d < X0->ndim; d++)
		inner *= od[d];
	es = infer_dtype_size(X0->dtype);
	for (int i = 0; i < c->n_in; i++) {
		const infer_tensor *X = c->in[i];
		int64_t chunk = X->dims[axis] * inner;
		for (int64_t o = 0; o < outer && chunk > 0; o++)
			memcpy((char *)Y->data + (size_t)((o * od[axis] * inner + off) * (int64_t)es),
			    (const char *)X->data + (size_t)(o * chunk * (int64_t)es), (size_t)chunk * es);
		off += chunk;
	}
	return 0;
}

int
op_flatten(struct op_ctx *c)
{
	const infer_tensor *X = op_input(c, 0, 0);
	int axis;
	int64_t od[2] = { 1, 1 };

	if (X == NULL)
		return -1;
	if (infer_norm_axis(infer_attr_int(c->node, "axis", 1), X->ndim, 1, &axis) < 0)
		return op_fail(c, INFER_E_INVALID, "axis out of range for rank %d", X->ndim);
	for (int d = 0; d < X->ndim; d++)
		od[d < axis ? 0 : 1] *= X->dims[d];
	return copy_reshaped(c, X, 2, od);
}

int
op_reshape(struct op_ctx *c)
{
	const infer_tensor *X = op_input(c, 0, 0);
	const int64_t *shape;
	int n, infer_at = -1, allowzero = (int)infer_attr_int(c->node, "allowzero", 0);
	int64_t od[INFER_MAX_DIMS], known = 1, total;

	if (X == NULL)
		return -1;
	if (c->node->opset >= 5) {
		if (int_vector(c, 1, &shape, &n) < 0)
			return -1;
	} else
		n = infer_attr_ints(c->node, "shape", &shape);
	if (n < 0)
		return op_fail(c, INFER_E_INVALID, "no target shape");
	if (n > INFER_MAX_DIMS)
		return op_fail(c, INFER_E_LIMIT, "target rank %d exceeds %d", n, INFER_MAX_DIMS);
	total = infer_tensor_numel(X);
	for (int i = 0; i < n; i++) {
		int64_t d = shape[i];
		if (d == 0 && !allowzero) {
			if (i >= X->ndim)
				return op_fail(c, INFER_E_INVALID, "shape[%d] = 0 copies a dimension the input lacks", i);
			d = X->dims[i];
		} else if (d == -1) {
			if (infer_at >= 0)
				return op_fail(c, INFER_E_INVALID, "more than one -1 in the target shape");
			infer_at = i;
			od[i] = 1;
			continue;
		} else if (d < 0)
			return op_fail(c, INFER_E_INVALID, "shape[%d] = %lld", i, (long long)d);
		od[i] = d;
		if (d > INFER_MAX_TENSOR_ELEMS || (d > 0 && known > INFER_MAX_TENSOR_ELEMS / d))
			return op_fail(c, INFER_E_LIMIT, "target shape too large");
		known *= d;
	}
	if (infer_at >= 0) {
		if (known == 0 || total % known != 0)
			return op_fail(c, INFER_E_INVALID, "cannot infer the -1 dimension (%lld elements)", (long long)total);
		od[infer_at] = total / known;
	}
	return copy_reshaped(c, X, n, od);
}

int
op_transpose(struct op_ctx *c)
{
	const infer_tensor *X = op_input(c, 0, 0);
	const int64_t *pv;
	int perm[INFER_MAX_DIMS], seen[INFER_MAX_DIMS] = { 0 }, r, np;
	int64_t od[INFER_MAX_DIMS], is[INFER_MAX_DIMS], ps[INFER_MAX_DIMS], n, s = 1, idx[INFER_MAX_DIMS] = { 0 }, off = 0;
	size_t es;
	infer_tensor *Y;

	if (X == NULL)
		return -1;
	r = X->ndim;
	np = infer_attr_ints(c->node, "perm", &pv);
	if (np >= 0 && np != r)
		return op_fail(c, INFER_E_INVALID, "perm has %d entries for rank %d", np, r);
	for (int i = 0; i < r; i++) {
		int64_t p = np >= 0 ? pv[i] : r - 1 - i;
		if (p < 0 || p >= r || seen[p])
			return op_fail(c, INFER_E_INVALID, "perm is not a permutation");
		seen[p] = 1;
		perm[i] = (int)p;
	}
	for (int i = r - 1; i >= 0; i--) {
		is[i] = s;
		s *= X->dims[i];
	}
	for (int i = 0; i < r; i++) {
		od[i] = X->dims[perm[i]];
		ps[i] = is[perm[i]];
	}
	if ((Y = op_output(c, 0, X->dtype, r, od)) == NULL)
		return -1;
	n = infer_tensor_numel(X);
	es = infer_dtype_size(X->dtype);
	for (int64_t i = 0; i < n; i++) {
		memcpy((char *)Y->data + (size_t)i * es, (const char *)X->data + (size_t)off * es, es);
		for (int d = r - 1; d >= 0; d--) {
			off += ps[d];
			if (++idx[d] < od[d])
				break;
			off -= ps[d] * od[d];
			idx[d] = 0;
		}
	}
	return 0;
}

int
op_squeeze(struct op_ctx *c)
{
	const infer_tensor *X = op_input(c, 0, 0);
	const int64_t *axes;
	int n, drop[INFER_MAX_DIMS] = { 0 }, nod = 0;
	int64_t od[INFER_MAX_DIMS];

	if (X == NULL)
		return -1;
	if (c->node->opset >= 13) {
		if (int_vector(c, 1, &axes, &n) < 0)
			return -1;
	} else
		n = infer_attr_ints(c->node, "axes", &axes);
	if (n <= 0) {
		for (int d = 0; d < X->ndim; d++)
			drop[d] = X->dims[d] == 1;
	} else
		for (int i = 0; i < n; i++) {
			int a;
			if (infer_norm_axis(axes[i], X->ndim, 0, &a) < 0)
				return op_fail(c, INFER_E_INVALID, "axis %lld out of range", (long long)axes[i]);
			if (X->dims[a] != 1)
				return op_fail(c, INFER_E_INVALID, "dimension %d is %lld, not 1", a, (long long)X->dims[a]);
			drop[a] = 1;
		}
	for (int d = 0; d < X->ndim; d++)
		if (!drop[d])
			od[nod++] = X->dims[d];
	return copy_reshaped(c, X, nod, od);
}

int
op_unsqueeze(struct op_ctx *c)
{
	const infer_tensor *X = op_input(c, 0, 0);
	const int64_t *axes;
	int n, add[INFER_MAX_DIMS] = { 0 }, r, k = 0;
	int64_t od[INFER_MAX_DIMS];

	if (X == NULL)
		return -1;
	if (c->node->opset >= 13) {
		if (int_vector(c, 1, &axes, &n) < 0)
			return -1;
	} else
		n = infer_attr_ints(c->node, "axes", &axes);
	if (n < 0)
		return op_fail(c, INFER_E_INVALID, "axes are required");
	r = X->ndim + n;
	if (r > INFER_MAX_DIMS)
		return op_fail(c, INFER_E_LIMIT, "result rank %d exceeds %d", r, INFER_MAX_DIMS);
	for (int i = 0; i < n; i++) {
		int a;
		if (infer_norm_axis(axes[i], r, 0, &a) < 0 || add[a])
			return op_fail(c, INFER_E_INVALID, "axis %lld is out of range or repeated", (long long)axes[i]);
		add[a] = 1;
	}
	for (int d = 0; d < r; d++)
		od[d] = add[d] ? 1 : X->dims[k++];
	return copy_reshaped(c, X, r, od);
}

int
op_pad(struct op_ctx *c)
{
	const infer_tensor *X = op_input(c, 0, 0);
	const char *mode = infer_attr_str(c->node, "mode", "constant");
	const int64_t *pv, *axes = NULL;
	int np, n_axes = -1, r, m;
	int64_t pads[2 * INFER_MAX_DIMS] = { 0 }, od[INFER_MAX_DIMS], total, idx[INFER_MAX_DIMS] = { 0 };
	double value = 0.0;
	size_t es;
	infer_tensor *Y;

	if (X == NULL)
		return -1;
	r = X->ndim;
	if (c->node->opset >= 11) {
		const infer_tensor *V = c->n_in > 2 ? c->in[2] : NULL;
		if (int_vector(c, 1, &pv, &np) < 0)
			return -1;
		if (V != NULL) {
			if (V->dtype != X->dtype || infer_tensor_numel(V) != 1)
				return op_fail(c, INFER_E_INVALID, "constant_value must be a scalar of the input's type");
			value = V->dtype == INFER_DTYPE_FLOAT ? *(const float *)V->data : (double)*(const int64_t *)V->data;
		}
		if (c->n_in > 3 && c->in[3] != NULL && int_vector(c, 3, &axes, &n_axes) < 0)
			return -1;
	} else {
		np = infer_attr_ints(c->node, "pads", &pv);
		value = infer_attr_float(c->node, "value", 0.0f);
	}
	m = n_axes >= 0 ? n_axes : r;
	if (np != 2 * m)
		return op_fail(c, INFER_E_INVALID, "pads has %d entries, expected %d", np, 2 * m);
	for (int i = 0; i < m; i++) {
		int a = i;
		if (axes != NULL && infer_norm_axis(axes[i], r, 0, &a) < 0)
			return op_fail(c, INFER_E_INVALID, "axis %lld out of range", (long long)axes[i]);
		if (pv[i] < -INFER_MAX_TENSOR_ELEMS || pv[i] > INFER_MAX_TENSOR_ELEMS ||
		    pv[i + m] < -INFER_MAX_TENSOR_ELEMS || pv[i + m] > INFER_MAX_TENSOR_ELEMS)
			return op_fail(c, INFER_E_LIMIT, "pad of axis %d is absurd", a);
		pads[a] = pv[i];
		pads[a + r] = pv[i + m];
	}
	for (int d = 0; d < r; d++) {
		od[d] = X->dims[d] + pads[d] + pads[d + r];
		if (od[d] < 0)
			return op_fail(c, INFER_E_INVALID, "negative pads remove more than dimension %d holds", d);
		if (strcmp(mode, "reflect") == 0 && (pads[d] >= X->dims[d] || pads[d + r] >= X->dims[d]) &&
		    (pads[d] > 0 || pads[d + r] > 0))
			return op_fail(c, INFER_E_INVALID, "reflect pads must be smaller than dimension %d", d);
		if (strcmp(mode, "edge") == 0 && X->dims[d] == 0 && od[d] > 0)
			return op_fail(c, INFER_E_INVALID, "edge padding of an empty dimension");
	}
	if ((Y = op_output(c, 0, X->dtype, r, od)) == NULL)
		return -1;
	total = infer_tensor_numel(Y);
	es = infer_dtype_size(X->dtype);
	for (int64_t i = 0; i < total; i++) {
		int64_t off = 0;
		int outside = 0;
		for (int d = 0; d < r; d++) {
			int64_t s = idx[d] - pads[d], len = X->dims[d];
			if (s < 0 || s >= len) {
				if (mode[0] == 'c')
					outside = 1;
				else if (mode[0] == 'e')
					s = s < 0 ? 0 : len - 1;
				else
					s = s < 0 ? -s : 2 * (len - 1) - s;
			}
			off = off * len + s;
		}
		if (outside) {
			if (X->dtype == INFER_DTYPE_FLOAT)
				((float *)Y->data)[i] = (float)value;
			else
				((int64_t *)Y->data)[i] = (int64_t)value;
		} else
			memcpy((char *)Y->data + (size_t)i * es, (const char *)X->data + (size_t)off * es, es);
		for (int d = r - 1; d >= 0; d--) {
			if (++idx[d] < od[d])
				break;
			idx[d] = 0;
		}
	}
	return 0;
}

int
op_constant(struct op_ctx *c)
{
	const pw_attr *a;
	infer_tensor *Y;
	int64_t n;

	if ((a = infer_attr(c->node, "value")) != NULL && a->type == PW_ATTR_TENSOR && a->t != NULL)
		return copy_reshaped(c, a->t, a->t->ndim, a->t->dims);
	if ((a = infer_attr(c->node, "value_float")) != NULL && a->type == PW_ATTR_FLOAT) {
		if ((Y = op_output(c, 0, INFER_DTYPE_FLOAT, 0, NULL)) == NULL)
			return -1;
		*(float *)Y->data = a->f;
		return 0;
	}
	if ((a = infer_attr(c->node, "value_int")) != NULL && a->type == PW_ATTR_INT) {
		if ((Y = op_output(c, 0, INFER_DTYPE_INT64, 0, NULL)) == NULL)
			return -1;
		*(int64_t *)Y->data = a->i;
		return 0;
	}
	if ((a = infer_attr(c->node, "value_floats")) != NULL && a->type == PW_ATTR_FLOATS) {
		n = (int64_t)a->n;
		if ((Y = op_output(c, 0, INFER_DTYPE_FLOAT, 1, &n)) == NULL)
			return -1;
		if (n > 0)
			memcpy(Y->data, a->floats, a->n * sizeof(float));
		return 0;
	}
	if ((a = infer_attr(c->node, "value_ints")) != NULL && a->type == PW_ATTR_INTS) {
		n = (int64_t)a->n;
		if ((Y = op_output(c, 0, INFER_DTYPE_INT64, 1, &n)) == NULL)
			return -1;
		if (n > 0)
			memcpy(Y->data, a->ints, a->n * sizeof(int64_t));
		return 0;
	}
	return op_fail(c, INFER_E_UNSUPPORTED, "no supported value attribute");
}

int
op_identity(struct op_ctx *c)
{
	const infer_tensor *X = op_input(c, 0, 0);

	return X == NULL ? -1 : copy_reshaped(c, X, X->ndim, X->dims);
}

int
op_shape(struct op_ctx *c)
{
	const infer_tensor *X = op_input(c, 0, 0);
	int64_t r, start, end, n;
	infer_tensor *Y;

	if (X == NULL)
		return -1;
	r = X->ndim;
	start = infer_attr_int(c->node, "start", 0);
	end = infer_attr_int(c->node, "end", r);
	if (start < 0)
		start += r;
	if (end < 0)
		end += r;
	start = start < 0 ? 0 : start > r ? r : start;
	end = end < 0 ? 0 : end > r ? r : end;
	n = end > start ? end - start : 0;
	if ((Y = op_output(c, 0, INFER_DTYPE_INT64, 1, &n)) == NULL)
		return -1;
	for (int64_t i = 0; i < n; i++)
		((int64_t *)Y->data)[i] = X->dims[start + i];
	return 0;
}

int
op_gather(struct op_ctx *c)
{
	const infer_tensor *X = op_input(c, 0, 0), *I = op_input(c, 1, INFER_DTYPE_INT64);
	int axis, r;
	int64_t od[INFER_MAX_DIMS], outer = 1, inner = 1, ni;
	size_t es;
	infer_tensor *Y;

	if (X == NULL || I == NULL)
		return -1;
	if (infer_norm_axis(infer_attr_int(c->node, "axis", 0), X->ndim, 0, &axis) < 0)
		return op_fail(c, INFER_E_INVALID, "axis out of range for rank %d", X->ndim);
	r = X->ndim - 1 + I->ndim;
	if (r > INFER_MAX_DIMS)
		return op_fail(c, INFER_E_LIMIT, "result rank %d exceeds %d", r, INFER_MAX_DIMS);
	for (int d = 0; d < axis; d++) {
		od[d] = X->dims[d];
		outer *= X->dims[d];
	}
	for (int d = 0; d < I->ndim; d++)
		od[axis + d] = I->dims[d];
	for (int d = axis + 1; d < X->ndim; d++) {
		od[I->ndim + d - 1] = X->dims[d];
		inner *= X->dims[d];
	}
	ni = infer_tensor_numel(I);
	for (int64_t j = 0; j < ni; j++) {
		int64_t k = ((const int64_t *)I->data)[j];
		if (k < -X->dims[axis] || k >= X->dims[axis])
			return op_fail(c, INFER_E_INVALID, "index %lld out of range [%lld, %lld)", (long long)k,
			    (long long)-X->dims[axis], (long long)X->dims[axis]);
	}
	if ((Y = op_output(c, 0, X->dtype, r, od)) == NULL)
		return -1;
	es = infer_dtype_size(X->dtype);
	for (int64_t o = 0; o < outer; o++)
		for (int64_t j = 0; j < ni; j++) {
			int64_t k = ((const int64_t *)I->data)[j];
			if (k < 0)
				k += X->dims[axis];
			if (inner > 0)
				memcpy((char *)Y->data + (size_t)((o * ni + j) * inner) * es,
				    (const char *)X->data + (size_t)((o * X->dims[axis] + k) * inner) * es, (size_t)inner * es);
		}
	return 0;
}

int
op_cast(struct op_ctx *c)
{
	const infer_tensor *X = op_input(c, 0, 0);
	infer_dtype to = (infer_dtype)infer_attr_int(c->node, "to", 0);
	infer_tensor *Y;
	int64_t n;

	if (X == NULL)
		return -1;
	if (X->dtype == to)
		return copy_reshaped(c, X, X->ndim, X->dims);
	if ((Y = op_output(c, 0, to, X->ndim, X->dims)) == NULL)
		return -1;
	n = infer_tensor_numel(X);
	if (to == INFER_DTYPE_FLOAT)
		for (int64_t i = 0; i < n; i++)
			((float *)Y->data)[i] = (float)((const int64_t *)X->data)[i];
	else
		for (int64_t i = 0; i < n; i++) {
			/* Out-of-range float to int conversion is undefined in C: saturate, NaN becomes 0. */
			float v = ((const float *)X->data)[i];
			((int64_t *)Y->data)[i] = isnan(v) ? 0 : v >= 9.2233715e18f ? INT64_MAX :
			    v <= -9.2233715e18f ? INT64_MIN : (int64_t)v;
		}
	return 0;
}
