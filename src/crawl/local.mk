# src/crawl/local.mk: fetching pages with libcurl.
noinst_LIBRARIES += src/crawl/libpwcrawl.a
src_crawl_libpwcrawl_a_SOURCES = \
	src/crawl/fetch.c src/crawl/fetch.h
src_crawl_libpwcrawl_a_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
PW_CRAWL_LIBS = src/crawl/libpwcrawl.a $(PW_COMMON_LIBS) $(CURL_LIBS)

check_PROGRAMS += tests/integration/fetch_test
TESTS += tests/integration/fetch_test
tests_integration_fetch_test_SOURCES = tests/integration/test-fetch.c
tests_integration_fetch_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_integration_fetch_test_LDADD = $(PW_TEST_LIBS) $(PW_CRAWL_LIBS) $(CRITERION_LIBS)
