/* onnx-load.c: turns an ONNX file into a validated, topologically sorted infer_model (bounded, never trusting the file); also reads TensorProto files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx-pb.h"

int
infer_tensor_from_proto(const Onnx__TensorProto *tp, infer_tensor *out, const char *what, infer_error *err)
{
	int64_t n;
	size_t es;
	infer_dtype dt;

	memset(out, 0, sizeof(*out));
	if (tp->n_external_data > 0 || (tp->has_data_location &&
	    tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)) {
		const char *file = "?";
		for (size_t i = 0; i < tp->n_external_data; i++)
			if (tp->external_data[i]->key != NULL && strcmp(tp->external_data[i]->key, "location") == 0 &&
			    tp->external_data[i]->value != NULL)
				file = tp->external_data[i]->value;
		infer_err(err, INFER_E_UNSUPPORTED, "%s: external data (file '%s') is not supported; "
		    "save the model with all tensors inside the .onnx file", what, file);
		return -1;
	}
	if (tp->segment != NULL) {
		infer_err(err, INFER_E_UNSUPPORTED, "%s: segmented tensors are not supported", what);
		return -1;
	}
	if (!tp->has_data_type) {
		infer_err(err, INFER_E_INVALID, "%s: tensor has no data_type", what);
		return -1;
	}
	switch (tp->data_type) {
	case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: dt = INFER_DTYPE_FLOAT; break;
	case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: dt = INFER_DTYPE_INT64; break;
	default:
		infer_err(err, INFER_E_UNSUPPORTED, "%s: element type %d is not supported (only float and int64)",
		    what, (int)tp->data_type);
		return -1;
	}
	if (tp->n_dims > INFER_MAX_DIMS) {
		infer_err(err, INFER_E_LIMIT, "%s: %zu dimensions exceed the limit of %d", what, tp->n_dims,
		    INFER_MAX_DIMS);
		return -1;
	}
	n = infer_dims_numel((int)tp->n_dims, tp->dims);
	if (n < 0) {
		infer_err(err, INFER_E_LIMIT, "%s: dimensions are negative or exceed %lld elements", what,
		    (long long)INFER_MAX_TENSOR_ELEMS);
		return -1;
	}
	es = infer_dtype_size(dt);
	if (tp->has_raw_data) {
		if (tp->raw_data.len != (size_t)n * es) {
			infer_err(err, INFER_E_INVALID, "%s: raw_data holds %zu bytes, the shape needs %zu", what,
			    tp->raw_data.len, (size_t)n * es);
			return -1;
		}
	} else {
		size_t have = dt == INFER_DTYPE_FLOAT ? tp->n_float_data : tp->n_int64_data;
		if (have != (size_t)n) {
			infer_err(err, INFER_E_INVALID, "%s: holds %zu values, the shape needs %lld", what, have,
			    (long long)n);
			return -1;
		}
	}
	if (infer_tensor_alloc(out, dt, (int)tp->n_dims, tp->dims, err) < 0) {
		char inner[sizeof(err->msg)];
		if (err != NULL) {
			memcpy(inner, err->msg, sizeof(inner));
			infer_err(err, err->code, "%s: %s", what, inner);
		}
		return -1;
	}
	if (n == 0)
		return 0;
	/* raw_data is little-endian, as is every host this engine targets (x86-64, aarch64). */
	if (tp->has_raw_data)
		memcpy(out->data, tp->raw_data.data, (size_t)n * es);
	else if (dt == INFER_DTYPE_FLOAT)
		memcpy(out->data, tp->float_data, (size_t)n * es);
	else
		memcpy(out->data, tp->int64_data, (size_t)n * es);
	return 0;
}

int
infer_tensor_load_pb(const char *path, infer_tensor *out, infer_error *err)
{
	uint8_t *buf;
	size_t len;
	Onnx__TensorProto *tp;
	int rc;

	memset(out, 0, sizeof(*out));
	if (infer_read_file(path, INFER_MAX_MODEL_BYTES, &buf, &len, err) < 0)
		return -1;
	tp = onnx__tensor_proto__unpack(NULL, len, buf);
	free(buf);
	if (tp == NULL) {
		infer_err(err, INFER_E_INVALID, "%s: not a valid TensorProto (truncated or corrupt)", path);
		return -1;
	}
	rc = infer_tensor_from_proto(tp, out, path, err);
	onnx__tensor_proto__free_unpacked(tp, NULL);
	return rc;
}

/* Bounds on graph structure, so a hostile file cannot make us build absurd tables. */
#define MAX_VALUES (1 << 22)
#define MAX_NODES (1 << 20)
#define MAX_NODE_IO 4096
#define MAX_ATTR_ITEMS (1 << 20)

/* Open-addressing map from value name to value id; keys are borrowed from the model's values. */
struct name_map {
	const char **keys;
	int *ids;
	size_t mask;
};

static uint64_t
name_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int
map_init(struct name_map *m, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n + 1)
		cap *= 2;
	m->keys = calloc(cap, sizeof(*m->keys));
	m->ids = calloc(cap, sizeof(*m->ids));
	m->mask = cap - 1;
	return m->keys != NULL && m->ids != NULL ? 0 : -1;
}

static void
map_free(struct name_map *m)
{
	free(m->keys);
	free(m->ids);
}

static int
map_get(const struct name_map *m, const char *key)
{
	for (size_t i = name_hash(key) & m->mask;; i = (i + 1) & m->mask) {
		if (m->keys[i] == NULL)
			return -1;
		if (strcmp(m->keys[i], key) == 0)
			return m->ids[i];
	}
}

/* The map is sized for every value up front, so it never fills. */
static void
map_put(struct name_map *m, const char *key, int id)
{
	size_t i = name_hash(key) & m->mask;

	while (m->keys[i] != NULL)
		i = (i + 1) & m->mask;
	m->keys[i] = key;
	m->ids[i] = id;
}

static char *
dupstr(const char *s)
{
	return strdup(s != NULL ? s : "");
}

static void
free_attr(pw_attr *a)
{
	free((char *)a->name);
	free((char *)a->s);
	free((float *)a->floats);
	free((int64_t *)a->ints);
	if (a->t != NULL) {
		infer_tensor_release((infer_tensor *)a->t);
		free((infer_tensor *)a->t);
	}
}

void
infer_model_free(infer_model *m)
{
	if (m == NULL)
		return;
	for (int i = 0; i < m->n_values; i++) {
		free(m->values[i].name);
		if (m->values[i].konst != NULL) {
			infer_tensor_release(m->values[i].konst);
			free(m->values[i].konst);
		}
	}
	for (int i = 0; i < m->n_nodes; i++) {
		pw_node *n = &m->nodes[i];
		free((char *)n->name);
		free((char *)n->op_type);
		free((int32_t *)n->inputs);
		free((int32_t *)n->outputs);
		for (int j = 0; j < n->n_attrs; j++)
			free_attr((pw_attr *)&n->attrs[j]);
		free((pw_attr *)n->attrs);
	}
	free(m->values);
	free(m->nodes);
	free(m->ops);
	free(m->inputs);
	free(m->outputs);
	free(m->label);
	free(m);
}

static int
convert_attr(const Onnx__AttributeProto *ap, pw_attr *a, const pw_node *n, infer_error *err)
{
	int type;

	memset(a, 0, sizeof(*a));
	a->name = dupstr(ap->name);
	if (a->name == NULL)
		goto nomem;
	if (ap->has_type)
		type = (int)ap->type;
	else if (ap->has_f)
		type = PW_ATTR_FLOAT;
	else if (ap->has_i)
		type = PW_ATTR_INT;
	else if (ap->has_s)
		type = PW_ATTR_STRING;
	else if (ap->t != NULL)
		type = PW_ATTR_TENSOR;
	else if (ap->n_floats > 0)
		type = PW_ATTR_FLOATS;
	else
		type = PW_ATTR_INTS;
	a->type = (pw_attr_type)type;
	switch (type) {
	case PW_ATTR_FLOAT:
		a->f = ap->f;
		break;
	case PW_ATTR_INT:
		a->i = ap->i;
		break;
	case PW_ATTR_STRING: {
		char *s = malloc(ap->s.len + 1);
		if (s == NULL)
			goto nomem;
		if (ap->s.len > 0)
			memcpy(s, ap->s.data, ap->s.len);
		s[ap->s.len] = '\0';
		a->s = s;
		break;
	}
	case PW_ATTR_TENSOR: {
		infer_tensor *t;
		char what[160];
		if (ap->t == NULL) {
			infer_node_err(err, INFER_E_INVALID, n, "attribute '%s' has no tensor", a->name);
			return -1;
		}
		t = calloc(1, sizeof(*t));
		if (t == NULL)
			goto nomem;
		snprintf(what, sizeof(what), "attribute '%s'", a->name);
		if (infer_tensor_from_proto(ap->t, t, what, err) < 0) {
			char inner[sizeof(err->msg)];
			free(t);
			memcpy(inner, err->msg, sizeof(inner));
			infer_node_err(err, err->code, n, "%s", inner);
			return -1;
		}
		a->t = t;
		break;
	}
	case PW_ATTR_FLOATS:
		if (ap->n_floats > MAX_ATTR_ITEMS)
			goto toobig;
		a->n = ap->n_floats;
		a->floats = malloc((a->n > 0 ? a->n : 1) * sizeof(float));
		if (a->floats == NULL)
			goto nomem;
		if (a->n > 0)
			memcpy((float *)a->floats, ap->floats, a->n * sizeof(float));
		break;
	case PW_ATTR_INTS:
		if (ap->n_ints > MAX_ATTR_ITEMS)
			goto toobig;
		a->n = ap->n_ints;
		a->ints = malloc((a->n > 0 ? a->n : 1) * sizeof(int64_t));
		if (a->ints == NULL)
			goto nomem;
		if (a->n > 0)
			memcpy((int64_t *)a->ints, ap->ints, a->n * sizeof(int64_t));
		break;
	default:
		/* Graphs, strings lists, sparse tensors: kept as a typed marker; no supported op uses them. */
		break;
	}
	return 0;
toobig:
	infer_node_err(err, INFER_E_LIMIT, n, "attribute '%s' has too many entries", a->name);
	return -1;
nomem:
	infer_node_err(err, INFER_E_NOMEM, n, "out of memory");
	return -1;
}

static int
add_value(infer_model *m, struct name_map *map, const char *name, enum value_kind kind, infer_error *err)
{
	struct infer_value *v = &m->values[m->n_values];

	v->name = dupstr(name);
	if (v->name == NULL) {
		infer_err(err, INFER_E_NOMEM, "out of memory");
		return -1;
	}
	v->kind = kind;
	v->decl.ndim = -1;
	map_put(map, v->name, m->n_values);
	return m->n_values++;
}

static int
declare_input(struct infer_value *v, const Onnx__ValueInfoProto *vi, infer_error *err)
{
	const Onnx__TypeProto *tp = vi->type;
	const Onnx__TypeProto__Tensor *tt;

	if (tp == NULL || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || tp->tensor_type == NULL) {
		infer_err(err, INFER_E_UNSUPPORTED, "graph input '%s' is not a tensor", v->name);
		return -1;
	}
	tt = tp->tensor_type;
	if (tt->elem_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
		v->decl.dtype = INFER_DTYPE_FLOAT;
	else if (tt->elem_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
		v->decl.dtype = INFER_DTYPE_INT64;
	else {
		infer_err(err, INFER_E_UNSUPPORTED, "graph input '%s' has element type %d (only float and int64)",
		    v->name, (int)tt->elem_type);
		return -1;
	}
	v->decl.ndim = -1;
	if (tt->shape != NULL) {
		if (tt->shape->n_dim > INFER_MAX_DIMS) {
			infer_err(err, INFER_E_LIMIT, "graph input '%s' has %zu dimensions (limit %d)", v->name,
			    tt->shape->n_dim, INFER_MAX_DIMS);
			return -1;
		}
		v->decl.ndim = (int)tt->shape->n_dim;
		for (size_t i = 0; i < tt->shape->n_dim; i++) {
			const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
			v->decl.dims[i] = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
			    d->dim_value >= 0 ? d->dim_value : -1;
		}
	}
	return 0;
}

/* Kahn's algorithm, stable in file order; a leftover node means a cycle, which is reported by name. */
static int
topo_sort(infer_model *m, infer_error *err)
{
	int n = m->n_nodes, *producer, *indeg, *start, *edges, *fill, *queue, qh = 0, qt = 0, rc = -1;
	size_t n_edges = 0;

	producer = malloc((size_t)(m->n_values > 0 ? m->n_values : 1) * sizeof(int));
	indeg = calloc((size_t)n + 1, sizeof(int));
	start = calloc((size_t)n + 2, sizeof(int));
	queue = malloc(((size_t)n + 1) * sizeof(int));
	fill = NULL;
	edges = NULL;
	if (producer == NULL || indeg == NULL || start == NULL || queue == NULL)
		goto nomem;
	for (int v = 0; v < m->n_values; v++)
		producer[v] = -1;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < m->nodes[i].n_outputs; j++)
			if (m->nodes[i].outputs[j] >= 0)
				producer[m->nodes[i].outputs[j]] = i;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < m->nodes[i].n_inputs; j++) {
			int v = m->nodes[i].inputs[j];
			if (v >= 0 && producer[v] >= 0) {
				start[producer[v] + 1]++;
				indeg[i]++;
				n_edges++;
			}
		}
	for (int i = 0; i < n; i++)
		start[i + 1] += start[i];
	edges = malloc((n_edges > 0 ? n_edges : 1) * sizeof(int));
	fill = calloc((size_t)n + 1, sizeof(int));
	if (edges == NULL || fill == NULL)
		goto nomem;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < m->nodes[i].n_inputs; j++) {
			int v = m->nodes[i].inputs[j];
			if (v >= 0 && producer[v] >= 0) {
				int p = producer[v];
				edges[start[p] + fill[p]++] = i;
			}
		}
	for (int i = 0; i < n; i++)
		if (indeg[i] == 0)
			queue[qt++] = i;
	while (qh < qt) {
		int i = queue[qh++];
		for (int e = start[i]; e < start[i + 1]; e++)
			if (--indeg[edges[e]] == 0)
				queue[qt++] = edges[e];
	}
	if (qt < n) {
		for (int i = 0; i < n; i++)
			if (indeg[i] > 0) {
				infer_node_err(err, INFER_E_INVALID, &m->nodes[i],
				    "is part of a cycle: one of its inputs depends on its own output");
				break;
			}
		goto out;
	}
	{
		pw_node *nodes = malloc((size_t)(n > 0 ? n : 1) * sizeof(*nodes));
		enum infer_op *ops = malloc((size_t)(n > 0 ? n : 1) * sizeof(*ops));
		if (nodes == NULL || ops == NULL) {
			free(nodes);
			free(ops);
			goto nomem;
		}
		for (int i = 0; i < n; i++) {
			nodes[i] = m->nodes[queue[i]];
			ops[i] = m->ops[queue[i]];
		}
		free(m->nodes);
		free(m->ops);
		m->nodes = nodes;
		m->ops = ops;
	}
	rc = 0;
	goto out;
nomem:
	infer_err(err, INFER_E_NOMEM, "out of memory sorting the graph");
out:
	free(producer);
	free(indeg);
	free(start);
	free(queue);
	free(edges);
	free(fill);
	return rc;
}

static int
build_nodes(infer_model *m, struct name_map *map, const Onnx__GraphProto *g, infer_error *err)
{
	m->nodes = calloc(g->n_node > 0 ? g->n_node : 1, sizeof(*m->nodes));
	m->ops = calloc(g->n_node > 0 ? g->n_node : 1, sizeof(*m->ops));
	if (m->nodes == NULL || m->ops == NULL) {
		infer_err(err, INFER_E_NOMEM, "out of memory");
		return -1;
	}
	/* Pass 1: names, operators, outputs and attributes. */
	for (size_t i = 0; i < g->n_node; i++) {
		const Onnx__NodeProto *np = g->node[i];
		pw_node *n = &m->nodes[i];
		int32_t *outs;
		pw_attr *attrs;

		m->n_nodes = (int)i + 1;
		if (np->name != NULL && np->name[0] != '\0')
			n->name = dupstr(np->name);
		else
			n->name = dupstr(np->n_output > 0 && np->output[0][0] != '\0' ? np->output[0] : "<unnamed>");
		n->op_type = dupstr(np->op_type);
		n->opset = m->opset;
		if (n->name == NULL || n->op_type == NULL) {
			infer_err(err, INFER_E_NOMEM, "out of memory");
			return -1;
		}
		if (n->op_type[0] == '\0') {
			infer_node_err(err, INFER_E_INVALID, n, "node #%zu has no op_type", i);
			return -1;
		}
		if (np->n_input > MAX_NODE_IO || np->n_output > MAX_NODE_IO || np->n_attribute > MAX_NODE_IO) {
			infer_node_err(err, INFER_E_LIMIT, n, "too many inputs, outputs or attributes");
			return -1;
		}
		if (np->domain != NULL && np->domain[0] != '\0' && strcmp(np->domain, "ai.onnx") != 0) {
			infer_node_err(err, INFER_E_UNSUPPORTED, n, "operator domain '%s' is not supported", np->domain);
			return -1;
		}
		if (m->opset < 1) {
			infer_node_err(err, INFER_E_INVALID, n, "the model imports no version of the default operator set");
			return -1;
		}
		m->ops[i] = infer_op_from_name(n->op_type);
		if (m->ops[i] == OP_UNKNOWN) {
			infer_node_err(err, INFER_E_UNSUPPORTED, n, "operator not supported");
			return -1;
		}
		outs = malloc((np->n_output > 0 ? np->n_output : 1) * sizeof(*outs));
		n->outputs = outs;
		if (outs == NULL) {
			infer_err(err, INFER_E_NOMEM, "out of memory");
			return -1;
		}
		n->n_outputs = (int)np->n_output;
		for (size_t j = 0; j < np->n_output; j++) {
			const char *name = np->output[j];
			if (name[0] == '\0') {
				outs[j] = -1;
				continue;
			}
			if (map_get(map, name) >= 0) {
				infer_node_err(err, INFER_E_INVALID, n, "output '%s' is already defined elsewhere", name);
				return -1;
			}
			outs[j] = add_value(m, map, name, VALUE_INTERMEDIATE, err);
			if (outs[j] < 0)
				return -1;
		}
		attrs = calloc(np->n_attribute > 0 ? np->n_attribute : 1, sizeof(*attrs));
		n->attrs = attrs;
		if (attrs == NULL) {
			infer_err(err, INFER_E_NOMEM, "out of memory");
			return -1;
		}
		for (size_t j = 0; j < np->n_attribute; j++) {
			n->n_attrs = (int)j + 1;
			if (convert_attr(np->attribute[j], &attrs[j], n, err) < 0)
				return -1;
		}
	}
	/* Pass 2: inputs, now that every producer is known. */
	for (size_t i = 0; i < g->n_node; i++) {
		const Onnx__NodeProto *np = g->node[i];
		pw_node *n = &m->nodes[i];
		int32_t *ins = malloc((np->n_input > 0 ? np->n_input : 1) * sizeof(*ins));

		n->inputs = ins;
		if (ins == NULL) {
			infer_err(err, INFER_E_NOMEM, "out of memory");
			return -1;
		}
		n->n_inputs = (int)np->n_input;
		for (size_t j = 0; j < np->n_input; j++) {
			const char *name = np->input[j];
			ins[j] = name[0] == '\0' ? -1 : map_get(map, name);
			if (name[0] != '\0' && ins[j] < 0) {
				infer_node_err(err, INFER_E_INVALID, n,
				    "input '%s' is not produced by any node, graph input or initializer", name);
				return -1;
			}
		}
	}
	return 0;
}

static int
build(infer_model *m, const Onnx__ModelProto *mp, infer_error *err)
{
	const Onnx__GraphProto *g = mp->graph;
	struct name_map map = { 0 };
	size_t cap;
	int rc = -1;

	m->opset = -1;
	for (size_t i = 0; i < mp->n_opset_import; i++) {
		const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
		if ((o->domain == NULL || o->domain[0] == '\0' || strcmp(o->domain, "ai.onnx") == 0) && o->has_version)
			m->opset = o->version > 1000 ? 1000 : (int)o->version;
	}
	if (g == NULL) {
		infer_err(err, INFER_E_INVALID, "the model has no graph");
		return -1;
	}
	if (g->n_sparse_initializer > 0) {
		infer_err(err, INFER_E_UNSUPPORTED, "sparse initializers are not supported");
		return -1;
	}
	if (g->n_node > MAX_NODES) {
		infer_err(err, INFER_E_LIMIT, "%zu nodes exceed the limit of %d", g->n_node, MAX_NODES);
		return -1;
	}
	cap = g->n_initializer + g->n_input;
	for (size_t i = 0; i < g->n_node; i++)
		cap += g->node[i]->n_output;
	if (cap > MAX_VALUES) {
		infer_err(err, INFER_E_LIMIT, "%zu values exceed the limit of %d", cap, MAX_VALUES);
		return -1;
	}
	m->values = calloc(cap > 0 ? cap : 1, sizeof(*m->values));
	m->inputs = calloc(g->n_input > 0 ? g->n_input : 1, sizeof(int));
	m->outputs = calloc(g->n_output > 0 ? g->n_output : 1, sizeof(int));
	if (m->values == NULL || m->inputs == NULL || m->outputs == NULL || map_init(&map, cap) < 0) {
		infer_err(err, INFER_E_NOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < g->n_initializer; i++) {
		const Onnx__TensorProto *tp = g->initializer[i];
		char what[300];
		int id;

		if (tp->name == NULL || tp->name[0] == '\0') {
			infer_err(err, INFER_E_INVALID, "initializer #%zu has no name", i);
			goto out;
		}
		if (map_get(&map, tp->name) >= 0) {
			infer_err(err, INFER_E_INVALID, "initializer '%s' is defined twice", tp->name);
			goto out;
		}
		if ((id = add_value(m, &map, tp->name, VALUE_CONSTANT, err)) < 0)
			goto out;
		m->values[id].konst = calloc(1, sizeof(infer_tensor));
		if (m->values[id].konst == NULL) {
			infer_err(err, INFER_E_NOMEM, "out of memory");
			goto out;
		}
		snprintf(what, sizeof(what), "initializer '%.200s'", tp->name);
		if (infer_tensor_from_proto(tp, m->values[id].konst, what, err) < 0)
			goto out;
	}
	for (size_t i = 0; i < g->n_input; i++) {
		const Onnx__ValueInfoProto *vi = g->input[i];
		int id;

		if (vi->name == NULL || vi->name[0] == '\0') {
			infer_err(err, INFER_E_INVALID, "graph input #%zu has no name", i);
			goto out;
		}
		id = map_get(&map, vi->name);
		if (id >= 0) {
			if (m->values[id].kind == VALUE_CONSTANT)
				continue; /* an initializer with a declared input: the initializer's value is used */
			infer_err(err, INFER_E_INVALID, "graph input '%s' is declared twice", vi->name);
			goto out;
		}
		if ((id = add_value(m, &map, vi->name, VALUE_INPUT, err)) < 0)
			goto out;
		if (declare_input(&m->values[id], vi, err) < 0)
			goto out;
		m->inputs[m->n_inputs++] = id;
	}
	if (build_nodes(m, &map, g, err) < 0)
		goto out;
	for (size_t i = 0; i < g->n_output; i++) {
		const char *name = g->output[i]->name;
		int id = name != NULL ? map_get(&map, name) : -1;

		if (id < 0) {
			infer_err(err, INFER_E_INVALID, "graph output '%s' is not produced by any node", name != NULL ? name : "");
			goto out;
		}
		m->outputs[m->n_outputs++] = id;
	}
	if (m->n_outputs == 0) {
		infer_err(err, INFER_E_INVALID, "the graph has no outputs");
		goto out;
	}
	if (topo_sort(m, err) < 0)
		goto out;
	for (int i = 0; i < m->n_nodes; i++)
		if (infer_op_supported(&m->nodes[i], m->ops[i], err) < 0)
			goto out;
	rc = 0;
out:
	map_free(&map);
	return rc;
}

infer_model *
infer_model_load_mem(const void *buf, size_t len, const char *label, infer_error *err)
{
	Onnx__ModelProto *mp;
	infer_model *m;

	if (label == NULL)
		label = "<memory>";
	if (err != NULL) {
		err->code = INFER_OK;
		err->msg[0] = '\0';
	}
	if (len > INFER_MAX_MODEL_BYTES) {
		infer_err(err, INFER_E_LIMIT, "%s: %zu bytes exceed the limit of %zu", label, len, INFER_MAX_MODEL_BYTES);
		return NULL;
	}
	mp = onnx__model_proto__unpack(NULL, len, buf);
	if (mp == NULL) {
		infer_err(err, INFER_E_INVALID, "%s: not a valid ONNX model (truncated or corrupt protobuf)", label);
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL || (m->label = strdup(label)) == NULL) {
		free(m);
		onnx__model_proto__free_unpacked(mp, NULL);
		infer_err(err, INFER_E_NOMEM, "%s: out of memory", label);
		return NULL;
	}
	if (build(m, mp, err) < 0) {
		if (err != NULL) {
			char inner[sizeof(err->msg)];
			memcpy(inner, err->msg, sizeof(inner));
			infer_err(err, err->code, "%s: %s", label, inner);
		}
		onnx__model_proto__free_unpacked(mp, NULL);
		infer_model_free(m);
		return NULL;
	}
	onnx__model_proto__free_unpacked(mp, NULL);
	return m;
}

infer_model *
infer_model_load(const char *path, infer_error *err)
{
	uint8_t *buf;
	size_t len;
	infer_model *m;

	if (infer_read_file(path, INFER_MAX_MODEL_BYTES, &buf, &len, err) < 0)
		return NULL;
	m = infer_model_load_mem(buf, len, path, err);
	free(buf);
	return m;
}

size_t infer_model_input_count(const infer_model *m) { return (size_t)m->n_inputs; }
size_t infer_model_output_count(const infer_model *m) { return (size_t)m->n_outputs; }
size_t infer_model_node_count(const infer_model *m) { return (size_t)m->n_nodes; }

const char *
infer_model_input_name(const infer_model *m, size_t i)
{
	return i < (size_t)m->n_inputs ? m->values[m->inputs[i]].name : NULL;
}

const char *
infer_model_output_name(const infer_model *m, size_t i)
{
	return i < (size_t)m->n_outputs ? m->values[m->outputs[i]].name : NULL;
}

int
infer_model_input_info(const infer_model *m, size_t i, infer_tensor *info)
{
	if (i >= (size_t)m->n_inputs)
		return -1;
	*info = m->values[m->inputs[i]].decl;
	info->data = NULL;
	return 0;
}
