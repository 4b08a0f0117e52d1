#!/bin/sh
# setup.sh: installs onnxruntime-node (the benchmark peer, not vendored) into a scratch folder given as argument.
# Usage: bench/ort/setup.sh /tmp/ort [VERSION]     then: ORT_NODE_DIR=/tmp/ort node bench/ort/ort-bench.js ...
set -eu
dir=${1:?usage: setup.sh SCRATCH_DIR [VERSION]}
version=${2:-1.30.0}
mkdir -p "$dir"
cd "$dir"
[ -f package.json ] || npm init -y >/dev/null
# --ignore-scripts: the package ships libonnxruntime.so for linux-x64; its install script only fetches GPU extras.
npm install --ignore-scripts --no-audit --no-fund "onnxruntime-node@$version"
lib=$(find "$dir/node_modules/onnxruntime-node/bin" -path '*linux/x64/libonnxruntime.so*' | head -n 1)
[ -n "$lib" ] || { echo "setup.sh: libonnxruntime.so for linux/x64 not found under $dir" >&2; exit 1; }
echo "onnxruntime-node $version installed; library: $lib"
echo "use: ORT_NODE_DIR=$dir node bench/ort/ort-bench.js --model data/models/mobilenetv2-nsfwjs.onnx"
