# bench/local.mk: benchmarks (not run by make check; see bench/RESULTS.md).
EXTRA_DIST += bench
