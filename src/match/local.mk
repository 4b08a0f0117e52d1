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

# descriptor.c (helper "model"): one image in, every signal out (normalisation, embedding, histogram, pHash,
# pw:emb cache format). Link PW_DESCRIPTOR_LIBS to use it.
src_match_libpwmatch_a_SOURCES += src/match/descriptor.h src/match/descriptor.c
src_match_libpwmatch_a_CFLAGS += $(JSONC_CFLAGS) $(CRYPTO_CFLAGS)
PW_DESCRIPTOR_LIBS = $(PW_MATCH_LIBS) $(PW_IMAGE_LIBS) $(PW_INFER_LIBS) $(JSONC_LIBS) $(CRYPTO_LIBS) -lpthread
# Unit tests on real image files (tests/unit/images/) with the bundled model.
check_PROGRAMS += tests/unit/descriptor_test
TESTS += tests/unit/descriptor_test
tests_unit_descriptor_test_SOURCES = tests/unit/test-descriptor.c
tests_unit_descriptor_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(WEBP_CFLAGS) $(JPEG_CFLAGS) $(PNG_CFLAGS)
tests_unit_descriptor_test_LDADD = $(PW_DESCRIPTOR_LIBS) $(CRITERION_LIBS)

# The catalogue in Redis (catalog.c) and the matcher over it (matcher.c): helper "recognise", issue #6.
src_match_libpwmatch_a_SOURCES += src/match/catalog.h src/match/catalog.c src/match/matcher.h src/match/matcher.c
src_match_libpwmatch_a_CFLAGS += $(HIREDIS_CFLAGS)
PW_MATCH_LIBS += $(PW_STORE_LIBS)
# Catalogue import/list/show/remove, match, confirm/reject and the daemon's recognition, on a real Redis with
# real photographs (tests/unit/images/) and the bundled model.
check_PROGRAMS += tests/integration/catalog_test tests/integration/match_test tests/integration/recognise_test
TESTS += tests/integration/catalog_test tests/integration/match_test tests/integration/recognise_test
PW_RECOGNISE_TEST_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(JSONC_CFLAGS) $(HIREDIS_CFLAGS) $(WEBP_CFLAGS)
PW_RECOGNISE_TEST_LIBS = $(PW_TEST_LIBS) $(PW_CLI_LIBS) $(CRITERION_LIBS)
tests_integration_catalog_test_SOURCES = tests/integration/test-catalog.c tests/integration/test-recognise-util.h \
	tests/harness/cli-run.c tests/harness/cli-run.h
tests_integration_catalog_test_CFLAGS = $(PW_RECOGNISE_TEST_CFLAGS)
tests_integration_catalog_test_LDADD = $(PW_RECOGNISE_TEST_LIBS)
tests_integration_match_test_SOURCES = tests/integration/test-match.c tests/integration/test-recognise-util.h \
	tests/harness/cli-run.c tests/harness/cli-run.h
tests_integration_match_test_CFLAGS = $(PW_RECOGNISE_TEST_CFLAGS)
tests_integration_match_test_LDADD = $(PW_RECOGNISE_TEST_LIBS)
tests_integration_recognise_test_SOURCES = tests/integration/test-recognise.c tests/integration/test-recognise-util.h \
	tests/harness/cli-run.c tests/harness/cli-run.h
tests_integration_recognise_test_CFLAGS = $(PW_RECOGNISE_TEST_CFLAGS)
tests_integration_recognise_test_LDADD = $(PW_RECOGNISE_TEST_LIBS)
# The recognition test runs the daemon binary.
EXTRA_tests_integration_recognise_test_DEPENDENCIES = pricewatchd$(EXEEXT)
# The daemon's recognition worker through its image sink, without the crawler.
check_PROGRAMS += tests/integration/recognise_sink_test
TESTS += tests/integration/recognise_sink_test
tests_integration_recognise_sink_test_SOURCES = tests/integration/test-recognise-sink.c \
	tests/integration/test-recognise-util.h src/daemon/recognise.c src/daemon/recognise.h \
	tests/harness/cli-run.c tests/harness/cli-run.h
tests_integration_recognise_sink_test_CFLAGS = $(PW_RECOGNISE_TEST_CFLAGS)
tests_integration_recognise_sink_test_LDADD = $(PW_RECOGNISE_TEST_LIBS) -lpthread
# The descriptor test runs the model on the reference backend plugin too (helper "match2").
EXTRA_tests_unit_descriptor_test_DEPENDENCIES = src/infer/pw-backend-reference.so
