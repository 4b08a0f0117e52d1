#!/bin/sh
# repeat.sh: runs bench/run.sh N times (each once the CPU has been idle for 2 s) and prints the median table, ours against ONNX Runtime.
#
# Usage: bench/repeat.sh N RUN.SH-ARGS...   e.g. bench/repeat.sh 5 --ort /tmp/ort --pricewatch build/pricewatch
# Prints every JSON line as run.sh gave it (prefixed with the repeat number), then a Markdown table: medians of
# the N repeats per (threads, batch), the ratio of the medians, and each repeat's own ratio.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
n=$1
shift
py=${PYTHON:-python3}
[ -z "${PYTHON:-}" ] && [ -x /usr/bin/python3 ] && py=/usr/bin/python3
out=$(mktemp)
trap 'rm -f "$out"' EXIT INT TERM

# Idle: less than 10 % of the CPU busy over two seconds (from /proc/stat), waiting at most a minute.
wait_idle() {
  i=0
  while [ $i -lt 30 ]; do
    busy=$(awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat)
    sleep 2
    busy2=$(awk '/^cpu /{print $2+$3+$4+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat)
    if echo "$busy $busy2" | awk '{ if (($3 - $1) * 10 < ($4 - $2)) exit 0; exit 1 }'; then
      return 0
    fi
    i=$((i + 1))
  done
}

r=1
while [ $r -le "$n" ]; do
  wait_idle
  "$top/bench/run.sh" "$@" | sed "s/^/$r /" | tee -a "$out"
  r=$((r + 1))
done
"$py" - "$out" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    rep, _, rest = line.partition(' ')
    if not rest.startswith('{'):
        continue
    r = json.loads(rest)
    eng = 'ort' if r.get('engine', '').startswith('onnxruntime') else 'ours'
    rows.setdefault((r['threads'], r['batch']), {}).setdefault(int(rep), {})[eng] = r
print('| threads | batch | ours p50 ms | ORT p50 ms | ratio | ours p99 ms | ORT p99 ms | ours img/s | ORT img/s | per-repeat ratios |')
print('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|')
for (t, b), reps in sorted(rows.items()):
    full = [v for _, v in sorted(reps.items()) if 'ours' in v and 'ort' in v]
    if not full:
        continue
    med = lambda eng, k: statistics.median(v[eng][k] for v in full)
    ratios = ', '.join('%.2f' % (v['ours']['p50_ms'] / v['ort']['p50_ms']) for v in full)
    print('| %d | %d | %.2f | %.2f | **%.2f** | %.2f | %.2f | %.0f | %.0f | %s |' % (t, b, med('ours', 'p50_ms'),
          med('ort', 'p50_ms'), med('ours', 'p50_ms') / med('ort', 'p50_ms'), med('ours', 'p99_ms'),
          med('ort', 'p99_ms'), med('ours', 'throughput_ips'), med('ort', 'throughput_ips'), ratios))
PY
