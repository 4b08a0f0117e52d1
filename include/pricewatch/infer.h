/* infer.h: the public API of pricewatch's ONNX inference core (load a model, open a session, run it). */
#ifndef PRICEWATCH_INFER_H
#define PRICEWATCH_INFER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Most dimensions a tensor may have (ONNX has no limit; CNNs use at most 5). */
#define INFER_MAX_DIMS 8

/* Largest model file infer_model_load() accepts, and largest element count of any one tensor. */
#define INFER_MAX_MODEL_BYTES ((size_t)1 << 30)
#define INFER_MAX_TENSOR_ELEMS ((int64_t)1 << 28)

/* Element types; the values are ONNX's TensorProto.DataType codes. */
typedef enum infer_dtype {
	INFER_DTYPE_FLOAT = 1,
	INFER_DTYPE_INT64 = 7,
} infer_dtype;

/* A dense tensor in C order. data is float * for FLOAT and int64_t * for INT64.
 * A scalar has ndim 0 and one element. Who owns data is said by the function that fills it. */
typedef struct infer_tensor {
	infer_dtype dtype;
	int ndim;
	int64_t dims[INFER_MAX_DIMS];
	void *data;
} infer_tensor;

typedef enum infer_status {
	INFER_OK = 0,
	INFER_E_IO,          /* the file could not be read */
	INFER_E_INVALID,     /* corrupt or inconsistent model or input */
	INFER_E_UNSUPPORTED, /* valid ONNX that this engine does not run (op, type, attribute) */
	INFER_E_LIMIT,       /* a size limit was exceeded (file, dims, elements) */
	INFER_E_NOMEM,
	INFER_E_BACKEND,     /* a backend failed or was refused (ABI mismatch, probe failure) */
} infer_status;

/* Filled by every call that can fail: a code and a message naming the file, node and reason. */
typedef struct infer_error {
	infer_status code;
	char msg[512];
} infer_error;

typedef struct infer_model infer_model;
typedef struct infer_session infer_session;

/* Session options; zero-initialised means: all cores' worth of OpenMP threads, CPU backend, all passes. */
typedef struct infer_session_opts {
	int threads;          /* 0: OpenMP default */
	/* NULL or "cpu", or a comma-separated list of backend names ("reference", "reference,cpu"). Each node
	 * goes to the highest-priority listed backend that supports it; "cpu" is always there as the fallback.
	 * Names other than "cpu" are plugins: DIR/pw-backend-NAME.so. "auto" measures every backend that opens
	 * (infer_backend_available) on this model and takes the fastest. A plugin that fails at run time is
	 * dropped for the session (one line on stderr) and the run is repeated on the remaining backends. */
	const char *backend;
	const char *plugin_dir; /* NULL: $PW_BACKEND_DIR, else the installed plugin directory */
	unsigned flags;       /* INFER_OPT_* */
	int64_t max_tensor_elems; /* largest intermediate a run may create; 0: INFER_MAX_TENSOR_ELEMS */
	/* backend "auto": the directory where the measured choice is cached per model and machine
	 * (file backend-choice); NULL: measure at every session opening (docs/backends.md). */
	const char *cache_dir;
} infer_session_opts;

#define INFER_OPT_NO_PASSES 1u   /* run the graph as loaded: no folding, fusion or dead-node removal */
#define INFER_OPT_NO_ARENA 2u    /* malloc each intermediate instead of planning one arena */

/* Loads an ONNX model. Returns NULL and fills err on any problem. The caller owns the model. */
infer_model *infer_model_load(const char *path, infer_error *err);
/* The same from memory; label names the source in error messages. buf is not kept. */
infer_model *infer_model_load_mem(const void *buf, size_t len, const char *label, infer_error *err);
void infer_model_free(infer_model *model);

/* The graph's real inputs (initializers excluded) and outputs, in ONNX order.
 * Names are owned by the model. dims[i] is -1 where the model leaves a dimension symbolic. */
size_t infer_model_input_count(const infer_model *model);
size_t infer_model_output_count(const infer_model *model);
const char *infer_model_input_name(const infer_model *model, size_t i);
const char *infer_model_output_name(const infer_model *model, size_t i);
/* Declared type and shape of input i (data is NULL). Returns -1 when i is out of range. */
int infer_model_input_info(const infer_model *model, size_t i, infer_tensor *info);
size_t infer_model_node_count(const infer_model *model);

/* Opens a session on model, which must outlive it. Returns NULL and fills err on failure. */
infer_session *infer_session_create(const infer_model *model, const infer_session_opts *opts, infer_error *err);
void infer_session_free(infer_session *session);

/* Runs the model. inputs are in model input order (borrowed). outputs[0..n_outputs) are filled in model
 * output order; each outputs[i].data is malloc'd and owned by the caller (infer_tensor_release()).
 * On failure nothing is left allocated in outputs. */
int infer_run(infer_session *session, const infer_tensor *inputs, size_t n_inputs,
    infer_tensor *outputs, size_t n_outputs, infer_error *err);

/* Nodes the session executes after its graph passes, and the bytes of its intermediate arena
 * (0 before the first run or with INFER_OPT_NO_ARENA). */
size_t infer_session_node_count(const infer_session *session);
/* The runs of consecutive nodes given to one backend, and the backend that runs executed node i. */
size_t infer_session_subgraph_count(const infer_session *session);
const char *infer_session_node_backend(const infer_session *session, size_t i);
size_t infer_session_arena_bytes(const infer_session *session);
/* The session's first-choice backend now (the chosen one with "auto"; changes when a backend is dropped). */
const char *infer_session_backend(const infer_session *session);

/* Longest backend name, terminator included. */
#define INFER_BACKEND_NAME_MAX 33
/* Fills names with "cpu" and then every plugin of dir (NULL: $PW_BACKEND_DIR, else the installed directory)
 * that loads and probes on this machine, sorted by name; returns how many (at most max). */
int infer_backend_available(const char *dir, char (*names)[INFER_BACKEND_NAME_MAX], int max);

/* Element count of t, or -1 when a dimension is negative or the count exceeds INFER_MAX_TENSOR_ELEMS. */
int64_t infer_tensor_numel(const infer_tensor *t);
/* Frees t->data and clears t. */
void infer_tensor_release(infer_tensor *t);
/* Reads a serialised ONNX TensorProto (a test_data_set_0/input_0.pb file) into out, whose data the caller
 * then owns. Only FLOAT and INT64 tensors are accepted (INFER_E_UNSUPPORTED otherwise). */
int infer_tensor_load_pb(const char *path, infer_tensor *out, infer_error *err);

const char *infer_status_name(infer_status code);

#ifdef __cplusplus
}
#endif

#endif
