#!/bin/sh
# run.sh: races our engine against ONNX Runtime on the same ONNX file (batch-1 latency, batch-8 throughput, 1 and 2 threads).
#
# Usage: bench/run.sh --ort DIR [--pricewatch BIN] [--model FILE] [--runs N] [--batch-runs N]
#   --ort DIR         scratch folder filled by bench/ort/setup.sh (or set ORT_NODE_DIR)
#   --pricewatch BIN  our CLI; timed with `BIN infer --model FILE --threads T --input input=X.npy --bench N --warmup W --json`
#                     (omit it to measure only the peer)
# Prints one JSON object per measurement (engine, threads, batch, p50_ms, p99_ms, runs, throughput_ips).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
ort=${ORT_NODE_DIR:-}
pw=
model=$top/data/models/mobilenetv2-nsfwjs.onnx
runs=300
batch_runs=40
while [ $# -gt 0 ]; do
  case $1 in
    --ort) ort=$2; shift 2 ;;
    --pricewatch) pw=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --batch-runs) batch_runs=$2; shift 2 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$ort" ] || { echo "run.sh: give --ort DIR (see bench/ort/setup.sh)" >&2; exit 2; }
[ -f "$model" ] || { echo "run.sh: $model: no such model" >&2; exit 2; }

# Debian's python3 has numpy; a pyenv/venv python3 first on PATH often does not.
py=${PYTHON:-python3}
[ -z "${PYTHON:-}" ] && [ -x /usr/bin/python3 ] && py=/usr/bin/python3

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
if [ -n "$pw" ]; then
  # Batch-1 and batch-8 inputs for our CLI: the committed test vector, repeated.
  "$py" -c "import numpy as np, sys; x = np.load(sys.argv[1]); np.save(sys.argv[2], x); \
np.save(sys.argv[3], np.repeat(x, 8, axis=0))" \
    "$top/data/models/mobilenetv2-nsfwjs.input.npy" "$tmp/b1.npy" "$tmp/b8.npy"
fi

grep -m1 'model name' /proc/cpuinfo | sed 's/^.*: /# cpu: /'
echo "# date: $(date -u +%Y-%m-%dT%H:%MZ)  load: $(cut -d' ' -f1-3 /proc/loadavg)"
for t in 1 2; do
  for b in 1 8; do
    n=$runs; w=30
    [ "$b" -eq 1 ] || { n=$batch_runs; w=5; }
    node "$top/bench/ort/ort-bench.js" --ort "$ort" --model "$model" --threads "$t" --batch "$b" --runs "$n" --warmup "$w"
    if [ -n "$pw" ]; then
      # Our CLI prints {"p50_ms","p99_ms","runs","throughput_ips",...} with the same warm-up and the same
      # definitions as ort-bench.js; add what the table needs (throughput from the p50 only if it is missing).
      "$pw" infer --model "$model" --threads "$t" --input "input=$tmp/b$b.npy" --bench "$n" --warmup "$w" --json |
        "$py" -c "import json, sys; r = json.load(sys.stdin); \
r.pop('outputs', None); r.update(engine='pricewatch', model='$(basename "$model")', threads=$t, batch=$b); \
r.setdefault('throughput_ips', round($b * 1000.0 / r['p50_ms'], 3)); print(json.dumps(r))"
    fi
  done
done
