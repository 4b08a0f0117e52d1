# src/backends/common/local.mk: what the accelerator backend plugins share (the kernels' source, the GPU lowering, a PIC build of the CPU kernels) and the failing test backend.

# kernels.cl is embedded in the OpenCL plugin as a C string (kernels-cl.h, generated) and compiled by nvcc for CUDA.
EXTRA_DIST += src/backends/common/kernels.cl
BUILT_SOURCES += src/backends/common/kernels-cl.h
CLEANFILES += src/backends/common/kernels-cl.h
src/backends/common/kernels-cl.h: $(srcdir)/src/backends/common/kernels.cl
	$(AM_V_GEN)$(MKDIR_P) src/backends/common && \
	sed -e 's/^/"/' -e 's/$$/\\n"/' $(srcdir)/src/backends/common/kernels.cl > $@-t && mv $@-t $@

# The inference core's kernels and helpers compiled position-independent, for plugins (only pw_backend_entry is
# exported from each plugin: -fvisibility=hidden). Plugins are never unmapped (-z nodelete): GPU runtimes and
# ICD loaders keep global state that does not survive being unloaded and loaded again.
PW_BACKEND_PIC_CFLAGS = $(AM_CFLAGS) -Wno-unknown-pragmas -fPIC -fvisibility=hidden $(OPENMP_CFLAGS)
PW_BACKEND_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/src/infer
PW_BACKEND_SO_LINKFLAGS = $(AM_LDFLAGS) -shared -Wl,-Bsymbolic -Wl,-z,nodelete
noinst_LIBRARIES += src/backends/libpwbackend-pic.a
src_backends_libpwbackend_pic_a_SOURCES = \
	src/backends/common/gpu.h src/backends/common/gpu-backend.c \
	src/infer/backend-cpu.c src/infer/error.c src/infer/tensor.c src/infer/attr.c \
	src/infer/ops/dispatch.c src/infer/ops/elementwise.c src/infer/ops/conv.c \
	src/infer/ops/gemm.c src/infer/ops/pool.c src/infer/ops/norm.c src/infer/ops/shape.c \
	src/infer/kernels/cpu.c src/infer/kernels/act.c src/infer/kernels/sgemm.c src/infer/kernels/pointwise.c src/infer/kernels/conv-fast.c \
	src/infer/kernels/fused.c src/infer/kernels/dw-kxk.c src/infer/kernels/eltwise.c
src_backends_libpwbackend_pic_a_CPPFLAGS = $(PW_BACKEND_CPPFLAGS)
src_backends_libpwbackend_pic_a_CFLAGS = $(PW_BACKEND_PIC_CFLAGS)
PW_BACKEND_PIC_LIBS = src/backends/libpwbackend-pic.a $(OPENMP_CFLAGS) -lm

# Installed plugins (OpenCL, CUDA) go where infer_backend_open looks by default.
backendsdir = $(pkglibdir)/backends
backends_PROGRAMS =

# "flaky": the CPU kernels behind a backend that fails at run time on demand (PW_FLAKY_FAIL_AFTER), for the
# fallback tests.
check_PROGRAMS += src/backends/flaky/pw-backend-flaky.so
src_backends_flaky_pw_backend_flaky_so_SOURCES = src/backends/flaky/flaky.c
src_backends_flaky_pw_backend_flaky_so_CPPFLAGS = $(PW_BACKEND_CPPFLAGS)
src_backends_flaky_pw_backend_flaky_so_CFLAGS = $(PW_BACKEND_PIC_CFLAGS)
src_backends_flaky_pw_backend_flaky_so_LDFLAGS = $(PW_BACKEND_SO_LINKFLAGS)
src_backends_flaky_pw_backend_flaky_so_LDADD = $(PW_BACKEND_PIC_LIBS)

check_PROGRAMS += tests/unit/backend_test
TESTS += tests/unit/backend_test
tests_unit_backend_test_SOURCES = tests/unit/test-backend.c
tests_unit_backend_test_CPPFLAGS = $(PW_INFER_CPPFLAGS)
tests_unit_backend_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_backend_test_LDADD = $(PW_INFER_LIBS) $(CRITERION_LIBS)
EXTRA_tests_unit_backend_test_DEPENDENCIES = src/backends/flaky/pw-backend-flaky.so

check_PROGRAMS += tests/integration/backend_cli_test
TESTS += tests/integration/backend_cli_test
tests_integration_backend_cli_test_SOURCES = tests/integration/test-backend-cli.c
tests_integration_backend_cli_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(JSONC_CFLAGS)
tests_integration_backend_cli_test_LDADD = $(PW_TEST_LIBS) $(PW_COMMON_LIBS) $(JSONC_LIBS) $(CRITERION_LIBS)
EXTRA_tests_integration_backend_cli_test_DEPENDENCIES = pricewatch$(EXEEXT) src/backends/flaky/pw-backend-flaky.so
