/* arena.c: plans one arena for a session's intermediates from their sizes and lifetimes (first run records, later runs reuse). */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

#define ARENA_ALIGN 64

int
arena_begin(infer_session *s, infer_error *err)
{
	if (s->flags & INFER_OPT_NO_ARENA)
		return 0;
	if (s->rec_bytes == NULL) {
		s->rec_bytes = calloc((size_t)s->n_values, sizeof(*s->rec_bytes));
		s->rec_start = malloc((size_t)s->n_values * sizeof(*s->rec_start));
		if (s->rec_bytes == NULL || s->rec_start == NULL) {
			free(s->rec_bytes);
			free(s->rec_start);
			s->rec_bytes = NULL;
			s->rec_start = NULL;
			infer_err(err, INFER_E_NOMEM, "out of memory planning the arena");
			return -1;
		}
		for (int v = 0; v < s->n_values; v++)
			s->rec_start[v] = INT_MAX;
	}
	s->replan = 0;
	return 0;
}

int
arena_take(infer_session *s, int v, infer_dtype dt, int ndim, const int64_t *dims, infer_tensor *out)
{
	int64_t n = infer_dims_numel(ndim, dims);
	size_t bytes;

	if (s->arena == NULL || s->arena_offset == NULL || s->arena_offset[v] == SIZE_MAX || n < 0)
		return -1;
	bytes = (size_t)n * infer_dtype_size(dt);
	if (bytes > s->rec_bytes[v])
		return -1;
	memset(out, 0, sizeof(*out));
	out->dtype = dt;
	out->ndim = ndim;
	if (ndim > 0)
		memcpy(out->dims, dims, (size_t)ndim * sizeof(dims[0]));
	out->data = s->arena + s->arena_offset[v];
	return 0;
}

void
arena_record(infer_session *s, int v, const infer_tensor *t)
{
	int64_t n = infer_tensor_numel(t);
	size_t bytes = n > 0 ? (size_t)n * infer_dtype_size(t->dtype) : 0;

	if (s->rec_bytes == NULL || (s->flags & INFER_OPT_NO_ARENA))
		return;
	if (bytes > s->rec_bytes[v])
		s->rec_bytes[v] = bytes;
	s->replan = 1;
}

struct interval {
	int v, start, end;
	size_t bytes;
};

static int
by_size_desc(const void *a, const void *b)
{
	const struct interval *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return x->v - y->v;
}

/* Greedy by size: each value goes at the lowest offset not overlapping a placed value alive at the same time. */
static void
plan(infer_session *s)
{
	struct interval *iv = malloc((size_t)s->n_values * sizeof(*iv));
	size_t *off = malloc((size_t)s->n_values * sizeof(*off));
	int n = 0;
	size_t total = 0;

	if (iv == NULL || off == NULL)
		goto fail;
	for (int v = 0; v < s->n_values; v++) {
		off[v] = SIZE_MAX;
		if (s->rec_bytes[v] == 0 || s->producer[v] < 0)
			continue;
		iv[n].v = v;
		iv[n].start = s->rec_start[v] < s->producer[v] ? s->rec_start[v] : s->producer[v];
		iv[n].end = s->last_use[v] < s->producer[v] ? s->producer[v] : s->last_use[v];
		iv[n].bytes = (s->rec_bytes[v] + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
		n++;
	}
	qsort(iv, (size_t)n, sizeof(*iv), by_size_desc);
	for (int i = 0; i < n; i++) {
		size_t at = 0;
		int moved = 1;
		/* Slide past every overlapping placed block until a gap fits; at most i passes. */
		while (moved) {
			moved = 0;
			for (int j = 0; j < i; j++) {
				size_t o = off[iv[j].v];
				if (iv[j].start > iv[i].end || iv[i].start > iv[j].end)
					continue;
				if (at < o + iv[j].bytes && o < at + iv[i].bytes) {
					at = o + iv[j].bytes;
					moved = 1;
				}
			}
		}
		off[iv[i].v] = at;
		if (at + iv[i].bytes > total)
			total = at + iv[i].bytes;
	}
	free(s->arena);
	free(s->arena_offset);
	s->arena = NULL;
	s->arena_offset = NULL;
	s->arena_bytes = 0;
	if (total > 0) {
		s->arena = infer_alloc_big(total);
		if (s->arena == NULL)
			goto fail;
	}
	s->arena_offset = off;
	s->arena_bytes = total;
	free(iv);
	return;
fail:
	/* Without a plan every run simply mallocs its intermediates. */
	free(iv);
	free(off);
}

void
arena_end(infer_session *s, int ok)
{
	if ((s->flags & INFER_OPT_NO_ARENA) || !ok || !s->replan || s->rec_bytes == NULL)
		return;
	plan(s);
}
