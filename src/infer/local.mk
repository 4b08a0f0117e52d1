# src/infer/local.mk: the ONNX inference core (loader, reference kernels, CPU backend) and its tests.

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

PW_INFER_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_builddir)/src/infer/proto -I$(top_srcdir)/src/infer

noinst_LIBRARIES += src/infer/libpwinfer.a
src_infer_libpwinfer_a_SOURCES = \
	src/infer/internal.h src/infer/onnx-pb.h \
	src/infer/error.c src/infer/tensor.c src/infer/attr.c \
	src/infer/onnx-load.c src/infer/session.c src/infer/session.h src/infer/arena.c src/infer/passes.c src/infer/backend-cpu.c \
	src/infer/ops/dispatch.c src/infer/ops/elementwise.c src/infer/ops/conv.c \
	src/infer/ops/gemm.c src/infer/ops/pool.c src/infer/ops/norm.c src/infer/ops/shape.c \
	include/pricewatch/infer.h include/pricewatch/backend.h
nodist_src_infer_libpwinfer_a_SOURCES = $(INFER_PB_GEN)
src_infer_libpwinfer_a_CPPFLAGS = $(PW_INFER_CPPFLAGS)
src_infer_libpwinfer_a_CFLAGS = $(AM_CFLAGS) -Wno-unknown-pragmas $(PROTOBUFC_CFLAGS) $(OPENMP_CFLAGS)
PW_INFER_LIBS = src/infer/libpwinfer.a $(PROTOBUFC_LIBS) $(OPENMP_CFLAGS) -lm

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
