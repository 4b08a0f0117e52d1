/* vindex.c: the catalogue vector index — quantised storage, reference and AVX2 dot kernels, top-k heaps. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define VINDEX_X86 1
#endif

#include "match/vindex.h"

/* The int8 path quantises the query to int16 with a peak of at most this. Every product is at most
 * 127 * peak in size, so a whole dot product is at most 127 * peak * stride: the peak actually used is
 * lowered for long vectors to keep that below 2^31 (16383 up to 1024 components, 4128 at 4096). */
#define VINDEX_Q16_PEAK 16383
/* Rows scored per kernel call (the score buffer lives on the stack). */
#define VINDEX_BLOCK 1024u
/* Below this many slots a search stays on one thread: the fork/join costs more than the scan. */
#define VINDEX_PAR_MIN 32768u

struct vindex {
	uint32_t dim;
	uint32_t stride;  /* components per stored row, dim rounded up to 16, zero-padded */
	vindex_storage storage;
	size_t n;         /* slots used, live and dead, in insertion order */
	size_t cap;
	size_t dead;
	uint64_t *ids;    /* [cap] */
	uint8_t *alive;   /* [cap] */
	float *scale;     /* [cap], int8 only: component = q * scale */
	void *data;       /* [cap * stride] uint16_t (fp16) or int8_t */
	float *tmp;       /* [stride] scratch for vindex_add() */
	int32_t qpeak;    /* int8: the query's quantisation peak (see VINDEX_Q16_PEAK) */
};

/* ---- binary16 ------------------------------------------------------------------------------------- */

uint16_t
vindex_f32_to_f16(float f)
{
	uint32_t x, ax, sign, r, rem, m, half;
	int shift;

	memcpy(&x, &f, sizeof x);
	sign = (x >> 16) & 0x8000u;
	ax = x & 0x7fffffffu;
	if (ax > 0x7f800000u) /* NaN stays NaN, quietened, as F16C does */
		return (uint16_t)(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
	if (ax >= 0x477ff000u) /* >= 65520 rounds to infinity */
		return (uint16_t)(sign | 0x7c00u);
	if (ax < 0x38800000u) { /* below 2^-14: a half subnormal, in units of 2^-24 */
		if (ax <= 0x33000000u) /* <= 2^-25 rounds to (even) zero */
			return (uint16_t)sign;
		m = (ax & 0x7fffffu) | 0x800000u;
		shift = 126 - (int)(ax >> 23);
		r = m >> shift;
		rem = m & ((1u << shift) - 1u);
		half = 1u << (shift - 1);
		if (rem > half || (rem == half && (r & 1u)))
			r++;
		return (uint16_t)(sign | r);
	}
	r = (ax - 0x38000000u) >> 13; /* exponent rebiased from 127 to 15 */
	rem = ax & 0x1fffu;
	if (rem > 0x1000u || (rem == 0x1000u && (r & 1u)))
		r++; /* a carry into the exponent is the correct rounding */
	return (uint16_t)(sign | r);
}

float
vindex_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, x;
	float f;

	if (e == 0) {
		f = (float)m * 0x1p-24f;
		return sign ? -f : f;
	}
	if (e == 31)
		x = sign | 0x7f800000u | (m << 13);
	else
		x = sign | ((e + 112u) << 23) | (m << 13);
	memcpy(&f, &x, sizeof f);
	return f;
}

/* ---- kernels -------------------------------------------------------------------------------------- */

/* fp16 rows (stride components each) dotted with a float query of the same stride. */
static void
dot_f16_ref(const uint16_t *rows, size_t nrows, uint32_t stride, const float *q, float *out)
{
	for (size_t r = 0; r < nrows; r++) {
		const uint16_t *v = rows + r * stride;
		float acc = 0.0f;
		for (uint32_t d = 0; d < stride; d++)
			acc += vindex_f16_to_f32(v[d]) * q[d];
		out[r] = acc;
	}
}

/* int8 rows dotted with an int16 query: exact in int32 (see VINDEX_Q16_PEAK and vindex.qpeak). */
static void
dot_i8_ref(const int8_t *rows, size_t nrows, uint32_t stride, const int16_t *q, int32_t *out)
{
	for (size_t r = 0; r < nrows; r++) {
		const int8_t *v = rows + r * stride;
		int32_t acc = 0;
		for (uint32_t d = 0; d < stride; d++)
			acc += (int32_t)v[d] * (int32_t)q[d];
		out[r] = acc;
	}
}

#ifdef VINDEX_X86
__attribute__((target("avx2,fma,f16c"))) static inline float
hsum_ps(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	s = _mm_add_ps(s, _mm_movehl_ps(s, s));
	s = _mm_add_ss(s, _mm_movehdup_ps(s));
	return _mm_cvtss_f32(s);
}

__attribute__((target("avx2"))) static inline int32_t
hsum_epi32(__m256i v)
{
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
	return _mm_cvtsi128_si32(s);
}

/* Four rows at a time so each query load feeds four FMAs; stride is a multiple of 16. */
__attribute__((target("avx2,fma,f16c"))) static void
dot_f16_avx2(const uint16_t *rows, size_t nrows, uint32_t stride, const float *q, float *out)
{
	size_t r = 0;

	for (; r + 4 <= nrows; r += 4) {
		const uint16_t *v0 = rows + r * stride, *v1 = v0 + stride, *v2 = v1 + stride, *v3 = v2 + stride;
		__m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
		__m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
		for (uint32_t d = 0; d < stride; d += 8) {
			__m256 qv = _mm256_loadu_ps(q + d);
			a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v0 + d))), qv, a0);
			a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v1 + d))), qv, a1);
			a2 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v2 + d))), qv, a2);
			a3 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v3 + d))), qv, a3);
		}
		out[r] = hsum_ps(a0);
		out[r + 1] = hsum_ps(a1);
		out[r + 2] = hsum_ps(a2);
		out[r + 3] = hsum_ps(a3);
	}
	for (; r < nrows; r++) {
		const uint16_t *v = rows + r * stride;
		__m256 a = _mm256_setzero_ps();
		for (uint32_t d = 0; d < stride; d += 8)
			a = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v + d))),
			    _mm256_loadu_ps(q + d), a);
		out[r] = hsum_ps(a);
	}
}

/* Sign-extends 16 int8 to int16 and multiplies pairwise with the int16 query (vpmaddwd): exact. */
__attribute__((target("avx2"))) static void
dot_i8_avx2(const int8_t *rows, size_t nrows, uint32_t stride, const int16_t *q, int32_t *out)
{
	size_t r = 0;

	for (; r + 4 <= nrows; r += 4) {
		const int8_t *v0 = rows + r * stride, *v1 = v0 + stride, *v2 = v1 + stride, *v3 = v2 + stride;
		__m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
		__m256i a2 = _mm256_setzero_si256(), a3 = _mm256_setzero_si256();
		for (uint32_t d = 0; d < stride; d += 16) {
			__m256i qv = _mm256_loadu_si256((const __m256i *)(q + d));
			a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(
			    _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(v0 + d))), qv));
			a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(
			    _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(v1 + d))), qv));
			a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(
			    _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(v2 + d))), qv));
			a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(
			    _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(v3 + d))), qv));
		}
		out[r] = hsum_epi32(a0);
		out[r + 1] = hsum_epi32(a1);
		out[r + 2] = hsum_epi32(a2);
		out[r + 3] = hsum_epi32(a3);
	}
	for (; r < nrows; r++) {
		const int8_t *v = rows + r * stride;
		__m256i a = _mm256_setzero_si256();
		for (uint32_t d = 0; d < stride; d += 16)
			a = _mm256_add_epi32(a, _mm256_madd_epi16(
			    _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(v + d))),
			    _mm256_loadu_si256((const __m256i *)(q + d))));
		out[r] = hsum_epi32(a);
	}
}

/* F16C conversion of one row on insert; the same bits as vindex_f32_to_f16() (both round to nearest even). */
__attribute__((target("avx2,f16c"))) static void
to_f16_f16c(const float *src, uint32_t n, uint16_t *dst)
{
	for (uint32_t d = 0; d < n; d += 8)
		_mm_storeu_si128((__m128i *)(dst + d),
		    _mm256_cvtps_ph(_mm256_loadu_ps(src + d), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}
#endif

static bool
cpu_has_avx2(void)
{
#ifdef VINDEX_X86
	unsigned int a, b, c, d;

	__builtin_cpu_init();
	/* F16C from CPUID leaf 1 (ECX bit 29): not every compiler's __builtin_cpu_supports() knows "f16c". The
	 * AVX2 check already covers the OS saving the YMM state. */
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_F16C))
		return false;
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
	return false;
#endif
}

vindex_kernel
vindex_kernel_auto(void)
{
	static int cached = -1;
	int k;
	const char *force;

	if ((k = __atomic_load_n(&cached, __ATOMIC_RELAXED)) >= 0)
		return (vindex_kernel)k;
	k = cpu_has_avx2() ? VINDEX_KERNEL_AVX2 : VINDEX_KERNEL_REFERENCE;
	force = getenv("PW_CPU");
	if (force != NULL && (strcmp(force, "generic") == 0 || strcmp(force, "reference") == 0))
		k = VINDEX_KERNEL_REFERENCE;
	/* Racing threads all compute the same value. */
	__atomic_store_n(&cached, k, __ATOMIC_RELAXED);
	return (vindex_kernel)k;
}

const char *
vindex_kernel_name(vindex_kernel kernel)
{
	switch (kernel) {
	case VINDEX_KERNEL_AUTO: return vindex_kernel_name(vindex_kernel_auto());
	case VINDEX_KERNEL_REFERENCE: return "reference";
	case VINDEX_KERNEL_AVX2: return "avx2";
	}
	return "?";
}

/* AUTO resolved, and AVX2 downgraded where the CPU lacks it. */
static vindex_kernel
resolve_kernel(vindex_kernel kernel)
{
	if (kernel == VINDEX_KERNEL_AUTO)
		return vindex_kernel_auto();
	if (kernel == VINDEX_KERNEL_AVX2 && !cpu_has_avx2())
		return VINDEX_KERNEL_REFERENCE;
	return kernel;
}

/* ---- the index ------------------------------------------------------------------------------------ */

static size_t
elt_size(const vindex *ix)
{
	return ix->storage == VINDEX_F16 ? sizeof(uint16_t) : sizeof(int8_t);
}

vindex *
vindex_new(uint32_t dim, vindex_storage storage)
{
	vindex *ix;

	if (dim == 0 || dim > VINDEX_MAX_DIM || (storage != VINDEX_F16 && storage != VINDEX_I8)) {
		errno = EINVAL;
		return NULL;
	}
	if ((ix = calloc(1, sizeof *ix)) == NULL)
		return NULL;
	ix->dim = dim;
	ix->stride = (dim + 15u) & ~15u;
	ix->storage = storage;
	ix->qpeak = (int32_t)(INT32_MAX / (127 * (int64_t)ix->stride));
	if (ix->qpeak > VINDEX_Q16_PEAK)
		ix->qpeak = VINDEX_Q16_PEAK;
	if ((ix->tmp = calloc(ix->stride, sizeof *ix->tmp)) == NULL) {
		free(ix);
		return NULL;
	}
	return ix;
}

void
vindex_free(vindex *ix)
{
	if (ix == NULL)
		return;
	free(ix->ids);
	free(ix->alive);
	free(ix->scale);
	free(ix->data);
	free(ix->tmp);
	free(ix);
}

size_t
vindex_count(const vindex *ix)
{
	return ix->n - ix->dead;
}

uint32_t
vindex_dim(const vindex *ix)
{
	return ix->dim;
}

vindex_storage
vindex_storage_of(const vindex *ix)
{
	return ix->storage;
}

size_t
vindex_memory(const vindex *ix)
{
	size_t per = ix->stride * elt_size(ix) + sizeof(uint64_t) + 1 + (ix->storage == VINDEX_I8 ? sizeof(float) : 0);
	return ix->cap * per;
}

/* Grows every per-slot array to hold at least want slots; -1 (ENOMEM) on overflow or no memory. */
static int
grow_to(vindex *ix, size_t want)
{
	size_t ncap, bytes;
	void *p;

	if (want <= ix->cap)
		return 0;
	if (want > SIZE_MAX / ix->stride / elt_size(ix) || want > SIZE_MAX / sizeof(uint64_t)) {
		errno = ENOMEM;
		return -1;
	}
	ncap = want;
	bytes = ncap * ix->stride * elt_size(ix);
	/* Each array is swapped in as soon as it has grown, so a failure half way leaves a consistent index. */
	if ((p = realloc(ix->data, bytes)) == NULL)
		return -1;
	ix->data = p;
	if ((p = realloc(ix->ids, ncap * sizeof(uint64_t))) == NULL)
		return -1;
	ix->ids = p;
	if ((p = realloc(ix->alive, ncap)) == NULL)
		return -1;
	ix->alive = p;
	if (ix->storage == VINDEX_I8) {
		if ((p = realloc(ix->scale, ncap * sizeof(float))) == NULL)
			return -1;
		ix->scale = p;
	}
	ix->cap = ncap;
	return 0;
}

int
vindex_reserve(vindex *ix, size_t n)
{
	if (n > SIZE_MAX - ix->n) {
		errno = ENOMEM;
		return -1;
	}
	return grow_to(ix, ix->n + n);
}

/* Normalises vec into ix->tmp (zero-padded to stride); false for a zero or non-finite vector. */
static bool
normalise(const float *vec, uint32_t dim, uint32_t stride, float *out)
{
	double ss = 0.0, norm;

	for (uint32_t d = 0; d < dim; d++) {
		if (!isfinite(vec[d]))
			return false;
		ss += (double)vec[d] * vec[d];
	}
	if (!(ss > 0.0) || !isfinite(ss))
		return false;
	norm = sqrt(ss); /* in double: no overflow or subnormal reciprocal for extreme components */
	for (uint32_t d = 0; d < dim; d++)
		out[d] = (float)(vec[d] / norm);
	for (uint32_t d = dim; d < stride; d++)
		out[d] = 0.0f;
	return true;
}

int
vindex_add(vindex *ix, uint64_t id, const float *vec)
{
	size_t slot;

	if (ix == NULL || vec == NULL || !normalise(vec, ix->dim, ix->stride, ix->tmp)) {
		errno = EINVAL;
		return -1;
	}
	/* Doubling keeps a long series of adds linear. */
	if (ix->n == ix->cap && grow_to(ix, ix->cap ? (ix->cap > SIZE_MAX / 2 ? SIZE_MAX : ix->cap * 2) : 1024) < 0)
		return -1;
	slot = ix->n;
	if (ix->storage == VINDEX_F16) {
		uint16_t *dst = (uint16_t *)ix->data + slot * ix->stride;
#ifdef VINDEX_X86
		if (vindex_kernel_auto() == VINDEX_KERNEL_AVX2)
			to_f16_f16c(ix->tmp, ix->stride, dst);
		else
#endif
			for (uint32_t d = 0; d < ix->stride; d++)
				dst[d] = vindex_f32_to_f16(ix->tmp[d]);
	} else {
		int8_t *dst = (int8_t *)ix->data + slot * ix->stride;
		float peak = 0.0f, s, inv;
		for (uint32_t d = 0; d < ix->dim; d++)
			peak = fmaxf(peak, fabsf(ix->tmp[d]));
		s = peak / 127.0f; /* peak > 0: the vector is normalised */
		inv = 1.0f / s;
		for (uint32_t d = 0; d < ix->stride; d++) {
			long v = lrintf(ix->tmp[d] * inv);
			dst[d] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
		}
		ix->scale[slot] = s;
	}
	ix->ids[slot] = id;
	ix->alive[slot] = 1;
	ix->n++;
	return 0;
}

void
vindex_compact(vindex *ix)
{
	size_t w = 0, row = ix->stride * elt_size(ix);
	char *data = ix->data;

	if (ix->dead == 0)
		return;
	for (size_t r = 0; r < ix->n; r++) {
		if (!ix->alive[r])
			continue;
		if (w != r) {
			memcpy(data + w * row, data + r * row, row);
			ix->ids[w] = ix->ids[r];
			if (ix->scale != NULL)
				ix->scale[w] = ix->scale[r];
			ix->alive[w] = 1;
		}
		w++;
	}
	ix->n = w;
	ix->dead = 0;
}

size_t
vindex_remove(vindex *ix, uint64_t id)
{
	size_t removed = 0;

	for (size_t r = 0; r < ix->n; r++)
		if (ix->alive[r] && ix->ids[r] == id) {
			ix->alive[r] = 0;
			removed++;
		}
	ix->dead += removed;
	if (ix->dead >= 64 && ix->dead * 4 >= ix->n)
		vindex_compact(ix);
	return removed;
}

/* ---- top-k ---------------------------------------------------------------------------------------- */

typedef struct cand {
	float score;
	size_t slot;
} cand;

/* The total order of results: higher score first, then earlier insertion (lower slot). */
static inline bool
better(const cand *a, const cand *b)
{
	return a->score > b->score || (a->score == b->score && a->slot < b->slot);
}

/* A bounded heap whose root is the worst candidate kept. */
typedef struct heap {
	cand *c;
	size_t n, k;
} heap;

static void
heap_sift_down(heap *h, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, w = i;
		if (l < h->n && better(&h->c[w], &h->c[l]))
			w = l;
		if (r < h->n && better(&h->c[w], &h->c[r]))
			w = r;
		if (w == i)
			return;
		cand t = h->c[i];
		h->c[i] = h->c[w];
		h->c[w] = t;
		i = w;
	}
}

static inline void
heap_offer(heap *h, float score, size_t slot)
{
	cand x = { score, slot };

	if (h->n < h->k) {
		size_t i = h->n++;
		while (i > 0) {
			size_t p = (i - 1) / 2;
			if (!better(&h->c[p], &x))
				break;
			h->c[i] = h->c[p];
			i = p;
		}
		h->c[i] = x;
	} else if (better(&x, &h->c[0])) {
		h->c[0] = x;
		heap_sift_down(h, 0);
	}
}

/* The query prepared once per search for the storage type. */
typedef struct query {
	const float *f;    /* fp16: normalised, stride floats */
	const int16_t *i;  /* int8: quantised, stride int16 */
	float iscale;      /* int8: query component = i * iscale */
} query;

/* Scores slots [lo, hi) and offers the live ones to h. */
static void
scan(const vindex *ix, const query *q, vindex_kernel kernel, size_t lo, size_t hi, heap *h)
{
	float scores[VINDEX_BLOCK];
	int32_t dots[VINDEX_BLOCK];

	for (size_t b = lo; b < hi; b += VINDEX_BLOCK) {
		size_t nb = hi - b < VINDEX_BLOCK ? hi - b : VINDEX_BLOCK;
		if (ix->storage == VINDEX_F16) {
			const uint16_t *rows = (const uint16_t *)ix->data + b * ix->stride;
#ifdef VINDEX_X86
			if (kernel == VINDEX_KERNEL_AVX2)
				dot_f16_avx2(rows, nb, ix->stride, q->f, scores);
			else
#endif
				dot_f16_ref(rows, nb, ix->stride, q->f, scores);
		} else {
			const int8_t *rows = (const int8_t *)ix->data + b * ix->stride;
#ifdef VINDEX_X86
			if (kernel == VINDEX_KERNEL_AVX2)
				dot_i8_avx2(rows, nb, ix->stride, q->i, dots);
			else
#endif
				dot_i8_ref(rows, nb, ix->stride, q->i, dots);
			/* Shared by both kernels, so their scores are bit-identical. */
			for (size_t r = 0; r < nb; r++)
				scores[r] = (float)dots[r] * (ix->scale[b + r] * q->iscale);
		}
		for (size_t r = 0; r < nb; r++)
			if (ix->alive[b + r])
				heap_offer(h, scores[r], b + r);
	}
}

size_t
vindex_search_kernel(const vindex *ix, const float *query_vec, size_t k, int threads, vindex_kernel kernel,
    vindex_hit *out)
{
	float *qf = NULL;
	int16_t *qi = NULL;
	cand *all = NULL;
	heap h;
	query q = { 0 };
	size_t live, nthreads = 1, got;

	if (ix == NULL || query_vec == NULL || out == NULL || k == 0 || (live = vindex_count(ix)) == 0)
		return 0;
	if (k > live)
		k = live;
	kernel = resolve_kernel(kernel);
	if ((qf = malloc(ix->stride * sizeof *qf)) == NULL)
		return 0;
	if (!normalise(query_vec, ix->dim, ix->stride, qf)) {
		free(qf);
		return 0;
	}
	q.f = qf;
	if (ix->storage == VINDEX_I8) {
		float peak = 0.0f, inv;
		if ((qi = malloc(ix->stride * sizeof *qi)) == NULL) {
			free(qf);
			return 0;
		}
		for (uint32_t d = 0; d < ix->dim; d++)
			peak = fmaxf(peak, fabsf(qf[d]));
		q.iscale = peak / (float)ix->qpeak;
		inv = 1.0f / q.iscale;
		for (uint32_t d = 0; d < ix->stride; d++) {
			long v = lrintf(qf[d] * inv);
			qi[d] = (int16_t)(v > ix->qpeak ? ix->qpeak : v < -ix->qpeak ? -ix->qpeak : v);
		}
		q.i = qi;
	}
#ifdef _OPENMP
	if (threads > 1 && ix->n >= VINDEX_PAR_MIN) {
		/* No more threads than blocks: each thread's heap costs k candidates. */
		size_t nblocks = (ix->n + VINDEX_BLOCK - 1) / VINDEX_BLOCK;
		nthreads = (size_t)threads < nblocks ? (size_t)threads : nblocks;
	}
#else
	(void)threads;
#endif
	if (nthreads > SIZE_MAX / sizeof *all / k || (all = malloc(nthreads * k * sizeof *all)) == NULL) {
		errno = ENOMEM;
		free(qf);
		free(qi);
		return 0;
	}
	h = (heap){ all, 0, k };
	if (nthreads == 1) {
		scan(ix, &q, kernel, 0, ix->n, &h);
	} else {
#ifdef _OPENMP
		size_t nblocks = (ix->n + VINDEX_BLOCK - 1) / VINDEX_BLOCK;
		size_t *fill = calloc(nthreads, sizeof *fill);
		if (fill == NULL) {
			free(all);
			free(qf);
			free(qi);
			return 0;
		}
		/* One heap per thread over whole blocks; merged below. The order is total, so the merge gives the
		 * same result as a single-threaded scan. */
#pragma omp parallel num_threads((int)nthreads)
		{
			size_t t = (size_t)omp_get_thread_num();
			heap th = { all + t * k, 0, k };
#pragma omp for schedule(static)
			for (size_t blk = 0; blk < nblocks; blk++) {
				size_t lo = blk * VINDEX_BLOCK, hi = lo + VINDEX_BLOCK < ix->n ? lo + VINDEX_BLOCK : ix->n;
				scan(ix, &q, kernel, lo, hi, &th);
			}
			fill[t] = th.n;
		}
		h.n = fill[0]; /* thread 0's heap is already in place at all[0..k) */
		for (size_t t = 1; t < nthreads; t++)
			for (size_t i = 0; i < fill[t]; i++)
				heap_offer(&h, all[t * k + i].score, all[t * k + i].slot);
		free(fill);
#endif
	}
	/* Pop worst-first into the tail of out. */
	got = h.n;
	while (h.n > 0) {
		cand c = h.c[0];
		out[h.n - 1] = (vindex_hit){ ix->ids[c.slot], c.score };
		h.c[0] = h.c[--h.n];
		heap_sift_down(&h, 0);
	}
	free(all);
	free(qf);
	free(qi);
	return got;
}

size_t
vindex_search(const vindex *ix, const float *query_vec, size_t k, int threads, vindex_hit *out)
{
	return vindex_search_kernel(ix, query_vec, k, threads, VINDEX_KERNEL_AUTO, out);
}
