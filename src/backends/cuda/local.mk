# src/backends/cuda/local.mk: the "cuda" backend plugin (installed in $(pkglibdir)/backends; built wherever nvcc is, run only with an NVIDIA GPU) and its tests.

EXTRA_DIST += src/backends/cuda/kernels.cu bench/gpu-check.sh
if HAVE_CUDA
# nvcc compiles the kernels (Turing sm_75, Hopper sm_90 and PTX for later GPUs); gcc compiles and links the rest.
PW_NVCC_FLAGS = -O3 -std=c++17 -gencode arch=compute_75,code=sm_75 -gencode arch=compute_90,code=[sm_90,compute_90] -Xcompiler -fPIC,-fvisibility=hidden -I$(top_srcdir)/src
src/backends/cuda/kernels.$(OBJEXT): $(srcdir)/src/backends/cuda/kernels.cu $(srcdir)/src/backends/common/kernels.cl
	$(AM_V_GEN)$(MKDIR_P) src/backends/cuda && $(NVCC) $(PW_NVCC_FLAGS) -c -o $@ $(srcdir)/src/backends/cuda/kernels.cu
CLEANFILES += src/backends/cuda/kernels.$(OBJEXT)

backends_PROGRAMS += src/backends/cuda/pw-backend-cuda.so
src_backends_cuda_pw_backend_cuda_so_SOURCES = src/backends/cuda/cuda.c
src_backends_cuda_pw_backend_cuda_so_CPPFLAGS = $(PW_BACKEND_CPPFLAGS) $(CUDA_CFLAGS)
src_backends_cuda_pw_backend_cuda_so_CFLAGS = $(PW_BACKEND_PIC_CFLAGS)
src_backends_cuda_pw_backend_cuda_so_LDFLAGS = $(PW_BACKEND_SO_LINKFLAGS)
src_backends_cuda_pw_backend_cuda_so_LDADD = src/backends/cuda/kernels.$(OBJEXT) $(PW_BACKEND_PIC_LIBS) $(CUDA_LIBS) -lstdc++

check_PROGRAMS += tests/unit/backend_cuda_test
TESTS += tests/unit/backend_cuda_test
tests_unit_backend_cuda_test_SOURCES = tests/unit/test-backend-gpu.c
tests_unit_backend_cuda_test_CPPFLAGS = $(PW_INFER_CPPFLAGS) -DPW_TEST_BACKEND=\"cuda\"
tests_unit_backend_cuda_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_backend_cuda_test_LDADD = $(PW_INFER_LIBS) $(CRITERION_LIBS)
EXTRA_tests_unit_backend_cuda_test_DEPENDENCIES = src/backends/cuda/pw-backend-cuda.so
endif
