# src/daemon/local.mk: pricewatchd.
sbin_PROGRAMS += pricewatchd
pricewatchd_SOURCES = \
	src/daemon/pricewatchd.c \
	src/daemon/daemon.c src/daemon/daemon.h \
	src/daemon/crawler.c src/daemon/crawler.h
pricewatchd_CFLAGS = $(AM_CFLAGS)
pricewatchd_LDADD = $(PW_OPS_LIBS) $(PW_ALERT_LIBS) $(PW_EXTRACT_LIBS) $(PW_CRAWL_LIBS) $(PW_STORE_LIBS) -lpthread

# End-to-end: the real daemon binary against redis-server and the fixture HTTP server.
check_PROGRAMS += tests/integration/daemon_test
TESTS += tests/integration/daemon_test
tests_integration_daemon_test_SOURCES = tests/integration/test-daemon.c
tests_integration_daemon_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_integration_daemon_test_LDADD = $(PW_TEST_LIBS) $(PW_STORE_LIBS) $(CRITERION_LIBS)
# The test runs the binary, so it must be built first.
EXTRA_tests_integration_daemon_test_DEPENDENCIES = pricewatchd$(EXEEXT)

# Product recognition: the crawler's image sink and the matching worker thread (helper "recognise", issue #6).
pricewatchd_SOURCES += src/daemon/recognise.c src/daemon/recognise.h
pricewatchd_LDADD += $(PW_DESCRIPTOR_LIBS)
