# src/store/local.mk: the Redis store (connection, listings, history) and the private redis-server.
noinst_LIBRARIES += src/store/libpwstore.a
src_store_libpwstore_a_SOURCES = \
	src/store/store.c src/store/store.h \
	src/store/redis-url.c src/store/redis-url.h \
	src/store/private.c src/store/private.h
src_store_libpwstore_a_CFLAGS = $(AM_CFLAGS) $(HIREDIS_CFLAGS) $(CRYPTO_CFLAGS)
PW_STORE_LIBS = src/store/libpwstore.a $(PW_COMMON_LIBS) $(HIREDIS_LIBS) $(CRYPTO_LIBS)

check_PROGRAMS += tests/unit/redis_url_test tests/integration/store_test
TESTS += tests/unit/redis_url_test tests/integration/store_test
tests_unit_redis_url_test_SOURCES = tests/unit/test-redis-url.c
tests_unit_redis_url_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_redis_url_test_LDADD = $(PW_STORE_LIBS) $(CRITERION_LIBS)
tests_integration_store_test_SOURCES = tests/integration/test-store.c
tests_integration_store_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(HIREDIS_CFLAGS)
tests_integration_store_test_LDADD = $(PW_TEST_LIBS) $(PW_STORE_LIBS) $(CRITERION_LIBS)

# Crawl jobs through Redis (due zset, jobs stream + group "crawlers", leases, source state): see docs/crawl-jobs.md.
src_store_libpwstore_a_SOURCES += src/store/jobs.c src/store/jobs.h
check_PROGRAMS += tests/integration/jobs_test
TESTS += tests/integration/jobs_test
tests_integration_jobs_test_SOURCES = tests/integration/test-jobs.c
tests_integration_jobs_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(HIREDIS_CFLAGS)
tests_integration_jobs_test_LDADD = $(PW_TEST_LIBS) $(PW_STORE_LIBS) $(CRITERION_LIBS)

# Crawl state shared by all daemons: HTTP validators per page, cached robots.txt per host (docs/store.md).
src_store_libpwstore_a_SOURCES += src/store/httpcache.c src/store/httpcache.h
check_PROGRAMS += tests/integration/httpcache_test
TESTS += tests/integration/httpcache_test
tests_integration_httpcache_test_SOURCES = tests/integration/test-httpcache.c
tests_integration_httpcache_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(HIREDIS_CFLAGS)
tests_integration_httpcache_test_LDADD = $(PW_TEST_LIBS) $(PW_STORE_LIBS) $(CRITERION_LIBS)
