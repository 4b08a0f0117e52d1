/* gpu-backend.c: lowers a subgraph onto the kernels of kernels.cl through a gpu_dev (OpenCL or CUDA): weights uploaded once, intermediates kept on the device, copies only at the subgraph's edges. */
#include <float.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "backends/common/gpu.h"

const char *const gpu_kernel_names[GK_COUNT] = {
	[GK_CONV2D] = "pw_conv2d", [GK_GEMM] = "pw_gemm", [GK_BINARY] = "pw_binary", [GK_UNARY] = "pw_unary",
	[GK_POOL2D] = "pw_pool2d", [GK_GAP] = "pw_gap", [GK_COPY] = "pw_copy",
};

/* Work-group sizes: 64 items for the 1-D kernels; pw_gemm's 16x16 items compute a 64x64 tile (PW_TM). */
#define GROUP_1D 64
#define GEMM_GROUP 16
#define GEMM_TILE 64

void
gpu_dev_init(struct gpu_dev *dev, const struct gpu_dev_ops *ops, const char *api)
{
	dev->ops = ops;
	dev->api = api;
	dev->fail_after = backend_env_count("PW_GPU_FAIL_AFTER", -1);
}

long
backend_env_count(const char *name, long fallback)
{
	const char *s = getenv(name);
	char *end;
	long v;

	if (s == NULL || s[0] == '\0')
		return fallback;
	v = strtol(s, &end, 10);
	return *end == '\0' && v >= 0 ? v : fallback;
}

int
gpu_synchronize(void *ctx)
{
	struct gpu_dev *dev = ctx;

	return dev->ops->finish(dev);
}

/* A value's device copy. Buffers persist across runs and grow when a run needs more. */
struct gval {
	void *buf;
	size_t cap;
	int ndim;
	int64_t dims[INFER_MAX_DIMS];
	long run;             /* the run that computed or uploaded it; constants: LONG_MAX */
};

struct gpu_compiled {
	pw_subgraph sg;
	struct gval *vals;    /* sg.n_values entries, by value id */
	unsigned char *mine;  /* values produced by this subgraph */
	long run;
	double *node_ms;      /* PW_INFER_PROFILE set: each node's time (waited for), printed at release */
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static enum infer_op
node_op(const pw_node *n)
{
	return infer_op_from_name(n->op_type);
}

/* Attribute-level checks only: shapes are known at run time, where anything else is refused with
 * INFER_E_UNSUPPORTED (and the host moves the work to its next backend). */
int
gpu_supports(void *ctx, const pw_node *n)
{
	const int64_t *v;

	(void)ctx;
	switch (node_op(n)) {
	case OP_CONV:
		return infer_attr_ints(n, "kernel_shape", &v) <= 2 && infer_attr_ints(n, "strides", &v) <= 2;
	case OP_MAXPOOL:
		if (n->n_outputs > 1 && n->outputs[1] >= 0)
			return 0;
		/* fall through */
	case OP_AVERAGEPOOL:
		return infer_attr_ints(n, "kernel_shape", &v) >= 1 && infer_attr_ints(n, "kernel_shape", &v) <= 2;
	case OP_GEMM: case OP_MATMUL: case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV:
	case OP_RELU: case OP_CLIP: case OP_SIGMOID: case OP_HARDSIGMOID: case OP_HARDSWISH:
	case OP_GLOBALAVERAGEPOOL: case OP_CONCAT: case OP_FLATTEN:
		return 1;
	case OP_RESHAPE:
		return n->opset >= 5;
	default:
		return 0;
	}
}

static int
dev_fail(struct gpu_dev *dev, const pw_node *n, infer_error *err, const char *what)
{
	infer_status code = dev->oom ? INFER_E_NOMEM : INFER_E_BACKEND;

	if (n != NULL)
		infer_node_err(err, code, n, "%s %s: %s", dev->api, what, dev->msg);
	else
		infer_err(err, code, "%s %s: %s", dev->api, what, dev->msg);
	return -1;
}

/* Makes v's buffer hold at least bytes (contents are not kept). */
static int
reserve(struct gpu_dev *dev, struct gval *g, size_t bytes)
{
	if (bytes == 0)
		bytes = sizeof(float);
	if (g->buf != NULL && g->cap >= bytes)
		return 0;
	if (g->buf != NULL)
		dev->ops->free(dev, g->buf);
	g->cap = 0;
	dev->oom = 0;
	if ((g->buf = dev->ops->alloc(dev, bytes)) == NULL)
		return -1;
	g->cap = bytes;
	return 0;
}

static size_t
gval_bytes(const struct gval *g)
{
	return (size_t)infer_dims_numel(g->ndim, g->dims) * sizeof(float);
}

/* Copies host tensor t into g (shape included). */
static int
put(struct gpu_dev *dev, struct gval *g, const infer_tensor *t)
{
	g->ndim = t->ndim;
	memcpy(g->dims, t->dims, sizeof(g->dims));
	if (reserve(dev, g, gval_bytes(g)) < 0)
		return -1;
	return gval_bytes(g) == 0 ? 0 : dev->ops->upload(dev, g->buf, t->data, gval_bytes(g));
}

static void
free_vals(struct gpu_dev *dev, struct gpu_compiled *gc)
{
	for (int v = 0; gc->vals != NULL && v < gc->sg.n_values; v++)
		if (gc->vals[v].buf != NULL)
			dev->ops->free(dev, gc->vals[v].buf);
	free(gc->vals);
	free(gc->mine);
	free(gc->node_ms);
	free(gc);
}

int
gpu_compile(void *ctx, const pw_subgraph *sg, void **compiled, infer_error *err)
{
	struct gpu_dev *dev = ctx;
	struct gpu_compiled *gc = calloc(1, sizeof(*gc));

	if (gc == NULL || (gc->vals = calloc((size_t)sg->n_values + 1, sizeof(*gc->vals))) == NULL ||
	    (gc->mine = calloc((size_t)sg->n_values + 1, 1)) == NULL) {
		if (gc != NULL)
			free(gc->vals);
		free(gc);
		infer_err(err, INFER_E_NOMEM, "out of memory compiling for the %s backend", dev->api);
		return -1;
	}
	gc->sg = *sg;
	if (getenv("PW_INFER_PROFILE") != NULL)
		gc->node_ms = calloc((size_t)sg->n_nodes + 1, sizeof(double));
	for (int i = 0; i < sg->n_nodes; i++) {
		const pw_node *n = &sg->nodes[i];
		if (!gpu_supports(ctx, n)) {
			infer_node_err(err, INFER_E_UNSUPPORTED, n, "the %s backend does not run this operator", dev->api);
			free_vals(dev, gc);
			return -1;
		}
		for (int j = 0; j < n->n_outputs; j++)
			if (n->outputs[j] >= 0 && n->outputs[j] < sg->n_values)
				gc->mine[n->outputs[j]] = 1;
		/* Weights (every float constant a node reads) go to the device once, here. */
		for (int j = 0; j < n->n_inputs; j++) {
			int v = n->inputs[j];
			const infer_tensor *t = v >= 0 && v < sg->n_values ? sg->constants[v] : NULL;
			if (t == NULL || t->dtype != INFER_DTYPE_FLOAT || gc->vals[v].run == LONG_MAX)
				continue;
			if (put(dev, &gc->vals[v], t) < 0) {
				dev_fail(dev, n, err, "weight upload");
				free_vals(dev, gc);
				return -1;
			}
			gc->vals[v].run = LONG_MAX;
		}
	}
	*compiled = gc;
	return 0;
}

/* The profile: time per operator type, then the slowest nodes. */
static void
print_profile(const struct gpu_dev *dev, const struct gpu_compiled *gc)
{
	double total = 0;

	for (int i = 0; i < gc->sg.n_nodes; i++)
		total += gc->node_ms[i];
	fprintf(stderr, "profile (%s backend on %s, %ld runs): %.3f ms per run\n", dev->api, dev->device_name, gc->run,
	    total / (double)gc->run);
	for (int i = 0; i < gc->sg.n_nodes; i++) {
		double op_ms = 0;
		int seen = 0, count = 0;
		for (int j = 0; j < gc->sg.n_nodes && !seen; j++)
			seen = j < i && strcmp(gc->sg.nodes[j].op_type, gc->sg.nodes[i].op_type) == 0;
		for (int j = i; j < gc->sg.n_nodes && !seen; j++)
			if (strcmp(gc->sg.nodes[j].op_type, gc->sg.nodes[i].op_type) == 0) {
				op_ms += gc->node_ms[j];
				count++;
			}
		if (!seen)
			fprintf(stderr, "  %8.3f ms %5.1f%%  %-18s x%d\n", op_ms / (double)gc->run,
			    total > 0 ? 100.0 * op_ms / total : 0.0, gc->sg.nodes[i].op_type, count);
	}
	/* Then the nodes that take at least 2 % each. */
	for (int i = 0; i < gc->sg.n_nodes; i++)
		if (gc->node_ms[i] >= 0.02 * total)
			fprintf(stderr, "  %8.3f ms %5.1f%%  node %s (%s)\n", gc->node_ms[i] / (double)gc->run,
			    100.0 * gc->node_ms[i] / total, gc->sg.nodes[i].name, gc->sg.nodes[i].op_type);
}

void
gpu_release(void *ctx, void *compiled)
{
	struct gpu_compiled *gc = compiled;

	if (gc == NULL)
		return;
	if (gc->node_ms != NULL && gc->run > 0)
		print_profile(ctx, gc);
	free_vals(ctx, gc);
}

/* One node's execution. */
struct gx {
	struct gpu_dev *dev;
	struct gpu_compiled *gc;
	pw_exec_env *env;
	const pw_node *n;
	infer_error *err;
};

static int
gx_unsupported(struct gx *x, const char *why)
{
	infer_node_err(x->err, INFER_E_UNSUPPORTED, x->n, "the %s backend does not run this: %s", x->dev->api, why);
	return -1;
}

/* Input j on the device: a weight, a value this subgraph computed, or a host value uploaded now. */
static struct gval *
in_val(struct gx *x, int j)
{
	int v = j < x->n->n_inputs ? x->n->inputs[j] : -1;
	struct gval *g;
	const infer_tensor *t;

	if (v < 0 || v >= x->gc->sg.n_values) {
		infer_node_err(x->err, INFER_E_INVALID, x->n, "input #%d is missing", j);
		return NULL;
	}
	g = &x->gc->vals[v];
	if (g->run == LONG_MAX || g->run == x->gc->run)
		return g;
	t = &x->env->values[v];
	if (t->data == NULL) {
		infer_node_err(x->err, INFER_E_INVALID, x->n, "input #%d has not been computed", j);
		return NULL;
	}
	if (t->dtype != INFER_DTYPE_FLOAT) {
		gx_unsupported(x, "a non-float input");
		return NULL;
	}
	if (put(x->dev, g, t) < 0) {
		dev_fail(x->dev, x->n, x->err, "input upload");
		return NULL;
	}
	g->run = x->gc->run;
	return g;
}

/* A host-side constant input (shapes, Clip bounds), or NULL when absent or computed. */
static const infer_tensor *
host_const(struct gx *x, int j)
{
	int v = j < x->n->n_inputs ? x->n->inputs[j] : -1;

	return v >= 0 && v < x->gc->sg.n_values ? x->gc->sg.constants[v] : NULL;
}

static struct gval *
out_val(struct gx *x, int ndim, const int64_t *dims)
{
	int v = x->n->n_outputs > 0 ? x->n->outputs[0] : -1;
	struct gval *g;

	if (v < 0 || v >= x->gc->sg.n_values) {
		infer_node_err(x->err, INFER_E_INVALID, x->n, "output #0 is not connected");
		return NULL;
	}
	if (infer_dims_numel(ndim, dims) < 0) {
		infer_node_err(x->err, INFER_E_LIMIT, x->n, "output shape is negative or too large");
		return NULL;
	}
	g = &x->gc->vals[v];
	g->ndim = ndim;
	memcpy(g->dims, dims, (size_t)ndim * sizeof(*dims));
	if (reserve(x->dev, g, gval_bytes(g)) < 0) {
		dev_fail(x->dev, x->n, x->err, "buffer allocation");
		return NULL;
	}
	g->run = x->gc->run;
	return g;
}

static int
launch(struct gx *x, enum gpu_kernel k, int dims, const size_t *global, const size_t *local,
    const struct gpu_arg *args, int nargs)
{
	struct gpu_dev *dev = x->dev;

	if (dev->fail_after >= 0 && dev->launches >= dev->fail_after) {
		dev->oom = 0;
		snprintf(dev->msg, sizeof(dev->msg), "device lost (simulated by PW_GPU_FAIL_AFTER=%ld)", dev->fail_after);
		return dev_fail(dev, x->n, x->err, gpu_kernel_names[k]);
	}
	dev->launches++;
	if (dev->ops->launch(dev, k, dims, global, local, args, nargs) < 0)
		return dev_fail(dev, x->n, x->err, gpu_kernel_names[k]);
	return 0;
}

/* A 1-D launch over total items (none when total is 0). */
static int
launch1(struct gx *x, enum gpu_kernel k, int64_t total, const struct gpu_arg *args, int nargs)
{
	size_t global = (size_t)(total + GROUP_1D - 1) / GROUP_1D * GROUP_1D, local = GROUP_1D;

	return total == 0 ? 0 : launch(x, k, 1, &global, &local, args, nargs);
}

#define ABUF(p) ((struct gpu_arg){ .kind = GA_BUF, .buf = (p) })
#define AINT(v) ((struct gpu_arg){ .kind = GA_INT, .i = (int)(v) })
#define AFLT(v) ((struct gpu_arg){ .kind = GA_FLOAT, .f = (float)(v) })

/* Operand addressing of pw_gemm. */
struct gemm_operand {
	void *buf;
	int64_t rs, cs, bs;
};

/* Y[batch][M][N] = act(alpha A B + beta C), C optional (buf NULL). */
static int
run_gemm(struct gx *x, struct gval *y, int64_t batch, int64_t M, int64_t N, int64_t K, const struct gemm_operand *a,
    const struct gemm_operand *b, const struct gemm_operand *c, float alpha, float beta, const struct infer_act *act)
{
	size_t global[3] = { (size_t)(N + GEMM_TILE - 1) / GEMM_TILE * GEMM_GROUP,
		(size_t)(M + GEMM_TILE - 1) / GEMM_TILE * GEMM_GROUP, (size_t)batch };
	size_t local[3] = { GEMM_GROUP, GEMM_GROUP, 1 };
	struct gpu_arg args[] = {
		ABUF(a->buf), ABUF(b->buf), ABUF(c->buf != NULL ? c->buf : a->buf), ABUF(y->buf),
		AINT(M), AINT(N), AINT(K), AINT(a->rs), AINT(a->cs), AINT(a->bs), AINT(b->rs), AINT(b->cs), AINT(b->bs),
		AINT(c->rs), AINT(c->cs), AINT(c->bs), AINT(c->buf != NULL), AFLT(alpha), AFLT(beta),
		AINT(act->kind == ACT_CLAMP ? 1 : act->kind == ACT_HARDSWISH ? 2 : 0), AFLT(act->lo), AFLT(act->hi),
	};

	if (batch == 0 || M == 0 || N == 0)
		return 0;
	return launch(x, GK_GEMM, 3, global, local, args, (int)(sizeof(args) / sizeof(args[0])));
}

static int
act_code(const struct infer_act *a)
{
	return a->kind == ACT_CLAMP ? 1 : a->kind == ACT_HARDSWISH ? 2 : 0;
}

static int
run_conv(struct gx *x)
{
	struct gval *X = in_val(x, 0), *W = X != NULL ? in_val(x, 1) : NULL, *B = NULL, *Y;
	struct op_ctx oc = { .node = x->n, .err = x->err };
	struct infer_act act = infer_act_of(x->n);
	struct spatial_geom g;
	int64_t kernel[3], od[INFER_MAX_DIMS], N, C, M, G = infer_attr_int(x->n, "group", 1);
	infer_tensor xt;

	if (W == NULL)
		return -1;
	if (x->n->n_inputs > 2 && x->n->inputs[2] >= 0 && (B = in_val(x, 2)) == NULL)
		return -1;
	if (X->ndim < 3 || X->ndim > 4 || W->ndim != X->ndim)
		return gx_unsupported(x, "only 1-D and 2-D convolutions");
	N = X->dims[0];
	C = X->dims[1];
	M = W->dims[0];
	if (G < 1 || C % G != 0 || M % G != 0 || W->dims[1] != C / G || (B != NULL && (B->ndim != 1 || B->dims[0] != M))) {
		infer_node_err(x->err, INFER_E_INVALID, x->n, "inconsistent shapes (C %lld, M %lld, group %lld)",
		    (long long)C, (long long)M, (long long)G);
		return -1;
	}
	for (int i = 2; i < X->ndim; i++)
		kernel[i - 2] = W->dims[i];
	xt = (infer_tensor){ .dtype = INFER_DTYPE_FLOAT, .ndim = X->ndim };
	memcpy(xt.dims, X->dims, sizeof(xt.dims));
	if (infer_spatial_geom(&oc, &xt, kernel, 0, &g) < 0)
		return -1;
	od[0] = N;
	od[1] = M;
	for (int i = 0; i < g.nsp; i++)
		od[2 + i] = g.out[3 - g.nsp + i];
	if ((Y = out_val(x, X->ndim, od)) == NULL)
		return -1;
	if (G == 1 && g.k[1] == 1 && g.k[2] == 1 && g.s[1] == 1 && g.s[2] == 1 && g.pb[1] == 0 && g.pb[2] == 0 &&
	    g.pe[1] == 0 && g.pe[2] == 0) {
		/* 1x1: per image, Y[M][HW] = W[M][C] X[C][HW] + bias[m]. */
		int64_t hw = g.in[1] * g.in[2];
		struct gemm_operand a = { W->buf, C, 1, 0 }, b = { X->buf, hw, 1, C * hw },
			c = { B != NULL ? B->buf : NULL, 1, 0, 0 };
		return run_gemm(x, Y, N, M, hw, C, &a, &b, &c, 1.0f, 1.0f, &act);
	}
	struct gpu_arg args[] = {
		ABUF(X->buf), ABUF(W->buf), ABUF(B != NULL ? B->buf : W->buf), ABUF(Y->buf),
		AINT(infer_dims_numel(Y->ndim, Y->dims)), AINT(C), AINT(g.in[1]), AINT(g.in[2]), AINT(M),
		AINT(g.out[1]), AINT(g.out[2]), AINT(g.k[1]), AINT(g.k[2]), AINT(g.s[1]), AINT(g.s[2]), AINT(g.d[1]),
		AINT(g.d[2]), AINT(g.pb[1]), AINT(g.pb[2]), AINT(G), AINT(B != NULL), AINT(act_code(&act)),
		AFLT(act.lo), AFLT(act.hi),
	};
	return launch1(x, GK_CONV2D, infer_dims_numel(Y->ndim, Y->dims), args, (int)(sizeof(args) / sizeof(args[0])));
}

static int
run_gemm_node(struct gx *x)
{
	struct gval *A = in_val(x, 0), *Bv = A != NULL ? in_val(x, 1) : NULL, *Cv = NULL, *Y;
	int ta = (int)infer_attr_int(x->n, "transA", 0), tb = (int)infer_attr_int(x->n, "transB", 0);
	struct infer_act act = infer_act_of(x->n);
	int64_t M, N, K, od[2], cs[2] = { 0, 0 };

	if (Bv == NULL)
		return -1;
	if (x->n->n_inputs > 2 && x->n->inputs[2] >= 0 && (Cv = in_val(x, 2)) == NULL)
		return -1;
	if (A->ndim != 2 || Bv->ndim != 2) {
		infer_node_err(x->err, INFER_E_INVALID, x->n, "A and B must be matrices");
		return -1;
	}
	M = ta ? A->dims[1] : A->dims[0];
	K = ta ? A->dims[0] : A->dims[1];
	N = tb ? Bv->dims[0] : Bv->dims[1];
	if ((tb ? Bv->dims[1] : Bv->dims[0]) != K) {
		infer_node_err(x->err, INFER_E_INVALID, x->n, "inner dimensions differ");
		return -1;
	}
	od[0] = M;
	od[1] = N;
	if (Cv != NULL) {
		int nout;
		int64_t bd[2];
		if (Cv->ndim > 2 || infer_broadcast_dims(2, od, Cv->ndim, Cv->dims, &nout, bd) < 0 || bd[0] != M ||
		    bd[1] != N) {
			infer_node_err(x->err, INFER_E_INVALID, x->n, "C cannot be broadcast to [%lld, %lld]", (long long)M,
			    (long long)N);
			return -1;
		}
		infer_broadcast_strides(Cv->ndim, Cv->dims, 2, od, cs);
	}
	if ((Y = out_val(x, 2, od)) == NULL)
		return -1;
	struct gemm_operand a = { A->buf, ta ? 1 : K, ta ? M : 1, 0 }, b = { Bv->buf, tb ? 1 : N, tb ? K : 1, 0 },
		c = { Cv != NULL ? Cv->buf : NULL, cs[0], cs[1], 0 };
	return run_gemm(x, Y, 1, M, N, K, &a, &b, &c, infer_attr_float(x->n, "alpha", 1.0f),
	    infer_attr_float(x->n, "beta", 1.0f), &act);
}

/* MatMul for A [..., M, K] times B [K, N] (shared weights) or B [..., K, N] with A's batch dimensions. */
static int
run_matmul(struct gx *x)
{
	struct gval *A = in_val(x, 0), *Bv = A != NULL ? in_val(x, 1) : NULL, *Y;
	struct infer_act none = { .kind = ACT_NONE };
	int64_t od[INFER_MAX_DIMS], M, K, N, batch = 1;

	if (Bv == NULL)
		return -1;
	if (A->ndim < 2 || Bv->ndim < 2 || (Bv->ndim > 2 && Bv->ndim != A->ndim))
		return gx_unsupported(x, "MatMul needs A of rank >= 2 and B of rank 2 or A's rank");
	M = A->dims[A->ndim - 2];
	K = A->dims[A->ndim - 1];
	N = Bv->dims[Bv->ndim - 1];
	if (Bv->dims[Bv->ndim - 2] != K) {
		infer_node_err(x->err, INFER_E_INVALID, x->n, "inner dimensions differ (%lld vs %lld)", (long long)K,
		    (long long)Bv->dims[Bv->ndim - 2]);
		return -1;
	}
	for (int i = 0; i < A->ndim - 2; i++) {
		if (Bv->ndim > 2 && Bv->dims[i] != A->dims[i])
			return gx_unsupported(x, "broadcast MatMul batch dimensions");
		batch *= A->dims[i];
		od[i] = A->dims[i];
	}
	od[A->ndim - 2] = M;
	od[A->ndim - 1] = N;
	if ((Y = out_val(x, A->ndim, od)) == NULL)
		return -1;
	struct gemm_operand a = { A->buf, K, 1, M * K }, b = { Bv->buf, N, 1, Bv->ndim > 2 ? K * N : 0 },
		c = { NULL, 0, 0, 0 };
	return run_gemm(x, Y, batch, M, N, K, &a, &b, &c, 1.0f, 0.0f, &none);
}

static int
run_binary(struct gx *x, int op)
{
	struct gval *A = in_val(x, 0), *Bv = A != NULL ? in_val(x, 1) : NULL, *Y;
	struct infer_act act = infer_act_of(x->n);
	int64_t od[INFER_MAX_DIMS], o4[4], sa[4], sb[4];
	int nout;

	if (Bv == NULL)
		return -1;
	if (infer_broadcast_dims(A->ndim, A->dims, Bv->ndim, Bv->dims, &nout, od) < 0) {
		infer_node_err(x->err, INFER_E_INVALID, x->n, "shapes cannot be broadcast");
		return -1;
	}
	if (nout > 4)
		return gx_unsupported(x, "broadcasting beyond rank 4");
	for (int i = 0; i < 4; i++)
		o4[i] = i < 4 - nout ? 1 : od[i - (4 - nout)];
	infer_broadcast_strides(A->ndim, A->dims, 4, o4, sa);
	infer_broadcast_strides(Bv->ndim, Bv->dims, 4, o4, sb);
	if ((Y = out_val(x, nout, od)) == NULL)
		return -1;
	struct gpu_arg args[] = {
		ABUF(A->buf), ABUF(Bv->buf), ABUF(Y->buf), AINT(infer_dims_numel(nout, od)), AINT(op), AINT(o4[1]),
		AINT(o4[2]), AINT(o4[3]), AINT(sa[0]), AINT(sa[1]), AINT(sa[2]), AINT(sa[3]), AINT(sb[0]), AINT(sb[1]),
		AINT(sb[2]), AINT(sb[3]), AINT(act_code(&act)), AFLT(act.lo), AFLT(act.hi),
	};
	return launch1(x, GK_BINARY, infer_dims_numel(nout, od), args, (int)(sizeof(args) / sizeof(args[0])));
}

/* A Clip bound: the opset < 11 attribute, else the optional constant input j. */
static int
clip_bound(struct gx *x, const char *attr, int j, float dflt, float *out)
{
	const infer_tensor *t;

	*out = dflt;
	if (x->n->opset < 11) {
		*out = infer_attr_float(x->n, attr, dflt);
		return 0;
	}
	if (j >= x->n->n_inputs || x->n->inputs[j] < 0)
		return 0;
	if ((t = host_const(x, j)) == NULL || t->dtype != INFER_DTYPE_FLOAT || infer_tensor_numel(t) != 1)
		return gx_unsupported(x, "a Clip bound that is not a constant float scalar");
	*out = *(const float *)t->data;
	return 0;
}

static int
run_unary(struct gx *x, enum infer_op op)
{
	struct gval *X = in_val(x, 0), *Y;
	int act = 1;
	float lo = 0.0f, hi = FLT_MAX;

	if (X == NULL)
		return -1;
	if (op == OP_CLIP && (clip_bound(x, "min", 1, -FLT_MAX, &lo) < 0 || clip_bound(x, "max", 2, FLT_MAX, &hi) < 0))
		return -1;
	if (op == OP_HARDSWISH)
		act = 2;
	else if (op == OP_SIGMOID)
		act = 3;
	else if (op == OP_HARDSIGMOID) {
		act = 4;
		lo = infer_attr_float(x->n, "alpha", 0.2f);
		hi = infer_attr_float(x->n, "beta", 0.5f);
	}
	if ((Y = out_val(x, X->ndim, X->dims)) == NULL)
		return -1;
	struct gpu_arg args[] = { ABUF(X->buf), ABUF(Y->buf), AINT(infer_dims_numel(X->ndim, X->dims)), AINT(act),
		AFLT(lo), AFLT(hi) };
	return launch1(x, GK_UNARY, infer_dims_numel(X->ndim, X->dims), args, (int)(sizeof(args) / sizeof(args[0])));
}

static int
run_pool(struct gx *x, int is_max)
{
	struct gval *X = in_val(x, 0), *Y;
	struct op_ctx oc = { .node = x->n, .err = x->err };
	const int64_t *ks;
	int64_t kernel[3], od[INFER_MAX_DIMS];
	struct spatial_geom g;
	infer_tensor xt;

	if (X == NULL)
		return -1;
	if (X->ndim < 3 || X->ndim > 4 || infer_attr_ints(x->n, "kernel_shape", &ks) != X->ndim - 2)
		return gx_unsupported(x, "pooling needs a rank 3-4 input and a matching kernel_shape");
	for (int i = 0; i < X->ndim - 2; i++)
		kernel[i] = ks[i];
	xt = (infer_tensor){ .dtype = INFER_DTYPE_FLOAT, .ndim = X->ndim };
	memcpy(xt.dims, X->dims, sizeof(xt.dims));
	if (infer_spatial_geom(&oc, &xt, kernel, (int)infer_attr_int(x->n, "ceil_mode", 0), &g) < 0)
		return -1;
	od[0] = X->dims[0];
	od[1] = X->dims[1];
	for (int i = 0; i < g.nsp; i++)
		od[2 + i] = g.out[3 - g.nsp + i];
	if ((Y = out_val(x, X->ndim, od)) == NULL)
		return -1;
	struct gpu_arg args[] = {
		ABUF(X->buf), ABUF(Y->buf), AINT(infer_dims_numel(X->ndim, od)), AINT(g.in[1]), AINT(g.in[2]),
		AINT(g.out[1]), AINT(g.out[2]), AINT(g.k[1]), AINT(g.k[2]), AINT(g.s[1]), AINT(g.s[2]), AINT(g.d[1]),
		AINT(g.d[2]), AINT(g.pb[1]), AINT(g.pb[2]), AINT(g.pe[1]), AINT(g.pe[2]), AINT(is_max),
		AINT(infer_attr_int(x->n, "count_include_pad", 0)),
	};
	return launch1(x, GK_POOL2D, infer_dims_numel(X->ndim, od), args, (int)(sizeof(args) / sizeof(args[0])));
}

static int
run_gap(struct gx *x)
{
	struct gval *X = in_val(x, 0), *Y;
	int64_t od[INFER_MAX_DIMS], hw = 1;

	if (X == NULL)
		return -1;
	if (X->ndim < 3) {
		infer_node_err(x->err, INFER_E_INVALID, x->n, "input rank %d is below 3", X->ndim);
		return -1;
	}
	od[0] = X->dims[0];
	od[1] = X->dims[1];
	for (int i = 2; i < X->ndim; i++) {
		hw *= X->dims[i];
		od[i] = 1;
	}
	if (hw == 0)
		return gx_unsupported(x, "an empty spatial extent");
	if ((Y = out_val(x, X->ndim, od)) == NULL)
		return -1;
	struct gpu_arg args[] = { ABUF(X->buf), ABUF(Y->buf), AINT(od[0] * od[1]), AINT(hw) };
	return launch1(x, GK_GAP, od[0] * od[1], args, 4);
}

/* y[o][offset + j] = x[o][j] for total = outer * inner_in items. */
static int
copy_block(struct gx *x, void *src, void *dst, int64_t total, int64_t inner_in, int64_t inner_out, int64_t offset)
{
	struct gpu_arg args[] = { ABUF(src), ABUF(dst), AINT(total), AINT(inner_in), AINT(inner_out), AINT(offset) };

	return inner_in == 0 ? 0 : launch1(x, GK_COPY, total, args, 6);
}

static int
run_concat(struct gx *x)
{
	struct gval *first = in_val(x, 0), *Y;
	int64_t od[INFER_MAX_DIMS], outer = 1, rest = 1, offset = 0;
	int axis, r;

	if (first == NULL)
		return -1;
	r = first->ndim;
	if (infer_norm_axis(infer_attr_int(x->n, "axis", 0), r, 0, &axis) < 0) {
		infer_node_err(x->err, INFER_E_INVALID, x->n, "axis out of range for rank %d", r);
		return -1;
	}
	memcpy(od, first->dims, sizeof(od));
	od[axis] = 0;
	for (int j = 0; j < x->n->n_inputs; j++) {
		struct gval *g = in_val(x, j);
		if (g == NULL)
			return -1;
		for (int d = 0; d < r; d++)
			if (g->ndim != r || (d != axis && g->dims[d] != first->dims[d])) {
				infer_node_err(x->err, INFER_E_INVALID, x->n, "input #%d does not match input #0's shape", j);
				return -1;
			}
		od[axis] += g->dims[axis];
	}
	for (int d = 0; d < axis; d++)
		outer *= od[d];
	for (int d = axis + 1; d < r; d++)
		rest *= od[d];
	if ((Y = out_val(x, r, od)) == NULL)
		return -1;
	for (int j = 0; j < x->n->n_inputs; j++) {
		struct gval *g = in_val(x, j);
		int64_t inner = g->dims[axis] * rest;
		if (copy_block(x, g->buf, Y->buf, outer * inner, inner, od[axis] * rest, offset) < 0)
			return -1;
		offset += inner;
	}
	return 0;
}

/* Flatten and Reshape: a copy under a new shape. */
static int
run_reshape(struct gx *x, enum infer_op op)
{
	struct gval *X = in_val(x, 0), *Y;
	int64_t od[INFER_MAX_DIMS], total, known = 1;
	int n = 2, at = -1;

	if (X == NULL)
		return -1;
	total = infer_dims_numel(X->ndim, X->dims);
	if (op == OP_FLATTEN) {
		int axis;
		if (infer_norm_axis(infer_attr_int(x->n, "axis", 1), X->ndim, 1, &axis) < 0) {
			infer_node_err(x->err, INFER_E_INVALID, x->n, "axis out of range for rank %d", X->ndim);
			return -1;
		}
		od[0] = 1;
		for (int d = 0; d < axis; d++)
			od[0] *= X->dims[d];
		od[1] = od[0] > 0 ? total / od[0] : 0;
		if (od[0] == 0)
			for (int d = axis; d < X->ndim; d++)
				od[1] = (d == axis ? 1 : od[1]) * X->dims[d];
	} else {
		const infer_tensor *s = host_const(x, 1);
		const int64_t *sh;
		int allowzero = (int)infer_attr_int(x->n, "allowzero", 0);
		if (s == NULL || s->dtype != INFER_DTYPE_INT64 || s->ndim != 1 || s->dims[0] > INFER_MAX_DIMS)
			return gx_unsupported(x, "a target shape that is not a constant int64 vector");
		n = (int)s->dims[0];
		sh = s->data;
		for (int i = 0; i < n; i++) {
			od[i] = sh[i] == 0 && !allowzero && i < X->ndim ? X->dims[i] : sh[i];
			if (od[i] == -1 && at < 0) {
				at = i;
				continue;
			}
			if (od[i] < 0 || (od[i] > 0 && known > INFER_MAX_TENSOR_ELEMS / od[i])) {
				infer_node_err(x->err, INFER_E_INVALID, x->n, "bad target shape[%d] = %lld", i, (long long)sh[i]);
				return -1;
			}
			known *= od[i];
		}
		if (at >= 0) {
			if (known == 0 || total % known != 0) {
				infer_node_err(x->err, INFER_E_INVALID, x->n, "cannot infer the -1 dimension");
				return -1;
			}
			od[at] = total / known;
		}
	}
	if (infer_dims_numel(n, od) != total) {
		infer_node_err(x->err, INFER_E_INVALID, x->n, "the new shape has another element count");
		return -1;
	}
	if ((Y = out_val(x, n, od)) == NULL)
		return -1;
	return copy_block(x, X->buf, Y->buf, total, total, total, 0);
}

static int
run_node(struct gx *x)
{
	enum infer_op op = node_op(x->n);

	switch (op) {
	case OP_CONV: return run_conv(x);
	case OP_GEMM: return run_gemm_node(x);
	case OP_MATMUL: return run_matmul(x);
	case OP_ADD: return run_binary(x, 0);
	case OP_SUB: return run_binary(x, 1);
	case OP_MUL: return run_binary(x, 2);
	case OP_DIV: return run_binary(x, 3);
	case OP_RELU: case OP_CLIP: case OP_SIGMOID: case OP_HARDSIGMOID: case OP_HARDSWISH: return run_unary(x, op);
	case OP_MAXPOOL: return run_pool(x, 1);
	case OP_AVERAGEPOOL: return run_pool(x, 0);
	case OP_GLOBALAVERAGEPOOL: return run_gap(x);
	case OP_CONCAT: return run_concat(x);
	case OP_FLATTEN: case OP_RESHAPE: return run_reshape(x, op);
	default: return gx_unsupported(x, "operator");
	}
}

/* Brings the values later subgraphs (or the caller) read back to host memory the host allocates. */
static int
download_live(struct gpu_dev *dev, struct gpu_compiled *gc, pw_exec_env *env, infer_error *err)
{
	for (int v = 0; v < gc->sg.n_values && v < env->n_values; v++) {
		struct gval *g = &gc->vals[v];
		if (!gc->mine[v] || g->run != gc->run || (gc->sg.live_out != NULL && !gc->sg.live_out[v]))
			continue;
		if (env->alloc_output(env, v, INFER_DTYPE_FLOAT, g->ndim, g->dims, err) < 0)
			return -1;
		if (gval_bytes(g) > 0 && dev->ops->download(dev, env->values[v].data, g->buf, gval_bytes(g)) < 0)
			return dev_fail(dev, NULL, err, "download");
	}
	return 0;
}

int
gpu_execute(void *ctx, void *compiled, pw_exec_env *env, infer_error *err)
{
	struct gpu_dev *dev = ctx;
	struct gpu_compiled *gc = compiled;

	gc->run++;
	for (int i = 0; i < gc->sg.n_nodes; i++) {
		struct gx x = { .dev = dev, .gc = gc, .env = env, .n = &gc->sg.nodes[i], .err = err };
		if (x.n->n_outputs != 1 && !(node_op(x.n) == OP_MAXPOOL && x.n->n_outputs == 2))
			return gx_unsupported(&x, "more than one output");
		double t0 = gc->node_ms != NULL ? now_ms() : 0;
		if (run_node(&x) < 0)
			return -1;
		if (gc->node_ms != NULL) {
			if (dev->ops->finish(dev) < 0)
				return dev_fail(dev, x.n, err, "finish");
			gc->node_ms[i] += now_ms() - t0;
		}
	}
	if (download_live(dev, gc, env, err) < 0)
		return -1;
	/* The host may now recycle the host copies of this subgraph's inputs. */
	for (int i = 0; env->node_done != NULL && i < gc->sg.n_nodes; i++)
		env->node_done(env, &gc->sg.nodes[i]);
	return 0;
}
