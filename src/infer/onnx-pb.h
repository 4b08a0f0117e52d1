/* onnx-pb.h: the protobuf-c side of the loader: TensorProto conversion, shared by the loader and its tests. */
#ifndef PW_INFER_ONNX_PB_H
#define PW_INFER_ONNX_PB_H

#include "onnx.pb-c.h"
#include "internal.h"

/* Converts a TensorProto into out (out->data malloc'd, owned by the caller). what names the tensor in
 * errors ("initializer 'w'"). Bounded: dims, element count and raw_data length are all checked. */
int infer_tensor_from_proto(const Onnx__TensorProto *tp, infer_tensor *out, const char *what, infer_error *err);

#endif
