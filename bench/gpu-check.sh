#!/bin/sh
# gpu-check.sh: on a machine with an NVIDIA GPU, builds the CUDA backend, runs its tests and the inference benchmark, and writes a short report to $OUT.
#
# Usage (from the top of the source tree): OUT=/some/dir bench/gpu-check.sh [RUNS]
# Writes $OUT/gpu-check.md (the report) and $OUT/gpu-check.log (every command's output). Needs the build
# dependencies of pricewatch (configure names any that is missing) and nvcc (PATH or /usr/local/cuda/bin).
# Exit status: 0 when the CUDA tests passed, 1 otherwise (the report says why).
set -u
OUT=${OUT:-/tmp/pw-gpu-check}
RUNS=${1:-200}
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build-gpu}
REPORT=$OUT/gpu-check.md
LOG=$OUT/gpu-check.log
mkdir -p "$OUT" "$BUILD"
: > "$LOG"

step() {  # step TITLE COMMAND...: runs COMMAND, output to the log; returns its status
	title=$1; shift
	printf '\n==== %s: %s\n' "$title" "$*" >> "$LOG"
	"$@" >> "$LOG" 2>&1
}

{
	echo "# GPU check ($(date -u '+%Y-%m-%d %H:%M UTC'))"
	echo
	echo "- host: $(uname -n), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs"
	echo "- GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'nvidia-smi failed')"
	echo "- nvcc: $( (command -v nvcc || echo /usr/local/cuda/bin/nvcc) | xargs -I{} sh -c '{} --version 2>/dev/null | tail -n 2 | head -n 1')"
	echo "- source: $(cd "$TOP" && git rev-parse --short HEAD 2>/dev/null || echo 'not a git checkout')"
} > "$REPORT"

fail() {
	{
		printf '\n**FAILED: %s** (see gpu-check.log; its last lines:)\n\n```\n' "$1"
		tail -n 25 "$LOG"
		printf '```\n'
	} >> "$REPORT"
	cat "$REPORT"
	exit 1
}

[ -x "$TOP/configure" ] || step autogen sh -c "cd '$TOP' && ./autogen.sh" || fail "autogen.sh"
step configure sh -c "cd '$BUILD' && '$TOP/configure' -q --enable-cuda" || fail "configure --enable-cuda"
step build make -C "$BUILD" -j"$(nproc)" pricewatch src/backends/cuda/pw-backend-cuda.so tests/unit/backend_cuda_test \
	|| fail "build"

export PW_TOP_SRCDIR="$TOP" PW_TOP_BUILDDIR="$BUILD"
step tests "$BUILD/tests/unit/backend_cuda_test" --verbose
rc=$?
passed=$(grep -c '^\[PASS\]' "$LOG"); skipped=$(grep -c '^\[SKIP\]' "$LOG"); failed=$(grep -c '^\[FAIL\]' "$LOG")
{
	echo
	echo "## CUDA backend tests (tests/unit/test-backend-gpu.c against the reference C kernels)"
	echo
	echo "passed $passed, failed $failed, skipped $skipped (exit status $rc)"
	grep -E '^\[(FAIL|SKIP)\]' "$LOG" | head -n 20 | sed 's/^/    /'
} >> "$REPORT"

# Benchmarks: every backend side by side (cpu and cuda), batch 1 and 8.
for batch in 1 8; do
	step "bench batch $batch" "$BUILD/pricewatch" bench --backend all --plugin-dir "$BUILD/src/backends/cuda" \
		--batch "$batch" --runs "$RUNS"
	{
		echo
		echo "## pricewatch bench --backend all --batch $batch --runs $RUNS"
		echo
		echo '```'
		sed -n "/==== bench batch $batch/,/^====/p" "$LOG" | grep -v '^====' | sed '/^$/d'
		echo '```'
	} >> "$REPORT"
done
cat "$REPORT"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
