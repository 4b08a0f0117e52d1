/* internal.h: the inference core's private model, session and kernel structures shared by src/infer/. */
#ifndef PW_INFER_INTERNAL_H
#define PW_INFER_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pricewatch/backend.h"
#include "pricewatch/infer.h"

/* Every operator the engine knows; the order is the dispatch switch's, nothing else depends on it. */
enum infer_op {
	OP_UNKNOWN = 0,
	OP_ADD, OP_SUB, OP_MUL, OP_DIV,
	OP_RELU, OP_CLIP, OP_SIGMOID, OP_HARDSIGMOID, OP_HARDSWISH,
	OP_CONV, OP_GEMM, OP_MATMUL, OP_BATCHNORM,
	OP_GLOBALAVERAGEPOOL, OP_AVERAGEPOOL, OP_MAXPOOL,
	OP_CONCAT, OP_FLATTEN, OP_RESHAPE, OP_TRANSPOSE, OP_SQUEEZE, OP_UNSQUEEZE, OP_PAD,
	OP_REDUCEMEAN, OP_SOFTMAX,
	OP_CONSTANT, OP_IDENTITY, OP_DROPOUT, OP_SHAPE, OP_GATHER, OP_CAST,
	OP_COUNT
};

enum infer_op infer_op_from_name(const char *op_type);
const char *infer_op_name(enum infer_op op);

enum value_kind { VALUE_INTERMEDIATE = 0, VALUE_INPUT, VALUE_CONSTANT };

struct infer_value {
	char *name;
	enum value_kind kind;
	infer_tensor *konst;       /* VALUE_CONSTANT: owned by the model */
	infer_tensor decl;         /* declared dtype/dims for graph inputs (dims -1 when symbolic) */
};

struct infer_model {
	char *label;
	int opset;
	struct infer_value *values;
	int n_values;
	pw_node *nodes;            /* topologically sorted; strings and arrays owned by the model */
	enum infer_op *ops;        /* ops[i] is nodes[i]'s operator */
	int n_nodes;
	int *inputs, n_inputs;     /* value ids of the real graph inputs */
	int *outputs, n_outputs;
};

/* Error helpers: every message that concerns a node names it as node 'name' (OpType). */
void infer_err(infer_error *err, infer_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void infer_node_err(infer_error *err, infer_status code, const pw_node *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Tensor helpers (tensor.c). */
size_t infer_dtype_size(infer_dtype dt);
int infer_tensor_alloc(infer_tensor *t, infer_dtype dt, int ndim, const int64_t *dims, infer_error *err);
int infer_tensor_clone(infer_tensor *dst, const infer_tensor *src, infer_error *err);
/* Overflow-safe element count of dims; -1 when negative, beyond INFER_MAX_TENSOR_ELEMS or overflowing. */
int64_t infer_dims_numel(int ndim, const int64_t *dims);

/* A block for weights or the arena (freed with free()): from 2 MiB on it is 2 MiB aligned and advised for huge
 * pages (PW_INFER_HUGEPAGES=0: not advised). A model's weights are read once per image, page after page; on this
 * VM a TLB miss (a two-level page walk) per 4 KiB page of weights cost the 7x7 layers 10-20 %. */
void *infer_alloc_big(size_t bytes);

/* Reads a whole regular file of at most max bytes; *buf is malloc'd and owned by the caller. */
int infer_read_file(const char *path, size_t max, uint8_t **buf, size_t *len, infer_error *err);

/* Attribute lookup on a node (attr.c); the _or forms return dflt when the attribute is absent. */
const pw_attr *infer_attr(const pw_node *n, const char *name);
int64_t infer_attr_int(const pw_node *n, const char *name, int64_t dflt);
float infer_attr_float(const pw_node *n, const char *name, float dflt);
const char *infer_attr_str(const pw_node *n, const char *name, const char *dflt);
/* Returns the count, or -1 when absent; *out points into the model. */
int infer_attr_ints(const pw_node *n, const char *name, const int64_t **out);

/* What a kernel receives: its node, its inputs (NULL for omitted optionals) and a way to get outputs. */
struct op_ctx {
	const pw_node *node;
	enum infer_op op;
	const infer_tensor **in;   /* n_in entries, NULL for omitted optional inputs */
	int n_in;
	pw_exec_env *env;
	infer_error *err;
	int threads;
	const float *wpack;        /* Conv: its weights packed by infer_pw_pack (backend-owned), or NULL */
};

/* Thread count for an OpenMP region of a kernel: the session's setting, else OpenMP's default. */
#ifdef _OPENMP
#include <omp.h>
#define PW_OMP_THREADS(c) ((c)->threads > 0 ? (c)->threads : omp_get_max_threads())
#else
#define PW_OMP_THREADS(c) 1
#endif
/* Threads for a kernel's parallel region: t when positive, else OpenMP's default (1 without OpenMP). */
static inline int
infer_nthreads(int t)
{
#ifdef _OPENMP
	return t > 0 ? t : omp_get_max_threads();
#else
	return t > 0 ? t : 1;
#endif
}

/* Allocates output idx of the node with the given shape; returns NULL (err filled) on failure. */
infer_tensor *op_output(struct op_ctx *c, int idx, infer_dtype dt, int ndim, const int64_t *dims);
/* Fills err naming the node; returns -1 so kernels can `return op_fail(...)`. */
int op_fail(struct op_ctx *c, infer_status code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Requires input idx to be present, with dtype dt unless dt is 0; NULL (err filled) otherwise. */
const infer_tensor *op_input(struct op_ctx *c, int idx, infer_dtype dt);

/* Numpy-style broadcast of a and b into out's ndim/dims; -1 when incompatible. */
int infer_broadcast_dims(int na, const int64_t *a, int nb, const int64_t *b, int *nout, int64_t *out);
/* Element strides of a tensor of rank n viewed as broadcast to rank nout (0 on broadcast dims). */
void infer_broadcast_strides(int n, const int64_t *dims, int nout, const int64_t *out_dims, int64_t *strides);
/* Normalises a possibly negative axis against rank r (valid range [-r, r-1], or [-r, r] when inclusive). */
int infer_norm_axis(int64_t axis, int r, int inclusive, int *out);

/* A fused activation, read once from a node's "pw.activation" attributes (Relu is a clamp to [0, inf)). */
/* ACT_HSWISH_SCALED is HardSwish as TF-converted graphs spell it, (x * scale) * clamp(x + add, lo, hi), in that
 * order so that it is bit for bit the four nodes it replaces; only the CPU backend's own fusion makes it. */
enum infer_act_kind { ACT_NONE = 0, ACT_CLAMP, ACT_HARDSWISH, ACT_HSWISH_SCALED };
struct infer_act {
	enum infer_act_kind kind;
	float lo, hi;
	float add, scale;              /* ACT_HSWISH_SCALED only */
};
/* Geometry of a Conv or pooling window, with 1-3 spatial dims padded at the front to 3 (size 1). */
struct spatial_geom {
	int nsp;                       /* spatial dims of the real tensor */
	int64_t in[3], k[3], s[3], d[3], pb[3], pe[3], out[3];
};
/* Reads strides, dilations, pads and auto_pad for input X and kernel (nsp entries); ceil_mode for pools. */
int infer_spatial_geom(struct op_ctx *c, const infer_tensor *X, const int64_t *kernel, int ceil_mode,
    struct spatial_geom *g);

/* CPU kernel variants, best last. The default is the best of generic/avx2 the CPU has;
 * PW_CPU=reference|generic|avx2|avx512 forces one (capped at what the CPU has). Reference is the plain loop
 * kept for tests. AVX-512 has its own GEMM micro-kernel (opt-in); its other kernels are the AVX2 ones. */
enum infer_cpu_level { CPU_REFERENCE = 0, CPU_GENERIC = 1, CPU_AVX2 = 2, CPU_AVX512 = 3 };
enum infer_cpu_level infer_cpu_level(void);
const char *infer_cpu_level_name(enum infer_cpu_level lvl);

/* C[M x N] = act(A[M x K] * B[K x N] (+ bias[i] on row i when bias != NULL)), row-major with leading dims.
 * act may be NULL. threads 0 means OpenMP's default. */
void infer_sgemm(enum infer_cpu_level lvl, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
    const float *B, int64_t ldb, float *C, int64_t ldc, const float *bias, const struct infer_act *act,
    int threads);

/* The same, then C += res (res: M x N with C's leading dimension), the residual of a block added to each part
 * of C right after it is computed. */
void infer_sgemm_res(enum infer_cpu_level lvl, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
    const float *B, int64_t ldb, float *C, int64_t ldc, const float *bias, const struct infer_act *act,
    const float *res, int threads);

/* C += A * B (no bias, no activation), same layout as infer_sgemm. Returns 0, or -1 when out of memory for a
 * packing buffer (C then holds a partial sum). */
int infer_sgemm_acc(enum infer_cpu_level lvl, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
    const float *B, int64_t ldb, float *C, int64_t ldc, int threads);

/* 1x1 convolutions on small maps with prepacked weights (kernels/pointwise.c, AVX-512). The weights [M x K]
 * are packed by infer_pw_pack into infer_pw_packed_floats(M, K) floats (64-byte aligned is best), in panels
 * of up to 48 output channels; infer_pw_panels gives the panel starts (q + 1 entries, the last = M). */
#define PW_PANEL_MAX 48                /* widest panel */
size_t infer_pw_packed_floats(int64_t M, int64_t K);
void infer_pw_pack(int64_t M, int64_t K, const float *W, float *dst);
int64_t infer_pw_panels(int64_t M, int64_t *starts);
/* Whether the packed kernel beats infer_sgemm for M x K weights on a map of P pixels (small maps). */
int infer_pw_wins(int64_t M, int64_t K, int64_t P);
/* C rows [m0, m1) = act(W[m0..m1) x B + bias), or += (accumulate: bias and act ignored), summing over input
 * channels [k0, k1) only (a partial product). c points at output row m0, b at activation row k0, bias at
 * channel m0. */
struct pw_gemm {
	const float *wp;               /* packed weights of the whole M x K */
	int64_t M, K;
	int64_t m0, m1;                /* m0: a panel start */
	int64_t k0, k1;
	int64_t N;                     /* pixels */
	const float *b;
	int64_t ldb;
	float *c;
	int64_t ldc;
	const float *bias;
	const struct infer_act *act;   /* NULL: none */
	const float *res;              /* added after act (rows like c's, leading dimension ldc), or NULL */
	int accumulate;
	int threads;
};
/* Returns 0, or 1 when lvl has no such kernel or m0 is not a panel start (the caller uses infer_sgemm). */
int infer_pw_gemm(enum infer_cpu_level lvl, const struct pw_gemm *g);

/* One convolution, fully described (NCHW, 1-3 spatial dims in geom), with its fused activation. */
struct conv_params {
	int64_t N, C, M, G;
	struct spatial_geom g;
	const float *x, *w, *bias;
	float *y;
	int threads;
	struct infer_act act;
	const float *wpack;        /* 1x1, group 1: w packed by infer_pw_pack, or NULL (see pointwise.c) */
	const float *res;          /* added to y after act (y's shape), or NULL: a block's residual */
};
void infer_conv_ref(const struct conv_params *p);
/* Runs the optimised path for lvl when one applies (2-D; 1x1, im2col+GEMM or depthwise 3x3); returns 0,
 * or 1 when the shape has no fast path (caller uses the reference), or -1 when out of memory. */
int infer_conv_fast(const struct conv_params *p, enum infer_cpu_level lvl);

/* Depthwise 3x3 (dilation 1) of one plane with the best kernel for lvl, for callers that run planes
 * themselves (the fused block); see conv-fast.c for the scratch contract. */
int64_t infer_dw3x3_scratch(const struct conv_params *p);
void infer_dw3x3_plane(const struct conv_params *p, const float *x, const float *w9, float bias, float *y,
    float *scratch, enum infer_cpu_level lvl);
/* nch depthwise 3x3 planes, xstride and ystride floats apart (w: 9 floats per channel, bias NULL or one per
 * channel), 8 channels at a time on the interleaved kernel where it wins, else plane by plane. scratch holds
 * infer_dw3x3_planes_scratch(p) floats (enough for any geometry with fewer output rows too), 64-byte aligned,
 * from malloc; pass fresh = 1 on its first use and whenever the geometry differs from the previous call's (it
 * is then re-zeroed). */
int64_t infer_dw3x3_planes_scratch(const struct conv_params *p);
void infer_dw3x3_planes(const struct conv_params *p, const float *x, int64_t xstride, const float *w,
    const float *bias, float *y, int64_t ystride, int64_t nch, float *scratch, int fresh, enum infer_cpu_level lvl);

/* Depthwise convolutions with square kernels up to 7x7 (5x5 in MobileNetV3), strides 1 or 2, dilation 1, AVX2
 * (kernels/dw-kxk.c): 0 done, 1 not a shape it runs (the caller uses the reference), -1 out of memory. */
int infer_dw_kxk_fast(const struct conv_params *p, enum infer_cpu_level lvl);

/* An inverted residual block run band by band (kernels/fused.c): optional 1x1 expand (we != NULL) ->
 * depthwise 3x3 -> 1x1 project, each with its bias and fused activation, then the optional residual; NCHW. The expanded and depthwise
 * activations of one band of output rows stay in this thread's cache instead of going to memory. */
enum irb_mode {
	IRB_AUTO = 0,   /* infer_irb_plan chooses */
	IRB_ROWS,       /* bands of output rows (large maps) */
	IRB_CHUNKS,     /* chunks of expanded channels, one partial projection per thread (small maps, threads) */
	IRB_NONE        /* not worth fusing: run the nodes one by one */
};
struct irb_params {
	int64_t N, C, E, M;            /* input, expanded (= C without expand), output channels */
	enum irb_mode mode;            /* IRB_AUTO, or a mode forced by the tests */
	struct spatial_geom g;         /* the depthwise geometry (in = the block input's H x W) */
	const float *x;
	const float *we, *be, *wd, *bd, *wp, *bp;
	const float *wep, *wpp;        /* we and wp packed by infer_pw_pack, or NULL: chunk mode uses them */
	struct infer_act acte, actd, actp;
	const float *res;              /* added to the output after actp (a residual of the output's shape), or NULL */
	float *y;
	int threads;
};
/* How the block runs best: by rows when its middle activations would leave L2, by channel chunks when they
 * would not and there are several threads (and an expand), else unfused. */
enum irb_mode infer_irb_plan(const struct irb_params *p);
/* Floats of workspace infer_irb_fast needs for p (all threads' band buffers). */
int64_t infer_irb_work(const struct irb_params *p);
/* Runs the block in work (infer_irb_work(p) floats, 64-byte aligned, contents irrelevant) as
 * infer_irb_plan says (IRB_NONE runs by rows: the tests call it on any shape). Returns 0, or 1 when lvl or
 * the geometry has no fused path (run the nodes one by one). */
int infer_irb_fast(const struct irb_params *p, float *work, enum infer_cpu_level lvl);
/* The same block through the reference kernels (tests compare the fused path with it); -1 out of memory. */
int infer_irb_ref(const struct irb_params *p);

/* Float elementwise kernels (kernels/eltwise.c): y[i] = a[i * sa] op b[i * sb] for Add/Sub/Mul/Div with strides
 * 0 (one value repeated) or 1, and Clip keeping NaN; AVX2 when the CPU level allows. */
void infer_binary_f32(enum infer_op op, const float *a, int64_t sa, const float *b, int64_t sb, float *y, int64_t n);
void infer_clip_f32(const float *x, float *y, int64_t n, float lo, float hi);
/* Sum of n floats, accumulated in double (the reference level: one element after the other). */
double infer_sum_f32(const float *x, int64_t n);

/* The one operator dispatch (ops/dispatch.c). */
int infer_op_run(struct op_ctx *c);
/* Whether the reference kernels implement this node (op known, attributes within what they handle). */
int infer_op_supported(const pw_node *n, enum infer_op op, infer_error *err);

/* Kernel entry points in ops/. */
int op_binary(struct op_ctx *c);
int op_unary(struct op_ctx *c);
int op_conv(struct op_ctx *c);
/* The Conv of c with act applied after it (over the whole output, once) and the result stored as value out
 * instead of the node's own output: how the CPU backend runs a Conv fused with the nodes that follow it. */
int op_conv_into(struct op_ctx *c, const struct infer_act *act, int out);
/* The Conv of c with res added, written to value out (the residual Add's output, fused by the CPU backend):
 * 0, -1 on error, or 1 (nothing done) when res is not a float tensor of the output's shape. */
int op_conv_residual(struct op_ctx *c, const infer_tensor *res, int out);
int op_gemm(struct op_ctx *c);
int op_matmul(struct op_ctx *c);
int op_batchnorm(struct op_ctx *c);
int op_global_avgpool(struct op_ctx *c);
int op_pool(struct op_ctx *c);
int op_concat(struct op_ctx *c);
int op_flatten(struct op_ctx *c);
int op_reshape(struct op_ctx *c);
int op_transpose(struct op_ctx *c);
int op_squeeze(struct op_ctx *c);
int op_unsqueeze(struct op_ctx *c);
int op_pad(struct op_ctx *c);
int op_reduce_mean(struct op_ctx *c);
int op_softmax(struct op_ctx *c);
int op_constant(struct op_ctx *c);
int op_identity(struct op_ctx *c);
int op_shape(struct op_ctx *c);
int op_gather(struct op_ctx *c);
int op_cast(struct op_ctx *c);

struct infer_act infer_act_of(const pw_node *n);
/* Applies a to n floats in place (AVX2 when the CPU level allows). */
void infer_act_apply(const struct infer_act *a, float *x, int64_t count);
/* Applies a node's fused activation to n floats in place; no-op when the node has none. */
void op_apply_fused_activation(const pw_node *n, float *x, int64_t count);

/* Refuses a backend built for another ABI version or lacking a required entry point. */
int infer_backend_check(const pw_backend_ops *be, infer_error *err);

/* The built-in CPU backend. */
const pw_backend_ops *infer_cpu_backend(void);

#endif
