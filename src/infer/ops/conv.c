/* conv.c: the reference N-d convolution (1-3 spatial dims; groups, depthwise, strides, dilations, pads, auto_pad). */
#include <string.h>

#include "internal.h"

/* Attribute values beyond this are refused, so size arithmetic below cannot overflow. */
#define MAX_GEOM_ATTR ((int64_t)1 << 24)

static int
read_ints(struct op_ctx *c, const char *name, int n, int64_t dflt, int64_t lo, int64_t *out)
{
	const int64_t *v;
	int cnt = infer_attr_ints(c->node, name, &v);

	for (int i = 0; i < n; i++)
		out[i] = dflt;
	if (cnt < 0)
		return 0;
	if (cnt != n)
		return op_fail(c, INFER_E_INVALID, "attribute %s has %d entries, expected %d", name, cnt, n);
	for (int i = 0; i < n; i++) {
		if (v[i] < lo || v[i] > MAX_GEOM_ATTR)
			return op_fail(c, INFER_E_INVALID, "attribute %s[%d] = %lld is out of range", name, i,
			    (long long)v[i]);
		out[i] = v[i];
	}
	return 0;
}

int
infer_spatial_geom(struct op_ctx *c, const infer_tensor *X, const int64_t *kernel, int ceil_mode,
    struct spatial_geom *g)
{
	int nsp = X->ndim - 2;
	int64_t s[3], d[3], pads[6], k[3];
	const char *ap = infer_attr_str(c->node, "auto_pad", "NOTSET");

	if (nsp < 1 || nsp > 3)
		return op_fail(c, INFER_E_UNSUPPORTED, "input has rank %d; 3 to 5 (1-3 spatial dims) are supported",
		    X->ndim);
	if (read_ints(c, "strides", nsp, 1, 1, s) < 0 || read_ints(c, "dilations", nsp, 1, 1, d) < 0 ||
	    read_ints(c, "pads", 2 * nsp, 0, 0, pads) < 0)
		return -1;
	for (int i = 0; i < nsp; i++) {
		if (kernel[i] < 1 || kernel[i] > MAX_GEOM_ATTR)
			return op_fail(c, INFER_E_INVALID, "kernel dimension %d is %lld", i, (long long)kernel[i]);
		k[i] = kernel[i];
	}
	g->nsp = nsp;
	for (int j = 0; j < 3; j++) {
		int i = j - (3 - nsp);
		int64_t in, ek, out, pb, pe;
		if (i < 0) {
			g->in[j] = g->k[j] = g->s[j] = g->d[j] = g->out[j] = 1;
			g->pb[j] = g->pe[j] = 0;
			continue;
		}
		in = X->dims[2 + i];
		ek = (k[i] - 1) * d[i] + 1;
		pb = pads[i];
		pe = pads[i + nsp];
		if (strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0) {
			int64_t total;
			out = (in + s[i] - 1) / s[i];
			total = (out - 1) * s[i] + ek - in;
			if (total < 0)
				total = 0;
			pb = strcmp(ap, "SAME_UPPER") == 0 ? total / 2 : total - total / 2;
			pe = total - pb;
		} else {
			int64_t span;
			if (strcmp(ap, "VALID") == 0)
				pb = pe = 0;
			span = in + pb + pe - ek;
			if (span < 0)
				return op_fail(c, INFER_E_INVALID, "window (%lld) is larger than the padded input (%lld)",
				    (long long)ek, (long long)(in + pb + pe));
			out = (ceil_mode ? (span + s[i] - 1) / s[i] : span / s[i]) + 1;
			/* With ceil_mode the last window must start inside the input or its leading pad. */
			if (ceil_mode && (out - 1) * s[i] >= in + pb)
				out--;
		}
		g->in[j] = in;
		g->k[j] = k[i];
		g->s[j] = s[i];
		g->d[j] = d[i];
		g->pb[j] = pb;
		g->pe[j] = pe;
		g->out[j] = out;
	}
	return 0;
}

void
infer_conv_ref(const struct conv_params *p)
{
	const struct spatial_geom *gp = &p->g;
	int64_t Cg = p->C / p->G, Mg = p->M / p->G;
	int64_t osz = gp->out[0] * gp->out[1] * gp->out[2], ksz = gp->k[0] * gp->k[1] * gp->k[2];
	int64_t isz = gp->in[0] * gp->in[1] * gp->in[2];
	struct spatial_geom g = *gp;

#pragma omp parallel for collapse(2) schedule(static) num_threads(p->threads > 0 ? p->threads : omp_get_max_threads())
	for (int64_t n = 0; n < p->N; n++)
		for (int64_t m = 0; m < p->M; m++) {
			int64_t grp = m / Mg;
			float *yo = p->y + (n * p->M + m) * osz;
			for (int64_t o0 = 0; o0 < g.out[0]; o0++)
			for (int64_t o1 = 0; o1 < g.out[1]; o1++)
			for (int64_t o2 = 0; o2 < g.out[2]; o2++) {
				float acc = p->bias != NULL ? p->bias[m] : 0.0f;
				for (int64_t ci = 0; ci < Cg; ci++) {
					const float *xc = p->x + (n * p->C + grp * Cg + ci) * isz;
					const float *wc = p->w + (m * Cg + ci) * ksz;
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
								if (i2 < 0 || i2 >= g.in[2])
									continue;
								acc += xc[(i0 * g.in[1] + i1) * g.in[2] + i2] *
								    wc[(k0 * g.k[1] + k1) * g.k[2] + k2];
							}
						}
					}
				}
				yo[(o0 * g.out[1] + o1) * g.out[2] + o2] = acc;
			}
			infer_act_apply(&p->act, yo, osz);
		}
}

/* The Conv of c; with act != NULL its output is value out and act runs over it afterwards (op_conv_into); with
 * res != NULL its output is value out and res (of the output's shape, else 1 is returned before anything is
 * written) is added to it (op_conv_residual). */
static int
conv_run(struct op_ctx *c, const struct infer_act *act, int out, const infer_tensor *res)
{
	const infer_tensor *X = op_input(c, 0, INFER_DTYPE_FLOAT), *W = op_input(c, 1, INFER_DTYPE_FLOAT);
	const infer_tensor *Bt = c->n_in > 2 ? c->in[2] : NULL;
	struct spatial_geom g;
	int64_t kernel[3], od[INFER_MAX_DIMS], N, C, M, G;
	const int64_t *ks;
	const float *bias = NULL;
	infer_tensor *Y;

	if (X == NULL || W == NULL)
		return -1;
	if (W->ndim != X->ndim)
		return op_fail(c, INFER_E_INVALID, "weight rank %d differs from input rank %d", W->ndim, X->ndim);
	if (X->ndim < 3)
		return op_fail(c, INFER_E_INVALID, "input rank %d is below 3", X->ndim);
	N = X->dims[0];
	C = X->dims[1];
	M = W->dims[0];
	G = infer_attr_int(c->node, "group", 1);
	if (G < 1 || C % G != 0 || M % G != 0 || W->dims[1] != C / G)
		return op_fail(c, INFER_E_INVALID, "group %lld does not fit %lld input and %lld output channels "
		    "(weight has %lld per group)", (long long)G, (long long)C, (long long)M, (long long)W->dims[1]);
	for (int i = 0; i < X->ndim - 2; i++)
		kernel[i] = W->dims[2 + i];
	if (infer_attr_ints(c->node, "kernel_shape", &ks) >= 0) {
		if (infer_attr_ints(c->node, "kernel_shape", &ks) != X->ndim - 2)
			return op_fail(c, INFER_E_INVALID, "kernel_shape has the wrong length");
		for (int i = 0; i < X->ndim - 2; i++)
			if (ks[i] != kernel[i])
				return op_fail(c, INFER_E_INVALID, "kernel_shape disagrees with the weight's shape");
	}
	if (infer_spatial_geom(c, X, kernel, 0, &g) < 0)
		return -1;
	if (Bt != NULL) {
		if (Bt->dtype != INFER_DTYPE_FLOAT || infer_tensor_numel(Bt) != M)
			return op_fail(c, INFER_E_INVALID, "bias must hold %lld floats", (long long)M);
		bias = Bt->data;
	}
	od[0] = N;
	od[1] = M;
	for (int i = 0; i < g.nsp; i++)
		od[2 + i] = g.out[3 - g.nsp + i];
	if (res != NULL && (res->dtype != INFER_DTYPE_FLOAT || res->data == NULL || res->ndim != X->ndim ||
	    memcmp(res->dims, od, (size_t)X->ndim * sizeof(od[0])) != 0))
		return 1;
	if (act == NULL && res == NULL)
		Y = op_output(c, 0, INFER_DTYPE_FLOAT, X->ndim, od);
	else if (c->env->alloc_output(c->env, out, INFER_DTYPE_FLOAT, X->ndim, od, c->err) == 0)
		Y = &c->env->values[out];
	else
		Y = NULL;
	if (Y == NULL)
		return -1;
	{
		struct conv_params p = { .N = N, .C = C, .M = M, .G = G, .g = g, .x = X->data, .w = W->data,
			.bias = bias, .y = Y->data, .threads = c->threads, .wpack = c->wpack,
			.res = res != NULL ? res->data : NULL,
			.act = act == NULL ? infer_act_of(c->node) : (struct infer_act){ .kind = ACT_NONE } };
		int rc = infer_conv_fast(&p, infer_cpu_level());
		/* Depthwise with a larger kernel (5x5, 7x7) has its own kernel; the reference runs the rest. */
		if (rc > 0 && res == NULL)
			rc = infer_dw_kxk_fast(&p, infer_cpu_level());
		if (rc < 0)
			return op_fail(c, INFER_E_NOMEM, "out of memory for the convolution's scratch buffers");
		if (rc > 0) {
			infer_conv_ref(&p);
			if (res != NULL)
				infer_binary_f32(OP_ADD, Y->data, 1, res->data, 1, Y->data, infer_tensor_numel(Y));
		}
		if (act != NULL)
			infer_act_apply(act, Y->data, infer_tensor_numel(Y));
	}
	return 0;
}

int
op_conv(struct op_ctx *c)
{
	return conv_run(c, NULL, -1, NULL);
}

int
op_conv_into(struct op_ctx *c, const struct infer_act *act, int out)
{
	return conv_run(c, act, out, NULL);
}

int
op_conv_residual(struct op_ctx *c, const infer_tensor *res, int out)
{
	return conv_run(c, NULL, out, res);
}
