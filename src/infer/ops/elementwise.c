/* elementwise.c: reference kernels for broadcasting binary ops (Add, Sub, Mul, Div) and activations. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "internal.h"

int
infer_broadcast_dims(int na, const int64_t *a, int nb, const int64_t *b, int *nout, int64_t *out)
{
	int n = na > nb ? na : nb;

	for (int i = 0; i < n; i++) {
		int64_t da = i < n - na ? 1 : a[i - (n - na)];
		int64_t db = i < n - nb ? 1 : b[i - (n - nb)];
		if (da == db || db == 1)
			out[i] = da;
		else if (da == 1)
			out[i] = db;
		else
			return -1;
	}
	*nout = n;
	return 0;
}

void
infer_broadcast_strides(int n, const int64_t *dims, int nout, const int64_t *out_dims, int64_t *strides)
{
	int64_t s = 1;

	for (int i = nout - 1; i >= 0; i--) {
		int k = i - (nout - n);
		if (k < 0 || dims[k] == 1 || out_dims[i] == 1) {
			strides[i] = 0;
			if (k >= 0)
				s *= dims[k];
		} else {
			strides[i] = s;
			s *= dims[k];
		}
	}
}

int
infer_norm_axis(int64_t axis, int r, int inclusive, int *out)
{
	int64_t hi = inclusive ? r : r - 1;

	if (axis < -(int64_t)r || axis > hi)
		return -1;
	if (axis < 0)
		axis += r;
	*out = (int)axis;
	return 0;
}

/* Loops over out (rank n) with per-input strides, calling the per-element expression EXPR(x, y). */
#define BROADCAST_LOOP(T, EXPR)                                                                   \
	do {                                                                                      \
		const T *pa = A->data, *pb = B->data;                                             \
		T *po = Y->data;                                                                  \
		int64_t idx[INFER_MAX_DIMS] = { 0 }, inner = n > 0 ? od[n - 1] : 1;               \
		int64_t ia = n > 0 ? sa[n - 1] : 0, ib = n > 0 ? sb[n - 1] : 0;                   \
		int64_t oa = 0, ob = 0;                                                           \
		for (int64_t base = 0; base < total; base += inner) {                             \
			for (int64_t j = 0; j < inner; j++) {                                     \
				T x = pa[oa + j * ia], y = pb[ob + j * ib];                       \
				po[base + j] = (EXPR);                                            \
			}                                                                         \
			for (int d = n - 2; d >= 0; d--) {                                        \
				oa += sa[d];                                                      \
				ob += sb[d];                                                      \
				if (++idx[d] < od[d])                                             \
					break;                                                    \
				oa -= sa[d] * od[d];                                              \
				ob -= sb[d] * od[d];                                              \
				idx[d] = 0;                                                       \
			}                                                                         \
		}                                                                                 \
	} while (0)

/* If t, right-aligned to rank n, equals out on its first k dims and is 1 on the rest, returns the product of
 * the rest (t's element o is then repeated over block o of that many output elements); else 0. */
static int64_t
outer_broadcast(const infer_tensor *t, int n, const int64_t *od)
{
	int64_t inner = 1;
	int d = n - 1, off = n - t->ndim;

	if (t->ndim > n)
		return 0;
	/* Trailing dims where t is 1 (or absent: a lower rank is padded with 1s in front) form the repeated block. */
	for (; d >= 0 && (d < off ? 1 : t->dims[d - off]) == 1; d--)
		inner *= od[d];
	for (; d >= 0; d--) {
		int64_t td = d < off ? 1 : t->dims[d - off];
		if (td != od[d])
			return 0;
	}
	return inner;
}

static int64_t
i64_wrap(uint64_t v)
{
	int64_t r;

	memcpy(&r, &v, sizeof(r));
	return r;
}

int
op_binary(struct op_ctx *c)
{
	const infer_tensor *A = op_input(c, 0, 0), *B0 = op_input(c, 1, 0);
	infer_tensor Bv, *Y;
	const infer_tensor *B = B0;
	int64_t od[INFER_MAX_DIMS], sa[INFER_MAX_DIMS], sb[INFER_MAX_DIMS], total;
	int n;

	if (A == NULL || B == NULL)
		return -1;
	if (A->dtype != B->dtype)
		return op_fail(c, INFER_E_INVALID, "input types differ");
	/* Opset < 7: "broadcast" places B at "axis" of A (default: aligned to the end). */
	if (c->node->opset < 7 && infer_attr_int(c->node, "broadcast", 0) != 0) {
		int axis;
		if (!infer_attr(c->node, "axis"))
			axis = A->ndim - B->ndim;
		else if (infer_norm_axis(infer_attr_int(c->node, "axis", 0), A->ndim, 0, &axis) < 0)
			return op_fail(c, INFER_E_INVALID, "axis out of range");
		if (axis < 0 || axis + B->ndim > A->ndim)
			return op_fail(c, INFER_E_INVALID, "legacy broadcast does not fit");
		Bv = *B;
		Bv.ndim = A->ndim;
		for (int i = 0; i < A->ndim; i++)
			Bv.dims[i] = i >= axis && i < axis + B->ndim ? B->dims[i - axis] : 1;
		B = &Bv;
	}
	if (infer_broadcast_dims(A->ndim, A->dims, B->ndim, B->dims, &n, od) < 0)
		return op_fail(c, INFER_E_INVALID, "shapes cannot be broadcast together");
	if ((Y = op_output(c, 0, A->dtype, n, od)) == NULL)
		return -1;
	total = infer_tensor_numel(Y);
	if (total == 0)
		return 0;
	infer_broadcast_strides(A->ndim, A->dims, n, od, sa);
	infer_broadcast_strides(B->ndim, B->dims, n, od, sb);
	if (A->dtype == INFER_DTYPE_FLOAT) {
		/* The shapes CNNs use (same shapes: residual Adds; one operand repeated over trailing dims: a scalar,
		 * a squeeze-excite scale [N, C, 1, 1]) as contiguous vector loops, where the general loop below steps
		 * through every element with its strides. */
		int64_t ia = outer_broadcast(A, n, od), ib = outer_broadcast(B, n, od);
		if ((ia == 1 && ib > 0) || (ib == 1 && ia > 0)) {
			const float *a = A->data, *b = B->data;
			float *y = Y->data;
			if (ia == 1 && ib == 1)
				infer_binary_f32(c->op, a, 1, b, 1, y, total);
			else if (ia == 1)
				for (int64_t o = 0; o < total / ib; o++)
					infer_binary_f32(c->op, a + o * ib, 1, b + o, 0, y + o * ib, ib);
			else
				for (int64_t o = 0; o < total / ia; o++)
					infer_binary_f32(c->op, a + o, 0, b + o * ia, 1, y + o * ia, ia);
			op_apply_fused_activation(c->node, Y->data, total);
			return 0;
		}
	}
	if (A->dtype == INFER_DTYPE_FLOAT) {
		switch (c->op) {
		case OP_ADD: BROADCAST_LOOP(float, x + y); break;
		case OP_SUB: BROADCAST_LOOP(float, x - y); break;
		case OP_MUL: BROADCAST_LOOP(float, x * y); break;
		default: BROADCAST_LOOP(float, x / y); break;
		}
		op_apply_fused_activation(c->node, Y->data, total);
		return 0;
	}
	if (c->op == OP_DIV) {
		/* Integer division by zero (or INT64_MIN / -1) is undefined in C: refuse before looping. */
		const int64_t *divisor = B->data;
		int64_t nb = infer_tensor_numel(B);
		for (int64_t i = 0; i < nb; i++)
			if (divisor[i] == 0 || divisor[i] == -1)
				goto slow_div;
		BROADCAST_LOOP(int64_t, x / y);
		return 0;
slow_div:
		for (int64_t i = 0; i < nb; i++)
			if (divisor[i] == 0)
				return op_fail(c, INFER_E_INVALID, "integer division by zero");
		BROADCAST_LOOP(int64_t, y == -1 ? i64_wrap(0u - (uint64_t)x) : x / y);
		return 0;
	}
	switch (c->op) {
	case OP_ADD: BROADCAST_LOOP(int64_t, i64_wrap((uint64_t)x + (uint64_t)y)); break;
	case OP_SUB: BROADCAST_LOOP(int64_t, i64_wrap((uint64_t)x - (uint64_t)y)); break;
	default: BROADCAST_LOOP(int64_t, i64_wrap((uint64_t)x * (uint64_t)y)); break;
	}
	return 0;
}

static float
scalar_or(struct op_ctx *c, int idx, float dflt, int *bad)
{
	const infer_tensor *t = idx < c->n_in ? c->in[idx] : NULL;

	if (t == NULL)
		return dflt;
	if (t->dtype != INFER_DTYPE_FLOAT || infer_tensor_numel(t) != 1) {
		*bad = 1;
		return dflt;
	}
	return *(const float *)t->data;
}

int
op_unary(struct op_ctx *c)
{
	const infer_tensor *X = op_input(c, 0, INFER_DTYPE_FLOAT);
	infer_tensor *Y;
	const float *x;
	float *y;
	int64_t n;

	if (X == NULL || (Y = op_output(c, 0, X->dtype, X->ndim, X->dims)) == NULL)
		return -1;
	n = infer_tensor_numel(X);
	x = X->data;
	y = Y->data;
	switch (c->op) {
	case OP_RELU:
		for (int64_t i = 0; i < n; i++)
			y[i] = x[i] > 0.0f ? x[i] : 0.0f;
		break;
	case OP_CLIP: {
		float lo, hi;
		int bad = 0;
		if (c->node->opset < 11) {
			lo = infer_attr_float(c->node, "min", -FLT_MAX);
			hi = infer_attr_float(c->node, "max", FLT_MAX);
		} else {
			lo = scalar_or(c, 1, -INFINITY, &bad);
			hi = scalar_or(c, 2, INFINITY, &bad);
		}
		if (bad)
			return op_fail(c, INFER_E_INVALID, "min and max must be float scalars");
		infer_clip_f32(x, y, n, lo, hi);
		break;
	}
	case OP_SIGMOID:
		for (int64_t i = 0; i < n; i++)
			y[i] = 1.0f / (1.0f + expf(-x[i]));
		break;
	case OP_HARDSIGMOID: {
		float alpha = infer_attr_float(c->node, "alpha", 0.2f), beta = infer_attr_float(c->node, "beta", 0.5f);
		for (int64_t i = 0; i < n; i++)
			y[i] = fmaxf(0.0f, fminf(1.0f, alpha * x[i] + beta));
		break;
	}
	default: /* HardSwish */
		for (int64_t i = 0; i < n; i++)
			y[i] = x[i] * fmaxf(0.0f, fminf(1.0f, x[i] / 6.0f + 0.5f));
		break;
	}
	return 0;
}

struct infer_act
infer_act_of(const pw_node *n)
{
	const char *act = infer_attr_str(n, "pw.activation", NULL);
	struct infer_act a = { .kind = ACT_NONE, .lo = -INFINITY, .hi = INFINITY };

	if (act == NULL)
		return a;
	if (strcmp(act, "Relu") == 0) {
		a.kind = ACT_CLAMP;
		a.lo = 0.0f;
	} else if (strcmp(act, "Clip") == 0) {
		a.kind = ACT_CLAMP;
		a.lo = infer_attr_float(n, "pw.clip_min", -INFINITY);
		a.hi = infer_attr_float(n, "pw.clip_max", INFINITY);
	} else if (strcmp(act, "HardSwish") == 0)
		a.kind = ACT_HARDSWISH;
	return a;
}

void
op_apply_fused_activation(const pw_node *n, float *x, int64_t count)
{
	struct infer_act a = infer_act_of(n);

	infer_act_apply(&a, x, count);
}
