# src/daemon/ops.mk: pricewatchd's operations pieces: metrics registry, admin HTTP endpoint, sd_notify, systemd unit.
noinst_LIBRARIES += src/daemon/libpwops.a
src_daemon_libpwops_a_SOURCES = \
	src/daemon/metrics.c src/daemon/metrics.h \
	src/daemon/notify.c src/daemon/notify.h \
	src/daemon/admin.c src/daemon/admin.h
src_daemon_libpwops_a_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(CRYPTO_CFLAGS) $(HIREDIS_CFLAGS) $(MHD_CFLAGS)
PW_OPS_MHD_LIBS = $(MHD_LIBS)
# The admin endpoint shares the CLI's JSON emitters, so /api/listings/ID/history matches `pricewatch history --json`.
PW_OPS_LIBS = src/daemon/libpwops.a $(PW_CLI_LIBS) $(PW_OPS_MHD_LIBS) -lpthread

# Unit: the registry and its exposition-format writer, checked by a strict line parser (and promtool when
# installed); sd_notify against a real datagram socket. Integration: the endpoint over real sockets with
# libcurl and a real redis-server.
check_PROGRAMS += tests/unit/metrics_test tests/unit/notify_test tests/integration/admin_test
TESTS += tests/unit/metrics_test tests/unit/notify_test tests/integration/admin_test
tests_unit_metrics_test_SOURCES = tests/unit/test-metrics.c
tests_unit_metrics_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_metrics_test_LDADD = $(PW_OPS_LIBS) $(CRITERION_LIBS)
tests_unit_notify_test_SOURCES = tests/unit/test-notify.c
tests_unit_notify_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_notify_test_LDADD = $(PW_OPS_LIBS) $(CRITERION_LIBS)
tests_integration_admin_test_SOURCES = tests/integration/test-admin.c
tests_integration_admin_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(CURL_CFLAGS) $(JSONC_CFLAGS) \
	$(HIREDIS_CFLAGS)
tests_integration_admin_test_LDADD = $(PW_TEST_LIBS) $(PW_OPS_LIBS) $(CURL_LIBS) $(CRITERION_LIBS)
# One test compares /api/listings/ID/history with the built CLI's `history --json`.
EXTRA_tests_integration_admin_test_DEPENDENCIES = pricewatch$(EXEEXT)

# The systemd unit, with this build's paths filled in. It installs under $(prefix) (so distcheck's
# private prefix works); packagers pass systemdunitdir=/lib/systemd/system to make install.
systemdunitdir = $(prefix)/lib/systemd/system
systemdunit_DATA = data/pricewatchd.service
EXTRA_DIST += data/pricewatchd.service.in
CLEANFILES += data/pricewatchd.service
data/pricewatchd.service: $(srcdir)/data/pricewatchd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) data && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	    -e 's|@localstatedir[@]|$(localstatedir)|g' \
	    $(srcdir)/data/pricewatchd.service.in > $@.tmp && mv -f $@.tmp $@

# The real daemon under a systemd-like supervisor: notify socket, reload, stop, admin endpoint.
check_PROGRAMS += tests/integration/opsd_test
TESTS += tests/integration/opsd_test
tests_integration_opsd_test_SOURCES = tests/integration/test-ops-daemon.c
tests_integration_opsd_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(CURL_CFLAGS)
tests_integration_opsd_test_LDADD = $(CURL_LIBS) $(CRITERION_LIBS)
EXTRA_tests_integration_opsd_test_DEPENDENCIES = pricewatchd$(EXEEXT)

# A running daemon that embeds a listing image: /metrics times the inference, `pricewatch status` shows the model
# and backend each daemon publishes in pw:daemon:NAME.
check_PROGRAMS += tests/integration/ops_recognise_test
TESTS += tests/integration/ops_recognise_test
tests_integration_ops_recognise_test_SOURCES = tests/integration/test-ops-recognise.c \
	tests/integration/test-recognise-util.h tests/harness/cli-run.c tests/harness/cli-run.h
tests_integration_ops_recognise_test_CFLAGS = $(PW_RECOGNISE_TEST_CFLAGS) $(CURL_CFLAGS)
tests_integration_ops_recognise_test_LDADD = $(PW_RECOGNISE_TEST_LIBS) $(CURL_LIBS)
EXTRA_tests_integration_ops_recognise_test_DEPENDENCIES = pricewatchd$(EXEEXT)
# Both admin-endpoint tests GET through the shared harness helper (helper "cleanup-tests").
tests_integration_opsd_test_SOURCES += tests/harness/http-get.c tests/harness/http-get.h
tests_integration_ops_recognise_test_SOURCES += tests/harness/http-get.c tests/harness/http-get.h
