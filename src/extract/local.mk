# src/extract/local.mk: page extraction (extract.c dispatches, one file per extractor) and the price parser.
noinst_LIBRARIES += src/extract/libpwextract.a
src_extract_libpwextract_a_SOURCES = \
	src/extract/extract.c src/extract/extract.h src/extract/extractor.h \
	src/extract/jsonld.c src/extract/jsonld.h \
	src/extract/microdata.c src/extract/microdata.h \
	src/extract/opengraph.c src/extract/opengraph.h \
	src/extract/gtin.c src/extract/gtin.h \
	src/extract/price.c src/extract/price.h \
	src/extract/rules.c src/extract/heuristic.c
src_extract_libpwextract_a_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS) $(JSONC_CFLAGS)
PW_EXTRACT_LIBS = src/extract/libpwextract.a $(PW_STORE_LIBS) $(XML_LIBS) $(JSONC_LIBS)

check_PROGRAMS += tests/unit/extract_test
TESTS += tests/unit/extract_test
tests_unit_extract_test_SOURCES = tests/unit/test-extract.c
tests_unit_extract_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_extract_test_LDADD = $(PW_EXTRACT_LIBS) $(CRITERION_LIBS)
EXTRA_DIST += tests/unit/pages

check_PROGRAMS += tests/unit/price_test
TESTS += tests/unit/price_test
tests_unit_price_test_SOURCES = tests/unit/test-price.c
tests_unit_price_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_price_test_LDADD = $(PW_EXTRACT_LIBS) $(CRITERION_LIBS)

check_PROGRAMS += tests/unit/extract_pages_test
TESTS += tests/unit/extract_pages_test
tests_unit_extract_pages_test_SOURCES = tests/unit/test-extract-pages.c
tests_unit_extract_pages_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(XML_CFLAGS)
tests_unit_extract_pages_test_LDADD = $(PW_EXTRACT_LIBS) $(CRITERION_LIBS)

# libFuzzer targets (./configure --enable-fuzzing CC=clang): the extract sources are compiled into each
# target with coverage instrumentation. Run e.g. tests/fuzz/fuzz-price -max_total_time=600 tests/fuzz/corpus-price
if ENABLE_FUZZING
PW_FUZZ_CFLAGS = -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer
noinst_PROGRAMS += tests/fuzz/fuzz-price tests/fuzz/fuzz-extract
tests_fuzz_fuzz_price_SOURCES = tests/fuzz/fuzz-price.c src/extract/price.c src/extract/price.h
tests_fuzz_fuzz_price_CFLAGS = $(AM_CFLAGS) $(PW_FUZZ_CFLAGS)
tests_fuzz_fuzz_price_LDFLAGS = $(PW_FUZZ_CFLAGS)
tests_fuzz_fuzz_price_LDADD = $(PW_COMMON_LIBS)
tests_fuzz_fuzz_extract_SOURCES = tests/fuzz/fuzz-extract.c $(src_extract_libpwextract_a_SOURCES)
tests_fuzz_fuzz_extract_CFLAGS = $(AM_CFLAGS) $(PW_FUZZ_CFLAGS) $(XML_CFLAGS) $(JSONC_CFLAGS)
tests_fuzz_fuzz_extract_LDFLAGS = $(PW_FUZZ_CFLAGS)
tests_fuzz_fuzz_extract_LDADD = $(PW_STORE_LIBS) $(XML_LIBS) $(JSONC_LIBS)
endif
EXTRA_DIST += tests/fuzz/fuzz-price.c tests/fuzz/fuzz-extract.c tests/fuzz/corpus-price

# "pricewatch extract" through cli_run (src/cli/cmd-extract.c) on the fixture pages.
check_PROGRAMS += tests/unit/extract_cli_test
TESTS += tests/unit/extract_cli_test
tests_unit_extract_cli_test_SOURCES = tests/unit/test-extract-cli.c tests/harness/cli-run.c tests/harness/cli-run.h
tests_unit_extract_cli_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(JSONC_CFLAGS)
tests_unit_extract_cli_test_LDADD = $(PW_CLI_LIBS) $(CRITERION_LIBS)

# Benchmark driver (not a test; bench/extract-bench.sh runs it beside extruct): make bench/extract-bench
noinst_PROGRAMS += bench/extract-bench
bench_extract_bench_SOURCES = bench/extract-bench.c
bench_extract_bench_LDADD = $(PW_EXTRACT_LIBS)
EXTRA_DIST += bench/extract-bench.sh bench/extract-bench.py
