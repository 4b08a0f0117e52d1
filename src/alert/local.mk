# src/alert/local.mk: alert rules, the durable alerts queue (pw:alerts + group "notifiers") and the notifiers.
noinst_LIBRARIES += src/alert/libpwalert.a
src_alert_libpwalert_a_SOURCES = \
	src/alert/rules.c src/alert/rules.h \
	src/alert/queue.c src/alert/queue.h \
	src/alert/webhook.c src/alert/webhook.h \
	src/alert/email.c src/alert/email.h \
	src/alert/format.c src/alert/format.h \
	src/alert/alert.c src/alert/alert.h
src_alert_libpwalert_a_CFLAGS = $(AM_CFLAGS) $(HIREDIS_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS) $(CRYPTO_CFLAGS)
PW_ALERT_LIBS = src/alert/libpwalert.a $(PW_STORE_LIBS) $(CURL_LIBS) $(JSONC_LIBS) $(CRYPTO_LIBS)

# Rule decisions (pure: every kind fires / does not fire / cooldown / re-arm).
check_PROGRAMS += tests/unit/alert_rules_test
TESTS += tests/unit/alert_rules_test
tests_unit_alert_rules_test_SOURCES = tests/unit/test-alert-rules.c
tests_unit_alert_rules_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_alert_rules_test_LDADD = $(PW_ALERT_LIBS) $(CRITERION_LIBS)

# Rules, state, the pw:alerts stream and the worker against a real redis-server.
check_PROGRAMS += tests/integration/alert_engine_test
TESTS += tests/integration/alert_engine_test
tests_integration_alert_engine_test_SOURCES = tests/integration/test-alert-engine.c
tests_integration_alert_engine_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(HIREDIS_CFLAGS) $(CRYPTO_CFLAGS)
tests_integration_alert_engine_test_LDADD = $(PW_TEST_LIBS) $(PW_ALERT_LIBS) $(CRITERION_LIBS)

# Webhook delivery to a receiver thread in the test (HMAC checked): retries, backoff, dead letters, SIGKILL.
check_PROGRAMS += tests/integration/alert_webhook_test
TESTS += tests/integration/alert_webhook_test
tests_integration_alert_webhook_test_SOURCES = tests/integration/test-alert-webhook.c
tests_integration_alert_webhook_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(HIREDIS_CFLAGS) $(CURL_CFLAGS) \
	$(JSONC_CFLAGS) $(CRYPTO_CFLAGS)
tests_integration_alert_webhook_test_LDADD = $(PW_TEST_LIBS) $(PW_ALERT_LIBS) $(CRITERION_LIBS)

# Email to a real SMTP server (python3-aiosmtpd, started by the test) and parsed back with Python's email package.
check_PROGRAMS += tests/integration/alert_email_test
TESTS += tests/integration/alert_email_test
tests_integration_alert_email_test_SOURCES = tests/integration/test-alert-email.c
tests_integration_alert_email_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(HIREDIS_CFLAGS) $(CURL_CFLAGS) \
	$(JSONC_CFLAGS)
tests_integration_alert_email_test_LDADD = $(PW_TEST_LIBS) $(PW_ALERT_LIBS) $(CRITERION_LIBS)

# Notifications: the crash-window sweep, product matches (undercut, new-match), tags, payload shapes and digests are
# covered by the tests above. The end-to-end bench (bench/RESULTS.md "Alerts"): built with the check programs,
# never run by make check: `make bench/alert-bench && bench/alert-bench [N]`.
check_PROGRAMS += bench/alert-bench
bench_alert_bench_SOURCES = bench/alert-bench.c
bench_alert_bench_CFLAGS = $(AM_CFLAGS) $(HIREDIS_CFLAGS) $(CURL_CFLAGS)
bench_alert_bench_LDADD = $(PW_ALERT_LIBS) -lpthread

# Every rule kind against the real daemon: --once passes over a changing fixture shop, alerts delivered by a
# second daemon's notifier to a webhook receiver (helper "alerts2"); new-match through real recognition.
check_PROGRAMS += tests/integration/alert_daemon_test
TESTS += tests/integration/alert_daemon_test
tests_integration_alert_daemon_test_SOURCES = tests/integration/test-alert-daemon.c \
	tests/integration/test-recognise-util.h tests/harness/cli-run.c tests/harness/cli-run.h
tests_integration_alert_daemon_test_CFLAGS = $(PW_RECOGNISE_TEST_CFLAGS)
tests_integration_alert_daemon_test_LDADD = $(PW_RECOGNISE_TEST_LIBS)
EXTRA_tests_integration_alert_daemon_test_DEPENDENCIES = pricewatchd$(EXEEXT)

# Email alerts embed the listing's price chart (chart_render_mem, cairo): the notifiers link the chart module.
PW_ALERT_LIBS += $(PW_CHART_LIBS)
# The SMTP AUTH tests run `pricewatch notify test` (and openssl for a test certificate).
EXTRA_tests_integration_alert_email_test_DEPENDENCIES = pricewatch$(EXEEXT)
