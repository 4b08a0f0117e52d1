/* error.c: fills infer_error with messages that name the node and the reason. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

void
infer_err(infer_error *err, infer_status code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

void
infer_node_err(infer_error *err, infer_status code, const pw_node *n, const char *fmt, ...)
{
	va_list ap;
	int used;

	if (err == NULL)
		return;
	err->code = code;
	used = snprintf(err->msg, sizeof(err->msg), "node '%s' (%s): ",
	    n->name != NULL && n->name[0] != '\0' ? n->name : "<unnamed>",
	    n->op_type != NULL ? n->op_type : "?");
	if (used < 0 || (size_t)used >= sizeof(err->msg))
		return;
	va_start(ap, fmt);
	vsnprintf(err->msg + used, sizeof(err->msg) - (size_t)used, fmt, ap);
	va_end(ap);
}

const char *
infer_status_name(infer_status code)
{
	switch (code) {
	case INFER_OK: return "ok";
	case INFER_E_IO: return "i/o error";
	case INFER_E_INVALID: return "invalid";
	case INFER_E_UNSUPPORTED: return "unsupported";
	case INFER_E_LIMIT: return "limit exceeded";
	case INFER_E_NOMEM: return "out of memory";
	case INFER_E_BACKEND: return "backend error";
	}
	return "unknown";
}
