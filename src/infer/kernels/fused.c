/* fused.c: an inverted residual block (1x1 expand -> depthwise 3x3 -> 1x1 project) run band by band of output rows, so its wide middle activations never leave the cache. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Bytes of one band's expanded and depthwise activations a thread aims to keep in its L2 (1 MiB per core on
 * the development machine; half of it leaves room for the weights and the GEMM's packing buffer). 256 KiB
 * and 1 MiB were both slower on MobileNetV2 (more, narrower GEMMs; fewer bands that spill). */
#define BAND_BYTES (512 * 1024)

/* Blocks whose middle activations are smaller than this run unfused: they stay in L2 between the layers
 * anyway, and the bands' narrower GEMMs then cost more than they save (measured on MobileNetV2: fusing the
 * 112x112 blocks saves 0.15-0.25 ms each, the 56x56 ones break even, 28x28 and smaller lose 0.01-0.1 ms). */
#define FUSE_MIN_BYTES (1024 * 1024)

/* Input rows [*iy0, *iy0 + *rows) that output rows [r0, r0 + rr) of the depthwise read, clipped to the
 * input; *pt is the band's own top padding (rows above the input that the first output row reads). */
static void
band_rows(const struct spatial_geom *g, int64_t r0, int64_t rr, int64_t *iy0, int64_t *rows, int64_t *pt)
{
	int64_t lo = r0 * g->s[1] - g->pb[1], hi = (r0 + rr - 1) * g->s[1] - g->pb[1] + 2;

	if (hi > g->in[1] - 1)
		hi = g->in[1] - 1;
	*iy0 = lo < 0 ? 0 : lo;
	*rows = hi >= *iy0 ? hi - *iy0 + 1 : 0;
	*pt = *iy0 - lo;
}

/* Runs of consecutive bands per image: one per image when there are at least as many images as threads,
 * else one per thread (each run expands the rows it shares with its neighbour run again). */
static int64_t
chunks_per_image(const struct irb_params *p, int nt)
{
	return p->N >= nt ? 1 : nt;
}

/* Output rows per band: as many as keep the band's expanded rows and depthwise outputs within BAND_BYTES,
 * at least one; with several threads, also at least as many bands per image as threads. */
static int64_t
band_height(const struct irb_params *p, int nt)
{
	int64_t OH = p->g.out[1], OW = p->g.out[2], W = p->g.in[2], s = p->g.s[1], R = OH, best;

	while (R > 1 && (p->E * ((R - 1) * s + 3) * W + p->E * R * OW) * (int64_t)sizeof(float) > BAND_BYTES)
		R--;
	while (R > 1 && (OH + R - 1) / R < chunks_per_image(p, nt))
		R = (R + 1) / 2;
	/* Prefer a height whose GEMMs have whole 16-column panels (a ragged panel costs a slow tail), within
	 * half of the largest height that fits. */
	for (best = R; best > R / 2 && best > 1; best--)
		if (best * OW % 16 == 0 && best * s * W % 16 == 0)
			return best;
	return R;
}

int
infer_irb_pays(const struct irb_params *p)
{
	int64_t mid = p->E * p->g.out[1] * p->g.out[2];

	if (p->we != NULL && p->E * p->g.in[1] * p->g.in[2] > mid)
		mid = p->E * p->g.in[1] * p->g.in[2];
	return mid * (int64_t)sizeof(float) >= FUSE_MIN_BYTES;
}

/* Per-thread workspace layout for band height R: expanded rows, depthwise outputs, the plane kernel's scratch. */
struct band_work {
	int64_t R, erows, e_n, d_n, s_n;
};

static void
band_work_of(const struct irb_params *p, int nt, struct band_work *bw)
{
	struct conv_params dp = { .N = 1, .C = 1, .M = 1, .G = 1, .g = p->g };

	bw->R = band_height(p, nt);
	bw->erows = (bw->R - 1) * p->g.s[1] + 3;
	dp.g.in[1] = bw->erows;
	dp.g.out[1] = bw->R;
	/* Each part rounded to 16 floats, so every part starts 64-byte aligned. */
	bw->e_n = p->we != NULL ? (p->E * bw->erows * p->g.in[2] + 15) / 16 * 16 : 0;
	bw->d_n = (p->E * bw->R * p->g.out[2] + 15) / 16 * 16;
	bw->s_n = (infer_dw3x3_scratch(&dp) + 15) / 16 * 16;
}

int64_t
infer_irb_work(const struct irb_params *p)
{
	struct band_work bw;
	int nt = infer_nthreads(p->threads);

	band_work_of(p, nt, &bw);
	return (int64_t)nt * (bw.e_n + bw.d_n + bw.s_n);
}

int
infer_irb_fast(const struct irb_params *p, float *work, enum infer_cpu_level lvl)
{
	const struct spatial_geom *g = &p->g;
	int64_t H = g->in[1], W = g->in[2], OH = g->out[1], OW = g->out[2], R, bands, jobs, cpi;
	int nt = infer_nthreads(p->threads);
	struct band_work bw;

	if (lvl == CPU_REFERENCE || g->in[0] != 1 || g->k[0] != 1 || g->k[1] != 3 || g->k[2] != 3 ||
	    g->d[1] != 1 || g->d[2] != 1 || OH < 1 || OW < 1)
		return 1;
	band_work_of(p, nt, &bw);
	R = bw.R;
	bands = (OH + R - 1) / R;
	cpi = chunks_per_image(p, nt);
	if (cpi > bands)
		cpi = bands;
	jobs = p->N * cpi;
#pragma omp parallel num_threads(jobs < nt ? (int)jobs : nt) if (nt > 1 && jobs > 1)
	{
		/* This thread's part of the workspace. The scratch is zeroed whenever the band geometry changes
		 * (the first and last bands differ from the middle ones), as infer_dw3x3_plane requires. */
		struct conv_params dp = { .N = 1, .C = 1, .M = 1, .G = 1, .g = *g, .act = p->actd, .threads = 1 };
		int64_t last_rows = -1, last_pt = -1, last_rr = -1, es = bw.erows * W;
#ifdef _OPENMP
		float *ebuf = work + (int64_t)omp_get_thread_num() * (bw.e_n + bw.d_n + bw.s_n);
#else
		float *ebuf = work;
#endif
		float *dbuf = ebuf + bw.e_n, *scratch = dbuf + bw.d_n;
		/* Dynamic: a thread that loses its core (a shared machine) leaves its remaining runs to the other. */
#pragma omp for schedule(dynamic, 1)
		for (int64_t j = 0; j < jobs; j++) {
			int64_t n = j / cpi, b0 = bands * (j % cpi) / cpi, b1 = bands * (j % cpi + 1) / cpi;
			int64_t have0 = 0, have = 0; /* expanded input rows [have0, have0 + have) in ebuf */
			const float *x = p->x + n * p->C * H * W;
			for (int64_t b = b0; b < b1; b++) {
				int64_t r0 = b * R, rr = OH - r0 < R ? OH - r0 : R, iy0, rows, pt, src_ld, keep = 0;
				const float *src;
				band_rows(g, r0, rr, &iy0, &rows, &pt);
				if (p->we != NULL) {
					/* Rows the previous band expanded and this one reads again move to the front of each
					 * channel; only the new rows are expanded (a GEMM over those columns of x). */
					if (have > 0 && iy0 >= have0 && iy0 < have0 + have)
						keep = have0 + have - iy0 < rows ? have0 + have - iy0 : rows;
					if (keep > 0 && iy0 != have0)
						for (int64_t c = 0; c < p->E; c++)
							memmove(ebuf + c * es, ebuf + c * es + (iy0 - have0) * W,
							    (size_t)(keep * W) * sizeof(float));
					if (rows > keep)
						infer_sgemm(lvl, p->E, (rows - keep) * W, p->C, p->we, p->C, x + (iy0 + keep) * W,
						    H * W, ebuf + keep * W, es, p->be, &p->acte, 1);
					have0 = iy0;
					have = rows;
					src = ebuf;
					src_ld = es;
				} else {
					src = x + iy0 * W;
					src_ld = H * W;
				}
				dp.g.in[1] = rows;
				dp.g.pb[1] = pt;
				dp.g.out[1] = rr;
				if (rows != last_rows || pt != last_pt || rr != last_rr) {
					memset(scratch, 0, (size_t)bw.s_n * sizeof(float));
					last_rows = rows, last_pt = pt, last_rr = rr;
				}
				for (int64_t c = 0; c < p->E; c++)
					infer_dw3x3_plane(&dp, src + c * src_ld, p->wd + c * 9, p->bd != NULL ? p->bd[c] : 0.0f,
					    dbuf + c * rr * OW, scratch, lvl);
				infer_sgemm(lvl, p->M, rr * OW, p->E, p->wp, p->E, dbuf, rr * OW,
				    p->y + n * p->M * OH * OW + r0 * OW, OH * OW, p->bp, &p->actp, 1);
			}
		}
	}
	return 0;
}

int
infer_irb_ref(const struct irb_params *p)
{
	int64_t H = p->g.in[1], W = p->g.in[2], OH = p->g.out[1], OW = p->g.out[2];
	float *e = NULL, *d = malloc((size_t)(p->N * p->E * OH * OW) * sizeof(float));
	struct conv_params c;

	if (d == NULL || (p->we != NULL && (e = malloc((size_t)(p->N * p->E * H * W) * sizeof(float))) == NULL)) {
		free(d);
		return -1;
	}
	if (p->we != NULL) {
		c = (struct conv_params){ .N = p->N, .C = p->C, .M = p->E, .G = 1, .x = p->x, .w = p->we, .bias = p->be,
			.y = e, .threads = p->threads, .act = p->acte };
		c.g = p->g;
		c.g.k[1] = c.g.k[2] = 1;
		c.g.s[1] = c.g.s[2] = 1;
		c.g.pb[1] = c.g.pb[2] = c.g.pe[1] = c.g.pe[2] = 0;
		c.g.out[1] = H;
		c.g.out[2] = W;
		infer_conv_ref(&c);
	}
	c = (struct conv_params){ .N = p->N, .C = p->E, .M = p->E, .G = p->E, .g = p->g, .x = e != NULL ? e : p->x,
		.w = p->wd, .bias = p->bd, .y = d, .threads = p->threads, .act = p->actd };
	infer_conv_ref(&c);
	c = (struct conv_params){ .N = p->N, .C = p->E, .M = p->M, .G = 1, .g = p->g, .x = d, .w = p->wp,
		.bias = p->bp, .y = p->y, .threads = p->threads, .act = p->actp };
	c.g.in[1] = OH;
	c.g.in[2] = OW;
	c.g.k[1] = c.g.k[2] = 1;
	c.g.s[1] = c.g.s[2] = 1;
	c.g.pb[1] = c.g.pb[2] = c.g.pe[1] = c.g.pe[2] = 0;
	infer_conv_ref(&c);
	free(e);
	free(d);
	return 0;
}
