/* backend.h: the versioned C ABI an inference backend implements (the CPU kernels and dlopen plugins alike). */
#ifndef PRICEWATCH_BACKEND_H
#define PRICEWATCH_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "pricewatch/infer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any incompatible change to the structs below; the host refuses a backend whose
 * abi_version differs, and reads only struct_size bytes of its ops table.
 * 2: pw_subgraph.live_out (which results a device backend must hand back to the host). */
#define PW_BACKEND_ABI_VERSION 2u

/* A plugin shared object exports this symbol, of type pw_backend_entry_fn. */
#define PW_BACKEND_ENTRY_SYMBOL "pw_backend_entry"

/* Attribute types; values are ONNX's AttributeProto.AttributeType codes. */
typedef enum pw_attr_type {
	PW_ATTR_FLOAT = 1,
	PW_ATTR_INT = 2,
	PW_ATTR_STRING = 3,
	PW_ATTR_TENSOR = 4,
	PW_ATTR_FLOATS = 6,
	PW_ATTR_INTS = 7,
} pw_attr_type;

/* One node attribute; all pointers are owned by the host and live as long as the session. */
typedef struct pw_attr {
	const char *name;
	pw_attr_type type;
	float f;                 /* PW_ATTR_FLOAT */
	int64_t i;               /* PW_ATTR_INT */
	const char *s;           /* PW_ATTR_STRING (NUL-terminated) */
	const float *floats;     /* PW_ATTR_FLOATS, n entries */
	const int64_t *ints;     /* PW_ATTR_INTS, n entries */
	size_t n;
	const infer_tensor *t;   /* PW_ATTR_TENSOR */
} pw_attr;

/* A graph node as a backend sees it. Inputs and outputs are value ids (indexes into the session's
 * value table); -1 marks an omitted optional input. Fusions made by the host's graph passes appear as
 * extra attributes in the "pw." namespace: "pw.activation" (string "Relu", "Clip" or "HardSwish"),
 * "pw.clip_min", "pw.clip_max" (floats). */
typedef struct pw_node {
	const char *name;
	const char *op_type;
	int opset;               /* the model's opset for the default ONNX domain */
	int n_inputs;
	const int32_t *inputs;
	int n_outputs;
	const int32_t *outputs;
	int n_attrs;
	const pw_attr *attrs;
} pw_node;

/* A run of consecutive nodes handed to one backend. constants[v] is non-NULL when value v is an
 * initializer or folded constant (host memory, owned by the host). live_out[v] is non-zero when value v,
 * produced by this subgraph, is read after it (by another subgraph or as a graph output): only those
 * must reach host memory through alloc_output; a device backend keeps every other intermediate on the
 * device. NULL means every produced value is live (owned by the host, n_values entries). */
typedef struct pw_subgraph {
	const pw_node *nodes;
	int n_nodes;
	const infer_tensor *const *constants;
	int n_values;
	int threads;             /* threads the backend may use; 0 = its default */
	const unsigned char *live_out;
} pw_subgraph;

/* The host side of one execution. values[v] holds each value's tensor once produced; backends read
 * their inputs there and obtain outputs from alloc_output, which sets values[v] (the host owns the
 * memory: an arena slice or a backend buffer). node_done lets the host recycle values whose last
 * reader has run. */
typedef struct pw_exec_env {
	infer_tensor *values;
	int n_values;
	void *host;
	int (*alloc_output)(struct pw_exec_env *env, int value, infer_dtype dtype, int ndim,
	    const int64_t *dims, infer_error *err);
	void (*node_done)(struct pw_exec_env *env, const pw_node *node);
} pw_exec_env;

/* The function table a backend provides. Members marked optional may be NULL. */
typedef struct pw_backend_ops {
	uint32_t abi_version;    /* PW_BACKEND_ABI_VERSION the backend was built against */
	uint32_t struct_size;    /* sizeof(pw_backend_ops) at build time */
	const char *name;        /* short unique name: "cpu", "reference", "opencl" */
	int priority;            /* higher wins when several backends support a node */

	/* Opens the backend; *ctx receives its private state. Returns 0, or -1 with a reason in err. */
	int (*probe)(void **ctx, infer_error *err);
	/* Closes what probe opened. */
	void (*shutdown)(void *ctx);
	/* Non-zero when the backend can execute node (its op, attributes and types). */
	int (*supports)(void *ctx, const pw_node *node);

	/* Optional: device memory. When NULL the backend works directly on host memory. */
	void *(*buffer_alloc)(void *ctx, size_t bytes);
	void (*buffer_free)(void *ctx, void *buffer);
	int (*upload)(void *ctx, void *dst, const void *src, size_t bytes);
	int (*download)(void *ctx, void *dst, const void *src, size_t bytes);

	/* Prepares sg once (weights repacked here); *compiled is released with release(). */
	int (*compile)(void *ctx, const pw_subgraph *sg, void **compiled, infer_error *err);
	/* Runs a compiled subgraph. Returns 0, or -1 with err naming the node and the reason. */
	int (*execute)(void *ctx, void *compiled, pw_exec_env *env, infer_error *err);
	/* Optional: waits for queued work; NULL means execute is synchronous. */
	int (*synchronize)(void *ctx);
	void (*release)(void *ctx, void *compiled);
} pw_backend_ops;

typedef const pw_backend_ops *(*pw_backend_entry_fn)(void);

/* Defines a plugin's entry point returning &table, its only exported symbol when the plugin is built with
 * -fvisibility=hidden. */
#define PW_BACKEND_EXPORT(table) \
	__attribute__((visibility("default"))) const pw_backend_ops *pw_backend_entry(void); \
	const pw_backend_ops *pw_backend_entry(void) { return &(table); }

#ifdef __cplusplus
}
#endif

#endif
