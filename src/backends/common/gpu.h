/* gpu.h: the host side the GPU backends share: a small device interface each API implements, and the graph lowering on top of it. */
#ifndef PW_BACKENDS_GPU_H
#define PW_BACKENDS_GPU_H

#include <stddef.h>

#include "pricewatch/backend.h"

/* The kernels of kernels.cl, in the order of gpu_kernel_names. */
enum gpu_kernel { GK_CONV2D, GK_GEMM, GK_BINARY, GK_UNARY, GK_POOL2D, GK_GAP, GK_COPY, GK_COUNT };
extern const char *const gpu_kernel_names[GK_COUNT];

/* One kernel argument: a device buffer, an int or a float. */
enum gpu_arg_kind { GA_BUF, GA_INT, GA_FLOAT };
struct gpu_arg {
	enum gpu_arg_kind kind;
	void *buf;
	int i;
	float f;
};
#define GPU_MAX_ARGS 32

struct gpu_dev;

/* What an API (OpenCL, CUDA) provides. Every call returns 0 or -1 with the reason in dev->msg;
 * alloc returns NULL on failure (dev->msg says why, dev->oom is set when the device is out of memory). */
struct gpu_dev_ops {
	void *(*alloc)(struct gpu_dev *dev, size_t bytes);
	void (*free)(struct gpu_dev *dev, void *buf);
	int (*upload)(struct gpu_dev *dev, void *dst, const void *src, size_t bytes);
	int (*download)(struct gpu_dev *dev, void *dst, const void *src, size_t bytes);
	/* Queues kernel k over global[0..dims) items in groups of local[0..dims) (global is a multiple of local). */
	int (*launch)(struct gpu_dev *dev, enum gpu_kernel k, int dims, const size_t *global, const size_t *local,
	    const struct gpu_arg *args, int nargs);
	/* Waits for everything queued. */
	int (*finish)(struct gpu_dev *dev);
};

/* The state every GPU backend context starts with. */
struct gpu_dev {
	const struct gpu_dev_ops *ops;
	const char *api;          /* "OpenCL", "CUDA": for messages */
	char device_name[128];
	char msg[256];            /* the last API error */
	int oom;                  /* the last failure was an out-of-memory one */
	long launches;            /* kernels queued so far; PW_GPU_FAIL_AFTER=N fails the launch after N */
	long fail_after;          /* -1: never (fault injection for the fallback tests) */
};

/* Reads PW_GPU_FAIL_AFTER into dev->fail_after; the APIs call it from probe. */
void gpu_dev_init(struct gpu_dev *dev, const struct gpu_dev_ops *ops, const char *api);

/* The backend entry points, shared by the APIs: ctx is a struct gpu_dev * (first member of theirs). */
int gpu_supports(void *ctx, const pw_node *node);
int gpu_compile(void *ctx, const pw_subgraph *sg, void **compiled, infer_error *err);
int gpu_execute(void *ctx, void *compiled, pw_exec_env *env, infer_error *err);
void gpu_release(void *ctx, void *compiled);
/* Waits for everything queued on the device (ops->finish). */
int gpu_synchronize(void *ctx);

/* The count in environment variable name (a whole number >= 0), else fallback: the plugins' fault injection. */
long backend_env_count(const char *name, long fallback);

/*
 * Defines an API's plugin table, var, and exports it: its own probe and shutdown
 * (ctx is its device, a struct gpu_dev first), the shared GPU entry points for the rest.
 */
#define GPU_BACKEND_PLUGIN(var, backend_name, backend_priority, probe_fn, shutdown_fn) \
	static const pw_backend_ops var = { \
		.abi_version = PW_BACKEND_ABI_VERSION, \
		.struct_size = sizeof(pw_backend_ops), \
		.name = backend_name, \
		.priority = backend_priority, \
		.probe = probe_fn, \
		.shutdown = shutdown_fn, \
		.supports = gpu_supports, \
		.compile = gpu_compile, \
		.execute = gpu_execute, \
		.synchronize = gpu_synchronize, \
		.release = gpu_release, \
	}; \
	PW_BACKEND_EXPORT(var)

#endif
