/* session.c: opens a session (graph passes, backend compile) and runs it, recycling intermediates after their last use. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

int
infer_backend_check(const pw_backend_ops *be, infer_error *err)
{
	if (be->abi_version != PW_BACKEND_ABI_VERSION) {
		infer_err(err, INFER_E_BACKEND, "backend '%s' was built for ABI version %u, this engine uses %u",
		    be->name != NULL ? be->name : "?", be->abi_version, PW_BACKEND_ABI_VERSION);
		return -1;
	}
	if (be->struct_size < sizeof(pw_backend_ops) || be->probe == NULL || be->supports == NULL ||
	    be->compile == NULL || be->execute == NULL || be->release == NULL || be->shutdown == NULL) {
		infer_err(err, INFER_E_BACKEND, "backend '%s' lacks a required entry point",
		    be->name != NULL ? be->name : "?");
		return -1;
	}
	return 0;
}

void
infer_session_free(infer_session *s)
{
	if (s == NULL)
		return;
	if (s->be != NULL) {
		if (s->compiled != NULL)
			s->be->release(s->be_ctx, s->compiled);
		s->be->shutdown(s->be_ctx);
	}
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

infer_session *
infer_session_create(const infer_model *m, const infer_session_opts *opts, infer_error *err)
{
	infer_session_opts o = { 0 };
	infer_session *s;
	const pw_backend_ops *be = infer_cpu_backend();

	if (opts != NULL)
		o = *opts;
	if (o.backend != NULL && strcmp(o.backend, "cpu") != 0) {
		infer_err(err, INFER_E_BACKEND, "backend '%s' is not available (this build has: cpu)", o.backend);
		return NULL;
	}
	if (o.threads < 0) {
		infer_err(err, INFER_E_INVALID, "thread count %d is negative", o.threads);
		return NULL;
	}
	if (infer_backend_check(be, err) < 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto nomem;
	s->m = m;
	s->threads = o.threads;
	s->flags = o.flags;
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
	s->be = be;
	if (be->probe(&s->be_ctx, err) < 0) {
		s->be = NULL;
		goto fail;
	}
	s->sg.nodes = s->nodes;
	s->sg.n_nodes = s->n_nodes;
	s->sg.constants = s->konst;
	s->sg.n_values = s->n_values;
	s->sg.threads = s->threads;
	if (be->compile(s->be_ctx, &s->sg, &s->compiled, err) < 0)
		goto fail;
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
infer_session_arena_bytes(const infer_session *s)
{
	return s->arena_bytes;
}

/* Per-run host state behind pw_exec_env. */
struct run_state {
	infer_session *s;
	unsigned char *owned;      /* values whose memory this run allocated with malloc */
};

static int
run_alloc_output(pw_exec_env *env, int v, infer_dtype dt, int ndim, const int64_t *dims, infer_error *err)
{
	struct run_state *rs = env->host;

	if (v < 0 || v >= env->n_values || env->values[v].data != NULL) {
		infer_err(err, INFER_E_INVALID, "value #%d is produced twice", v);
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

int
infer_run(infer_session *s, const infer_tensor *inputs, size_t n_inputs, infer_tensor *outputs, size_t n_outputs,
    infer_error *err)
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
	if (s->be->execute(s->be_ctx, s->compiled, &env, err) < 0)
		goto out;
	if (s->be->synchronize != NULL && s->be->synchronize(s->be_ctx) < 0) {
		infer_err(err, INFER_E_BACKEND, "backend '%s' failed to synchronise", s->be->name);
		goto out;
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
