/* dispatch.c: the operator table (name <-> enum), the one switch that runs a node, and load-time checks. */
#include <string.h>

#include "internal.h"

static const char *const op_names[OP_COUNT] = {
	[OP_UNKNOWN] = "?",
	[OP_ADD] = "Add", [OP_SUB] = "Sub", [OP_MUL] = "Mul", [OP_DIV] = "Div",
	[OP_RELU] = "Relu", [OP_CLIP] = "Clip", [OP_SIGMOID] = "Sigmoid",
	[OP_HARDSIGMOID] = "HardSigmoid", [OP_HARDSWISH] = "HardSwish",
	[OP_CONV] = "Conv", [OP_GEMM] = "Gemm", [OP_MATMUL] = "MatMul",
	[OP_BATCHNORM] = "BatchNormalization",
	[OP_GLOBALAVERAGEPOOL] = "GlobalAveragePool", [OP_AVERAGEPOOL] = "AveragePool",
	[OP_MAXPOOL] = "MaxPool",
	[OP_CONCAT] = "Concat", [OP_FLATTEN] = "Flatten", [OP_RESHAPE] = "Reshape",
	[OP_TRANSPOSE] = "Transpose", [OP_SQUEEZE] = "Squeeze", [OP_UNSQUEEZE] = "Unsqueeze",
	[OP_PAD] = "Pad", [OP_REDUCEMEAN] = "ReduceMean", [OP_SOFTMAX] = "Softmax",
	[OP_CONSTANT] = "Constant", [OP_IDENTITY] = "Identity", [OP_DROPOUT] = "Dropout",
	[OP_SHAPE] = "Shape", [OP_GATHER] = "Gather", [OP_CAST] = "Cast",
};

enum infer_op
infer_op_from_name(const char *op_type)
{
	for (int i = 1; i < OP_COUNT; i++)
		if (strcmp(op_names[i], op_type) == 0)
			return (enum infer_op)i;
	return OP_UNKNOWN;
}

const char *
infer_op_name(enum infer_op op)
{
	return op > OP_UNKNOWN && op < OP_COUNT ? op_names[op] : "?";
}

int
infer_op_run(struct op_ctx *c)
{
	switch (c->op) {
	case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV:
		return op_binary(c);
	case OP_RELU: case OP_CLIP: case OP_SIGMOID: case OP_HARDSIGMOID: case OP_HARDSWISH:
		return op_unary(c);
	case OP_CONV: return op_conv(c);
	case OP_GEMM: return op_gemm(c);
	case OP_MATMUL: return op_matmul(c);
	case OP_BATCHNORM: return op_batchnorm(c);
	case OP_GLOBALAVERAGEPOOL: return op_global_avgpool(c);
	case OP_AVERAGEPOOL: case OP_MAXPOOL: return op_pool(c);
	case OP_CONCAT: return op_concat(c);
	case OP_FLATTEN: return op_flatten(c);
	case OP_RESHAPE: return op_reshape(c);
	case OP_TRANSPOSE: return op_transpose(c);
	case OP_SQUEEZE: return op_squeeze(c);
	case OP_UNSQUEEZE: return op_unsqueeze(c);
	case OP_PAD: return op_pad(c);
	case OP_REDUCEMEAN: return op_reduce_mean(c);
	case OP_SOFTMAX: return op_softmax(c);
	case OP_CONSTANT: return op_constant(c);
	case OP_IDENTITY: case OP_DROPOUT: return op_identity(c);
	case OP_SHAPE: return op_shape(c);
	case OP_GATHER: return op_gather(c);
	case OP_CAST: return op_cast(c);
	case OP_UNKNOWN: case OP_COUNT:
		break;
	}
	return op_fail(c, INFER_E_UNSUPPORTED, "operator not supported");
}

/* Fewest inputs each operator needs, and the most outputs it may be asked to produce. */
static void
op_arity(enum infer_op op, int opset, int *min_in, int *max_out)
{
	*min_in = 1;
	*max_out = 1;
	switch (op) {
	case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_MATMUL: case OP_GATHER:
		*min_in = 2;
		break;
	case OP_CONV: case OP_GEMM:
		*min_in = 2;
		break;
	case OP_BATCHNORM:
		*min_in = 5;
		break;
	case OP_RESHAPE:
		*min_in = opset >= 5 ? 2 : 1;
		break;
	case OP_UNSQUEEZE:
		*min_in = opset >= 13 ? 2 : 1;
		break;
	case OP_PAD:
		*min_in = opset >= 11 ? 2 : 1;
		break;
	case OP_CONSTANT:
		*min_in = 0;
		break;
	default:
		break;
	}
}

int
infer_op_supported(const pw_node *n, enum infer_op op, infer_error *err)
{
	int min_in, max_out, present_in = 0;

	op_arity(op, n->opset, &min_in, &max_out);
	for (int i = 0; i < n->n_inputs && i < min_in; i++)
		if (n->inputs[i] >= 0)
			present_in++;
	if (present_in < min_in) {
		infer_node_err(err, INFER_E_INVALID, n, "needs at least %d inputs, has %d", min_in, present_in);
		return -1;
	}
	if (n->n_outputs < 1 || n->outputs[0] < 0) {
		infer_node_err(err, INFER_E_INVALID, n, "has no output");
		return -1;
	}
	for (int i = max_out; i < n->n_outputs; i++)
		if (n->outputs[i] >= 0) {
			infer_node_err(err, INFER_E_UNSUPPORTED, n, "output #%d (training or index outputs) is not supported", i);
			return -1;
		}
	switch (op) {
	case OP_CONV: case OP_AVERAGEPOOL: case OP_MAXPOOL: {
		const char *ap = infer_attr_str(n, "auto_pad", "NOTSET");
		if (strcmp(ap, "NOTSET") != 0 && strcmp(ap, "VALID") != 0 && strcmp(ap, "SAME_UPPER") != 0 &&
		    strcmp(ap, "SAME_LOWER") != 0) {
			infer_node_err(err, INFER_E_INVALID, n, "unknown auto_pad '%s'", ap);
			return -1;
		}
		if (op != OP_CONV && infer_attr(n, "kernel_shape") == NULL) {
			infer_node_err(err, INFER_E_INVALID, n, "attribute kernel_shape is required");
			return -1;
		}
		break;
	}
	case OP_BATCHNORM:
		if (infer_attr_int(n, "training_mode", 0) != 0) {
			infer_node_err(err, INFER_E_UNSUPPORTED, n, "training_mode=1 is not supported (inference only)");
			return -1;
		}
		if (infer_attr_int(n, "spatial", 1) != 1) {
			infer_node_err(err, INFER_E_UNSUPPORTED, n, "spatial=0 is not supported");
			return -1;
		}
		break;
	case OP_PAD: {
		const char *mode = infer_attr_str(n, "mode", "constant");
		if (strcmp(mode, "constant") != 0 && strcmp(mode, "reflect") != 0 && strcmp(mode, "edge") != 0) {
			infer_node_err(err, INFER_E_UNSUPPORTED, n, "pad mode '%s' is not supported", mode);
			return -1;
		}
		break;
	}
	case OP_CAST: {
		int64_t to = infer_attr_int(n, "to", 0);
		if (to != INFER_DTYPE_FLOAT && to != INFER_DTYPE_INT64) {
			infer_node_err(err, INFER_E_UNSUPPORTED, n, "cast to element type %lld is not supported",
			    (long long)to);
			return -1;
		}
		break;
	}
	case OP_CONSTANT:
		if (infer_attr(n, "value") == NULL && infer_attr(n, "value_float") == NULL &&
		    infer_attr(n, "value_floats") == NULL && infer_attr(n, "value_int") == NULL &&
		    infer_attr(n, "value_ints") == NULL) {
			infer_node_err(err, INFER_E_UNSUPPORTED, n, "only tensor, float(s) and int(s) values are supported");
			return -1;
		}
		break;
	case OP_DROPOUT:
		if (n->n_inputs > 2 && n->inputs[2] >= 0) {
			infer_node_err(err, INFER_E_UNSUPPORTED, n, "training_mode input is not supported (inference only)");
			return -1;
		}
		break;
	default:
		break;
	}
	return 0;
}
