# src/backends/opencl/local.mk: the "opencl" backend plugin (installed in $(pkglibdir)/backends) and its tests on any OpenCL platform (PoCL in CI).

if HAVE_OPENCL
backends_PROGRAMS += src/backends/opencl/pw-backend-opencl.so
src_backends_opencl_pw_backend_opencl_so_SOURCES = src/backends/opencl/opencl.c
src_backends_opencl_pw_backend_opencl_so_CPPFLAGS = $(PW_BACKEND_CPPFLAGS) $(OPENCL_CFLAGS)
src_backends_opencl_pw_backend_opencl_so_CFLAGS = $(PW_BACKEND_PIC_CFLAGS)
src_backends_opencl_pw_backend_opencl_so_LDFLAGS = $(PW_BACKEND_SO_LINKFLAGS)
src_backends_opencl_pw_backend_opencl_so_LDADD = $(PW_BACKEND_PIC_LIBS) $(OPENCL_LIBS)
src/backends/opencl/pw_backend_opencl_so-opencl.$(OBJEXT): src/backends/common/kernels-cl.h

check_PROGRAMS += tests/unit/backend_opencl_test
TESTS += tests/unit/backend_opencl_test
tests_unit_backend_opencl_test_SOURCES = tests/unit/test-backend-gpu.c
tests_unit_backend_opencl_test_CPPFLAGS = $(PW_INFER_CPPFLAGS) -DPW_TEST_BACKEND=\"opencl\"
tests_unit_backend_opencl_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_backend_opencl_test_LDADD = $(PW_INFER_LIBS) $(CRITERION_LIBS)
EXTRA_tests_unit_backend_opencl_test_DEPENDENCIES = src/backends/opencl/pw-backend-opencl.so
endif
