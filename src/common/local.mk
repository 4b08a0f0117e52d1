# src/common/local.mk: logging, config, money, durations and other shared helpers.
noinst_LIBRARIES += src/common/libpwcommon.a
src_common_libpwcommon_a_SOURCES = \
	src/common/log.c src/common/log.h \
	src/common/util.c src/common/util.h \
	src/common/money.c src/common/money.h \
	src/common/config.c src/common/config.h
src_common_libpwcommon_a_CFLAGS = $(AM_CFLAGS) $(INIH_CFLAGS)
PW_COMMON_LIBS = src/common/libpwcommon.a $(INIH_LIBS)

check_PROGRAMS += tests/unit/money_test tests/unit/util_test tests/unit/config_test
TESTS += tests/unit/money_test tests/unit/util_test tests/unit/config_test
tests_unit_money_test_SOURCES = tests/unit/test-money.c
tests_unit_money_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_money_test_LDADD = $(PW_COMMON_LIBS) $(CRITERION_LIBS)
tests_unit_util_test_SOURCES = tests/unit/test-util.c
tests_unit_util_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_util_test_LDADD = $(PW_COMMON_LIBS) $(CRITERION_LIBS)
tests_unit_config_test_SOURCES = tests/unit/test-config.c
tests_unit_config_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_config_test_LDADD = $(PW_COMMON_LIBS) $(CRITERION_LIBS)
EXTRA_DIST += tests/unit/config
