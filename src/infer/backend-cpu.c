/* backend-cpu.c: the built-in CPU backend behind the backend ABI, and the kernel context helpers.
 * Built a second time with PW_BACKEND_PLUGIN it is the "reference" plugin (plain C kernels only). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

infer_tensor *
op_output(struct op_ctx *c, int idx, infer_dtype dt, int ndim, const int64_t *dims)
{
	int v = idx < c->node->n_outputs ? c->node->outputs[idx] : -1;

	if (v < 0) {
		op_fail(c, INFER_E_INVALID, "output #%d is not connected", idx);
		return NULL;
	}
	if (ndim < 0 || ndim > INFER_MAX_DIMS) {
		op_fail(c, INFER_E_LIMIT, "output rank %d exceeds %d", ndim, INFER_MAX_DIMS);
		return NULL;
	}
	if (infer_dims_numel(ndim, dims) < 0) {
		op_fail(c, INFER_E_LIMIT, "output shape is negative or exceeds %lld elements",
		    (long long)INFER_MAX_TENSOR_ELEMS);
		return NULL;
	}
	if (c->env->alloc_output(c->env, v, dt, ndim, dims, c->err) < 0) {
		char inner[sizeof(c->err->msg)];
		memcpy(inner, c->err->msg, sizeof(inner));
		op_fail(c, c->err->code, "%s", inner);
		return NULL;
	}
	return &c->env->values[v];
}

int
op_fail(struct op_ctx *c, infer_status code, const char *fmt, ...)
{
	char msg[sizeof(c->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	infer_node_err(c->err, code, c->node, "%s", msg);
	return -1;
}

const infer_tensor *
op_input(struct op_ctx *c, int idx, infer_dtype dt)
{
	const infer_tensor *t = idx < c->n_in ? c->in[idx] : NULL;

	if (t == NULL) {
		op_fail(c, INFER_E_INVALID, "input #%d is missing", idx);
		return NULL;
	}
	if (dt != 0 && t->dtype != dt) {
		op_fail(c, t->dtype == INFER_DTYPE_FLOAT || t->dtype == INFER_DTYPE_INT64 ? INFER_E_UNSUPPORTED :
		    INFER_E_INVALID, "input #%d has element type %d; this kernel takes %d", idx, (int)t->dtype, (int)dt);
		return NULL;
	}
	return t;
}

struct cpu_compiled {
	pw_subgraph sg;
	enum infer_op *ops;
	int max_inputs;
	double *node_ms;   /* PW_INFER_PROFILE set: time spent in each node, printed at release */
	int runs;
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const char *cpu_backend_name(void);

static int
cpu_probe(void **ctx, infer_error *err)
{
	(void)err;
	*ctx = NULL;
	return 0;
}

static void
cpu_shutdown(void *ctx)
{
	(void)ctx;
}

#ifdef PW_BACKEND_PLUGIN
/* Test hook: PW_REFERENCE_BACKEND_OPS="Conv,Relu" limits the plugin to those operators, so tests can split a
 * graph across two backends. */
static int
plugin_claims(const char *op_type)
{
	const char *list = getenv("PW_REFERENCE_BACKEND_OPS"), *p;
	size_t n = strlen(op_type);

	if (list == NULL || list[0] == '\0')
		return 1;
	for (p = list; *p != '\0';) {
		size_t len = strcspn(p, ",");
		if (len == n && strncmp(p, op_type, n) == 0)
			return 1;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}
#endif

static int
cpu_supports(void *ctx, const pw_node *node)
{
	enum infer_op op = infer_op_from_name(node->op_type);

	(void)ctx;
#ifdef PW_BACKEND_PLUGIN
	if (!plugin_claims(node->op_type))
		return 0;
#endif
	return op != OP_UNKNOWN && infer_op_supported(node, op, NULL) == 0;
}

static int
cpu_compile(void *ctx, const pw_subgraph *sg, void **compiled, infer_error *err)
{
	struct cpu_compiled *cc = calloc(1, sizeof(*cc));

	(void)ctx;
	if (cc == NULL || (cc->ops = calloc((size_t)sg->n_nodes + 1, sizeof(*cc->ops))) == NULL) {
		free(cc);
		infer_err(err, INFER_E_NOMEM, "out of memory compiling for the CPU backend");
		return -1;
	}
	cc->sg = *sg;
	if (getenv("PW_INFER_PROFILE") != NULL)
		cc->node_ms = calloc((size_t)sg->n_nodes + 1, sizeof(double));
	for (int i = 0; i < sg->n_nodes; i++) {
		cc->ops[i] = infer_op_from_name(sg->nodes[i].op_type);
		if (cc->ops[i] == OP_UNKNOWN || infer_op_supported(&sg->nodes[i], cc->ops[i], err) < 0) {
			if (cc->ops[i] == OP_UNKNOWN)
				infer_node_err(err, INFER_E_UNSUPPORTED, &sg->nodes[i], "operator not supported");
			free(cc->ops);
			free(cc->node_ms);
			free(cc);
			return -1;
		}
		if (sg->nodes[i].n_inputs > cc->max_inputs)
			cc->max_inputs = sg->nodes[i].n_inputs;
	}
	*compiled = cc;
	return 0;
}

static int
cpu_execute(void *ctx, void *compiled, pw_exec_env *env, infer_error *err)
{
	struct cpu_compiled *cc = compiled;
	const infer_tensor **in = calloc((size_t)cc->max_inputs + 1, sizeof(*in));

	(void)ctx;
	if (in == NULL) {
		infer_err(err, INFER_E_NOMEM, "out of memory");
		return -1;
	}
	for (int i = 0; i < cc->sg.n_nodes; i++) {
		const pw_node *n = &cc->sg.nodes[i];
		struct op_ctx c = {
			.node = n, .op = cc->ops[i], .in = in, .n_in = n->n_inputs, .env = env, .err = err,
			.threads = cc->sg.threads,
		};
		for (int j = 0; j < n->n_inputs; j++) {
			int v = n->inputs[j];
			in[j] = v >= 0 ? &env->values[v] : NULL;
			if (v >= 0 && env->values[v].data == NULL) {
				infer_node_err(err, INFER_E_INVALID, n, "input #%d has not been computed", j);
				free(in);
				return -1;
			}
		}
		double t0 = cc->node_ms != NULL ? now_ms() : 0.0;
		if (infer_op_run(&c) < 0) {
			free(in);
			return -1;
		}
		if (cc->node_ms != NULL)
			cc->node_ms[i] += now_ms() - t0;
		if (env->node_done != NULL)
			env->node_done(env, n);
	}
	free(in);
	cc->runs++;
	return 0;
}

static void
cpu_release(void *ctx, void *compiled)
{
	struct cpu_compiled *cc = compiled;

	(void)ctx;
	if (cc == NULL)
		return;
	if (cc->node_ms != NULL && cc->runs > 0) {
		double total = 0;
		for (int i = 0; i < cc->sg.n_nodes; i++)
			total += cc->node_ms[i];
		fprintf(stderr, "profile (%s backend, %d runs, kernels %s): %.3f ms per run\n", cpu_backend_name(),
		    cc->runs, infer_cpu_level_name(infer_cpu_level()), total / cc->runs);
		for (int i = 0; i < cc->sg.n_nodes; i++)
			fprintf(stderr, "  %8.3f ms %5.1f%%  %-18s %s\n", cc->node_ms[i] / cc->runs,
			    total > 0 ? 100.0 * cc->node_ms[i] / total : 0.0, cc->sg.nodes[i].op_type, cc->sg.nodes[i].name);
	}
	free(cc->node_ms);
	free(cc->ops);
	free(cc);
}

static const pw_backend_ops cpu_backend = {
	.abi_version = PW_BACKEND_ABI_VERSION,
	.struct_size = sizeof(pw_backend_ops),
#ifdef PW_BACKEND_PLUGIN
	.name = "reference",
	.priority = 1,
#else
	.name = "cpu",
	.priority = 0,
#endif
	.probe = cpu_probe,
	.shutdown = cpu_shutdown,
	.supports = cpu_supports,
	.compile = cpu_compile,
	.execute = cpu_execute,
	.release = cpu_release,
};

const pw_backend_ops *
infer_cpu_backend(void)
{
	return &cpu_backend;
}

static const char *
cpu_backend_name(void)
{
	return cpu_backend.name;
}

#ifdef PW_BACKEND_PLUGIN
/* The plugin's only exported symbol (built with -fvisibility=hidden). */
__attribute__((visibility("default"))) const pw_backend_ops *pw_backend_entry(void);

const pw_backend_ops *
pw_backend_entry(void)
{
	return &cpu_backend;
}
#endif
