# tests/local.mk: the shared test harness (real redis-server, fixture HTTP server) and end-to-end tests.
check_LIBRARIES = tests/harness/libpwtest.a
tests_harness_libpwtest_a_SOURCES = \
	tests/harness/redis.c tests/harness/redis.h \
	tests/harness/httpd.c tests/harness/httpd.h \
	tests/harness/run.c tests/harness/run.h \
	tests/harness/redis-store.c
tests_harness_libpwtest_a_CFLAGS = $(AM_CFLAGS) $(HIREDIS_CFLAGS) $(CRITERION_CFLAGS)
PW_TEST_LIBS = tests/harness/libpwtest.a $(HIREDIS_LIBS) -lpthread
# The real daemon for a test (harness/daemon.h) and a webhook receiver that checks the HMAC (harness/hook.h):
# helper "alerts2", issue #7. Tests using hook.o link $(CRYPTO_LIBS).
tests_harness_libpwtest_a_SOURCES += \
	tests/harness/daemon.c tests/harness/daemon.h \
	tests/harness/hook.c tests/harness/hook.h
tests_harness_libpwtest_a_CFLAGS += $(CRYPTO_CFLAGS)
# A header-only JSON helper for the tests that read a command's --json output (helper "cleanup-tests").
tests_harness_libpwtest_a_SOURCES += tests/harness/json.h
