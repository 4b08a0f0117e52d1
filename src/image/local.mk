# src/image/local.mk: decoding product images (WebP, JPEG, PNG), resizing to model input, pHash and colour histogram.

noinst_LIBRARIES += src/image/libpwimage.a
src_image_libpwimage_a_SOURCES = \
	src/image/image.h \
	src/image/decode.c \
	src/image/resize.c \
	src/image/phash.c \
	src/image/histogram.c
src_image_libpwimage_a_CFLAGS = $(AM_CFLAGS) $(WEBP_CFLAGS) $(JPEG_CFLAGS) $(PNG_CFLAGS)
PW_IMAGE_LIBS = src/image/libpwimage.a $(WEBP_LIBS) $(JPEG_LIBS) $(PNG_LIBS) -lm

# Unit tests: images are encoded in the test itself with libjpeg, libpng and libwebp, plus hostile variants.
check_PROGRAMS += tests/unit/image_test tests/unit/image_resize_test
TESTS += tests/unit/image_test tests/unit/image_resize_test
tests_unit_image_test_SOURCES = tests/unit/test-image.c tests/unit/test-image-util.h
tests_unit_image_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(WEBP_CFLAGS) $(JPEG_CFLAGS) $(PNG_CFLAGS)
tests_unit_image_test_LDADD = $(PW_IMAGE_LIBS) $(CRITERION_LIBS)
tests_unit_image_resize_test_SOURCES = tests/unit/test-image-resize.c tests/unit/test-image-util.h
tests_unit_image_resize_test_CFLAGS = $(AM_CFLAGS) $(CRITERION_CFLAGS) $(WEBP_CFLAGS) $(JPEG_CFLAGS) $(PNG_CFLAGS)
tests_unit_image_resize_test_LDADD = $(PW_IMAGE_LIBS) $(CRITERION_LIBS)

# libFuzzer target (./configure --enable-fuzzing CC=clang; PW_FUZZ_CFLAGS comes from src/extract/local.mk):
#   tests/fuzz/fuzz-image -max_total_time=600 -max_len=65536 /tmp/corpus tests/fuzz/corpus-image
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz-image
tests_fuzz_fuzz_image_SOURCES = tests/fuzz/fuzz-image.c $(src_image_libpwimage_a_SOURCES)
tests_fuzz_fuzz_image_CFLAGS = $(AM_CFLAGS) $(PW_FUZZ_CFLAGS) $(WEBP_CFLAGS) $(JPEG_CFLAGS) $(PNG_CFLAGS)
tests_fuzz_fuzz_image_LDFLAGS = $(PW_FUZZ_CFLAGS)
tests_fuzz_fuzz_image_LDADD = $(WEBP_LIBS) $(JPEG_LIBS) $(PNG_LIBS) -lm
endif
EXTRA_DIST += tests/fuzz/fuzz-image.c tests/fuzz/corpus-image
