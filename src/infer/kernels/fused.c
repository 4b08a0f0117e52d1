/* fused.c: an inverted residual block (1x1 expand -> depthwise 3x3 -> 1x1 project) run by bands of output rows (large maps) or by chunks of channels (small maps, several threads), so its wide middle activations stay in one core's cache. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Bytes of one band's expanded and depthwise activations a thread aims to keep in its L2 (1 MiB per core on
 * the development machine; half of it leaves room for the weights and the GEMM's packing buffer). 256 KiB
 * and 1 MiB were both slower on MobileNetV2 (more, narrower GEMMs; fewer bands that spill). */
#define BAND_BYTES (512 * 1024)

/* When a block runs by rows (measured on MobileNetV2 at 1 and 2 threads, 2-vCPU Zen 4 with 1 MiB L2 per core):
 * a depthwise -> project pair whose depthwise output is at least PAIR_MIN_BYTES (112x112x32, 1.6 MB: saves
 * 0.15 ms at 1 thread), and a whole block whose expanded activations are at least ROWS_MIN_BYTES (112x112x96,
 * 4.8 MB: saves 0.2 ms). The 56x56 blocks (1.8 MB) broke even at 1 thread and lost 0.04-0.06 ms at 2 (and
 * broke even at both after the GEMM's short-k path landed): a whole block also carries rows between bands
 * and splits its expand GEMM, a pair does neither. With several threads every block from 28x28 up now runs by
 * rows: after the small-map 1x1 kernel and the fused residual (third session) the 56x56 and 28x28 blocks
 * measured 0.08 ms faster that way at 2 threads (blocks 2-6, in-process A/B, six rounds), block 2 most. */
#define PAIR_MIN_BYTES (1024 * 1024)
#define ROWS_MIN_BYTES (3 * 1024 * 1024)

/* Blocks whose expanded activations are below this run by channel chunks when there are several threads
 * (14x14 and 7x7 maps: 0.01-0.06 ms saved per block at 2 threads); the 28x28 ones (602 KB) lost 0.03-0.05 ms
 * that way (neutral after the interleaved depthwise landed), so they run by rows (above). */
#define CHUNKS_MAX_BYTES (512 * 1024)

/* Bytes of one channel chunk's expanded and depthwise planes (chunk mode): a quarter of L2, so the chunk, its
 * slice of the weights and the partial output stay there together. */
#define CHUNK_BYTES (256 * 1024)

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

/* Runs per image: one per image when there are at least as many images as threads, else one per thread
 * (each run expands the rows it shares with its neighbour run again). A run is an equal share of the output
 * rows, cut into bands of at most the band height: runs of whole bands split 28 rows 16/12 and 56 rows 30/26
 * (the 28x28 and 56x56 blocks scaled 1.55-1.65x at 2 threads); equal shares took 0.066 ms off the blocks run
 * by rows at 2 threads (in-process A/B against the build before, six rounds). */
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

enum irb_mode
infer_irb_plan(const struct irb_params *p)
{
	int64_t in = p->E * p->g.in[1] * p->g.in[2] * (int64_t)sizeof(float);
	int64_t out = p->E * p->g.out[1] * p->g.out[2] * (int64_t)sizeof(float);

	if (p->mode != IRB_AUTO)
		return p->mode;
	if (p->we == NULL)
		return out >= PAIR_MIN_BYTES ? IRB_ROWS : IRB_NONE;
	if (in >= ROWS_MIN_BYTES)
		return IRB_ROWS;
	/* Small maps fit L2 unfused; with several threads, chunks of channels keep each thread's expanded and
	 * depthwise planes on its own core (unfused, the depthwise and projection read planes the other core
	 * wrote) and run the block in one parallel region instead of three. At 1 thread chunks measured the same
	 * as unfused (within 0.02 ms over the model), so the plain path stays. The 56x56 and 28x28 blocks in
	 * between run by rows with several threads (each thread a run of bands: its rows stay on its core) and
	 * unfused with one (see ROWS_MIN_BYTES). */
	if (infer_nthreads(p->threads) > 1)
		return in < CHUNKS_MAX_BYTES ? IRB_CHUNKS : IRB_ROWS;
	return IRB_NONE;
}

/* Whether chunk mode expands with the packed small-map kernel (pointwise.c): its chunks are then whole
 * panels of the packed expansion weights. */
static int
packed_expand(const struct irb_params *p, enum infer_cpu_level lvl)
{
	return p->we != NULL && p->wep != NULL && lvl >= CPU_AVX512 &&
	    infer_pw_wins(p->E, p->C, p->g.in[1] * p->g.in[2]);
}

/* Channels per chunk (chunk mode): a multiple of 8 within CHUNK_BYTES, with a chunk count that is a multiple
 * of the thread count so that the threads get equal shares. With a packed expansion, *pp (else 0) is the
 * number of its panels per chunk instead, and the result the widest chunk. */
static int64_t
chunk_channels(const struct irb_params *p, int nt, enum infer_cpu_level lvl, int64_t *pp)
{
	int64_t per = (p->g.in[1] * p->g.in[2] + p->g.out[1] * p->g.out[2]) * (int64_t)sizeof(float);
	int64_t n = (p->E * per + CHUNK_BYTES - 1) / CHUNK_BYTES, ec;

	n = (n + nt - 1) / nt * nt;
	*pp = 0;
	if (packed_expand(p, lvl)) {
		int64_t q = infer_pw_panels(p->E, NULL);
		*pp = (q + n - 1) / n;
		ec = *pp * PW_PANEL_MAX;
		return ec < p->E ? ec : p->E;
	}
	ec = (p->E + n - 1) / n;
	ec = (ec + 7) / 8 * 8;
	return ec < p->E ? ec : p->E;
}

/* Per-thread workspace: expanded rows or planes, depthwise outputs, the plane kernel's scratch, and (chunk
 * mode) a partial output. */
struct band_work {
	int64_t R, erows, ec, e_n, d_n, s_n, y_n;
	int64_t pp;        /* chunk mode with a packed expansion: its panels per chunk, else 0 */
};

static void
band_work_of(const struct irb_params *p, int nt, enum infer_cpu_level lvl, struct band_work *bw)
{
	struct conv_params dp = { .N = 1, .C = 1, .M = 1, .G = 1, .g = p->g };
	int64_t W = p->g.in[2], OW = p->g.out[2];

	memset(bw, 0, sizeof(*bw));
	if (infer_irb_plan(p) == IRB_CHUNKS) {
		bw->ec = chunk_channels(p, nt, lvl, &bw->pp);
		bw->R = p->g.out[1];
		bw->erows = p->g.in[1];
		bw->y_n = (p->M * p->g.out[1] * OW + 15) / 16 * 16;
	} else {
		bw->ec = p->E;
		bw->R = band_height(p, nt);
		bw->erows = (bw->R - 1) * p->g.s[1] + 3;
	}
	dp.g.in[1] = bw->erows;
	dp.g.out[1] = bw->R;
	/* Each part rounded to 16 floats, so every part starts 64-byte aligned. */
	bw->e_n = p->we != NULL ? (bw->ec * bw->erows * W + 15) / 16 * 16 : 0;
	bw->d_n = (bw->ec * bw->R * OW + 15) / 16 * 16;
	bw->s_n = (infer_dw3x3_planes_scratch(&dp) + 15) / 16 * 16;
}

int64_t
infer_irb_work(const struct irb_params *p)
{
	struct band_work bw, bw2;
	int nt = infer_nthreads(p->threads);

	/* Enough for either chunk layout (packed panels or multiples of 8), whichever level runs it. */
	band_work_of(p, nt, CPU_AVX512, &bw);
	band_work_of(p, nt, CPU_AVX2, &bw2);
	return (int64_t)nt * (bw.e_n + bw.d_n + bw.s_n + bw.y_n > bw2.e_n + bw2.d_n + bw2.s_n + bw2.y_n ?
	    bw.e_n + bw.d_n + bw.s_n + bw.y_n : bw2.e_n + bw2.d_n + bw2.s_n + bw2.y_n);
}

/* Chunk mode for image n: each thread expands, filters and projects whole chunks of channels, summing its
 * chunks' projections in its own partial output; the partials are added up at the end. */
static void
run_chunks(const struct irb_params *p, int64_t n, float *work, const struct band_work *bw, int nt,
    enum infer_cpu_level lvl)
{
	const struct spatial_geom *g = &p->g;
	int64_t HW = g->in[1] * g->in[2], OHW = g->out[1] * g->out[2], nch = (p->E + bw->ec - 1) / bw->ec;
	int64_t q = bw->pp > 0 ? infer_pw_panels(p->E, NULL) : 0;
	int64_t starts[q + 1];
	int packed_proj = p->wpp != NULL && lvl >= CPU_AVX512 && infer_pw_wins(p->M, p->E, OHW);
	int64_t per = bw->e_n + bw->d_n + bw->s_n + bw->y_n;
	const float *x = p->x + n * p->C * HW;
	float *y = p->y + n * p->M * OHW;
	unsigned char used[64] = { 0 };

	/* With a packed expansion a chunk is pp whole panels of it (their widths differ at the end). */
	if (bw->pp > 0) {
		infer_pw_panels(p->E, starts);
		nch = (q + bw->pp - 1) / bw->pp;
	}

	if (nt > (int)sizeof(used))
		nt = (int)sizeof(used);
	if (nch < nt)
		nt = (int)nch;
#pragma omp parallel num_threads(nt) if (nt > 1)
	{
#ifdef _OPENMP
		int tid = omp_get_thread_num();
#else
		int tid = 0;
#endif
		float *ebuf = work + tid * per, *dbuf = ebuf + bw->e_n, *scratch = dbuf + bw->d_n, *part = scratch + bw->s_n;
		struct conv_params dp = { .N = 1, .C = 1, .M = 1, .G = 1, .g = *g, .act = p->actd, .threads = 1 };
		int fresh = 1;
		/* Static: each thread's chunks are contiguous and the partials do not depend on timing. */
#pragma omp for schedule(static)
		for (int64_t k = 0; k < nch; k++) {
			int64_t c0 = k * bw->ec, ec = p->E - c0 < bw->ec ? p->E - c0 : bw->ec;
			const float *src = x + c0 * HW;
			if (bw->pp > 0) {
				c0 = starts[k * bw->pp];
				ec = starts[(k + 1) * bw->pp < q ? (k + 1) * bw->pp : q] - c0;
				src = x + c0 * HW;
			}
			if (p->we != NULL) {
				struct pw_gemm pg = { .wp = p->wep, .M = p->E, .K = p->C, .m0 = c0, .m1 = c0 + ec, .k0 = 0,
					.k1 = p->C, .N = HW, .b = x, .ldb = HW, .c = ebuf, .ldc = HW,
					.bias = p->be != NULL ? p->be + c0 : NULL, .act = &p->acte, .threads = 1 };
				if (bw->pp == 0 || infer_pw_gemm(lvl, &pg) != 0)
					infer_sgemm(lvl, ec, HW, p->C, p->we + c0 * p->C, p->C, x, HW, ebuf, HW,
					    p->be != NULL ? p->be + c0 : NULL, &p->acte, 1);
				src = ebuf;
			}
			infer_dw3x3_planes(&dp, src, HW, p->wd + c0 * 9, p->bd != NULL ? p->bd + c0 : NULL, dbuf, OHW, ec,
			    scratch, fresh, lvl);
			fresh = 0;
			/* The projection's columns c0..c0+ec of its weights times this chunk's planes. */
			struct pw_gemm pg = { .wp = p->wpp, .M = p->M, .K = p->E, .m0 = 0, .m1 = p->M, .k0 = c0,
				.k1 = c0 + ec, .N = OHW, .b = dbuf, .ldb = OHW, .c = part, .ldc = OHW,
				.accumulate = used[tid], .threads = 1 };
			if (!packed_proj || infer_pw_gemm(lvl, &pg) != 0) {
				if (!used[tid])
					infer_sgemm(lvl, p->M, OHW, ec, p->wp + c0, p->E, dbuf, OHW, part, OHW, NULL, NULL, 1);
				else
					(void)infer_sgemm_acc(lvl, p->M, OHW, ec, p->wp + c0, p->E, dbuf, OHW, part, OHW, 1);
			}
			used[tid] = 1;
		}
		/* The implicit barrier above: every partial is complete. Sum them with the bias and activation. */
#pragma omp for schedule(static)
		for (int64_t m = 0; m < p->M; m++) {
			float b = p->bp != NULL ? p->bp[m] : 0.0f, *yr = y + m * OHW;
			int started = 0;
			/* Vector adds (infer_binary_f32): a plain loop here is not vectorised at -O2 and showed in the
			 * 2-thread profile. */
			for (int t = 0; t < nt; t++)
				if (used[t]) {
					const float *pr = work + t * per + bw->e_n + bw->d_n + bw->s_n + m * OHW;
					if (!started)
						infer_binary_f32(OP_ADD, pr, 1, &b, 0, yr, OHW);
					else
						infer_binary_f32(OP_ADD, yr, 1, pr, 1, yr, OHW);
					started = 1;
				}
			for (int64_t i = 0; !started && i < OHW; i++)
				yr[i] = b;
			infer_act_apply(&p->actp, yr, OHW);
			if (p->res != NULL)
				infer_binary_f32(OP_ADD, yr, 1, p->res + (n * p->M + m) * OHW, 1, yr, OHW);
		}
	}
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
	band_work_of(p, nt, lvl, &bw);
	if (infer_irb_plan(p) == IRB_CHUNKS) {
		for (int64_t n = 0; n < p->N; n++)
			run_chunks(p, n, work, &bw, nt, lvl);
		return 0;
	}
	R = bw.R;
	bands = (OH + R - 1) / R;
	cpi = chunks_per_image(p, nt);
	if (cpi > bands)
		cpi = bands;
	jobs = p->N * cpi;
#pragma omp parallel num_threads(jobs < nt ? (int)jobs : nt) if (nt > 1 && jobs > 1)
	{
		/* This thread's part of the workspace. */
		struct conv_params dp = { .N = 1, .C = 1, .M = 1, .G = 1, .g = *g, .act = p->actd, .threads = 1 };
		int64_t last_rows = -1, last_pt = -1, last_rr = -1, es = bw.erows * W;
		int fresh;
#ifdef _OPENMP
		float *ebuf = work + (int64_t)omp_get_thread_num() * (bw.e_n + bw.d_n + bw.s_n + bw.y_n);
#else
		float *ebuf = work;
#endif
		float *dbuf = ebuf + bw.e_n, *scratch = dbuf + bw.d_n;
		/* Dynamic: a thread that loses its core (a shared machine) leaves its remaining runs to the other. */
#pragma omp for schedule(dynamic, 1)
		for (int64_t j = 0; j < jobs; j++) {
			/* Run j % cpi of image n: an equal share of the output rows (+-1), in bands of at most R. */
			int64_t n = j / cpi, y0 = OH * (j % cpi) / cpi, y1 = OH * (j % cpi + 1) / cpi;
			int64_t have0 = 0, have = 0; /* expanded input rows [have0, have0 + have) in ebuf */
			const float *x = p->x + n * p->C * H * W;
			for (int64_t r0 = y0; r0 < y1; r0 += R) {
				int64_t rr = y1 - r0 < R ? y1 - r0 : R, iy0, rows, pt, src_ld, keep = 0;
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
				/* The scratch is zeroed again whenever the band geometry changes (the first and last
				 * bands differ from the middle ones), as infer_dw3x3_planes requires. */
				fresh = rows != last_rows || pt != last_pt || rr != last_rr;
				last_rows = rows, last_pt = pt, last_rr = rr;
				infer_dw3x3_planes(&dp, src, src_ld, p->wd, p->bd, dbuf, rr * OW, p->E, scratch, fresh, lvl);
				infer_sgemm(lvl, p->M, rr * OW, p->E, p->wp, p->E, dbuf, rr * OW,
				    p->y + n * p->M * OH * OW + r0 * OW, OH * OW, p->bp, &p->actp, 1);
				if (p->res != NULL)
					for (int64_t m = 0; m < p->M; m++)
						infer_binary_f32(OP_ADD, p->y + (n * p->M + m) * OH * OW + r0 * OW, 1,
						    p->res + (n * p->M + m) * OH * OW + r0 * OW, 1,
						    p->y + (n * p->M + m) * OH * OW + r0 * OW, rr * OW);
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
	/* The reference: a plain loop, as the Add node computes it. */
	for (int64_t i = 0; p->res != NULL && i < p->N * p->M * OH * OW; i++)
		p->y[i] += p->res[i];
	free(e);
	free(d);
	return 0;
}
