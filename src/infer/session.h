/* session.h: the session structure shared by session.c, the graph passes and the arena planner. */
#ifndef PW_INFER_SESSION_H
#define PW_INFER_SESSION_H

#include "internal.h"

/* An opened backend: the built-in CPU one or a dlopen'ed plugin. */
struct infer_backend {
	const pw_backend_ops *ops;
	void *ctx;                        /* what probe returned */
	void *dl;                         /* dlopen handle, NULL for built-ins */
	int opened;                       /* probe succeeded: shutdown is owed */
	int dropped;                      /* failed at run time: no longer scheduled in this session */
};

/* A run of consecutive nodes compiled for one backend. */
struct session_part {
	int backend;                      /* index into infer_session.backends */
	int first, count;                 /* node range */
	pw_subgraph sg;
	void *compiled;
};

#define INFER_MAX_BACKENDS 4

struct infer_session {
	const infer_model *m;
	int threads;
	unsigned flags;
	int64_t max_elems;                /* per-tensor element limit for intermediates */

	/* Values: the model's, then constants created by passes (up to cap_values). */
	int n_values, cap_values;
	const infer_tensor **konst;       /* konst[v]: constant tensor of v or NULL (model- or session-owned) */
	const char **value_names;         /* borrowed from the model, or static strings */

	pw_node *nodes;                   /* the executed graph: shallow copies of model nodes, rewritten by passes */
	int n_nodes;
	int *last_use;                    /* last node index reading v; INT_MAX for graph outputs; -1 unread */
	int *producer;                    /* node index producing v, -1 for inputs and constants */

	void **owned;                     /* blocks made by passes (attr and io arrays), freed with the session */
	int n_owned;
	infer_tensor **owned_tensors;     /* constants made by passes */
	int n_owned_tensors;

	struct infer_backend backends[INFER_MAX_BACKENDS];
	int n_backends;
	struct session_part *parts;
	int n_parts;
	int *node_backend;                /* backend index of each executed node */
	unsigned char *live_out;          /* per value: read after the subgraph producing it (pw_subgraph.live_out) */

	/* Arena plan: built from the sizes seen in a run, reused while they fit. */
	size_t *rec_bytes;                /* bytes each value needed in the runs so far */
	int *rec_start;                   /* earliest node index at which each value was allocated: a backend
	                                   * that runs several nodes as one (the CPU backend's fused blocks)
	                                   * writes a value before its producer's turn */
	size_t *arena_offset;             /* planned offset of each value, SIZE_MAX when unplanned */
	unsigned char *arena;
	size_t arena_bytes;
	int replan;                       /* a value did not fit the plan in this run */

	/* Batches image by image (batch.c): set when every node spares the batch and the CPU runs them all. */
	int split_batch;
	infer_session **workers;          /* one-thread sessions on the same model, one per thread, made at the
	                                   * first batch; NULL when none could be made */
	int n_workers;
};

/* plugin.c: opens backend name[0..len) (built-in "cpu" or DIR/pw-backend-NAME.so); closes it. */
int infer_backend_open(const char *name, size_t len, const char *dir, struct infer_backend *b, infer_error *err);
void infer_backend_close(struct infer_backend *b);
/* backend "auto": writes the name of the fastest backend on m (cached in o->cache_dir) into out. */
int infer_backend_auto(const infer_model *m, const infer_session_opts *o, char *out, size_t len, infer_error *err);

void *session_keep(infer_session *s, void *p);
/* Adds t (ownership passes to the session) as a new constant value; returns its id or -1. */
int session_add_constant(infer_session *s, infer_tensor *t);

/* batch.c: whether every node of s computes each image from that image alone; runs the batch in inputs image
 * by image on workers (n_workers > 1, in parallel) or on s itself. */
int infer_batch_splittable(const infer_session *s);
int infer_batch_run(infer_session *s, infer_session **workers, int n_workers, const infer_tensor *inputs,
    size_t n_inputs, infer_tensor *outputs, size_t n_outputs, infer_error *err);
/* session.c: one run of the whole batch as given (what infer_run does without splitting). */
int infer_session_run_whole(infer_session *s, const infer_tensor *inputs, size_t n_inputs, infer_tensor *outputs,
    size_t n_outputs, infer_error *err);

/* Graph passes (passes.c): constant folding, Identity/Dropout removal, BatchNorm folding, activation fusion. */
int infer_passes_run(infer_session *s, infer_error *err);

/* Arena planner (arena.c). arena_take hands out v's planned slice when it fits (0), else -1. */
int arena_begin(infer_session *s, infer_error *err);
int arena_take(infer_session *s, int v, infer_dtype dt, int ndim, const int64_t *dims, infer_tensor *out);
void arena_record(infer_session *s, int v, const infer_tensor *t);
void arena_end(infer_session *s, int ok);

#endif
