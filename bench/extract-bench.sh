#!/bin/sh
# extract-bench.sh: pages/second/core of pricewatch's extraction against extruct on the same fixture pages, one after the other; prints both JSON lines and the ratio.
# Usage: bench/extract-bench.sh [--bin BUILD/bench/extract-bench] [--seconds S] [--repeat N]
# Build the driver first: (cd BUILD && make bench/extract-bench). extruct: apt-get install python3-extruct.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
bin=$top/build/bench/extract-bench
seconds=5
repeat=3
# Debian's python3-extruct lives in the system interpreter, not in a pyenv/venv one that may come first on PATH.
python=${PYTHON:-/usr/bin/python3}
while [ $# -gt 0 ]; do
	case $1 in
	--bin) bin=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--repeat) repeat=$2; shift 2 ;;
	*) echo "usage: $0 [--bin PATH] [--seconds S] [--repeat N]" >&2; exit 2 ;;
	esac
done
[ -x "$bin" ] || { echo "$0: no driver at $bin (make bench/extract-bench in a build dir, then --bin)" >&2; exit 1; }
"$python" -c 'import extruct' 2>/dev/null || { echo "$0: extruct missing for $python (apt-get install python3-extruct)" >&2; exit 1; }

# The corpus: every fixture page, the same list for both engines.
set -- "$top"/tests/unit/pages/*.html "$top"/tests/unit/pages/shops/*.html
echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs," \
    "load $(cut -d' ' -f1 /proc/loadavg); $# pages, $(cat "$@" | wc -c) bytes"

ours=""
theirs=""
i=0
while [ $i -lt "$repeat" ]; do
	# Both pinned to one CPU: "per core" means one core, whatever else the machine runs.
	a=$(taskset -c 0 "$bin" --seconds "$seconds" "$@")
	b=$(taskset -c 0 "$python" "$top/bench/extract-bench.py" --seconds "$seconds" "$@")
	echo "$a"
	echo "$b"
	ours="$ours $(echo "$a" | sed 's/.*"pages_per_cpu_s":\([0-9.]*\).*/\1/')"
	theirs="$theirs $(echo "$b" | sed 's/.*"pages_per_cpu_s": \([0-9.]*\).*/\1/')"
	i=$((i + 1))
done
# Medians of the repeats, and their ratio (CPU time: other work on the machine does not count against either).
median() { printf '%s\n' $1 | sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
mo=$(median "$ours")
mt=$(median "$theirs")
echo "pricewatch $mo pages/cpu-s, extruct $mt pages/cpu-s (medians of $repeat), ratio $(awk -v a="$mo" -v b="$mt" 'BEGIN {printf "%.1f", a/b}')x"
