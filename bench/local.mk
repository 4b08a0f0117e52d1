# bench/local.mk: benchmarks (not run by make check; see bench/README.md and bench/RESULTS.md).
# Files are listed one by one: the bench/ directory of a VPATH build holds build products too.
EXTRA_DIST += bench/README.md bench/RESULTS.md bench/run.sh \
	bench/ort/setup.sh bench/ort/ort-bench.js bench/ort/ort-run.js bench/ort/ort-load.js bench/ort/npy.js
