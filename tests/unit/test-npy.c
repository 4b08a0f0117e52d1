/* test-npy.c: the strict .npy reader and writer against NumPy's files, round trips and hostile files. */
#include "config.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/npy.h"

static char dir[] = "/tmp/pw-npy-test-XXXXXX";
static char path[512];
static char err[512];

static void
setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_lt(snprintf(path, sizeof path, "%s/t.npy", dir), (int)sizeof path);
}

static void
teardown(void)
{
	unlink(path);
	rmdir(dir);
}

TestSuite(npy, .init = setup, .fini = teardown);

/* Writes a .npy file of version major.0 with header text hdr (padded with spaces to 64, '\n'
 * appended unless raw) followed by len bytes of data. */
static void
write_raw(int major, const char *hdr, bool raw, const void *data, size_t len)
{
	size_t prefix = major == 1 ? 10 : 12, hlen = strlen(hdr);
	size_t total = raw ? hlen : hlen + 1 + (64 - (prefix + hlen + 1) % 64) % 64;
	FILE *f = fopen(path, "wb");
	unsigned char pre[12] = { 0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char)major, 0 };

	cr_assert_not_null(f);
	pre[8] = (unsigned char)(total & 0xff);
	pre[9] = (unsigned char)(total >> 8 & 0xff);
	pre[10] = (unsigned char)(total >> 16 & 0xff);
	pre[11] = (unsigned char)(total >> 24 & 0xff);
	cr_assert_eq(fwrite(pre, 1, prefix, f), prefix);
	cr_assert_eq(fwrite(hdr, 1, hlen, f), hlen);
	for (size_t i = hlen; !raw && i + 1 < total; i++)
		fputc(' ', f);
	if (!raw)
		fputc('\n', f);
	if (len > 0)
		cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static void
write_bytes(const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f);
	if (len > 0)
		cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

/* Reads path expecting failure with a message containing want (and the file name). */
static void
expect_refused(const char *want)
{
	infer_tensor t;

	memset(&t, 0x55, sizeof t);
	cr_assert_not(npy_read(path, &t, 0, err, sizeof err), "accepted; wanted '%s'", want);
	cr_assert_null(t.data);
	cr_assert_not_null(strstr(err, want), "message '%s' lacks '%s'", err, want);
	cr_assert_not_null(strstr(err, path), "message '%s' does not name the file", err);
}

Test(npy, reads_numpy_file)
{
	const char *top = getenv("PW_TOP_SRCDIR");
	char real[512];
	infer_tensor t;
	const float *v;

	cr_assert_lt(snprintf(real, sizeof real, "%s/data/models/mobilenetv2-nsfwjs.input.npy",
	    top != NULL ? top : ".."), (int)sizeof real);
	cr_assert(npy_read(real, &t, 0, err, sizeof err), "%s", err);
	cr_assert_eq(t.dtype, INFER_DTYPE_FLOAT);
	cr_assert_eq(t.ndim, 4);
	cr_assert_eq(t.dims[0], 1);
	cr_assert_eq(t.dims[1], 3);
	cr_assert_eq(t.dims[2], 224);
	cr_assert_eq(t.dims[3], 224);
	/* An RGB image scaled to [0,1]. */
	v = t.data;
	for (int64_t i = 0; i < 3 * 224 * 224; i++)
		cr_assert(v[i] >= 0.0f && v[i] <= 1.0f, "value %lld = %g", (long long)i, v[i]);
	infer_tensor_release(&t);
}

Test(npy, float_round_trip)
{
	float vals[6] = { 1.5f, -2.25f, 0.0f, 3e-8f, 1e30f, -0.0f };
	infer_tensor t = { .dtype = INFER_DTYPE_FLOAT, .ndim = 2, .dims = { 2, 3 }, .data = vals }, r;
	FILE *f;
	char head[128];
	long size;

	cr_assert(npy_write(path, &t, err, sizeof err), "%s", err);
	/* NumPy's layout: version 1.0, dictionary text, data on a 64-byte boundary. */
	f = fopen(path, "rb");
	cr_assert_not_null(f);
	cr_assert_eq(fread(head, 1, 128, f), 128);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fclose(f);
	cr_assert_eq(memcmp(head, "\x93NUMPY\x01\x00", 8), 0);
	cr_assert_eq(head[127], '\n');
	cr_assert_eq(memcmp(head + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 59), 0);
	cr_assert_eq(size, 128 + 24);

	cr_assert(npy_read(path, &r, 0, err, sizeof err), "%s", err);
	cr_assert_eq(r.dtype, INFER_DTYPE_FLOAT);
	cr_assert_eq(r.ndim, 2);
	cr_assert_eq(r.dims[0], 2);
	cr_assert_eq(r.dims[1], 3);
	cr_assert_eq(memcmp(r.data, vals, sizeof vals), 0);
	infer_tensor_release(&r);
}

Test(npy, int64_scalar_and_vector)
{
	int64_t vals[3] = { -1, INT64_MAX, 42 };
	infer_tensor t = { .dtype = INFER_DTYPE_INT64, .ndim = 1, .dims = { 3 }, .data = vals }, r;
	infer_tensor s = { .dtype = INFER_DTYPE_INT64, .ndim = 0, .data = vals + 2 };

	cr_assert(npy_write(path, &t, err, sizeof err), "%s", err);
	cr_assert(npy_read(path, &r, 0, err, sizeof err), "%s", err);
	cr_assert_eq(r.dtype, INFER_DTYPE_INT64);
	cr_assert_eq(r.ndim, 1);
	cr_assert_eq(r.dims[0], 3);
	cr_assert_eq(memcmp(r.data, vals, sizeof vals), 0);
	infer_tensor_release(&r);

	cr_assert(npy_write(path, &s, err, sizeof err), "%s", err);
	cr_assert(npy_read(path, &r, 0, err, sizeof err), "%s", err);
	cr_assert_eq(r.ndim, 0);
	cr_assert_eq(((int64_t *)r.data)[0], 42);
	infer_tensor_release(&r);
}

Test(npy, float64_is_converted)
{
	double vals[3] = { 0.1, -1e10, 65504.5 };
	infer_tensor r;

	write_raw(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", false, vals, sizeof vals);
	cr_assert(npy_read(path, &r, 0, err, sizeof err), "%s", err);
	cr_assert_eq(r.dtype, INFER_DTYPE_FLOAT);
	cr_assert_eq(r.ndim, 1);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(((float *)r.data)[i], (float)vals[i]);
	infer_tensor_release(&r);
}

Test(npy, versions_2_and_3_and_header_quirks)
{
	float v[2] = { 7, 8 };
	infer_tensor r;

	write_raw(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", false, v, sizeof v);
	cr_assert(npy_read(path, &r, 0, err, sizeof err), "%s", err);
	cr_assert_eq(r.dims[1], 2);
	infer_tensor_release(&r);
	/* Double quotes, keys in another order, no trailing comma, Python 2 "L" integers. */
	write_raw(3, "{\"shape\": (2L,), \"fortran_order\": False, \"descr\": \"<f4\"}", false, v, sizeof v);
	cr_assert(npy_read(path, &r, 0, err, sizeof err), "%s", err);
	cr_assert_eq(r.ndim, 1);
	cr_assert_eq(((float *)r.data)[1], 8.0f);
	infer_tensor_release(&r);
}

Test(npy, empty_array)
{
	infer_tensor r;

	write_raw(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", false, NULL, 0);
	cr_assert(npy_read(path, &r, 0, err, sizeof err), "%s", err);
	cr_assert_eq(r.ndim, 2);
	cr_assert_eq(r.dims[0], 0);
	cr_assert_eq(infer_tensor_numel(&r), 0);
	infer_tensor_release(&r);
}

Test(npy, refuses_fortran_order)
{
	float v[4] = { 0 };

	write_raw(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", false, v, sizeof v);
	expect_refused("fortran_order True is not supported");
}

Test(npy, refuses_other_dtypes)
{
	static const char *const bad[] = { "'>f4'", "'<f2'", "'|u1'", "'<i4'", "'|b1'", "'<U3'" };
	char hdr[128];
	char data[64] = { 0 };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(hdr, sizeof hdr, "{'descr': %s, 'fortran_order': False, 'shape': (2,), }", bad[i]);
		write_raw(1, hdr, false, data, 8);
		expect_refused("is not supported");
	}
	write_raw(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", false, data, 8);
	expect_refused("big-endian");
	write_raw(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", false, data, 8);
	expect_refused("structured dtypes");
}

Test(npy, refuses_truncated_files)
{
	float v[6] = { 0 };
	static const unsigned char magic_only[] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0 };
	static const unsigned char short_len[] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 10, 0 };
	static const unsigned char long_hdr[] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0x80, 0, '{', '}' };

	write_raw(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", false, v, sizeof v - 1);
	expect_refused("truncated: shape (2, 3) needs 24 bytes of data, the file has 23");
	write_bytes(magic_only, sizeof magic_only);
	expect_refused("not a .npy file");
	write_bytes(short_len, sizeof short_len);
	expect_refused("truncated .npy header");
	write_bytes(long_hdr, sizeof long_hdr);
	expect_refused("truncated: the header says 128 bytes");
	write_bytes("", 0);
	expect_refused("not a .npy file");
}

Test(npy, refuses_trailing_bytes)
{
	float v[3] = { 1, 2, 3 };

	write_raw(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", false, v, sizeof v);
	expect_refused("4 bytes after the data");
}

Test(npy, refuses_huge_shapes_before_allocating)
{
	float v[2] = { 0 };

	/* 10^15 elements claimed by a 100-byte file: refused from the header alone. */
	write_raw(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 100000), }", false,
	    v, sizeof v);
	expect_refused("has more than");
	write_raw(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }", false,
	    v, sizeof v);
	expect_refused("dimension too large");
	/* Within the element limit but far more data than the file has. */
	write_raw(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (16384, 16384), }", false, v, sizeof v);
	expect_refused("truncated");
	write_raw(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }", false,
	    v, 4);
	expect_refused("more than 8 dimensions");
	write_raw(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", false, v, sizeof v);
	expect_refused("negative dimension");
}

Test(npy, max_elems_is_honoured)
{
	float v[8] = { 0 };
	infer_tensor r;

	write_raw(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (8,), }", false, v, sizeof v);
	cr_assert_not(npy_read(path, &r, 4, err, sizeof err));
	cr_assert_not_null(strstr(err, "more than 4 elements"), "%s", err);
	cr_assert(npy_read(path, &r, 8, err, sizeof err), "%s", err);
	infer_tensor_release(&r);
}

Test(npy, refuses_huge_header_length)
{
	static const unsigned char hdr[] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0, 0, 0, 0x40, '{', '}' };

	/* A 1 GiB header claimed in a 14-byte file. */
	write_bytes(hdr, sizeof hdr);
	expect_refused("larger than the 65536 allowed");
}

Test(npy, refuses_bad_versions_and_magic)
{
	static const unsigned char v4[] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 4, 0, 2, 0, '{', '}' };
	static const unsigned char v11[] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 1, 2, 0, '{', '}' };
	static const unsigned char png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13 };

	write_bytes(v4, sizeof v4);
	expect_refused("version 4.0 is not supported");
	write_bytes(v11, sizeof v11);
	expect_refused("version 1.1 is not supported");
	write_bytes(png, sizeof png);
	expect_refused("not a .npy file");
}

Test(npy, refuses_malformed_headers)
{
	static const struct {
		const char *hdr, *want;
	} cases[] = {
		{ "{'descr': '<f4', 'fortran_order': False}", "missing 'shape'" },
		{ "{'descr': '<f4', 'shape': (1,)}", "missing 'fortran_order'" },
		{ "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", "repeated key" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", "unknown" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (1)}", "not a tuple" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': [1]}", "must be a tuple" },
		{ "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", "True or False" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x", "after the closing" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (1 2)}", "expected ',' or ')'" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", "expected ',' or '}'" },
		{ "{'descr: '<f4'}", "expected ':'" },
		{ "{'des\\'cr': '<f4'}", "escapes" },
		{ "", "expected '{'" },
		{ "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'descr", "unterminated string" },
	};
	float v = 0;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		write_raw(1, cases[i].hdr, false, &v, sizeof v);
		expect_refused(cases[i].want);
	}
}

Test(npy, refuses_nul_in_header)
{
	char hdr[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }";
	infer_tensor t;
	size_t es;

	hdr[3] = '\0';
	cr_assert_not(npy_parse_header(hdr, sizeof hdr - 1, &t, &es, err, sizeof err));
	cr_assert_not_null(strstr(err, "NUL"), "%s", err);
}

Test(npy, refuses_non_files)
{
	infer_tensor t;

	cr_assert_not(npy_read(dir, &t, 0, err, sizeof err));
	cr_assert_not_null(strstr(err, "not a regular file"), "%s", err);
	/* A FIFO with no writer would block a plain fopen(). */
	cr_assert_eq(mkfifo(path, 0600), 0);
	cr_assert_not(npy_read(path, &t, 0, err, sizeof err));
	cr_assert_not_null(strstr(err, "not a regular file"), "%s", err);
	cr_assert_not(npy_read("/nonexistent/x.npy", &t, 0, err, sizeof err));
	cr_assert_not_null(strstr(err, "/nonexistent/x.npy: No such file"), "%s", err);
}

Test(npy, write_errors_are_reported)
{
	float v = 1;
	infer_tensor t = { .dtype = INFER_DTYPE_FLOAT, .ndim = 1, .dims = { 1 }, .data = &v };

	cr_assert_not(npy_write("/nonexistent/dir/x.npy", &t, err, sizeof err));
	cr_assert_not_null(strstr(err, "/nonexistent/dir/x.npy"), "%s", err);
	t.dims[0] = -1;
	cr_assert_not(npy_write(path, &t, err, sizeof err));
	cr_assert_not_null(strstr(err, "invalid tensor"), "%s", err);
}
