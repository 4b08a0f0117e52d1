# src/cli/local.mk: the pricewatch CLI, one file per command; libpwcli holds all but main() so tests can link it.
noinst_LIBRARIES += src/cli/libpwcli.a
src_cli_libpwcli_a_SOURCES = \
	src/cli/cli.h \
	src/cli/cmd.c src/cli/output.c src/cli/progress.c src/cli/progress.h \
	src/cli/cmd-history.c src/cli/cmd-listings.c \
	src/cli/cmd-extract.c src/cli/cmd-robots.c \
	src/cli/npy.c src/cli/npy.h src/cli/cmd-infer.c src/cli/cmd-embed.c src/cli/cmd-bench.c
src_cli_libpwcli_a_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
PW_CLI_LIBS = src/cli/libpwcli.a $(PW_EXTRACT_LIBS) $(PW_CRAWL_LIBS) $(PW_STORE_LIBS) $(JSONC_LIBS)
# infer, embed and bench run the inference core.
PW_CLI_LIBS += $(PW_INFER_LIBS)

bin_PROGRAMS += pricewatch
pricewatch_SOURCES = src/cli/pricewatch.c src/cli/cli.h
pricewatch_CFLAGS = $(AM_CFLAGS)
pricewatch_LDADD = $(PW_CLI_LIBS)

# Unit: argument handling, option precedence, CSV/JSON/table formatting (no Redis needed).
# Integration: the built pricewatch binary against a real redis-server filled through store_record.
check_PROGRAMS += tests/unit/cli_test tests/integration/cli_test
TESTS += tests/unit/cli_test tests/integration/cli_test
tests_unit_cli_test_SOURCES = tests/unit/test-cli.c tests/harness/cli-run.c tests/harness/cli-run.h
tests_unit_cli_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(JSONC_CFLAGS)
tests_unit_cli_test_LDADD = $(PW_CLI_LIBS) $(CRITERION_LIBS)
tests_integration_cli_test_SOURCES = tests/integration/test-cli.c
tests_integration_cli_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(JSONC_CFLAGS)
tests_integration_cli_test_LDADD = $(PW_TEST_LIBS) $(PW_STORE_LIBS) $(JSONC_LIBS) $(CRITERION_LIBS)
# The integration test runs the built binary, so building the test builds it first.
EXTRA_tests_integration_cli_test_DEPENDENCIES = pricewatch$(EXEEXT)

# .npy reader/writer against good and hostile files; infer/embed/bench through the built binary.
check_PROGRAMS += tests/unit/npy_test tests/integration/infer_cli_test
TESTS += tests/unit/npy_test tests/integration/infer_cli_test
tests_unit_npy_test_SOURCES = tests/unit/test-npy.c
tests_unit_npy_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_npy_test_LDADD = $(PW_CLI_LIBS) $(CRITERION_LIBS)
tests_integration_infer_cli_test_SOURCES = tests/integration/test-infer-cli.c
tests_integration_infer_cli_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(JSONC_CFLAGS)
tests_integration_infer_cli_test_LDADD = $(PW_TEST_LIBS) $(PW_CLI_LIBS) $(CRITERION_LIBS)
EXTRA_tests_integration_infer_cli_test_DEPENDENCIES = pricewatch$(EXEEXT)

# price, status and alerts, and the input reader extract and robots share.
src_cli_libpwcli_a_SOURCES += src/cli/input.c src/cli/cmd-price.c src/cli/cmd-status.c src/cli/cmd-alerts.c
src_cli_libpwcli_a_CFLAGS += $(HIREDIS_CFLAGS)
PW_CLI_LIBS += $(PW_ALERT_LIBS)

# The shared input reader; "no data yet" without a URL or a state dir.
check_PROGRAMS += tests/unit/cli_input_test
TESTS += tests/unit/cli_input_test
tests_unit_cli_input_test_SOURCES = tests/unit/test-cli-input.c tests/harness/cli-run.c tests/harness/cli-run.h
tests_unit_cli_input_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(JSONC_CFLAGS)
tests_unit_cli_input_test_LDADD = $(PW_CLI_LIBS) $(CRITERION_LIBS)

# status and alerts against a real redis-server filled through the store, jobs and alert queue APIs.
check_PROGRAMS += tests/integration/cli_status_test tests/integration/cli_alerts_test
TESTS += tests/integration/cli_status_test tests/integration/cli_alerts_test
tests_integration_cli_status_test_SOURCES = tests/integration/test-cli-status.c tests/harness/cli-run.c tests/harness/cli-run.h
tests_integration_cli_status_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(JSONC_CFLAGS)
tests_integration_cli_status_test_LDADD = $(PW_TEST_LIBS) $(PW_CLI_LIBS) $(CRITERION_LIBS)
tests_integration_cli_alerts_test_SOURCES = tests/integration/test-cli-alerts.c tests/harness/cli-run.c tests/harness/cli-run.h
tests_integration_cli_alerts_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(JSONC_CFLAGS) $(HIREDIS_CFLAGS)
tests_integration_cli_alerts_test_LDADD = $(PW_TEST_LIBS) $(PW_CLI_LIBS) $(CRITERION_LIBS)

# The progress bar's rendering and its tty/plain switch.
check_PROGRAMS += tests/unit/progress_test
TESTS += tests/unit/progress_test
tests_unit_progress_test_SOURCES = tests/unit/test-progress.c
tests_unit_progress_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_progress_test_LDADD = $(PW_CLI_LIBS) $(CRITERION_LIBS)

# chart draws with the chart module (cairo).
src_cli_libpwcli_a_SOURCES += src/cli/cmd-chart.c
PW_CLI_LIBS += $(PW_CHART_LIBS)

# catalog and match: the user's catalogue and matching images to it (helper "recognise", issue #6).
src_cli_libpwcli_a_SOURCES += src/cli/cmd-catalog.c src/cli/cmd-match.c
PW_CLI_LIBS += $(PW_DESCRIPTOR_LIBS)

# notify test CHANNEL: one test message through a configured notifier (helper "alerts", issue #7).
src_cli_libpwcli_a_SOURCES += src/cli/cmd-notify.c
check_PROGRAMS += tests/integration/notify_test
TESTS += tests/integration/notify_test
tests_integration_notify_test_SOURCES = tests/integration/test-notify.c tests/harness/cli-run.c tests/harness/cli-run.h
tests_integration_notify_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(JSONC_CFLAGS)
tests_integration_notify_test_LDADD = $(PW_TEST_LIBS) $(PW_CLI_LIBS) $(CRITERION_LIBS)

# crawl: one foreground crawl of a source with the daemon's crawler (src/daemon/crawler.c) and fetch engine.
src_cli_libpwcli_a_SOURCES += src/cli/cmd-crawl.c src/daemon/crawler.c src/daemon/crawler.h
src_cli_libpwcli_a_CFLAGS += $(CURL_CFLAGS)
