# src/extract/local.mk: page extraction (JSON-LD for now; extract.c dispatches, one file per extractor).
noinst_LIBRARIES += src/extract/libpwextract.a
src_extract_libpwextract_a_SOURCES = \
	src/extract/extract.c src/extract/extract.h src/extract/extractor.h \
	src/extract/jsonld.c src/extract/jsonld.h
src_extract_libpwextract_a_CFLAGS = $(AM_CFLAGS) $(XML_CFLAGS) $(JSONC_CFLAGS)
PW_EXTRACT_LIBS = src/extract/libpwextract.a $(PW_STORE_LIBS) $(XML_LIBS) $(JSONC_LIBS)

check_PROGRAMS += tests/unit/extract_test
TESTS += tests/unit/extract_test
tests_unit_extract_test_SOURCES = tests/unit/test-extract.c
tests_unit_extract_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_extract_test_LDADD = $(PW_EXTRACT_LIBS) $(CRITERION_LIBS)
EXTRA_DIST += tests/unit/pages
