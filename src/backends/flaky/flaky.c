/* flaky.c: the "flaky" test backend: the CPU kernels behind a backend that fails at run time on demand, so the host's fallback can be tested without a GPU. */
#include <stdlib.h>

#include "internal.h"
#include "backends/common/gpu.h"

/* Executions before the first failure (PW_FLAKY_FAIL_AFTER, default 0: the first one fails); every
 * later execution fails too, like a lost device. */
static long executions;

static int
flaky_probe(void **ctx, infer_error *err)
{
	executions = 0;
	return infer_cpu_backend()->probe(ctx, err);
}

static int
flaky_execute(void *ctx, void *compiled, pw_exec_env *env, infer_error *err)
{
	long fail_after = backend_env_count("PW_FLAKY_FAIL_AFTER", 0);

	if (executions++ >= fail_after) {
		infer_err(err, INFER_E_BACKEND, "flaky: device lost (simulated after %ld executions)", fail_after);
		return -1;
	}
	return infer_cpu_backend()->execute(ctx, compiled, env, err);
}

/* The CPU backend's table with its own name, priority, probe and execute; everything else is the CPU's own. */
static pw_backend_ops flaky_backend;

__attribute__((visibility("default"))) const pw_backend_ops *pw_backend_entry(void);
const pw_backend_ops *
pw_backend_entry(void)
{
	flaky_backend = *infer_cpu_backend();
	flaky_backend.name = "flaky";
	flaky_backend.priority = 20;
	flaky_backend.probe = flaky_probe;
	flaky_backend.execute = flaky_execute;
	return &flaky_backend;
}
