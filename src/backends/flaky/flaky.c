/* flaky.c: the "flaky" test backend: the CPU kernels behind a backend that fails at run time on demand, so the host's fallback can be tested without a GPU. */
#include <stdlib.h>

#include "internal.h"

/* Executions before the first failure (PW_FLAKY_FAIL_AFTER, default 0: the first one fails); every
 * later execution fails too, like a lost device. */
static long executions;

static long
fail_after(void)
{
	const char *s = getenv("PW_FLAKY_FAIL_AFTER");
	char *end;
	long v;

	if (s == NULL || s[0] == '\0')
		return 0;
	v = strtol(s, &end, 10);
	return *end == '\0' && v >= 0 ? v : 0;
}

static int
flaky_probe(void **ctx, infer_error *err)
{
	executions = 0;
	return infer_cpu_backend()->probe(ctx, err);
}

static int
flaky_execute(void *ctx, void *compiled, pw_exec_env *env, infer_error *err)
{
	if (executions++ >= fail_after()) {
		infer_err(err, INFER_E_BACKEND, "flaky: device lost (simulated after %ld executions)", fail_after());
		return -1;
	}
	return infer_cpu_backend()->execute(ctx, compiled, env, err);
}

static int
flaky_supports(void *ctx, const pw_node *node)
{
	return infer_cpu_backend()->supports(ctx, node);
}

static int
flaky_compile(void *ctx, const pw_subgraph *sg, void **compiled, infer_error *err)
{
	return infer_cpu_backend()->compile(ctx, sg, compiled, err);
}

static void
flaky_release(void *ctx, void *compiled)
{
	infer_cpu_backend()->release(ctx, compiled);
}

static void
flaky_shutdown(void *ctx)
{
	infer_cpu_backend()->shutdown(ctx);
}

static const pw_backend_ops flaky_backend = {
	.abi_version = PW_BACKEND_ABI_VERSION,
	.struct_size = sizeof(pw_backend_ops),
	.name = "flaky",
	.priority = 20,
	.probe = flaky_probe,
	.shutdown = flaky_shutdown,
	.supports = flaky_supports,
	.compile = flaky_compile,
	.execute = flaky_execute,
	.release = flaky_release,
};

PW_BACKEND_EXPORT(flaky_backend)
