/* session.c: opens a session (graph passes, backend compile) and runs it, recycling intermediates after their last use. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

static void unschedule(infer_session *s);

void
infer_session_free(infer_session *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < s->n_workers; i++)
		infer_session_free(s->workers[i]);
	free(s->workers);
	unschedule(s);
	for (int i = 0; i < s->n_backends; i++)
		infer_backend_close(&s->backends[i]);
	for (int i = 0; i < s->n_owned; i++)
		free(s->owned[i]);
	free(s->owned);
	for (int i = 0; i < s->n_owned_tensors; i++) {
		infer_tensor_release(s->owned_tensors[i]);
		free(s->owned_tensors[i]);
	}
	free(s->owned_tensors);
	free(s->konst);
	free(s->nodes);
	free(s->last_use);
	free(s->producer);
	free(s->value_names);
	free(s->rec_bytes);
	free(s->rec_start);
	free(s->arena_offset);
	free(s->arena);
	free(s);
}

/* Remembers a block the session must free (arrays made by passes). Returns p, or NULL on failure. */
void *
session_keep(infer_session *s, void *p)
{
	void **grown;

	if (p == NULL)
		return NULL;
	grown = realloc(s->owned, ((size_t)s->n_owned + 1) * sizeof(*grown));
	if (grown == NULL) {
		free(p);
		return NULL;
	}
	s->owned = grown;
	s->owned[s->n_owned++] = p;
	return p;
}

int
session_add_constant(infer_session *s, infer_tensor *t)
{
	infer_tensor **grown;

	if (s->n_values >= s->cap_values)
		return -1;
	grown = realloc(s->owned_tensors, ((size_t)s->n_owned_tensors + 1) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	s->owned_tensors = grown;
	s->owned_tensors[s->n_owned_tensors++] = t;
	s->konst[s->n_values] = t;
	s->value_names[s->n_values] = "<folded>";
	return s->n_values++;
}

/* Constants from this size on (weights, not biases) are packed together. */
#define PACK_MIN_BYTES 16384

/* Copies the session's large float constants (the weights, as loaded or as the passes folded them) into one
 * block from infer_alloc_big, in graph order: a run then reads its weights from a few huge pages instead of
 * thousands of 4 KiB ones. Folded weights move (their old copy is freed); the model's own are copied, since the
 * model is shared. Best effort: without memory everything stays where it was. */
static void
pack_constants(infer_session *s)
{
	size_t total = 0, off = 0;
	int n = 0, k = 0;
	char *block;
	infer_tensor *packed;

	for (int v = 0; v < s->n_values; v++) {
		const infer_tensor *t = s->konst[v];
		size_t b = t != NULL ? (size_t)infer_tensor_numel(t) * infer_dtype_size(t->dtype) : 0;
		if (t != NULL && t->dtype == INFER_DTYPE_FLOAT && b >= PACK_MIN_BYTES) {
			total += (b + 63) / 64 * 64;
			n++;
		}
	}
	if (n == 0 || total < ((size_t)2 << 20))
		return;
	/* session_keep frees what it cannot keep. */
	if ((block = session_keep(s, infer_alloc_big(total))) == NULL ||
	    (packed = session_keep(s, calloc((size_t)n, sizeof(*packed)))) == NULL)
		return;
	for (int v = 0; v < s->n_values; v++) {
		const infer_tensor *t = s->konst[v];
		size_t b = t != NULL ? (size_t)infer_tensor_numel(t) * infer_dtype_size(t->dtype) : 0;
		if (t == NULL || t->dtype != INFER_DTYPE_FLOAT || b < PACK_MIN_BYTES)
			continue;
		packed[k] = *t;
		packed[k].data = block + off;
		memcpy(packed[k].data, t->data, b);
		off += (b + 63) / 64 * 64;
		for (int i = 0; i < s->n_owned_tensors; i++)
			if (s->owned_tensors[i] == t)
				infer_tensor_release(s->owned_tensors[i]);
		s->konst[v] = &packed[k++];
	}
}

/* Last reader of each value, so run can free it early; graph outputs are never freed. */
static int
compute_last_use(infer_session *s)
{
	free(s->last_use);
	free(s->producer);
	s->last_use = malloc((size_t)s->n_values * sizeof(int));
	s->producer = malloc((size_t)s->n_values * sizeof(int));
	if (s->last_use == NULL || s->producer == NULL)
		return -1;
	for (int v = 0; v < s->n_values; v++)
		s->last_use[v] = s->producer[v] = -1;
	for (int i = 0; i < s->n_nodes; i++) {
		for (int j = 0; j < s->nodes[i].n_inputs; j++)
			if (s->nodes[i].inputs[j] >= 0)
				s->last_use[s->nodes[i].inputs[j]] = i;
		for (int j = 0; j < s->nodes[i].n_outputs; j++)
			if (s->nodes[i].outputs[j] >= 0)
				s->producer[s->nodes[i].outputs[j]] = i;
	}
	for (int i = 0; i < s->m->n_outputs; i++)
		s->last_use[s->m->outputs[i]] = INT_MAX;
	return 0;
}

/* Opens each listed backend, then "cpu" if the list lacks it; highest priority first. */
static int
open_backends(infer_session *s, const char *list, const char *dir, infer_error *err)
{
	const char *p = list;
	int have_cpu = 0;

	for (;;) {
		size_t len = strcspn(p, ",");
		if (s->n_backends >= INFER_MAX_BACKENDS - 1) {
			infer_err(err, INFER_E_BACKEND, "too many backends in '%s'", list);
			return -1;
		}
		if (len == 3 && memcmp(p, "cpu", 3) == 0)
			have_cpu = 1;
		if (infer_backend_open(p, len, dir, &s->backends[s->n_backends], err) < 0)
			return -1;
		s->n_backends++;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	if (!have_cpu && infer_backend_open("cpu", 3, NULL, &s->backends[s->n_backends++], err) < 0)
		return -1;
	/* Stable insertion sort by priority, highest first. */
	for (int i = 1; i < s->n_backends; i++)
		for (int j = i; j > 0 && s->backends[j].ops->priority > s->backends[j - 1].ops->priority; j--) {
			struct infer_backend t = s->backends[j];
			s->backends[j] = s->backends[j - 1];
			s->backends[j - 1] = t;
		}
	return 0;
}

/* Releases the compiled subgraphs and the node assignment (before a reschedule, and at the end). */
static void
unschedule(infer_session *s)
{
	for (int i = 0; i < s->n_parts; i++)
		if (s->parts[i].compiled != NULL)
			s->backends[s->parts[i].backend].ops->release(s->backends[s->parts[i].backend].ctx,
			    s->parts[i].compiled);
	free(s->parts);
	free(s->node_backend);
	free(s->live_out);
	s->parts = NULL;
	s->node_backend = NULL;
	s->live_out = NULL;
	s->n_parts = 0;
}

/* Marks the values a later subgraph (or the caller) reads: a device backend hands only those back. */
static void
mark_live_out(infer_session *s)
{
	for (int k = 0; k < s->n_parts; k++) {
		int end = s->parts[k].first + s->parts[k].count - 1;
		for (int i = s->parts[k].first; i <= end; i++)
			for (int j = 0; j < s->nodes[i].n_outputs; j++) {
				int v = s->nodes[i].outputs[j];
				if (v >= 0 && s->last_use[v] > end)
					s->live_out[v] = 1;
			}
	}
}

/* Gives each node to the first (highest-priority) backend not dropped that supports it, groups consecutive
 * nodes of one backend into a subgraph and compiles each. Device backends copy at the subgraph edges
 * themselves (live_out says what leaves a subgraph). */
static int
schedule(infer_session *s, infer_error *err)
{
	s->node_backend = malloc((size_t)(s->n_nodes > 0 ? s->n_nodes : 1) * sizeof(int));
	s->parts = calloc((size_t)(s->n_nodes > 0 ? s->n_nodes : 1), sizeof(*s->parts));
	s->live_out = calloc((size_t)s->n_values + 1, 1);
	if (s->node_backend == NULL || s->parts == NULL || s->live_out == NULL) {
		infer_err(err, INFER_E_NOMEM, "out of memory scheduling the graph");
		return -1;
	}
	for (int i = 0; i < s->n_nodes; i++) {
		int b = 0;
		while (b < s->n_backends && (s->backends[b].dropped ||
		    !s->backends[b].ops->supports(s->backends[b].ctx, &s->nodes[i])))
			b++;
		if (b == s->n_backends) {
			infer_node_err(err, INFER_E_UNSUPPORTED, &s->nodes[i], "no backend supports this node");
			return -1;
		}
		s->node_backend[i] = b;
		if (s->n_parts == 0 || s->parts[s->n_parts - 1].backend != b)
			s->parts[s->n_parts++] = (struct session_part){ .backend = b, .first = i };
		s->parts[s->n_parts - 1].count++;
	}
	mark_live_out(s);
	for (int k = 0; k < s->n_parts; k++) {
		struct session_part *pt = &s->parts[k];
		struct infer_backend *be = &s->backends[pt->backend];
		pt->sg = (pw_subgraph){ .nodes = s->nodes + pt->first, .n_nodes = pt->count, .constants = s->konst,
			.n_values = s->n_values, .threads = s->threads, .live_out = s->live_out };
		if (be->ops->compile(be->ctx, &pt->sg, &pt->compiled, err) < 0)
			return -1;
	}
	return 0;
}

/* A failure that dropping backend b may cure: a plugin (never the built-in CPU one) failing as a device does
 * (lost, out of memory, a shape it cannot run). */
static int
droppable(const infer_session *s, int b, const infer_error *err)
{
	int others = 0;

	if (b < 0 || s->backends[b].dl == NULL || err == NULL)
		return 0;
	for (int i = 0; i < s->n_backends; i++)
		others += i != b && !s->backends[i].dropped;
	return others > 0 && (err->code == INFER_E_BACKEND || err->code == INFER_E_NOMEM ||
	    err->code == INFER_E_UNSUPPORTED);
}

/* Drops backend b for the rest of the session with one log line, and reschedules on the others. */
static int
drop_backend(infer_session *s, int b, infer_error *err)
{
	const char *next = NULL;

	s->backends[b].dropped = 1;
	unschedule(s);
	for (int i = 0; i < s->n_backends && next == NULL; i++)
		if (!s->backends[i].dropped)
			next = s->backends[i].ops->name;
	fprintf(stderr, "pricewatch: inference backend '%s' failed (%s); dropped for this session, continuing on "
	    "'%s'\n", s->backends[b].ops->name, err->msg, next != NULL ? next : "?");
	if (schedule(s, err) < 0) {
		unschedule(s);
		return -1;
	}
	return 0;
}

infer_session *
infer_session_create(const infer_model *m, const infer_session_opts *opts, infer_error *err)
{
	infer_session_opts o = { 0 };
	char chosen[INFER_BACKEND_NAME_MAX];
	infer_error local;
	infer_session *s;

	if (err == NULL)
		err = &local;
	if (opts != NULL)
		o = *opts;
	if (o.threads < 0) {
		infer_err(err, INFER_E_INVALID, "thread count %d is negative", o.threads);
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto nomem;
	s->m = m;
	s->threads = o.threads;
	s->flags = o.flags;
	s->max_elems = o.max_tensor_elems > 0 && o.max_tensor_elems < INFER_MAX_TENSOR_ELEMS ? o.max_tensor_elems :
	    INFER_MAX_TENSOR_ELEMS;
	/* Room for the constants that folding creates: at most two per node (weights and bias). */
	s->cap_values = m->n_values + 2 * m->n_nodes + 1;
	s->n_values = m->n_values;
	s->konst = calloc((size_t)s->cap_values, sizeof(*s->konst));
	s->value_names = calloc((size_t)s->cap_values, sizeof(*s->value_names));
	s->nodes = malloc((size_t)(m->n_nodes > 0 ? m->n_nodes : 1) * sizeof(*s->nodes));
	if (s->konst == NULL || s->value_names == NULL || s->nodes == NULL)
		goto nomem;
	for (int v = 0; v < m->n_values; v++) {
		s->konst[v] = m->values[v].konst;
		s->value_names[v] = m->values[v].name;
	}
	if (m->n_nodes > 0)
		memcpy(s->nodes, m->nodes, (size_t)m->n_nodes * sizeof(*s->nodes));
	s->n_nodes = m->n_nodes;
	if (!(o.flags & INFER_OPT_NO_PASSES) && infer_passes_run(s, err) < 0)
		goto fail;
	if (compute_last_use(s) < 0)
		goto nomem;
	pack_constants(s);
	if (o.backend != NULL && strcmp(o.backend, "auto") == 0) {
		if (infer_backend_auto(m, &o, chosen, sizeof(chosen), err) < 0)
			goto fail;
		o.backend = chosen;
	}
	if (open_backends(s, o.backend != NULL ? o.backend : "cpu", o.plugin_dir, err) < 0) {
		/* A cached "auto" choice whose device has gone away: the CPU serves. */
		if (o.backend != chosen || strcmp(chosen, "cpu") == 0)
			goto fail;
		fprintf(stderr, "pricewatch: inference backend auto: '%s' no longer opens (%s); using 'cpu'\n", chosen,
		    err->msg);
		for (int i = 0; i < s->n_backends; i++)
			infer_backend_close(&s->backends[i]);
		s->n_backends = 0;
		if (open_backends(s, "cpu", NULL, err) < 0)
			goto fail;
	}
	if (schedule(s, err) < 0)
		goto fail;
	/* Image by image only on the CPU backend alone (a device backend wants the whole batch) and with the
	 * passes (a session without them runs the graph exactly as loaded). PW_INFER_SPLIT=0 turns it off. */
	{
		const char *env = getenv("PW_INFER_SPLIT");
		s->split_batch = !(o.flags & INFER_OPT_NO_PASSES) && s->n_backends == 1 &&
		    strcmp(s->backends[0].ops->name, "cpu") == 0 && (env == NULL || strcmp(env, "0") != 0) &&
		    infer_batch_splittable(s);
	}
	return s;
nomem:
	infer_err(err, INFER_E_NOMEM, "out of memory opening a session");
fail:
	infer_session_free(s);
	return NULL;
}

size_t
infer_session_node_count(const infer_session *s)
{
	return (size_t)s->n_nodes;
}

size_t
infer_session_subgraph_count(const infer_session *s)
{
	return (size_t)s->n_parts;
}

const char *
infer_session_node_backend(const infer_session *s, size_t i)
{
	return i < (size_t)s->n_nodes ? s->backends[s->node_backend[i]].ops->name : NULL;
}

const char *
infer_session_backend(const infer_session *s)
{
	for (int i = 0; i < s->n_backends; i++)
		if (!s->backends[i].dropped)
			return s->backends[i].ops->name;
	return "cpu";
}

size_t
infer_session_arena_bytes(const infer_session *s)
{
	return s->arena_bytes;
}

/* Per-run host state behind pw_exec_env. */
struct run_state {
	infer_session *s;
	unsigned char *owned;      /* values whose memory this run allocated with malloc */
	int next;                  /* the first node not yet done (node_done calls come in order) */
};

static int
run_alloc_output(pw_exec_env *env, int v, infer_dtype dt, int ndim, const int64_t *dims, infer_error *err)
{
	struct run_state *rs = env->host;

	if (v < 0 || v >= env->n_values || env->values[v].data != NULL) {
		infer_err(err, INFER_E_INVALID, "value #%d is produced twice", v);
		return -1;
	}
	/* A value allocated before its producer's turn lives from then on, as far as the arena is concerned. */
	if (rs->s->rec_start != NULL && rs->next < rs->s->rec_start[v])
		rs->s->rec_start[v] = rs->next;
	if (infer_dims_numel(ndim, dims) > rs->s->max_elems) {
		infer_err(err, INFER_E_LIMIT, "output of %lld elements exceeds the session limit of %lld",
		    (long long)infer_dims_numel(ndim, dims), (long long)rs->s->max_elems);
		return -1;
	}
	if (arena_take(rs->s, v, dt, ndim, dims, &env->values[v]) == 0)
		return 0;
	if (infer_tensor_alloc(&env->values[v], dt, ndim, dims, err) < 0)
		return -1;
	rs->owned[v] = 1;
	arena_record(rs->s, v, &env->values[v]);
	return 0;
}

static void
run_node_done(pw_exec_env *env, const pw_node *n)
{
	struct run_state *rs = env->host;
	int idx = (int)(n - rs->s->nodes);

	rs->next = idx + 1;
	for (int j = 0; j < n->n_inputs; j++) {
		int v = n->inputs[j];
		if (v >= 0 && rs->s->last_use[v] == idx && rs->owned[v]) {
			infer_tensor_release(&env->values[v]);
			rs->owned[v] = 0;
		}
	}
	/* An output nobody reads (a dead branch) is dropped at once. */
	for (int j = 0; j < n->n_outputs; j++) {
		int v = n->outputs[j];
		if (v >= 0 && rs->s->last_use[v] < 0 && rs->owned[v]) {
			infer_tensor_release(&env->values[v]);
			rs->owned[v] = 0;
		}
	}
}

static int
check_input(const struct infer_value *decl, const infer_tensor *t, infer_error *err)
{
	if (t->data == NULL && infer_tensor_numel(t) != 0) {
		infer_err(err, INFER_E_INVALID, "input '%s' has no data", decl->name);
		return -1;
	}
	if (t->dtype != decl->decl.dtype) {
		infer_err(err, INFER_E_INVALID, "input '%s' has element type %d, the model declares %d", decl->name,
		    (int)t->dtype, (int)decl->decl.dtype);
		return -1;
	}
	if (infer_tensor_numel(t) < 0) {
		infer_err(err, INFER_E_LIMIT, "input '%s' has a negative or too large shape", decl->name);
		return -1;
	}
	if (decl->decl.ndim < 0)
		return 0;
	if (t->ndim != decl->decl.ndim) {
		infer_err(err, INFER_E_INVALID, "input '%s' has rank %d, the model declares %d", decl->name, t->ndim,
		    decl->decl.ndim);
		return -1;
	}
	for (int i = 0; i < t->ndim; i++)
		if (decl->decl.dims[i] >= 0 && decl->decl.dims[i] != t->dims[i]) {
			infer_err(err, INFER_E_INVALID, "input '%s' dimension %d is %lld, the model declares %lld",
			    decl->name, i, (long long)t->dims[i], (long long)decl->decl.dims[i]);
			return -1;
		}
	return 0;
}

/* One attempt at a run; *failed is set to the index of a backend that failed executing. */
static int
run_once(infer_session *s, const infer_tensor *inputs, size_t n_inputs, infer_tensor *outputs, size_t n_outputs,
    infer_error *err, int *failed)
{
	const infer_model *m = s->m;
	infer_tensor *values = NULL;
	struct run_state rs = { .s = s };
	pw_exec_env env;
	size_t done = 0;
	int rc = -1;

	if (err != NULL) {
		err->code = INFER_OK;
		err->msg[0] = '\0';
	}
	if (n_inputs != (size_t)m->n_inputs || n_outputs != (size_t)m->n_outputs) {
		infer_err(err, INFER_E_INVALID, "%s: the model takes %d inputs and gives %d outputs (called with %zu, %zu)",
		    m->label, m->n_inputs, m->n_outputs, n_inputs, n_outputs);
		return -1;
	}
	memset(outputs, 0, n_outputs * sizeof(*outputs));
	values = calloc((size_t)s->n_values, sizeof(*values));
	rs.owned = calloc((size_t)s->n_values, 1);
	if (values == NULL || rs.owned == NULL) {
		infer_err(err, INFER_E_NOMEM, "out of memory");
		goto out;
	}
	for (int v = 0; v < s->n_values; v++)
		if (s->konst[v] != NULL)
			values[v] = *s->konst[v];
	for (size_t i = 0; i < n_inputs; i++) {
		const struct infer_value *decl = &m->values[m->inputs[i]];
		if (check_input(decl, &inputs[i], err) < 0)
			goto out;
		/* Borrowed: kernels never write their inputs. */
		values[m->inputs[i]] = inputs[i];
		if (values[m->inputs[i]].data == NULL)
			values[m->inputs[i]].data = (void *)"";
	}
	if (arena_begin(s, err) < 0)
		goto out;
	env = (pw_exec_env){ .values = values, .n_values = s->n_values, .host = &rs,
		.alloc_output = run_alloc_output, .node_done = run_node_done };
	for (int k = 0; k < s->n_parts; k++) {
		struct infer_backend *be = &s->backends[s->parts[k].backend];
		*failed = s->parts[k].backend;
		rs.next = s->parts[k].first;
		if (be->ops->execute(be->ctx, s->parts[k].compiled, &env, err) < 0)
			goto out;
		/* The next subgraph (maybe another backend) reads these results: wait for them. */
		if (be->ops->synchronize != NULL && be->ops->synchronize(be->ctx) < 0) {
			infer_err(err, INFER_E_BACKEND, "backend '%s' failed to synchronise", be->ops->name);
			goto out;
		}
		*failed = -1;
	}
	for (; done < n_outputs; done++) {
		int v = m->outputs[done];
		if (values[v].data == NULL) {
			infer_err(err, INFER_E_INVALID, "%s: output '%s' was not computed", m->label, s->value_names[v]);
			goto out;
		}
		/* Outputs are always copied out: they may live in the arena, or be constants or inputs. */
		if (infer_tensor_clone(&outputs[done], &values[v], err) < 0)
			goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		for (size_t i = 0; i < done; i++)
			infer_tensor_release(&outputs[i]);
	if (values != NULL && rs.owned != NULL)
		for (int v = 0; v < s->n_values; v++)
			if (rs.owned[v])
				infer_tensor_release(&values[v]);
	arena_end(s, rc == 0);
	free(values);
	free(rs.owned);
	return rc;
}

int
infer_session_run_whole(infer_session *s, const infer_tensor *inputs, size_t n_inputs, infer_tensor *outputs,
    size_t n_outputs, infer_error *err)
{
	for (;;) {
		int failed = -1;
		if (run_once(s, inputs, n_inputs, outputs, n_outputs, err, &failed) == 0)
			return 0;
		/* The whole run is repeated on the remaining backends: inputs are borrowed and unchanged, so no
		 * image is lost to a failing device. */
		if (!droppable(s, failed, err) || drop_backend(s, failed, err) < 0)
			return -1;
	}
}

/* Whether this run splits its batch: the session allows it, and every input has the same batch of 2 or more
 * images in front. */
static int
wants_split(const infer_session *s, const infer_tensor *inputs, size_t n_inputs)
{
	if (!s->split_batch || n_inputs != (size_t)s->m->n_inputs || n_inputs == 0 || inputs[0].ndim < 1 ||
	    inputs[0].dims[0] < 2)
		return 0;
	for (size_t i = 0; i < n_inputs; i++)
		if (inputs[i].ndim < 1 || inputs[i].dims[0] != inputs[0].dims[0] || inputs[i].data == NULL ||
		    infer_tensor_numel(&inputs[i]) <= 0)
			return 0;
	return 1;
}

int
infer_run(infer_session *s, const infer_tensor *inputs, size_t n_inputs, infer_tensor *outputs, size_t n_outputs,
    infer_error *err)
{
	infer_error local;

	if (err == NULL)
		err = &local;
	if (wants_split(s, inputs, n_inputs)) {
		int nt = infer_nthreads(s->threads);
		int64_t n = inputs[0].dims[0];
		if (nt > n)
			nt = (int)n;
		/* Per-thread sessions at the first batch that can use them; if they cannot be made, the batch
		 * runs image after image on this session. */
		if (nt > 1 && s->workers == NULL && (s->workers = calloc((size_t)nt, sizeof(*s->workers))) != NULL) {
			infer_session_opts o = { .threads = 1, .flags = s->flags, .max_tensor_elems = s->max_elems };
			for (; s->n_workers < nt; s->n_workers++)
				if ((s->workers[s->n_workers] = infer_session_create(s->m, &o, NULL)) == NULL)
					break;
		}
		{
			int w = nt < s->n_workers ? nt : s->n_workers;
			return infer_batch_run(s, s->workers, w > 1 ? w : 0, inputs, n_inputs, outputs, n_outputs, err);
		}
	}
	return infer_session_run_whole(s, inputs, n_inputs, outputs, n_outputs, err);
}
