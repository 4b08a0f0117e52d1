# src/infer/local.mk: the ONNX inference core (loader, passes, reference and SIMD kernels, CPU backend, reference plugin) and its tests.

# onnx.pb-c.[ch] are generated from ONNX's own onnx.proto into the build directory.
INFER_PB_GEN = src/infer/proto/onnx.pb-c.c src/infer/proto/onnx.pb-c.h
BUILT_SOURCES += $(INFER_PB_GEN)
CLEANFILES += $(INFER_PB_GEN)
EXTRA_DIST += src/infer/proto/onnx.proto src/infer/proto/LICENSE-onnx
src/infer/proto/onnx.pb-c.c: $(srcdir)/src/infer/proto/onnx.proto
	$(AM_V_GEN)$(MKDIR_P) src/infer/proto && \
	$(PROTOC_C) --proto_path=$(srcdir)/src/infer/proto --c_out=src/infer/proto $(srcdir)/src/infer/proto/onnx.proto
src/infer/proto/onnx.pb-c.h: src/infer/proto/onnx.pb-c.c
	@test -f $@ || { rm -f src/infer/proto/onnx.pb-c.c; $(MAKE) $(AM_MAKEFLAGS) src/infer/proto/onnx.pb-c.c; }

# A fuzzing build instruments the library too, so libFuzzer sees the loader's coverage.
if ENABLE_FUZZING
PW_INFER_FUZZ_CFLAGS = -fsanitize=fuzzer-no-link
endif
PW_INFER_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_builddir)/src/infer/proto -I$(top_srcdir)/src/infer \
	-DPW_PLUGIN_DIR='"$(pkglibdir)/backends"'

noinst_LIBRARIES += src/infer/libpwinfer.a
src_infer_libpwinfer_a_SOURCES = \
	src/infer/internal.h src/infer/onnx-pb.h \
	src/infer/error.c src/infer/tensor.c src/infer/attr.c \
	src/infer/onnx-load.c src/infer/session.c src/infer/session.h src/infer/arena.c \
	src/infer/passes.c src/infer/plugin.c src/infer/backend-cpu.c src/infer/batch.c \
	src/infer/ops/dispatch.c src/infer/ops/elementwise.c src/infer/ops/conv.c \
	src/infer/ops/gemm.c src/infer/ops/pool.c src/infer/ops/norm.c src/infer/ops/shape.c \
	src/infer/kernels/cpu.c src/infer/kernels/act.c src/infer/kernels/sgemm.c src/infer/kernels/pointwise.c src/infer/kernels/conv-fast.c \
	src/infer/kernels/fused.c src/infer/kernels/dw-kxk.c src/infer/kernels/eltwise.c src/infer/kernels/avx2.h \
	include/pricewatch/infer.h include/pricewatch/backend.h
nodist_src_infer_libpwinfer_a_SOURCES = $(INFER_PB_GEN)
src_infer_libpwinfer_a_CPPFLAGS = $(PW_INFER_CPPFLAGS)
src_infer_libpwinfer_a_CFLAGS = $(AM_CFLAGS) -Wno-unknown-pragmas $(PROTOBUFC_CFLAGS) $(OPENMP_CFLAGS) \
	$(PW_INFER_FUZZ_CFLAGS)
# BUILT_SOURCES only run before `make all/check`; these let `make <one target>` generate the header first.
src/infer/libpwinfer_a-onnx-load.$(OBJEXT) src/infer/proto/libpwinfer_a-onnx.pb-c.$(OBJEXT): \
	src/infer/proto/onnx.pb-c.h
tests/unit/infer_test-test-infer.$(OBJEXT): src/infer/proto/onnx.pb-c.h
PW_INFER_LIBS = src/infer/libpwinfer.a $(PROTOBUFC_LIBS) $(OPENMP_CFLAGS) -lm

# The "reference" backend plugin: the plain C kernels as a dlopen'ed shared object (built for the tests; the
# same sources as the built-in backend, compiled with -DPW_BACKEND_PLUGIN, only pw_backend_entry exported).
check_PROGRAMS += src/infer/pw-backend-reference.so
src_infer_pw_backend_reference_so_SOURCES = \
	src/infer/backend-cpu.c src/infer/error.c src/infer/tensor.c src/infer/attr.c \
	src/infer/ops/dispatch.c src/infer/ops/elementwise.c src/infer/ops/conv.c \
	src/infer/ops/gemm.c src/infer/ops/pool.c src/infer/ops/norm.c src/infer/ops/shape.c \
	src/infer/kernels/cpu.c src/infer/kernels/act.c src/infer/kernels/sgemm.c src/infer/kernels/pointwise.c src/infer/kernels/conv-fast.c \
	src/infer/kernels/fused.c src/infer/kernels/dw-kxk.c src/infer/kernels/eltwise.c
src_infer_pw_backend_reference_so_CPPFLAGS = $(PW_INFER_CPPFLAGS) -DPW_BACKEND_PLUGIN
src_infer_pw_backend_reference_so_CFLAGS = $(AM_CFLAGS) -Wno-unknown-pragmas -fPIC -fvisibility=hidden $(OPENMP_CFLAGS)
src_infer_pw_backend_reference_so_LDFLAGS = $(AM_LDFLAGS) -shared -Wl,-Bsymbolic
src_infer_pw_backend_reference_so_LDADD = $(OPENMP_CFLAGS) -lm

check_PROGRAMS += tests/unit/infer_test tests/conformance/onnx_conformance
TESTS += tests/unit/infer_test tests/conformance/onnx_conformance
tests_unit_infer_test_SOURCES = tests/unit/test-infer.c
tests_unit_infer_test_CPPFLAGS = $(PW_INFER_CPPFLAGS)
tests_unit_infer_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(PROTOBUFC_CFLAGS)
tests_unit_infer_test_LDADD = $(PW_INFER_LIBS) $(CRITERION_LIBS)
tests_conformance_onnx_conformance_SOURCES = tests/conformance/conformance.c
tests_conformance_onnx_conformance_CPPFLAGS = $(PW_INFER_CPPFLAGS)
tests_conformance_onnx_conformance_CFLAGS = $(AM_CFLAGS)
tests_conformance_onnx_conformance_LDADD = $(PW_INFER_LIBS)

# The loader's libFuzzer target (configure with CC=clang --enable-fuzzing); seeds in tests/fuzz/corpus-onnx/.
EXTRA_DIST += tests/fuzz/corpus-onnx
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_onnx_load
tests_fuzz_fuzz_onnx_load_SOURCES = tests/fuzz/fuzz-onnx-load.c
tests_fuzz_fuzz_onnx_load_CPPFLAGS = $(PW_INFER_CPPFLAGS)
tests_fuzz_fuzz_onnx_load_CFLAGS = $(AM_CFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_onnx_load_LDFLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
tests_fuzz_fuzz_onnx_load_LDADD = $(PW_INFER_LIBS)
endif

check_PROGRAMS += tests/unit/infer_kernels_test
TESTS += tests/unit/infer_kernels_test
tests_unit_infer_kernels_test_SOURCES = tests/unit/test-infer-kernels.c
tests_unit_infer_kernels_test_CPPFLAGS = $(PW_INFER_CPPFLAGS)
tests_unit_infer_kernels_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_infer_kernels_test_LDADD = $(PW_INFER_LIBS) $(CRITERION_LIBS)

# The reference model (data/models/mobilenetv2-nsfwjs.onnx) against ONNX Runtime's stored outputs.
check_PROGRAMS += tests/unit/infer_model_test
TESTS += tests/unit/infer_model_test
tests_unit_infer_model_test_SOURCES = tests/unit/test-infer-model.c
tests_unit_infer_model_test_CPPFLAGS = $(PW_INFER_CPPFLAGS)
tests_unit_infer_model_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS)
tests_unit_infer_model_test_LDADD = $(PW_INFER_LIBS) $(CRITERION_LIBS)

# Tuning driver for the kernels (not a test): infer_bench MODEL INPUT.npy THREADS RUNS [BATCH [ab [VAR]]].
noinst_PROGRAMS += bench/infer_bench
bench_infer_bench_SOURCES = bench/infer-bench.c
bench_infer_bench_CPPFLAGS = $(AM_CPPFLAGS)
bench_infer_bench_LDADD = $(PW_INFER_LIBS)

# The small-map 1x1 kernel against the GEMM on MobileNetV2's 7x7/14x14 shapes, weights warm and from memory
# (bench/RESULTS.md "Fourth session"): bench/pointwise-bench [ROUNDS].
noinst_PROGRAMS += bench/pointwise-bench
bench_pointwise_bench_SOURCES = bench/pointwise-bench.c
bench_pointwise_bench_CPPFLAGS = $(PW_INFER_CPPFLAGS)
bench_pointwise_bench_CFLAGS = $(AM_CFLAGS) $(OPENMP_CFLAGS)
bench_pointwise_bench_LDADD = $(PW_INFER_LIBS)
