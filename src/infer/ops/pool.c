/* pool.c: reference GlobalAveragePool, AveragePool and MaxPool over 1-3 spatial dims. */
#include <float.h>
#include <math.h>

#include "internal.h"

int
op_global_avgpool(struct op_ctx *c)
{
	const infer_tensor *X = op_input(c, 0, INFER_DTYPE_FLOAT);
	int64_t od[INFER_MAX_DIMS], nc, sp = 1;
	infer_tensor *Y;

	if (X == NULL)
		return -1;
	if (X->ndim < 2)
		return op_fail(c, INFER_E_INVALID, "input rank %d is below 2", X->ndim);
	od[0] = X->dims[0];
	od[1] = X->dims[1];
	for (int i = 2; i < X->ndim; i++) {
		od[i] = 1;
		sp *= X->dims[i];
	}
	if ((Y = op_output(c, 0, INFER_DTYPE_FLOAT, X->ndim, od)) == NULL)
		return -1;
	nc = od[0] * od[1];
	for (int64_t i = 0; i < nc; i++) {
		double acc = infer_sum_f32((const float *)X->data + i * sp, sp);
		((float *)Y->data)[i] = sp > 0 ? (float)(acc / (double)sp) : 0.0f;
	}
	return 0;
}

int
op_pool(struct op_ctx *c)
{
	const infer_tensor *X = op_input(c, 0, INFER_DTYPE_FLOAT);
	const int64_t *ks;
	int64_t kernel[3], od[INFER_MAX_DIMS], nc, isz, osz;
	struct spatial_geom g;
	int is_max = c->op == OP_MAXPOOL, include_pad;
	infer_tensor *Y;

	if (X == NULL)
		return -1;
	if (X->ndim < 3)
		return op_fail(c, INFER_E_INVALID, "input rank %d is below 3", X->ndim);
	if (infer_attr_ints(c->node, "kernel_shape", &ks) != X->ndim - 2)
		return op_fail(c, INFER_E_INVALID, "kernel_shape must have %d entries", X->ndim - 2);
	for (int i = 0; i < X->ndim - 2; i++)
		kernel[i] = ks[i];
	if (infer_spatial_geom(c, X, kernel, (int)infer_attr_int(c->node, "ceil_mode", 0), &g) < 0)
		return -1;
	include_pad = (int)infer_attr_int(c->node, "count_include_pad", 0);
	od[0] = X->dims[0];
	od[1] = X->dims[1];
	for (int i = 0; i < g.nsp; i++)
		od[2 + i] = g.out[3 - g.nsp + i];
	if ((Y = op_output(c, 0, INFER_DTYPE_FLOAT, X->ndim, od)) == NULL)
		return -1;
	nc = od[0] * od[1];
	isz = g.in[0] * g.in[1] * g.in[2];
	osz = g.out[0] * g.out[1] * g.out[2];
#pragma omp parallel for schedule(static) num_threads(PW_OMP_THREADS(c))
	for (int64_t p = 0; p < nc; p++) {
		const float *x = (const float *)X->data + p * isz;
		float *y = (float *)Y->data + p * osz;
		for (int64_t o0 = 0; o0 < g.out[0]; o0++)
		for (int64_t o1 = 0; o1 < g.out[1]; o1++)
		for (int64_t o2 = 0; o2 < g.out[2]; o2++) {
			int64_t o[3] = { o0, o1, o2 }, cnt = 1;
			float mx = -INFINITY;
			double acc = 0.0;
			int64_t valid = 0;
			/* Window size counted with padding, clipped to the padded extent (as ONNX Runtime does). */
			for (int j = 0; j < 3; j++) {
				int64_t start = o[j] * g.s[j] - g.pb[j];
				int64_t end = start + (g.k[j] - 1) * g.d[j] + 1;
				if (end > g.in[j] + g.pe[j])
					end = g.in[j] + g.pe[j];
				cnt *= (end - start + g.d[j] - 1) / g.d[j];
			}
			for (int64_t k0 = 0; k0 < g.k[0]; k0++) {
				int64_t i0 = o0 * g.s[0] - g.pb[0] + k0 * g.d[0];
				if (i0 < 0 || i0 >= g.in[0])
					continue;
				for (int64_t k1 = 0; k1 < g.k[1]; k1++) {
					int64_t i1 = o1 * g.s[1] - g.pb[1] + k1 * g.d[1];
					if (i1 < 0 || i1 >= g.in[1])
						continue;
					for (int64_t k2 = 0; k2 < g.k[2]; k2++) {
						int64_t i2 = o2 * g.s[2] - g.pb[2] + k2 * g.d[2];
						float v;
						if (i2 < 0 || i2 >= g.in[2])
							continue;
						v = x[(i0 * g.in[1] + i1) * g.in[2] + i2];
						if (v > mx)
							mx = v;
						acc += v;
						valid++;
					}
				}
			}
			if (is_max)
				y[(o0 * g.out[1] + o1) * g.out[2] + o2] = mx;
			else {
				int64_t div = include_pad ? cnt : valid;
				y[(o0 * g.out[1] + o1) * g.out[2] + o2] = div > 0 ? (float)(acc / (double)div) : 0.0f;
			}
		}
	}
	return 0;
}
