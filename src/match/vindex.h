/* vindex.h: the in-memory catalogue vector index — cosine top-k by brute force over fp16 or int8 vectors. */
#ifndef PW_MATCH_VINDEX_H
#define PW_MATCH_VINDEX_H

#include <stddef.h>
#include <stdint.h>

/*
 * Vectors are L2-normalised on insert and stored quantised, so a dot product with a normalised query is the
 * cosine similarity (up to the storage error: ~1e-3 for fp16, ~1e-2 for int8). Search is a brute-force scan
 * with SIMD dot products (AVX2+FMA+F16C picked at run time; PW_CPU=generic forces the plain C reference) and
 * a bounded min-heap per thread; results are ordered by score, ties by insertion order (earlier first), so
 * they are the same whatever the thread count or kernel.
 *
 * Several vectors may share an id (several images of one catalogue product); vindex_remove() drops them all.
 *
 * Thread safety: vindex_search*() only reads the index, so any number may run at once; vindex_add(),
 * vindex_remove() and vindex_compact() need the caller to exclude every other call on the same index.
 */

typedef enum vindex_storage {
	VINDEX_F16 = 0, /* IEEE half precision per component (2 bytes) */
	VINDEX_I8,      /* symmetric int8 with one float scale per vector (1 byte + 4 per vector) */
} vindex_storage;

/* Dot-product kernels. AUTO is the best the CPU has unless PW_CPU=generic|reference says otherwise. */
typedef enum vindex_kernel {
	VINDEX_KERNEL_AUTO = 0,
	VINDEX_KERNEL_REFERENCE, /* plain C, the yardstick for the tests */
	VINDEX_KERNEL_AVX2,      /* AVX2 + FMA + F16C */
} vindex_kernel;

#define VINDEX_MAX_DIM 4096u /* the int8 query keeps >= 12 bits (see vindex.c) up to here */

typedef struct vindex vindex;

typedef struct vindex_hit {
	uint64_t id;
	float score; /* cosine similarity, -1..1 */
} vindex_hit;

/* A new empty index for dim-dimensional vectors (1..VINDEX_MAX_DIM); NULL on a bad dim or no memory.
 * The caller owns it (vindex_free()). */
vindex *vindex_new(uint32_t dim, vindex_storage storage);
void vindex_free(vindex *ix);

/* Adds one vector (dim floats, copied). Returns 0, or -1 when the vector has a non-finite component or is
 * all zero (EINVAL), or memory runs out (ENOMEM); errno says which. */
int vindex_add(vindex *ix, uint64_t id, const float *vec);
/* Makes room for n more vectors at once (a catalogue load), so the arrays are not regrown and copied by
 * doubling. Returns 0 or -1 (ENOMEM). */
int vindex_reserve(vindex *ix, size_t n);
/* Removes every vector with this id; returns how many were removed (0 when none). Slots are tombstoned and
 * compacted (insertion order kept) once a quarter of the index is dead. */
size_t vindex_remove(vindex *ix, uint64_t id);
/* Compacts tombstones away now (insertion order kept). */
void vindex_compact(vindex *ix);

size_t vindex_count(const vindex *ix); /* live vectors */
uint32_t vindex_dim(const vindex *ix);
vindex_storage vindex_storage_of(const vindex *ix);
/* Bytes reserved for the vectors, ids, flags and scales (for the metrics and the bench). */
size_t vindex_memory(const vindex *ix);

/* The top k (cosine) of the index for query (dim floats; normalised here, need not be), best first, into
 * out[k]. Returns the number of hits written: min(k, vindex_count()), or 0 for an empty index, an all-zero
 * or non-finite query, or no memory (errno ENOMEM). threads 0 or 1 scans on the calling thread; more uses
 * OpenMP over blocks of 1024 vectors (one bounded heap per thread, merged) once the index holds 32768. */
size_t vindex_search(const vindex *ix, const float *query, size_t k, int threads, vindex_hit *out);
/* The same with a chosen kernel (tests and bench). A kernel the CPU lacks falls back to the reference. */
size_t vindex_search_kernel(const vindex *ix, const float *query, size_t k, int threads, vindex_kernel kernel,
    vindex_hit *out);

/* The kernel AUTO resolves to on this CPU with the current PW_CPU (read once). */
vindex_kernel vindex_kernel_auto(void);
const char *vindex_kernel_name(vindex_kernel kernel);

/* IEEE binary16 conversions (round to nearest even), the plain C versions the reference path uses;
 * exported so the tests can hold them against the F16C instructions. */
uint16_t vindex_f32_to_f16(float f);
float vindex_f16_to_f32(uint16_t h);

#endif
