# src/chart/local.mk: price charts (cairo: PNG and SVG) for `pricewatch chart`.
noinst_LIBRARIES += src/chart/libpwchart.a
src_chart_libpwchart_a_SOURCES = src/chart/chart.c src/chart/chart.h
src_chart_libpwchart_a_CFLAGS = $(AM_CFLAGS) $(CAIRO_CFLAGS) $(FONTCONFIG_CFLAGS)
PW_CHART_LIBS = src/chart/libpwchart.a $(PW_COMMON_LIBS) $(CAIRO_LIBS) $(FONTCONFIG_LIBS) -lm

# Unit: axis steps and rendering from change points, checked by decoding the PNG (libpng) and parsing the
# SVG (libxml2). Integration: `pricewatch chart` against a real redis-server.
check_PROGRAMS += tests/unit/chart_test tests/integration/chart_cli_test
TESTS += tests/unit/chart_test tests/integration/chart_cli_test
PW_CHART_CHECK = tests/unit/chart-check.c tests/unit/chart-check.h
tests_unit_chart_test_SOURCES = tests/unit/test-chart.c $(PW_CHART_CHECK)
tests_unit_chart_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(PNG_CFLAGS) $(XML_CFLAGS)
tests_unit_chart_test_LDADD = $(PW_CHART_LIBS) $(PNG_LIBS) $(XML_LIBS) $(CRITERION_LIBS)
tests_integration_chart_cli_test_SOURCES = tests/integration/test-chart-cli.c $(PW_CHART_CHECK) \
	tests/harness/cli-run.c tests/harness/cli-run.h
tests_integration_chart_cli_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(PNG_CFLAGS) $(XML_CFLAGS) \
	$(JSONC_CFLAGS) $(HIREDIS_CFLAGS)
tests_integration_chart_cli_test_LDADD = $(PW_TEST_LIBS) $(PW_CLI_LIBS) $(PNG_LIBS) $(XML_LIBS) $(CRITERION_LIBS)

# history's sparkline summary and its colour rules, in a pipe and on a pseudo-terminal.
check_PROGRAMS += tests/integration/history_view_test
TESTS += tests/integration/history_view_test
tests_integration_history_view_test_SOURCES = tests/integration/test-history-view.c \
	tests/harness/cli-run.c tests/harness/cli-run.h
tests_integration_history_view_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(JSONC_CFLAGS)
tests_integration_history_view_test_LDADD = $(PW_TEST_LIBS) $(PW_CLI_LIBS) $(CRITERION_LIBS) -lutil
EXTRA_tests_integration_history_view_test_DEPENDENCIES = pricewatch$(EXEEXT)
