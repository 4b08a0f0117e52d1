# src/crawl/local.mk: fetching pages with libcurl, robots.txt (RFC 9309), the SSRF guard and the retry policy.
noinst_LIBRARIES += src/crawl/libpwcrawl.a
src_crawl_libpwcrawl_a_SOURCES = \
	src/crawl/fetch.c src/crawl/fetch.h \
	src/crawl/robots.c src/crawl/robots.h \
	src/crawl/guard.c src/crawl/guard.h \
	src/crawl/retry.c src/crawl/retry.h
src_crawl_libpwcrawl_a_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
PW_CRAWL_LIBS = src/crawl/libpwcrawl.a $(PW_COMMON_LIBS) $(CURL_LIBS)

check_PROGRAMS += tests/integration/fetch_test
TESTS += tests/integration/fetch_test
tests_integration_fetch_test_SOURCES = tests/integration/test-fetch.c
tests_integration_fetch_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_integration_fetch_test_LDADD = $(PW_TEST_LIBS) $(PW_CRAWL_LIBS) $(CRITERION_LIBS)

# robots.txt parser (RFC 9309): pure unit tests, fixture files under tests/unit/robots/.
check_PROGRAMS += tests/unit/robots_test
TESTS += tests/unit/robots_test
tests_unit_robots_test_SOURCES = tests/unit/test-robots.c
tests_unit_robots_test_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_robots_test_LDADD = $(PW_CRAWL_LIBS) $(CRITERION_LIBS)
EXTRA_DIST += tests/unit/robots
# robots.txt fetched from the fixture server: 200 parsed, 4xx allow all, 5xx/429/silence disallow all.
check_PROGRAMS += tests/integration/robots_test
TESTS += tests/integration/robots_test
tests_integration_robots_test_SOURCES = tests/integration/test-robots.c
tests_integration_robots_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_integration_robots_test_LDADD = $(PW_TEST_LIBS) $(PW_CRAWL_LIBS) $(CRITERION_LIBS)

# SSRF guard: address classification (unit) and refused connections through libcurl (real sockets).
check_PROGRAMS += tests/unit/guard_test tests/integration/guard_test
TESTS += tests/unit/guard_test tests/integration/guard_test
tests_unit_guard_test_SOURCES = tests/unit/test-guard.c
tests_unit_guard_test_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_guard_test_LDADD = $(PW_CRAWL_LIBS) $(CRITERION_LIBS)
tests_integration_guard_test_SOURCES = tests/integration/test-guard.c
tests_integration_guard_test_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CRITERION_CFLAGS)
tests_integration_guard_test_LDADD = $(PW_TEST_LIBS) $(PW_CRAWL_LIBS) $(CRITERION_LIBS)

# Retry policy: pure functions with a seeded RNG (unit), 429 + Retry-After against the fixture server (integration).
check_PROGRAMS += tests/unit/retry_test tests/integration/retry_test
TESTS += tests/unit/retry_test tests/integration/retry_test
tests_unit_retry_test_SOURCES = tests/unit/test-retry.c
tests_unit_retry_test_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_retry_test_LDADD = $(PW_CRAWL_LIBS) $(CRITERION_LIBS)
tests_integration_retry_test_SOURCES = tests/integration/test-retry.c
tests_integration_retry_test_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CRITERION_CFLAGS)
tests_integration_retry_test_LDADD = $(PW_TEST_LIBS) $(PW_CRAWL_LIBS) $(CRITERION_LIBS)

# "pricewatch robots" through cli_run (the command lives in src/cli/cmd-robots.c).
check_PROGRAMS += tests/unit/robots_cli_test
TESTS += tests/unit/robots_cli_test
tests_unit_robots_cli_test_SOURCES = tests/unit/test-robots-cli.c tests/harness/cli-run.c tests/harness/cli-run.h
tests_unit_robots_cli_test_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_robots_cli_test_LDADD = $(PW_CLI_LIBS) $(CRITERION_LIBS)

# libFuzzer target for robots.txt (./configure --enable-fuzzing CC=clang; PW_FUZZ_CFLAGS comes from
# src/extract/local.mk). Run with a scratch corpus first (libFuzzer writes into the first directory):
#   tests/fuzz/fuzz-robots -max_total_time=600 -max_len=4096 /tmp/corpus tests/fuzz/corpus-robots
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz-robots
tests_fuzz_fuzz_robots_SOURCES = tests/fuzz/fuzz-robots.c src/crawl/robots.c src/crawl/robots.h
tests_fuzz_fuzz_robots_CFLAGS = $(AM_CFLAGS) $(PW_FUZZ_CFLAGS) $(CURL_CFLAGS)
tests_fuzz_fuzz_robots_LDFLAGS = $(PW_FUZZ_CFLAGS)
tests_fuzz_fuzz_robots_LDADD = $(PW_COMMON_LIBS) $(CURL_LIBS)
endif
EXTRA_DIST += tests/fuzz/fuzz-robots.c tests/fuzz/corpus-robots

# Start URLs of a source: URL templates, sitemaps (plain, index, gzip) and next-page links (src/crawl/sources.c).
src_crawl_libpwcrawl_a_SOURCES += src/crawl/sources.c src/crawl/sources.h
src_crawl_libpwcrawl_a_CFLAGS += $(XML_CFLAGS) $(ZLIB_CFLAGS)
PW_CRAWL_LIBS += $(XML_LIBS) $(ZLIB_LIBS)
check_PROGRAMS += tests/unit/sources_test
TESTS += tests/unit/sources_test
tests_unit_sources_test_SOURCES = tests/unit/test-sources.c
tests_unit_sources_test_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_sources_test_LDADD = $(PW_TEST_LIBS) $(PW_CRAWL_LIBS) $(CRITERION_LIBS)
EXTRA_DIST += tests/unit/sitemaps

# The crawl fetch engine (libcurl multi): global and per-host limits, robots.txt in the loop, retries, conditional GET.
src_crawl_libpwcrawl_a_SOURCES += src/crawl/multi.c src/crawl/multi.h

# libFuzzer target for sources.c (sitemaps incl. gzip, URL templates, next-page links); same switches as fuzz-robots:
#   tests/fuzz/fuzz-sitemap -max_total_time=600 -max_len=8192 /tmp/corpus tests/fuzz/corpus-sitemap
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz-sitemap
tests_fuzz_fuzz_sitemap_SOURCES = tests/fuzz/fuzz-sitemap.c src/crawl/sources.c src/crawl/sources.h
tests_fuzz_fuzz_sitemap_CFLAGS = $(AM_CFLAGS) $(PW_FUZZ_CFLAGS) $(CURL_CFLAGS) $(XML_CFLAGS) $(ZLIB_CFLAGS)
tests_fuzz_fuzz_sitemap_LDFLAGS = $(PW_FUZZ_CFLAGS)
tests_fuzz_fuzz_sitemap_LDADD = $(PW_COMMON_LIBS) $(CURL_LIBS) $(XML_LIBS) $(ZLIB_LIBS)
endif
EXTRA_DIST += tests/fuzz/fuzz-sitemap.c tests/fuzz/corpus-sitemap

# The engine against two fixture hosts (127.0.0.1, 127.0.0.2): robots, delays, Retry-After, 304, stalls, limits, guard.
check_PROGRAMS += tests/integration/crawl_engine_test
TESTS += tests/integration/crawl_engine_test
tests_integration_crawl_engine_test_SOURCES = tests/integration/test-crawl-engine.c
tests_integration_crawl_engine_test_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(CRITERION_CFLAGS)
tests_integration_crawl_engine_test_LDADD = $(PW_TEST_LIBS) $(PW_CRAWL_LIBS) $(CRITERION_LIBS)

# Whole-source crawls (src/daemon/crawler.c, linked through libpwcli) and "pricewatch crawl", with redis-server.
check_PROGRAMS += tests/integration/crawl_source_test
TESTS += tests/integration/crawl_source_test
tests_integration_crawl_source_test_SOURCES = tests/integration/test-crawl-source.c tests/harness/cli-run.c tests/harness/cli-run.h
tests_integration_crawl_source_test_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS) $(CRITERION_CFLAGS)
tests_integration_crawl_source_test_LDADD = $(PW_TEST_LIBS) $(PW_CLI_LIBS) $(CRITERION_LIBS)
