/* npy.c: a strict reader and writer of NumPy .npy files (format 1.0-3.0, C order, '<f4'/'<f8'/'<i8'). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/npy.h"
#include "common/util.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
/* Values are converted from '<f8' in chunks of this many, so a conversion never doubles the memory. */
#define NPY_CHUNK 4096

static bool
host_is_little_endian(void)
{
	const uint16_t one = 1;
	unsigned char b;

	memcpy(&b, &one, 1);
	return b == 1;
}

/* Reverses each elem_size-byte element of buf in place (only used on big-endian hosts). */
static void
swap_elements(void *buf, size_t count, size_t elem_size)
{
	unsigned char *p = buf;

	for (size_t i = 0; i < count; i++, p += elem_size)
		for (size_t a = 0, b = elem_size - 1; a < b; a++, b--) {
			unsigned char t = p[a];

			p[a] = p[b];
			p[b] = t;
		}
}

/* A cursor over the header text; every parse_* function returns false after writing err. */
struct hdr_cursor {
	const char *s;
	size_t len, pos;
	char *err;
	size_t errlen;
};

static bool
hdr_fail(struct hdr_cursor *c, const char *what)
{
	pw_snprintf(c->err, c->errlen, "bad header at byte %zu: %s", c->pos, what);
	return false;
}

static void
hdr_skip_ws(struct hdr_cursor *c)
{
	while (c->pos < c->len && (c->s[c->pos] == ' ' || c->s[c->pos] == '\t' || c->s[c->pos] == '\n' ||
	    c->s[c->pos] == '\r'))
		c->pos++;
}

static bool
hdr_peek(struct hdr_cursor *c, char ch)
{
	hdr_skip_ws(c);
	return c->pos < c->len && c->s[c->pos] == ch;
}

static bool
hdr_expect(struct hdr_cursor *c, char ch, const char *what)
{
	if (!hdr_peek(c, ch))
		return hdr_fail(c, what);
	c->pos++;
	return true;
}

/* A Python string literal without escapes ('...' or "..."); start and n point into the header. */
static bool
hdr_string(struct hdr_cursor *c, const char **start, size_t *n)
{
	char q;
	const char *end;

	hdr_skip_ws(c);
	if (c->pos >= c->len || (c->s[c->pos] != '\'' && c->s[c->pos] != '"'))
		return hdr_fail(c, "expected a quoted string");
	q = c->s[c->pos++];
	end = memchr(c->s + c->pos, q, c->len - c->pos);
	if (end == NULL)
		return hdr_fail(c, "unterminated string");
	*start = c->s + c->pos;
	*n = (size_t)(end - *start);
	if (memchr(*start, '\\', *n) != NULL)
		return hdr_fail(c, "escapes in strings are not supported");
	c->pos = (size_t)(end - c->s) + 1;
	return true;
}

static bool
hdr_word(struct hdr_cursor *c, const char *word)
{
	size_t n = strlen(word);

	hdr_skip_ws(c);
	if (c->len - c->pos < n || memcmp(c->s + c->pos, word, n) != 0)
		return false;
	c->pos += n;
	return true;
}

/* The shape tuple: non-negative integers, "()" for a scalar, "(3,)" for one dimension. */
static bool
hdr_shape(struct hdr_cursor *c, infer_tensor *t)
{
	size_t items = 0;
	bool trailing_comma = false;

	if (!hdr_expect(c, '(', "'shape' must be a tuple such as (1, 3, 224, 224)"))
		return false;
	t->ndim = 0;
	while (!hdr_peek(c, ')')) {
		int64_t v = 0;
		size_t digits = 0;

		if (items > 0 && !trailing_comma)
			return hdr_fail(c, "expected ',' or ')' in 'shape'");
		hdr_skip_ws(c);
		if (c->pos < c->len && c->s[c->pos] == '-')
			return hdr_fail(c, "negative dimension in 'shape'");
		while (c->pos < c->len && c->s[c->pos] >= '0' && c->s[c->pos] <= '9') {
			int d = c->s[c->pos++] - '0';

			if (v > (INT64_MAX - d) / 10)
				return hdr_fail(c, "dimension too large in 'shape'");
			v = v * 10 + d;
			digits++;
		}
		if (digits == 0)
			return hdr_fail(c, "expected a non-negative integer in 'shape'");
		/* Python 2 wrote long integers as "3L". */
		if (c->pos < c->len && c->s[c->pos] == 'L')
			c->pos++;
		if (t->ndim >= INFER_MAX_DIMS) {
			pw_snprintf(c->err, c->errlen, "'shape' has more than %d dimensions", INFER_MAX_DIMS);
			return false;
		}
		t->dims[t->ndim++] = v;
		items++;
		trailing_comma = hdr_peek(c, ',');
		if (trailing_comma)
			c->pos++;
	}
	c->pos++;
	/* "(3)" is the integer 3 in Python, not a tuple: NumPy would refuse it too. */
	if (items == 1 && !trailing_comma)
		return hdr_fail(c, "'shape' (N) is not a tuple; a one-dimensional shape is written (N,)");
	return true;
}

static bool
hdr_descr(struct hdr_cursor *c, infer_tensor *t, size_t *elem_size)
{
	const char *s;
	size_t n;

	if (hdr_peek(c, '['))
		return hdr_fail(c, "structured dtypes are not supported (want '<f4', '<f8' or '<i8')");
	if (!hdr_string(c, &s, &n))
		return false;
	if (n == 3 && memcmp(s, "<f4", 3) == 0) {
		t->dtype = INFER_DTYPE_FLOAT;
		*elem_size = 4;
	} else if (n == 3 && memcmp(s, "<f8", 3) == 0) {
		t->dtype = INFER_DTYPE_FLOAT;   /* converted to float32 on reading */
		*elem_size = 8;
	} else if (n == 3 && memcmp(s, "<i8", 3) == 0) {
		t->dtype = INFER_DTYPE_INT64;
		*elem_size = 8;
	} else {
		char shown[32];

		size_t k = 0;

		/* The dtype comes from the file: only printable ASCII reaches the message. */
		for (; k < n && k + 1 < sizeof shown; k++)
			shown[k] = s[k] >= 0x20 && s[k] < 0x7f ? s[k] : '?';
		shown[k] = '\0';
		pw_snprintf(c->err, c->errlen, "dtype '%s'%s is not supported (want '<f4' float32, '<f8' "
		    "float64 or '<i8' int64, little-endian)", shown,
		    n > 0 && s[0] == '>' ? " (big-endian)" : "");
		return false;
	}
	return true;
}

bool
npy_parse_header(const char *hdr, size_t len, infer_tensor *out, size_t *elem_size, char *err,
    size_t errlen)
{
	struct hdr_cursor c = { .s = hdr, .len = len, .pos = 0, .err = err, .errlen = errlen };
	bool seen_descr = false, seen_order = false, seen_shape = false;

	memset(out, 0, sizeof(*out));
	*elem_size = 0;
	if (memchr(hdr, '\0', len) != NULL) {
		pw_snprintf(err, errlen, "bad header: it contains a NUL byte");
		return false;
	}
	if (!hdr_expect(&c, '{', "expected '{'"))
		return false;
	while (!hdr_peek(&c, '}')) {
		const char *key;
		size_t klen;

		if (!hdr_string(&c, &key, &klen) || !hdr_expect(&c, ':', "expected ':' after a key"))
			return false;
		if (klen == 5 && memcmp(key, "descr", 5) == 0 && !seen_descr) {
			seen_descr = true;
			if (!hdr_descr(&c, out, elem_size))
				return false;
		} else if (klen == 13 && memcmp(key, "fortran_order", 13) == 0 && !seen_order) {
			seen_order = true;
			if (hdr_word(&c, "True")) {
				pw_snprintf(err, errlen, "fortran_order True is not supported: save the array in C "
				    "order (numpy.ascontiguousarray) before numpy.save");
				return false;
			}
			if (!hdr_word(&c, "False"))
				return hdr_fail(&c, "'fortran_order' must be True or False");
		} else if (klen == 5 && memcmp(key, "shape", 5) == 0 && !seen_shape) {
			seen_shape = true;
			if (!hdr_shape(&c, out))
				return false;
		} else {
			return hdr_fail(&c, "unknown or repeated key (want 'descr', 'fortran_order', 'shape')");
		}
		if (hdr_peek(&c, ','))
			c.pos++;
		else if (!hdr_peek(&c, '}'))
			return hdr_fail(&c, "expected ',' or '}'");
	}
	c.pos++;
	hdr_skip_ws(&c);
	if (c.pos != c.len)
		return hdr_fail(&c, "text after the closing '}'");
	if (!seen_descr || !seen_order || !seen_shape) {
		pw_snprintf(err, errlen, "bad header: missing '%s'", !seen_descr ? "descr" :
		    !seen_order ? "fortran_order" : "shape");
		return false;
	}
	return true;
}

/* Element count of a parsed shape, or -1 when it exceeds max (checked before any multiplication overflows). */
static int64_t
shape_count(const infer_tensor *t, int64_t max)
{
	int64_t n = 1;

	for (int i = 0; i < t->ndim; i++) {
		if (t->dims[i] == 0)
			return 0;
	}
	for (int i = 0; i < t->ndim; i++) {
		if (t->dims[i] > max / n)
			return -1;
		n *= t->dims[i];
	}
	return n;
}

/* Formats dims as "(1, 3, 224, 224)" into buf. */
static void
format_shape(const infer_tensor *t, char *buf, size_t len)
{
	size_t used = 0;

	pw_strlcpy(buf, "(", len);
	for (int i = 0; i < t->ndim; i++) {
		used = strlen(buf);
		if (used + 1 >= len)
			break;
		pw_snprintf(buf + used, len - used, "%s%lld", i > 0 ? ", " : "", (long long)t->dims[i]);
	}
	used = strlen(buf);
	if (used + 1 < len)
		pw_snprintf(buf + used, len - used, "%s)", t->ndim == 1 ? "," : "");
}

static bool
read_exact(FILE *f, void *buf, size_t n)
{
	return n == 0 || fread(buf, 1, n, f) == n;
}

static bool
read_body(FILE *f, const char *path, infer_tensor *t, int64_t count, size_t elem_size, char *err,
    size_t errlen)
{
	size_t n = (size_t)count;
	size_t out_size = t->dtype == INFER_DTYPE_INT64 ? sizeof(int64_t) : sizeof(float);

	t->data = malloc(n > 0 ? n * out_size : 1);
	if (t->data == NULL) {
		pw_snprintf(err, errlen, "%s: out of memory for %zu elements", path, n);
		return false;
	}
	if (elem_size == out_size) {
		if (!read_exact(f, t->data, n * out_size))
			goto short_read;
		if (!host_is_little_endian())
			swap_elements(t->data, n, out_size);
		return true;
	}
	/* '<f8' to float32, a chunk at a time. */
	{
		double chunk[NPY_CHUNK];
		float *dst = t->data;

		for (size_t done = 0; done < n;) {
			size_t k = n - done < NPY_CHUNK ? n - done : NPY_CHUNK;

			if (!read_exact(f, chunk, k * sizeof(double)))
				goto short_read;
			if (!host_is_little_endian())
				swap_elements(chunk, k, sizeof(double));
			for (size_t i = 0; i < k; i++)
				dst[done + i] = (float)chunk[i];
			done += k;
		}
	}
	return true;

short_read:
	pw_snprintf(err, errlen, "%s: read error: %s", path, ferror(f) ? strerror(errno) :
	    "file shrank while being read");
	free(t->data);
	t->data = NULL;
	return false;
}

bool
npy_read(const char *path, infer_tensor *out, int64_t max_elems, char *err, size_t errlen)
{
	unsigned char pre[12];
	size_t prefix, hlen, elem_size = 0;
	char *hdr = NULL, msg[384], shape[160];
	int64_t count;
	uint64_t data_bytes, avail;
	struct stat sb;
	FILE *f;
	int fd;

	memset(out, 0, sizeof(*out));
	if (max_elems <= 0 || max_elems > INFER_MAX_TENSOR_ELEMS)
		max_elems = INFER_MAX_TENSOR_ELEMS;
	/* O_NONBLOCK: a FIFO given as input must be refused, not wait for a writer. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		pw_snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		pw_snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return false;
	}
	if ((f = fdopen(fd, "rb")) == NULL) {
		pw_snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return false;
	}
	if (sb.st_size < 10 || !read_exact(f, pre, 8) || memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN) != 0) {
		pw_snprintf(err, errlen, "%s: not a .npy file (no \\x93NUMPY magic; save it with numpy.save)",
		    path);
		goto fail;
	}
	if (pre[6] < 1 || pre[6] > 3 || pre[7] != 0) {
		pw_snprintf(err, errlen, "%s: .npy format version %u.%u is not supported (want 1.0, 2.0 or 3.0)",
		    path, pre[6], pre[7]);
		goto fail;
	}
	prefix = pre[6] == 1 ? 10 : 12;
	if ((uint64_t)sb.st_size < prefix || !read_exact(f, pre + 8, prefix - 8)) {
		pw_snprintf(err, errlen, "%s: truncated .npy header", path);
		goto fail;
	}
	hlen = (size_t)pre[8] | (size_t)pre[9] << 8;
	if (prefix == 12)
		hlen |= (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
	if (hlen > NPY_MAX_HEADER_BYTES) {
		pw_snprintf(err, errlen, "%s: .npy header of %zu bytes is larger than the %d allowed", path,
		    hlen, NPY_MAX_HEADER_BYTES);
		goto fail;
	}
	if ((uint64_t)sb.st_size < prefix + hlen) {
		pw_snprintf(err, errlen, "%s: truncated: the header says %zu bytes, the file has %lld", path,
		    hlen, (long long)sb.st_size - (long long)prefix);
		goto fail;
	}
	hdr = xmalloc(hlen + 1);
	if (!read_exact(f, hdr, hlen)) {
		pw_snprintf(err, errlen, "%s: read error in the header", path);
		goto fail;
	}
	hdr[hlen] = '\0';
	if (!npy_parse_header(hdr, hlen, out, &elem_size, msg, sizeof msg)) {
		pw_snprintf(err, errlen, "%s: %s", path, msg);
		goto fail;
	}
	format_shape(out, shape, sizeof shape);
	if ((count = shape_count(out, max_elems)) < 0) {
		pw_snprintf(err, errlen, "%s: shape %s has more than %lld elements", path, shape,
		    (long long)max_elems);
		goto fail;
	}
	/* count <= 2^28 and elem_size <= 8: the product cannot overflow. */
	data_bytes = (uint64_t)count * elem_size;
	avail = (uint64_t)sb.st_size - prefix - hlen;
	if (avail < data_bytes) {
		pw_snprintf(err, errlen, "%s: truncated: shape %s needs %llu bytes of data, the file has %llu",
		    path, shape, (unsigned long long)data_bytes, (unsigned long long)avail);
		goto fail;
	}
	if (avail > data_bytes) {
		pw_snprintf(err, errlen, "%s: %llu bytes after the data of shape %s (corrupt, or not one array)",
		    path, (unsigned long long)(avail - data_bytes), shape);
		goto fail;
	}
	if (!read_body(f, path, out, count, elem_size, err, errlen))
		goto fail;
	free(hdr);
	fclose(f);
	return true;

fail:
	free(hdr);
	fclose(f);
	memset(out, 0, sizeof(*out));
	return false;
}

bool
npy_write(const char *path, const infer_tensor *t, char *err, size_t errlen)
{
	char dict[400], shape[200], pre[12];
	size_t dlen, prefix, total, pad, elem_size;
	int64_t count;
	const char *descr;
	bool ok;
	FILE *f;

	if (t->ndim < 0 || t->ndim > INFER_MAX_DIMS || (count = infer_tensor_numel(t)) < 0 ||
	    (t->data == NULL && count > 0)) {
		pw_snprintf(err, errlen, "%s: invalid tensor", path);
		return false;
	}
	if (t->dtype == INFER_DTYPE_FLOAT) {
		descr = "<f4";
		elem_size = sizeof(float);
	} else if (t->dtype == INFER_DTYPE_INT64) {
		descr = "<i8";
		elem_size = sizeof(int64_t);
	} else {
		pw_snprintf(err, errlen, "%s: tensor type %d cannot be saved", path, (int)t->dtype);
		return false;
	}
	format_shape(t, shape, sizeof shape);
	pw_snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
	dlen = strlen(dict);
	/* NumPy pads with spaces and ends with '\n' so the data starts on a 64-byte boundary. */
	prefix = 10;
	total = prefix + dlen + 1;
	pad = (64 - total % 64) % 64;
	memcpy(pre, NPY_MAGIC, NPY_MAGIC_LEN);
	pre[6] = 1;
	pre[7] = 0;
	pre[8] = (char)((dlen + pad + 1) & 0xff);
	pre[9] = (char)((dlen + pad + 1) >> 8);

	if ((f = fopen(path, "wb")) == NULL) {
		pw_snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return false;
	}
	ok = fwrite(pre, 1, prefix, f) == prefix && fwrite(dict, 1, dlen, f) == dlen;
	for (size_t i = 0; ok && i < pad; i++)
		ok = fputc(' ', f) != EOF;
	ok = ok && fputc('\n', f) != EOF;
	if (ok && host_is_little_endian()) {
		ok = count == 0 || fwrite(t->data, elem_size, (size_t)count, f) == (size_t)count;
	} else if (ok) {
		unsigned char tmp[8];

		for (int64_t i = 0; ok && i < count; i++) {
			memcpy(tmp, (const unsigned char *)t->data + (size_t)i * elem_size, elem_size);
			swap_elements(tmp, 1, elem_size);
			ok = fwrite(tmp, elem_size, 1, f) == 1;
		}
	}
	if (fclose(f) != 0)
		ok = false;
	if (!ok) {
		pw_snprintf(err, errlen, "%s: write error: %s", path, strerror(errno));
		unlink(path);
		return false;
	}
	return true;
}
