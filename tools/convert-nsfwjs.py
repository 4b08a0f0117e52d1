#!/usr/bin/python3
# convert-nsfwjs.py: turns the MobileNetV2 shipped in the nsfwjs npm tarball (TF.js layers format,
# uint8-quantised weights) into a standard ONNX model whose outputs are two pooled embeddings.
#
# Usage (see tools/README.md):
#   tools/convert-nsfwjs.py nsfwjs-4.3.0.tgz -o data/models/mobilenetv2-nsfwjs.onnx \
#       --test-vector data/models/mobilenetv2-nsfwjs
#   tools/convert-nsfwjs.py nsfwjs-4.3.0.tgz --compare data/models/mobilenetv2-nsfwjs
#
# Needs only Debian's python3-onnx and python3-numpy.  The converter builds the graph from the Keras
# layer list in the package (not from a hard-coded MobileNetV2), and checks itself: a NumPy forward pass
# that follows the Keras layer semantics on the NHWC weights is compared with a NumPy interpreter of the
# ONNX graph it produced, so a wrong transpose, pad or epsilon shows up as a mismatch here and not later
# in the C engine.

import argparse
import base64
import binascii
import hashlib
import io
import json
import posixpath
import re
import sys
import tarfile
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
IR_VERSION = 7          # the IR version that goes with opset 13
MODEL_DIR = "package/dist/models/mobilenet_v2"
FEATURES_LAYER = "out_relu"              # last 7x7x1280 activation, before the classifier head
BLOCK10_LAYER = "block_10_project_BN"    # output of block_10 (no residual there: 64 -> 96 channels)
INPUT_SIZE = 224
TEST_VECTOR_SEED = 20240605


class ConvertError(Exception):
    """A problem with the input package, reported as 'file: reason'."""


# --------------------------------------------------------------------------------------------------
# TF.js files ship as browserify bundles ("...exports={modelTopology:{...}}"): JavaScript object
# literals, not JSON (unquoted keys, !0/!1, .5).  This is a small parser for exactly that literal
# subset; it refuses anything else instead of guessing.

_STRING = {'"': re.compile(r'"((?:[^"\\\n]|\\.)*)"', re.S), "'": re.compile(r"'((?:[^'\\\n]|\\.)*)'", re.S)}
_NUMBER = re.compile(r'-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?')
_IDENT = re.compile(r'[A-Za-z_$][\w$]*')
_SPACE = re.compile(r'\s*')
_CONSTANTS = {"true": True, "false": False, "null": None, "NaN": float("nan"), "Infinity": float("inf")}


class _JsLiteral:
    def __init__(self, text, pos, where):
        self.text, self.pos, self.where = text, pos, where

    def fail(self, what):
        raise ConvertError("%s: offset %d: %s" % (self.where, self.pos, what))

    def peek(self):
        self.pos = _SPACE.match(self.text, self.pos).end()
        if self.pos >= len(self.text):
            self.fail("unexpected end of file")
        return self.text[self.pos]

    def string(self):
        m = _STRING[self.text[self.pos]].match(self.text, self.pos)
        if not m:
            self.fail("unterminated string")
        self.pos = m.end()
        s = m.group(1)
        return json.loads('"%s"' % s.replace("\\'", "'")) if "\\" in s else s

    def value(self):
        c = self.peek()
        if c == "{":
            self.pos += 1
            obj = {}
            while self.peek() != "}":
                key = self.key()
                if self.peek() != ":":
                    self.fail("expected ':' after key %r" % key)
                self.pos += 1
                obj[key] = self.value()
                if self.peek() == ",":
                    self.pos += 1
                elif self.peek() != "}":
                    self.fail("expected ',' or '}'")
            self.pos += 1
            return obj
        if c == "[":
            self.pos += 1
            arr = []
            while self.peek() != "]":
                arr.append(self.value())
                if self.peek() == ",":
                    self.pos += 1
                elif self.peek() != "]":
                    self.fail("expected ',' or ']'")
            self.pos += 1
            return arr
        if c in _STRING:
            return self.string()
        if c == "!":                                    # minifiers write true/false as !0/!1
            m = _NUMBER.match(self.text, self.pos + 1)
            if not m:
                self.fail("unsupported '!' expression")
            self.pos = m.end()
            return not float(m.group(0))
        m = _NUMBER.match(self.text, self.pos)
        if m:
            self.pos = m.end()
            g = m.group(0)
            return float(g) if any(ch in g for ch in ".eE") else int(g)
        m = _IDENT.match(self.text, self.pos)
        if m and m.group(0) in _CONSTANTS:
            self.pos = m.end()
            return _CONSTANTS[m.group(0)]
        if m and m.group(0) == "void":                  # "void 0" is undefined
            self.pos = m.end()
            self.value()
            return None
        self.fail("unsupported JavaScript at %r" % self.text[self.pos:self.pos + 20])

    def key(self):
        c = self.peek()
        if c in _STRING:
            return self.string()
        m = _IDENT.match(self.text, self.pos) or _NUMBER.match(self.text, self.pos)
        if not m:
            self.fail("expected an object key")
        self.pos = m.end()
        return m.group(0)


def parse_js_export(text, where):
    """Returns the value assigned to module.exports in a browserify bundle (or plain JSON text)."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return json.loads(stripped)
    m = re.search(r'\.exports\s*=\s*(?=[{"\'])', text)
    if not m:
        raise ConvertError("%s: no 'exports=' object or string found" % where)
    return _JsLiteral(text, m.end(), where).value()


# --------------------------------------------------------------------------------------------------
# Reading the npm tarball.

class Package:
    """The parts of the nsfwjs tarball the converter needs: topology, float32 weights, provenance."""

    def __init__(self, path, model_dir):
        try:
            self._read(path, model_dir)
        except ConvertError:
            raise
        except (OSError, EOFError, tarfile.TarError, zlib.error, binascii.Error, UnicodeDecodeError,
                json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            # A truncated download, a corrupt gzip stream or an unexpected manifest layout.
            raise ConvertError("%s: cannot read the package: %s: %s" % (path, type(e).__name__, e)) from e

    def _read(self, path, model_dir):
        with open(path, "rb") as f:
            raw = f.read()
        self.sha256 = hashlib.sha256(raw).hexdigest()
        self.path = path
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:*") as tar:
            names = set(tar.getnames())

            def read(name):
                if name not in names:
                    raise ConvertError("%s: %s is not in the tarball" % (path, name))
                return tar.extractfile(name).read()

            def first_of(candidates):
                for c in candidates:
                    if c in names:
                        return c
                raise ConvertError("%s: none of %s is in the tarball" % (path, ", ".join(candidates)))

            meta = json.loads(read("package/package.json"))
            self.name, self.version = meta.get("name", "?"), meta.get("version", "?")
            self.license_name = meta.get("license", "?")
            self.license_text = read("package/LICENSE").decode("utf-8")

            model_file = first_of([posixpath.join(model_dir, n) for n in ("model.json", "model.min.js", "model.js")])
            model = parse_js_export(read(model_file).decode("utf-8"), "%s:%s" % (path, model_file))
            if "modelTopology" not in model or "weightsManifest" not in model:
                raise ConvertError("%s:%s: not a TF.js layers model (no modelTopology/weightsManifest)" % (path, model_file))
            self.model_file = model_file
            self.topology = model["modelTopology"]
            self.weights = {}
            self.shard_files = []
            for group in model["weightsManifest"]:
                blob = b""
                for shard in group["paths"]:
                    base = posixpath.join(model_dir, shard)
                    shard_file = first_of([base, base + ".bin", base + ".min.js", base + ".js"])
                    data = read(shard_file)
                    if shard_file.endswith(".js"):   # base64 string inside a browserify bundle
                        data = base64.b64decode(parse_js_export(data.decode("ascii"), "%s:%s" % (path, shard_file)), validate=True)
                    self.shard_files.append(shard_file)
                    blob += data
                self._decode_group(group["weights"], blob, "%s:%s" % (path, ",".join(group["paths"])))

    def _decode_group(self, specs, blob, where):
        off = 0
        for spec in specs:
            shape = [int(d) for d in spec["shape"]]
            count = int(np.prod(shape, dtype=np.int64))
            q = spec.get("quantization")
            if spec["dtype"] != "float32":
                raise ConvertError("%s: weight %s has dtype %s, only float32 is handled" % (where, spec["name"], spec["dtype"]))
            if q is None:
                nbytes, kind = 4 * count, "<f4"
            elif q["dtype"] in ("uint8", "uint16"):
                nbytes, kind = (1 if q["dtype"] == "uint8" else 2) * count, "u1" if q["dtype"] == "uint8" else "<u2"
            elif q["dtype"] == "float16":
                nbytes, kind = 2 * count, "<f2"
            else:
                raise ConvertError("%s: weight %s: unknown quantization %s" % (where, spec["name"], q["dtype"]))
            if off + nbytes > len(blob):
                raise ConvertError("%s: weight %s runs past the end of the shards (%d > %d bytes)"
                                   % (where, spec["name"], off + nbytes, len(blob)))
            arr = np.frombuffer(blob, dtype=kind, count=count, offset=off)
            off += nbytes
            if q is not None and q["dtype"] in ("uint8", "uint16"):
                # TF.js io.decodeWeights: value = quantised * scale + min, computed in float32.
                arr = arr.astype(np.float32) * np.float32(q["scale"]) + np.float32(q["min"])
            self.weights[spec["name"]] = arr.astype(np.float32).reshape(shape)
        if off != len(blob):
            raise ConvertError("%s: %d bytes of shard data left over after the last weight" % (where, len(blob) - off))

    def layers(self):
        cfg = self.topology.get("model_config", {}).get("config", {})
        if not isinstance(cfg.get("layers"), list):
            raise ConvertError("%s:%s: not a Keras layers model (no model_config.config.layers; TF.js graph "
                               "models are not handled)" % (self.path, self.model_file))
        return cfg["layers"]


# --------------------------------------------------------------------------------------------------
# Keras layer list -> the subgraph that the requested outputs depend on.

def _inbound(layer):
    nodes = layer.get("inbound_nodes") or []
    if not nodes:
        return []
    if len(nodes) != 1:
        raise ConvertError("layer %s: shared layers (several inbound nodes) are not handled" % layer["name"])
    return [n[0] for n in nodes[0]]


def needed_layers(layers, outputs):
    """Layers (in file order, which Keras keeps topological) that the named output layers depend on."""
    by_name = {l["name"]: l for l in layers}
    need, stack = set(), list(outputs)
    while stack:
        n = stack.pop()
        if n in need:
            continue
        if n not in by_name:
            raise ConvertError("layer %s not found in the model topology" % n)
        need.add(n)
        stack.extend(_inbound(by_name[n]))
    return [l for l in layers if l["name"] in need]


def _relu_bounds(layer):
    c = layer["config"]
    if c.get("threshold", 0) or c.get("negative_slope", 0):
        raise ConvertError("layer %s: ReLU with threshold/negative_slope is not handled" % layer["name"])
    return c.get("max_value")


def _same_pads(kernel, dilation, strides, name):
    # Keras 'same' with stride 1 and an odd kernel is a symmetric pad; that is all this model uses.
    if any(s != 1 for s in strides) or any(((k - 1) * d) % 2 for k, d in zip(kernel, dilation)):
        raise ConvertError("layer %s: padding 'same' with stride > 1 or even kernel is not handled" % name)
    half = [(k - 1) * d // 2 for k, d in zip(kernel, dilation)]
    return [half[0], half[1], half[0], half[1]]


def _conv_params(layer, pending_pad):
    c = layer["config"]
    kernel, strides = c["kernel_size"], c["strides"]
    dilation = c.get("dilation_rate", [1, 1])
    if c.get("data_format", "channels_last") != "channels_last":
        raise ConvertError("layer %s: only channels_last Keras models are handled" % layer["name"])
    if c["padding"] == "same":
        if pending_pad is not None:
            raise ConvertError("layer %s: ZeroPadding2D before a 'same' convolution is not handled" % layer["name"])
        pads = _same_pads(kernel, dilation, strides, layer["name"])
    elif c["padding"] == "valid":
        pads = pending_pad or [0, 0, 0, 0]
    else:
        raise ConvertError("layer %s: padding %r is not handled" % (layer["name"], c["padding"]))
    if c.get("activation", "linear") != "linear":
        raise ConvertError("layer %s: fused activation %s is not handled" % (layer["name"], c["activation"]))
    return kernel, strides, dilation, pads


# --------------------------------------------------------------------------------------------------
# ONNX graph construction (NCHW).

def build_onnx(pkg, layers):
    weights = pkg.weights
    used = set()
    nodes, inits = [], []
    tensor = {}       # Keras layer name -> ONNX tensor name holding its output
    pad_of = {}       # ZeroPadding2D layer name -> [top, left, bottom, right] folded into the consumer conv

    def init(name, arr):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), name))
        return name

    def weight(layer, key):
        full = "%s/%s" % (layer["name"], key)
        if full not in weights:
            raise ConvertError("layer %s: weight %s is missing from the manifest" % (layer["name"], full))
        used.add(full)
        return weights[full]

    for layer in layers:
        name, cls, c = layer["name"], layer["class_name"], layer["config"]
        ins = _inbound(layer)
        if cls == "InputLayer":
            shape = c["batch_input_shape"]
            if shape[1:] != [INPUT_SIZE, INPUT_SIZE, 3]:
                raise ConvertError("input %s: expected [N,%d,%d,3], got %s" % (name, INPUT_SIZE, INPUT_SIZE, shape))
            tensor[name] = "input"
            continue
        if cls == "ZeroPadding2D":
            (top, bottom), (left, right) = c["padding"]
            pad_of[name] = [top, left, bottom, right]
            tensor[name] = tensor[ins[0]]
            continue
        src = [tensor[i] for i in ins]
        pending = pad_of.get(ins[0]) if ins else None
        if pending is not None and cls not in ("Conv2D", "DepthwiseConv2D"):
            raise ConvertError("layer %s: ZeroPadding2D feeding a %s is not handled" % (name, cls))
        if cls == "Conv2D":
            kernel, strides, dilation, pads = _conv_params(layer, pending)
            k = weight(layer, "kernel")                          # [kh, kw, cin, cout]
            w = init(name + ".weight", k.transpose(3, 2, 0, 1))  # [cout, cin, kh, kw]
            conv_in = [src[0], w]
            if c.get("use_bias"):
                conv_in.append(init(name + ".bias", weight(layer, "bias")))
            nodes.append(helper.make_node("Conv", conv_in, [name], name=name, kernel_shape=kernel,
                                          strides=strides, dilations=dilation, pads=pads, group=1))
        elif cls == "DepthwiseConv2D":
            kernel, strides, dilation, pads = _conv_params(layer, pending)
            k = weight(layer, "depthwise_kernel")                # [kh, kw, cin, mult]
            kh, kw, cin, mult = k.shape
            w = init(name + ".weight", k.transpose(2, 3, 0, 1).reshape(cin * mult, 1, kh, kw))
            conv_in = [src[0], w]
            if c.get("use_bias"):
                conv_in.append(init(name + ".bias", weight(layer, "bias")))
            nodes.append(helper.make_node("Conv", conv_in, [name], name=name, kernel_shape=kernel,
                                          strides=strides, dilations=dilation, pads=pads, group=cin))
        elif cls == "BatchNormalization":
            if c.get("axis", -1) not in (-1, 3, [3], [-1]):
                raise ConvertError("layer %s: BatchNormalization over axis %r is not handled" % (name, c.get("axis")))
            mean = weight(layer, "moving_mean")
            var = weight(layer, "moving_variance")
            gamma = weight(layer, "gamma") if c.get("scale", True) else np.ones_like(mean)
            beta = weight(layer, "beta") if c.get("center", True) else np.zeros_like(mean)
            bn_in = [src[0], init(name + ".scale", gamma), init(name + ".bias", beta),
                     init(name + ".mean", mean), init(name + ".var", var)]
            nodes.append(helper.make_node("BatchNormalization", bn_in, [name], name=name,
                                          epsilon=float(c["epsilon"])))
        elif cls == "ReLU":
            top = _relu_bounds(layer)
            if top is None:
                nodes.append(helper.make_node("Relu", src, [name], name=name))
            else:
                nodes.append(helper.make_node("Clip", [src[0], init(name + ".min", np.array(0, np.float32)),
                                                       init(name + ".max", np.array(top, np.float32))],
                                              [name], name=name))
        elif cls == "Add":
            if len(src) != 2:
                raise ConvertError("layer %s: Add with %d inputs is not handled" % (name, len(src)))
            nodes.append(helper.make_node("Add", src, [name], name=name))
        else:
            raise ConvertError("layer %s: Keras layer class %s is not handled" % (name, cls))
        tensor[name] = name

    outputs = []
    for out, layer_name, dim in (("features", FEATURES_LAYER, 1280), ("block10", BLOCK10_LAYER, 96)):
        pooled = out + ".pooled"
        nodes.append(helper.make_node("GlobalAveragePool", [tensor[layer_name]], [pooled], name=pooled))
        nodes.append(helper.make_node("Flatten", [pooled], [out], name=out + ".flatten", axis=1))
        outputs.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", dim]))

    graph = helper.make_graph(
        nodes, "mobilenetv2_nsfwjs",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, INPUT_SIZE, INPUT_SIZE])],
        outputs, initializer=inits)
    model = helper.make_model(graph, producer_name="pricewatch tools/convert-nsfwjs.py", producer_version="1",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    model.doc_string = (
        "MobileNetV2 (alpha 1.0, 224x224) from the npm package %s@%s (%s licence, see data/models/NOTICE), "
        "converted by tools/convert-nsfwjs.py; classifier dropped. Input 'input': float32 NCHW [N,3,224,224], "
        "RGB in [0,1] (nsfwjs resizes bilinear alignCorners=true straight to 224, no mean/std). Outputs: "
        "'features' [N,1280] = global average pool of out_relu; 'block10' [N,96] = global average pool of "
        "block_10_project_BN." % (pkg.name, pkg.version, pkg.license_name))
    helper.set_model_props(model, {
        "source": "npm:%s@%s %s" % (pkg.name, pkg.version, pkg.model_file),
        "source_tarball_sha256": pkg.sha256,
        "preprocessing": "RGB, bilinear resize alignCorners=true to 224x224, scale to [0,1], NCHW, no mean/std",
        "features_layer": FEATURES_LAYER,
        "block10_layer": BLOCK10_LAYER,
    })
    unused = sorted(set(weights) - used)
    return model, unused


# --------------------------------------------------------------------------------------------------
# Check 1: a NumPy forward pass with Keras semantics (NHWC, weights as shipped).

def _conv_nhwc(x, k, strides, pads, groups):
    """x [N,H,W,C], k [kh,kw,cin/groups,cout] (Keras Conv2D layout), pads [t,l,b,r]."""
    n, _, _, cin = x.shape
    kh, kw, _, cout = k.shape
    x = np.pad(x, ((0, 0), (pads[0], pads[2]), (pads[1], pads[3]), (0, 0)))
    oh = (x.shape[1] - kh) // strides[0] + 1
    ow = (x.shape[2] - kw) // strides[1] + 1
    out = np.zeros((n, oh, ow, cout), np.float64)
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i:i + strides[0] * (oh - 1) + 1:strides[0], j:j + strides[1] * (ow - 1) + 1:strides[1], :]
            if groups == 1:
                out += patch @ k[i, j]
            else:                         # depthwise, multiplier 1: k[i, j] is [1, cout]
                out += patch * k[i, j, 0]
    return out


def keras_forward(pkg, layers, x_nchw):
    """Runs the Keras layers in float64; returns {layer name: NHWC activation}."""
    w = pkg.weights
    act = {}
    for layer in layers:
        name, cls, c = layer["name"], layer["class_name"], layer["config"]
        ins = [act[i] for i in _inbound(layer)]
        if cls == "InputLayer":
            act[name] = x_nchw.transpose(0, 2, 3, 1).astype(np.float64)
        elif cls == "ZeroPadding2D":
            (t, b), (l, r) = c["padding"]
            act[name] = np.pad(ins[0], ((0, 0), (t, b), (l, r), (0, 0)))
        elif cls in ("Conv2D", "DepthwiseConv2D"):
            kernel, strides, dilation, pads = _conv_params(layer, None)
            if dilation != [1, 1]:
                raise ConvertError("layer %s: dilation not handled by the NumPy check" % name)
            if cls == "Conv2D":
                y = _conv_nhwc(ins[0], w[name + "/kernel"].astype(np.float64), strides, pads, 1)
            else:
                k = w[name + "/depthwise_kernel"].astype(np.float64)
                y = _conv_nhwc(ins[0], k.transpose(0, 1, 3, 2), strides, pads, ins[0].shape[3])
            if c.get("use_bias"):
                y = y + w[name + "/bias"]
            act[name] = y
        elif cls == "BatchNormalization":
            g, b = w[name + "/gamma"], w[name + "/beta"]
            m, v = w[name + "/moving_mean"], w[name + "/moving_variance"]
            act[name] = (ins[0] - m) / np.sqrt(v.astype(np.float64) + c["epsilon"]) * g + b
        elif cls == "ReLU":
            top = _relu_bounds(layer)
            act[name] = np.maximum(ins[0], 0) if top is None else np.clip(ins[0], 0, top)
        elif cls == "Add":
            act[name] = ins[0] + ins[1]
        else:
            raise ConvertError("layer %s: %s not handled by the NumPy check" % (name, cls))
    return act


# Check 2: a NumPy interpreter for the ONNX graph that build_onnx() emits (float32, NCHW).

def onnx_forward(model, x):
    vals = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    vals["input"] = x.astype(np.float32)
    for node in model.graph.node:
        a = {at.name: helper.get_attribute_value(at) for at in node.attribute}
        ins = [vals[i] for i in node.input]
        if node.op_type == "Conv":
            xx, ww = ins[0], ins[1]
            pads, strides, group = a["pads"], a["strides"], a["group"]
            # NCHW/OIHW -> the NHWC helper above, so that both checks share only the arithmetic.
            k = ww.transpose(2, 3, 1, 0)            # [kh, kw, cin/g, cout]; depthwise: [kh, kw, 1, c]
            if group != 1 and (k.shape[2] != 1 or group != xx.shape[1] or k.shape[3] != group):
                raise ConvertError("node %s: only depthwise grouped Conv is handled" % node.name)
            y = _conv_nhwc(xx.transpose(0, 2, 3, 1).astype(np.float64), k.astype(np.float64), strides, pads,
                           group).transpose(0, 3, 1, 2)
            if len(ins) > 2:
                y = y + ins[2][None, :, None, None]
            out = y.astype(np.float32)
        elif node.op_type == "BatchNormalization":
            xx, s, b, m, v = ins
            sh = (1, -1, 1, 1)
            out = ((xx - m.reshape(sh)) / np.sqrt(v.reshape(sh) + np.float32(a["epsilon"])) * s.reshape(sh)
                   + b.reshape(sh)).astype(np.float32)
        elif node.op_type == "Clip":
            out = np.clip(ins[0], ins[1], ins[2])
        elif node.op_type == "Relu":
            out = np.maximum(ins[0], 0)
        elif node.op_type == "Add":
            out = ins[0] + ins[1]
        elif node.op_type == "GlobalAveragePool":
            out = ins[0].mean(axis=(2, 3), keepdims=True, dtype=np.float64).astype(np.float32)
        elif node.op_type == "Flatten":
            out = ins[0].reshape(ins[0].shape[0], -1)
        else:
            raise ConvertError("node %s: op %s not handled by the NumPy interpreter" % (node.name, node.op_type))
        vals[node.output[0]] = out
    return {o.name: vals[o.name] for o in model.graph.output}


def test_vector():
    """Deterministic 1x3x224x224 input in [0,1]: smooth colour gradients plus seeded noise."""
    yy, xx = np.meshgrid(np.linspace(0, 1, INPUT_SIZE), np.linspace(0, 1, INPUT_SIZE), indexing="ij")
    base = np.stack([0.5 + 0.4 * np.sin(6.0 * xx + 2.0 * yy),
                     0.5 + 0.4 * np.cos(4.0 * yy - 3.0 * xx),
                     0.5 + 0.4 * np.sin(9.0 * xx * yy)])
    noise = np.random.default_rng(TEST_VECTOR_SEED).uniform(-0.15, 0.15, base.shape)
    return np.clip(base + noise, 0.0, 1.0).astype(np.float32)[None]


def compare(tag, got, want):
    got, want = got.astype(np.float64).ravel(), want.astype(np.float64).ravel()
    cos = float(got @ want / (np.linalg.norm(got) * np.linalg.norm(want) + 1e-30))
    diff = float(np.max(np.abs(got - want)))
    rel = diff / (float(np.max(np.abs(want))) + 1e-30)
    print("  %-26s cosine %.8f  max|diff| %.3g  (%.3g of max|value|)" % (tag, cos, diff, rel))
    return cos, rel


def reference_outputs(pkg, layers, x):
    act = keras_forward(pkg, layers, x)
    return {"features": act[FEATURES_LAYER].mean(axis=(1, 2)), "block10": act[BLOCK10_LAYER].mean(axis=(1, 2))}


def main(argv):
    ap = argparse.ArgumentParser(description="Convert the nsfwjs MobileNetV2 (npm tarball) to ONNX.")
    ap.add_argument("tarball", help="nsfwjs-X.Y.Z.tgz from 'npm pack nsfwjs'")
    ap.add_argument("-o", "--output", help="write the ONNX model here")
    ap.add_argument("--model-dir", default=MODEL_DIR, help="model folder inside the tarball (default %(default)s)")
    ap.add_argument("--test-vector", metavar="PREFIX",
                    help="also write PREFIX.input.npy (the deterministic 1x3x224x224 test input)")
    ap.add_argument("--compare", metavar="PREFIX",
                    help="compare PREFIX.features.npy / PREFIX.block10.npy (e.g. from ONNX Runtime) on "
                         "PREFIX.input.npy with the NumPy Keras-semantics forward pass")
    ap.add_argument("--no-verify", action="store_true", help="skip the NumPy self-check of the new model")
    args = ap.parse_args(argv)
    if not args.output and not args.compare and not args.test_vector:
        ap.error("nothing to do: give -o, --test-vector or --compare")

    pkg = Package(args.tarball, args.model_dir)
    layers = needed_layers(pkg.layers(), [FEATURES_LAYER, BLOCK10_LAYER])
    zero_var = sum(int(np.sum(v == 0)) for k, v in pkg.weights.items() if k.endswith("/moving_variance"))
    print("%s@%s: %d weights, %d layers kept of %d, %d moving variances exactly 0 (epsilon matters)"
          % (pkg.name, pkg.version, len(pkg.weights), len(layers), len(pkg.layers()), zero_var))
    ok = True

    if args.output:
        model, unused = build_onnx(pkg, layers)
        onnx.checker.check_model(model, full_check=True)
        params = sum(int(np.prod(i.dims)) for i in model.graph.initializer)
        print("ONNX: opset %d, %d nodes, %d parameters; dropped weights: %s"
              % (OPSET, len(model.graph.node), params, ", ".join(sorted({u.split("/")[0] for u in unused})) or "none"))
        if not args.no_verify:
            x = test_vector()
            print("self-check on the test vector (ONNX graph interpreted in NumPy vs Keras semantics):")
            got = onnx_forward(model, x)
            want = reference_outputs(pkg, layers, x)
            for out in ("features", "block10"):
                cos, rel = compare(out, got[out], want[out])
                ok = ok and cos >= 0.99999 and rel < 1e-4
        if ok:
            onnx.save(model, args.output)
            print("wrote %s" % args.output)

    if args.test_vector:
        np.save(args.test_vector + ".input.npy", test_vector())
        print("wrote %s.input.npy" % args.test_vector)

    if args.compare:
        x = np.load(args.compare + ".input.npy")
        want = reference_outputs(pkg, layers, x)
        print("%s.*.npy vs the NumPy Keras-semantics forward pass:" % args.compare)
        for out in ("features", "block10"):
            got = np.load("%s.%s.npy" % (args.compare, out))
            if got.shape != want[out].shape or not np.all(np.isfinite(got)):
                print("  %s: shape %s (want %s) or non-finite values" % (out, got.shape, want[out].shape))
                ok = False
                continue
            cos, rel = compare(out, got, want[out])
            ok = ok and cos >= 0.9999 and rel < 1e-3

    if not ok:
        print("FAILED: outputs do not match", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except ConvertError as e:
        print("convert-nsfwjs: %s" % e, file=sys.stderr)
        sys.exit(2)
