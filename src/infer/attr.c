/* attr.c: looks up node attributes with the ONNX defaults supplied by the caller. */
#include <string.h>

#include "internal.h"

const pw_attr *
infer_attr(const pw_node *n, const char *name)
{
	for (int i = 0; i < n->n_attrs; i++)
		if (strcmp(n->attrs[i].name, name) == 0)
			return &n->attrs[i];
	return NULL;
}

int64_t
infer_attr_int(const pw_node *n, const char *name, int64_t dflt)
{
	const pw_attr *a = infer_attr(n, name);

	return a != NULL && a->type == PW_ATTR_INT ? a->i : dflt;
}

float
infer_attr_float(const pw_node *n, const char *name, float dflt)
{
	const pw_attr *a = infer_attr(n, name);

	return a != NULL && a->type == PW_ATTR_FLOAT ? a->f : dflt;
}

const char *
infer_attr_str(const pw_node *n, const char *name, const char *dflt)
{
	const pw_attr *a = infer_attr(n, name);

	return a != NULL && a->type == PW_ATTR_STRING ? a->s : dflt;
}

int
infer_attr_ints(const pw_node *n, const char *name, const int64_t **out)
{
	const pw_attr *a = infer_attr(n, name);

	if (a == NULL || a->type != PW_ATTR_INTS)
		return -1;
	*out = a->ints;
	return (int)a->n;
}
