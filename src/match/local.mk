# src/match/local.mk: matching listings to catalogue products (vector index, fused score) and its tests.

noinst_LIBRARIES += src/match/libpwmatch.a
src_match_libpwmatch_a_SOURCES = \
	src/match/vindex.h src/match/vindex.c \
	src/match/fuse.h src/match/fuse.c
src_match_libpwmatch_a_CFLAGS = $(AM_CFLAGS) $(OPENMP_CFLAGS)
PW_MATCH_LIBS = src/match/libpwmatch.a $(OPENMP_CFLAGS) -lm

# Unit tests: every SIMD kernel against the plain C reference on random data; the fused formula's properties.
check_PROGRAMS += tests/unit/vindex_test tests/unit/fuse_test
TESTS += tests/unit/vindex_test tests/unit/fuse_test
tests_unit_vindex_test_SOURCES = tests/unit/test-vindex.c
tests_unit_vindex_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_vindex_test_LDADD = $(PW_MATCH_LIBS) $(CRITERION_LIBS)
tests_unit_fuse_test_SOURCES = tests/unit/test-fuse.c
tests_unit_fuse_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_fuse_test_LDADD = $(PW_MATCH_LIBS) $(CRITERION_LIBS)

# The 1,000,000-vector latency bench (bench/RESULTS.md): built with the check programs (one small file),
# never run by make check: `make bench/vindex-bench && bench/vindex-bench [N]` (figures: bench/RESULTS.md).
check_PROGRAMS += bench/vindex-bench
bench_vindex_bench_SOURCES = bench/vindex-bench.c
bench_vindex_bench_CFLAGS = $(AM_CFLAGS) $(OPENMP_CFLAGS)
bench_vindex_bench_LDADD = $(PW_MATCH_LIBS)
