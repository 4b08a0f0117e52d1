/* gemm.c: reference Gemm (alpha, beta, transposes, broadcast C) and numpy-style MatMul. */
#include <string.h>

#include "internal.h"

int
op_gemm(struct op_ctx *c)
{
	const infer_tensor *A = op_input(c, 0, INFER_DTYPE_FLOAT), *B = op_input(c, 1, INFER_DTYPE_FLOAT);
	const infer_tensor *C = c->n_in > 2 ? c->in[2] : NULL;
	int ta = (int)infer_attr_int(c->node, "transA", 0), tb = (int)infer_attr_int(c->node, "transB", 0);
	float alpha = infer_attr_float(c->node, "alpha", 1.0f), beta = infer_attr_float(c->node, "beta", 1.0f);
	int64_t M, K, N, K2, od[2], cs[2] = { 0, 0 };
	const float *a, *b, *cc = NULL;
	infer_tensor *Y;
	float *y;

	if (A == NULL || B == NULL)
		return -1;
	if (A->ndim != 2 || B->ndim != 2)
		return op_fail(c, INFER_E_INVALID, "A and B must be matrices (ranks %d and %d)", A->ndim, B->ndim);
	M = ta ? A->dims[1] : A->dims[0];
	K = ta ? A->dims[0] : A->dims[1];
	K2 = tb ? B->dims[1] : B->dims[0];
	N = tb ? B->dims[0] : B->dims[1];
	if (K != K2)
		return op_fail(c, INFER_E_INVALID, "inner dimensions differ (%lld vs %lld)", (long long)K, (long long)K2);
	od[0] = M;
	od[1] = N;
	if (C != NULL) {
		int nout;
		int64_t bd[2];
		if (C->dtype != INFER_DTYPE_FLOAT || C->ndim > 2 ||
		    infer_broadcast_dims(2, od, C->ndim, C->dims, &nout, bd) < 0 || bd[0] != M || bd[1] != N)
			return op_fail(c, INFER_E_INVALID, "C cannot be broadcast to [%lld, %lld]", (long long)M, (long long)N);
		infer_broadcast_strides(C->ndim, C->dims, 2, od, cs);
		cc = C->data;
	}
	if ((Y = op_output(c, 0, INFER_DTYPE_FLOAT, 2, od)) == NULL)
		return -1;
	a = A->data;
	b = B->data;
	y = Y->data;
#pragma omp parallel for schedule(static) num_threads(PW_OMP_THREADS(c))
	for (int64_t i = 0; i < M; i++) {
		for (int64_t j = 0; j < N; j++) {
			float acc = 0.0f;
			for (int64_t k = 0; k < K; k++)
				acc += (ta ? a[k * M + i] : a[i * K + k]) * (tb ? b[j * K + k] : b[k * N + j]);
			y[i * N + j] = alpha * acc + (cc != NULL ? beta * cc[i * cs[0] + j * cs[1]] : 0.0f);
		}
		op_apply_fused_activation(c->node, y + i * N, N);
	}
	return 0;
}

int
op_matmul(struct op_ctx *c)
{
	const infer_tensor *A = op_input(c, 0, INFER_DTYPE_FLOAT), *B = op_input(c, 1, INFER_DTYPE_FLOAT);
	int64_t ad[INFER_MAX_DIMS], bd[INFER_MAX_DIMS], od[INFER_MAX_DIMS], sa[INFER_MAX_DIMS], sb[INFER_MAX_DIMS];
	int na, nb, nbatch, nod;
	int64_t M, K, N, batch = 1;
	infer_tensor *Y;

	if (A == NULL || B == NULL)
		return -1;
	if (A->ndim < 1 || B->ndim < 1)
		return op_fail(c, INFER_E_INVALID, "inputs must have rank >= 1");
	/* 1-D operands are promoted to matrices and the added dimension dropped from the result. */
	na = A->ndim == 1 ? 2 : A->ndim;
	nb = B->ndim == 1 ? 2 : B->ndim;
	if (A->ndim == 1) {
		ad[0] = 1;
		ad[1] = A->dims[0];
	} else
		memcpy(ad, A->dims, (size_t)na * sizeof(ad[0]));
	if (B->ndim == 1) {
		bd[0] = B->dims[0];
		bd[1] = 1;
	} else
		memcpy(bd, B->dims, (size_t)nb * sizeof(bd[0]));
	M = ad[na - 2];
	K = ad[na - 1];
	N = bd[nb - 1];
	if (bd[nb - 2] != K)
		return op_fail(c, INFER_E_INVALID, "inner dimensions differ (%lld vs %lld)", (long long)K,
		    (long long)bd[nb - 2]);
	if (infer_broadcast_dims(na - 2, ad, nb - 2, bd, &nbatch, od) < 0)
		return op_fail(c, INFER_E_INVALID, "batch dimensions cannot be broadcast");
	infer_broadcast_strides(na - 2, ad, nbatch, od, sa);
	infer_broadcast_strides(nb - 2, bd, nbatch, od, sb);
	for (int i = 0; i < nbatch; i++)
		batch *= od[i];
	nod = nbatch;
	if (A->ndim != 1)
		od[nod++] = M;
	if (B->ndim != 1)
		od[nod++] = N;
	if (nod > INFER_MAX_DIMS || (Y = op_output(c, 0, INFER_DTYPE_FLOAT, nod, od)) == NULL)
		return nod > INFER_MAX_DIMS ? op_fail(c, INFER_E_LIMIT, "result rank too high") : -1;
#pragma omp parallel for schedule(static) num_threads(PW_OMP_THREADS(c))
	for (int64_t bi = 0; bi < batch; bi++) {
		int64_t rem = bi, oa = 0, ob = 0;
		const float *a, *b;
		float *y = (float *)Y->data + bi * M * N;
		for (int d = nbatch - 1; d >= 0; d--) {
			int64_t ix = rem % od[d];
			rem /= od[d];
			oa += ix * sa[d];
			ob += ix * sb[d];
		}
		a = (const float *)A->data + oa * M * K;
		b = (const float *)B->data + ob * K * N;
		for (int64_t i = 0; i < M; i++)
			for (int64_t j = 0; j < N; j++) {
				float acc = 0.0f;
				for (int64_t k = 0; k < K; k++)
					acc += a[i * K + k] * b[k * N + j];
				y[i * N + j] = acc;
			}
	}
	return 0;
}
