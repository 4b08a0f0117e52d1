/* tensor.c: tensor allocation with overflow-safe sizes, and reading whole files with a size cap. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "internal.h"

size_t
infer_dtype_size(infer_dtype dt)
{
	switch (dt) {
	case INFER_DTYPE_FLOAT: return sizeof(float);
	case INFER_DTYPE_INT64: return sizeof(int64_t);
	}
	return 0;
}

int64_t
infer_dims_numel(int ndim, const int64_t *dims)
{
	int64_t n = 1;

	if (ndim < 0 || ndim > INFER_MAX_DIMS)
		return -1;
	for (int i = 0; i < ndim; i++) {
		if (dims[i] < 0 || dims[i] > INFER_MAX_TENSOR_ELEMS)
			return -1;
		if (dims[i] == 0)
			n = 0;
		else if (n > INFER_MAX_TENSOR_ELEMS / dims[i])
			return -1;
		else
			n *= dims[i];
	}
	/* A zero dim anywhere makes the product 0, but later big dims must still be in range. */
	return n > INFER_MAX_TENSOR_ELEMS ? -1 : n;
}

int64_t
infer_tensor_numel(const infer_tensor *t)
{
	return infer_dims_numel(t->ndim, t->dims);
}

int
infer_tensor_alloc(infer_tensor *t, infer_dtype dt, int ndim, const int64_t *dims, infer_error *err)
{
	int64_t n = infer_dims_numel(ndim, dims);
	size_t es = infer_dtype_size(dt);

	memset(t, 0, sizeof(*t));
	if (es == 0) {
		infer_err(err, INFER_E_UNSUPPORTED, "element type %d is not supported", (int)dt);
		return -1;
	}
	if (n < 0) {
		infer_err(err, INFER_E_LIMIT, "tensor shape is negative or exceeds %lld elements",
		    (long long)INFER_MAX_TENSOR_ELEMS);
		return -1;
	}
	t->dtype = dt;
	t->ndim = ndim;
	if (ndim > 0)
		memcpy(t->dims, dims, (size_t)ndim * sizeof(dims[0]));
	/* Never malloc(0): an empty tensor still gets a valid pointer. */
	t->data = calloc(n > 0 ? (size_t)n : 1, es);
	if (t->data == NULL) {
		infer_err(err, INFER_E_NOMEM, "out of memory for a %lld-element tensor", (long long)n);
		return -1;
	}
	return 0;
}

void *
infer_alloc_big(size_t bytes)
{
	const size_t huge = (size_t)2 << 20;
	void *p;

	if (bytes < huge)
		return aligned_alloc(64, (bytes + 63) / 64 * 64);
	/* 2 MiB aligned and a multiple of it, so that the kernel can back it with huge pages where it offers them
	 * on request (transparent_hugepage=madvise, Debian's default); the advice failing changes nothing else. */
	bytes = (bytes + huge - 1) / huge * huge;
	if ((p = aligned_alloc(huge, bytes)) == NULL)
		return NULL;
#ifdef MADV_HUGEPAGE
	if (getenv("PW_INFER_HUGEPAGES") == NULL || strcmp(getenv("PW_INFER_HUGEPAGES"), "0") != 0)
		(void)madvise(p, bytes, MADV_HUGEPAGE);
#endif
	return p;
}

int
infer_tensor_clone(infer_tensor *dst, const infer_tensor *src, infer_error *err)
{
	int64_t n = infer_tensor_numel(src);

	if (infer_tensor_alloc(dst, src->dtype, src->ndim, src->dims, err) < 0)
		return -1;
	if (n > 0)
		memcpy(dst->data, src->data, (size_t)n * infer_dtype_size(src->dtype));
	return 0;
}

void
infer_tensor_release(infer_tensor *t)
{
	if (t == NULL)
		return;
	free(t->data);
	memset(t, 0, sizeof(*t));
}

int
infer_read_file(const char *path, size_t max, uint8_t **buf, size_t *len, infer_error *err)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *b;

	*buf = NULL;
	*len = 0;
	if (f == NULL) {
		infer_err(err, INFER_E_IO, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		infer_err(err, INFER_E_IO, "%s: not a regular file", path);
		fclose(f);
		return -1;
	}
	if ((uint64_t)st.st_size > max) {
		infer_err(err, INFER_E_LIMIT, "%s: %lld bytes exceed the limit of %zu", path,
		    (long long)st.st_size, max);
		fclose(f);
		return -1;
	}
	b = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (b == NULL) {
		infer_err(err, INFER_E_NOMEM, "%s: out of memory", path);
		fclose(f);
		return -1;
	}
	if (st.st_size > 0 && fread(b, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		infer_err(err, INFER_E_IO, "%s: short read", path);
		free(b);
		fclose(f);
		return -1;
	}
	fclose(f);
	*buf = b;
	*len = (size_t)st.st_size;
	return 0;
}
