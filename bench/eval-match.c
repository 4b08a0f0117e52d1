/* eval-match.c: product-recognition evaluation — recall@1/@5 per signal and fused, per transformation, and end-to-end throughput (bench/RESULTS.md). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "match/descriptor.h"
#include "match/fuse.h"
#include "match/vindex.h"

/*
 * Input: the directory written by bench/eval-match-gen.py (catalog.txt, queries.txt, train.txt).
 * Signals ranked over the whole catalogue (originals + distractors), rank of the true original:
 *   embedding  vindex (int8) top-k by cosine
 *   histogram  histogram intersection, brute force
 *   phash      Hamming distance, brute force; ties count against the true item (pessimistic)
 *   concat     [embedding, sqrt(histogram)] / sqrt(2): one vector, cosine = mean of both similarities
 *   fused      fuse_score() (src/match/fuse.c) over the union of each signal's top FUSED_POOL candidates,
 *              ties broken by embedding cosine + histogram intersection
 */

#define FUSED_POOL 20
#define NSIG 5
static const char *const sig_names[NSIG] = { "embedding", "histogram", "phash", "concat", "fused" };

struct item {
	long id;              /* catalogue id, or the true id for a query */
	char *path;
	char *transform;      /* queries only */
	struct descriptor d;
	bool ok;
};

struct list {
	struct item *v;
	size_t n;
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "eval-match: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads "ID PATH" (fields = 2) or "TRANSFORM ID PATH" (fields = 3) or "PATH" (fields = 1) lines. */
static struct list
read_list(const char *dir, const char *name, int fields)
{
	char path[4096], line[8192];
	struct list l = { 0 };
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (f == NULL)
		die("cannot open %s (run bench/eval-match-gen.py first)", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		char *save = NULL, *a = strtok_r(line, " \n", &save), *b = strtok_r(NULL, " \n", &save),
		     *c = strtok_r(NULL, " \n", &save);
		struct item it = { 0 };
		if (a == NULL)
			continue;
		if (fields == 1) {
			it.path = strdup(a);
		} else if (fields == 2 && b != NULL) {
			it.id = strtol(a, NULL, 10);
			it.path = strdup(b);
		} else if (fields == 3 && c != NULL) {
			it.transform = strdup(a);
			it.id = strtol(b, NULL, 10);
			it.path = strdup(c);
		} else {
			die("%s: malformed line", path);
		}
		if (l.n == cap) {
			cap = cap ? cap * 2 : 256;
			l.v = realloc(l.v, cap * sizeof(*l.v));
			if (l.v == NULL)
				die("%s", "out of memory");
		}
		l.v[l.n++] = it;
	}
	fclose(f);
	return l;
}

static void
free_list(struct list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].path);
		free(l->v[i].transform);
		descriptor_free(&l->v[i].d);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static unsigned char *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
		if (f != NULL)
			fclose(f);
		return NULL;
	}
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* ---- computing descriptors on several threads (one model each: a session runs one inference at a time) -- */

struct job {
	struct descriptor_model_opts opts;
	struct item *items;
	size_t n, next, failed;
	pthread_mutex_t lock;
	const float *search_catalog; /* throughput mode: search each embedding in this index */
	vindex *ix;
};

#define BATCH 8

static void *
worker(void *arg)
{
	struct job *j = arg;
	struct descriptor_model *m;
	char err[512];

	if (!descriptor_model_open(&m, &j->opts, err, sizeof(err)))
		die("%s", err);
	for (;;) {
		size_t start, n;
		unsigned char *bytes[BATCH];
		size_t lens[BATCH];
		const char *labels[BATCH];
		struct descriptor out[BATCH];
		bool ok[BATCH];
		char errs[BATCH][256];

		pthread_mutex_lock(&j->lock);
		start = j->next;
		n = j->n - start < BATCH ? j->n - start : BATCH;
		j->next += n;
		pthread_mutex_unlock(&j->lock);
		if (n == 0)
			break;
		for (size_t i = 0; i < n; i++) {
			bytes[i] = read_file(j->items[start + i].path, &lens[i]);
			if (bytes[i] == NULL)
				die("cannot read %s", j->items[start + i].path);
			labels[i] = j->items[start + i].path;
		}
		descriptor_compute_batch(m, n, (const unsigned char *const *)bytes, lens, labels, out, ok, errs);
		for (size_t i = 0; i < n; i++) {
			struct item *it = &j->items[start + i];
			free(bytes[i]);
			it->ok = ok[i];
			it->d = out[i];
			if (!ok[i]) {
				fprintf(stderr, "eval-match: %s\n", errs[i]);
				pthread_mutex_lock(&j->lock);
				j->failed++;
				pthread_mutex_unlock(&j->lock);
			} else if (j->ix != NULL) {
				vindex_hit hits[10];
				vindex_search(j->ix, it->d.embedding, 10, 1, hits);
			}
		}
	}
	descriptor_model_free(m);
	return NULL;
}

static void
compute_all(const struct descriptor_model_opts *opts, struct item *items, size_t n, int threads, vindex *ix)
{
	pthread_t tid[16];
	struct job j = { .opts = *opts, .items = items, .n = n, .ix = ix };

	pthread_mutex_init(&j.lock, NULL);
	if (threads < 1)
		threads = 1;
	if (threads > 16)
		threads = 16;
	for (int t = 0; t < threads; t++)
		pthread_create(&tid[t], NULL, worker, &j);
	for (int t = 0; t < threads; t++)
		pthread_join(tid[t], NULL);
	pthread_mutex_destroy(&j.lock);
}

/* ---- descriptor cache: later runs with the same model id and data set skip the inference ---------------- */

/* Loads FILE into a then b (descriptor_unpack() checks the model id); false when absent or not matching. */
static bool
cache_load(const char *file, const struct descriptor_model *m, struct list *a, struct list *b)
{
	size_t len, off = 0;
	unsigned char *buf = read_file(file, &len);
	struct list *ls[2] = { a, b };
	bool ok = buf != NULL;

	for (int k = 0; k < 2 && ok; k++)
		for (size_t i = 0; i < ls[k]->n && ok; i++) {
			uint32_t n;
			if (off + 5 > len) {
				ok = false;
				break;
			}
			memcpy(&n, buf + off + 1, 4);
			ls[k]->v[i].ok = buf[off] != 0;
			off += 5;
			if (n > len - off) {
				ok = false;
				break;
			}
			if (ls[k]->v[i].ok)
				ok = descriptor_unpack(m, buf + off, n, &ls[k]->v[i].d);
			off += n;
		}
	free(buf);
	return ok && off == len;
}

static void
cache_save(const char *file, const struct descriptor_model *m, const struct list *a, const struct list *b)
{
	FILE *f = fopen(file, "wb");
	const struct list *ls[2] = { a, b };

	if (f == NULL)
		die("cannot write %s: %s", file, strerror(errno));
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < ls[k]->n; i++) {
			size_t n = 0;
			unsigned char *blob = ls[k]->v[i].ok ? descriptor_pack(m, &ls[k]->v[i].d, &n) : NULL;
			uint32_t n32 = (uint32_t)n;
			unsigned char okb = blob != NULL;
			fwrite(&okb, 1, 1, f);
			fwrite(&n32, 4, 1, f);
			if (blob != NULL)
				fwrite(blob, 1, n, f);
			free(blob);
		}
	if (fclose(f) != 0)
		die("writing %s failed", file);
}

/* ---- ranking ------------------------------------------------------------------------------------------ */

static float
dotf(const float *a, const float *b, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += (double)a[i] * b[i];
	return (float)s;
}

static float
concat_sim(const struct descriptor *a, const struct descriptor *b)
{
	double h = 0;

	for (size_t i = 0; i < IMAGE_HIST_BINS; i++)
		h += sqrt((double)a->hist[i] * b->hist[i]);
	return 0.5f * dotf(a->embedding, b->embedding, a->dim) + 0.5f * (float)h;
}

/* Similarity of query q to catalogue item c under signal s (higher is better; pHash negated). */
static float
sig_score(int s, const struct descriptor *q, const struct descriptor *c)
{
	switch (s) {
	case 0: return dotf(q->embedding, c->embedding, q->dim);
	case 1: return image_hist_intersection(q->hist, c->hist);
	case 2: return -(float)image_hamming(q->phash, c->phash);
	case 3: return concat_sim(q, c);
	default: return 0;
	}
}

/* 1: fuse_input.image_side = 0 (the CNN trusted at every size), to measure the small-image rule. */
static int fuse_full_trust;
/* --pairs FILE: every fused candidate's raw signals (bench/eval-fuse-tune.py reads them). */
static FILE *pairs_out;

static float
fused_score(const struct descriptor *q, const struct descriptor *c, float *tiebreak)
{
	fuse_input in = { 0 };
	fuse_result r;

	in.has_embedding = true;
	in.embedding_cos = dotf(q->embedding, c->embedding, q->dim);
	in.has_histogram = true;
	in.hist_intersection = image_hist_intersection(q->hist, c->hist);
	in.has_phash = true;
	in.phash_distance = image_hamming(q->phash, c->phash);
	in.image_side = fuse_full_trust ? 0 : q->width < q->height ? q->width : q->height;
	fuse_score(&in, &r);
	*tiebreak = in.embedding_cos + in.hist_intersection;
	return r.score;
}

/* 1-based rank of the true item: 1 + items scoring better + other items scoring the same (pessimistic). */
static size_t
rank_brute(int s, const struct item *q, const struct list *cat, size_t true_idx)
{
	float t = sig_score(s, &q->d, &cat->v[true_idx].d);
	size_t r = 1;

	for (size_t i = 0; i < cat->n; i++) {
		float v;
		if (i == true_idx || !cat->v[i].ok)
			continue;
		v = sig_score(s, &q->d, &cat->v[i].d);
		if (v >= t)
			r++;
	}
	return r;
}

static int
cmp_hit_desc(const void *a, const void *b)
{
	const float *x = a, *y = b;

	return x[0] < y[0] ? 1 : x[0] > y[0] ? -1 : 0;
}

/* Indices of the top n catalogue items under signal s, best first, into out (n <= FUSED_POOL). */
static size_t
top_n(int s, const struct item *q, const struct list *cat, size_t n, size_t *out)
{
	float best[FUSED_POOL][2];
	size_t k = 0;

	for (size_t i = 0; i < cat->n; i++) {
		float v;
		if (!cat->v[i].ok)
			continue;
		v = sig_score(s, &q->d, &cat->v[i].d);
		if (k < n) {
			best[k][0] = v;
			best[k++][1] = (float)i;
			qsort(best, k, sizeof(best[0]), cmp_hit_desc);
		} else if (v > best[n - 1][0]) {
			best[n - 1][0] = v;
			best[n - 1][1] = (float)i;
			qsort(best, k, sizeof(best[0]), cmp_hit_desc);
		}
	}
	for (size_t i = 0; i < k; i++)
		out[i] = (size_t)best[i][1];
	return k;
}

/* Rank of the true item under the fused score among the pooled candidates (FUSED_POOL * 3 + 1 when absent);
 * *true_score and *impostor get the true item's score (0 when absent) and the best other candidate's. */
static size_t
rank_fused(const struct item *q, const struct list *cat, size_t true_idx, float *true_score, float *impostor)
{
	size_t cand[3 * FUSED_POOL], nc = 0, r = 1;
	float ts, tt;
	bool present = false;

	for (int s = 0; s < 3; s++) {
		size_t got[FUSED_POOL], n = top_n(s, q, cat, FUSED_POOL, got);
		for (size_t i = 0; i < n; i++) {
			bool dup = false;
			for (size_t k = 0; k < nc; k++)
				dup |= cand[k] == got[i];
			if (!dup)
				cand[nc++] = got[i];
		}
	}
	for (size_t k = 0; k < nc; k++)
		present |= cand[k] == true_idx;
	if (pairs_out != NULL && !fuse_full_trust) {
		/* One line per candidate (and the true item when the pool missed it), for tuning the fuse offline. */
		bool wrote_true = false;
		for (size_t k = 0; k <= nc; k++) {
			size_t ci = k < nc ? cand[k] : true_idx;
			const struct descriptor *c = &cat->v[ci].d;
			if (k == nc && wrote_true)
				break;
			wrote_true |= ci == true_idx;
			fprintf(pairs_out, "%s %ld %d %u %.5f %.5f %d\n", q->transform, q->id, ci == true_idx,
			    q->d.width < q->d.height ? q->d.width : q->d.height, dotf(q->d.embedding, c->embedding, q->d.dim),
			    image_hist_intersection(q->d.hist, c->hist), image_hamming(q->d.phash, c->phash));
		}
	}
	ts = present ? fused_score(&q->d, &cat->v[true_idx].d, &tt) : 0;
	*true_score = ts;
	*impostor = 0;
	for (size_t k = 0; k < nc; k++) {
		float s, tb;
		if (cand[k] == true_idx)
			continue;
		s = fused_score(&q->d, &cat->v[cand[k]].d, &tb);
		if (s > *impostor)
			*impostor = s;
		if (s > ts || (s == ts && tb >= tt))
			r++;
	}
	return present ? r : FUSED_POOL * 3 + 1;
}

struct tally {
	const char *transform;
	size_t n, r1[NSIG], r5[NSIG];
	size_t true_ge[2], imp_ge[2], trust_r1; /* fused score >= 0.60 / 0.80: true item, best impostor */
};

static void
print_table(struct tally *t, size_t nt, FILE *f, const char *title)
{
	struct tally all = { .transform = "**all**" };

	fprintf(f, "\n%s\n\n| transform | n |", title);
	for (int s = 0; s < NSIG; s++)
		fprintf(f, " %s R@1 | R@5 |", sig_names[s]);
	fprintf(f, "\n|---|---:|");
	for (int s = 0; s < NSIG; s++)
		fprintf(f, "---:|---:|");
	fprintf(f, "\n");
	for (size_t i = 0; i <= nt; i++) {
		struct tally *x = i < nt ? &t[i] : &all;
		if (i < nt) {
			all.n += x->n;
			for (int s = 0; s < NSIG; s++) {
				all.r1[s] += x->r1[s];
				all.r5[s] += x->r5[s];
			}
		}
		fprintf(f, "| %s | %zu |", x->transform, x->n);
		for (int s = 0; s < NSIG; s++)
			fprintf(f, " %.1f | %.1f |", 100.0 * x->r1[s] / (x->n ? x->n : 1), 100.0 * x->r5[s] / (x->n ? x->n : 1));
		fprintf(f, "\n");
	}
}

/* The match decision: how often the true product reaches the threshold, and how often the best wrong one does. */
static void
print_decisions(struct tally *t, size_t nt, FILE *f)
{
	struct tally all = { .transform = "**all**" };

	fprintf(f, "\nFused score at the threshold (true = the right product scores >= T; impostor = the best wrong "
	           "candidate does), and fused R@1 with the CNN trusted at every image size\n\n"
	           "| transform | true >= 0.60 | impostor >= 0.60 | true >= 0.80 | impostor >= 0.80 | R@1, CNN always trusted |\n"
	           "|---|---:|---:|---:|---:|---:|\n");
	for (size_t i = 0; i <= nt; i++) {
		struct tally *x = i < nt ? &t[i] : &all;
		double n = x->n ? (double)x->n : 1;
		if (i < nt) {
			all.n += x->n;
			all.trust_r1 += x->trust_r1;
			for (int k = 0; k < 2; k++) {
				all.true_ge[k] += x->true_ge[k];
				all.imp_ge[k] += x->imp_ge[k];
			}
		}
		fprintf(f, "| %s | %.1f | %.1f | %.1f | %.1f | %.1f |\n", x->transform, 100.0 * x->true_ge[0] / n,
		    100.0 * x->imp_ge[0] / n, 100.0 * x->true_ge[1] / n, 100.0 * x->imp_ge[1] / n, 100.0 * x->trust_r1 / n);
	}
}

/* Raw embeddings of the training list, float32 little-endian, n x dim, for tools/learn-whitening.py. */
static void
dump(const char *file, const struct list *l, size_t dim)
{
	FILE *f = fopen(file, "wb");
	size_t n = 0;

	if (f == NULL)
		die("cannot write %s", file);
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].ok && fwrite(l->v[i].d.embedding, sizeof(float), dim, f) == dim)
			n++;
	fclose(f);
	fprintf(stderr, "eval-match: %zu x %zu floats -> %s\n", n, dim, file);
}

static void
usage(void)
{
	fprintf(stderr, "usage: eval-match [--model FILE.onnx] [--output NAME] [--threads N] [--title TEXT]\n"
	                "                  [--cache FILE] [--pairs FILE] [--dump-train FILE] [--throughput N] DIR\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "model", required_argument, NULL, 'm' }, { "output", required_argument, NULL, 'o' },
		{ "threads", required_argument, NULL, 't' }, { "dump-train", required_argument, NULL, 'd' },
		{ "throughput", required_argument, NULL, 'T' }, { "title", required_argument, NULL, 'n' },
		{ "cache", required_argument, NULL, 'c' }, { "pairs", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct descriptor_model_opts mo = { .threads = 1 };
	const char *dumpfile = NULL, *title = NULL, *cachefile = NULL;
	long throughput = 0;
	int threads = 2, c;
	struct list cat, qs;
	struct descriptor_model *m;
	char err[512];
	double t0;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm': mo.model_path = optarg; break;
		case 'o': mo.output_name = optarg; break;
		case 't': threads = (int)strtol(optarg, NULL, 10); break;
		case 'd': dumpfile = optarg; break;
		case 'T': throughput = strtol(optarg, NULL, 10); break;
		case 'n': title = optarg; break;
		case 'c': cachefile = optarg; break;
		case 'p':
			pairs_out = fopen(optarg, "w");
			if (pairs_out == NULL)
				die("cannot write %s: %s", optarg, strerror(errno));
			break;
		default: usage();
		}
	}
	if (optind + 1 != argc)
		usage();
	if (!descriptor_model_open(&m, &mo, err, sizeof(err)))
		die("%s", err);
	fprintf(stderr, "eval-match: model %s, dim %zu\n", descriptor_model_id(m), descriptor_model_dim(m));

	if (dumpfile != NULL) {
		struct list tr = read_list(argv[optind], "train.txt", 1);
		compute_all(&mo, tr.v, tr.n, threads, NULL);
		dump(dumpfile, &tr, descriptor_model_dim(m));
		free_list(&tr);
		descriptor_model_free(m);
		return 0;
	}
	qs = read_list(argv[optind], "queries.txt", 3);
	if (throughput > 0) {
		/* End to end: read + decode + normalise + embed + top-10 search in a 10,000-vector int8 index. */
		size_t dim = descriptor_model_dim(m), n = (size_t)throughput < qs.n ? (size_t)throughput : qs.n;
		vindex *ix = vindex_new((uint32_t)dim, VINDEX_I8);
		float *v = malloc(dim * sizeof(float));
		uint64_t s = 88172645463325252ull;
		double dt;
		for (size_t i = 0; i < 10000; i++) {
			for (size_t k = 0; k < dim; k++) {
				s ^= s << 13;
				s ^= s >> 7;
				s ^= s << 17;
				v[k] = (float)((double)(s >> 11) / 9007199254740992.0 - 0.5);
			}
			vindex_add(ix, i, v);
		}
		free(v);
		t0 = now_s();
		compute_all(&mo, qs.v, n, threads, ix);
		dt = now_s() - t0;
		printf("throughput: %zu images in %.2f s at %d threads: %.1f images/s (model %s)\n", n, dt, threads,
		    (double)n / dt, descriptor_model_id(m));
		vindex_free(ix);
		free_list(&qs);
		descriptor_model_free(m);
		return 0;
	}
	cat = read_list(argv[optind], "catalog.txt", 2);
	t0 = now_s();
	if (cachefile == NULL || !cache_load(cachefile, m, &cat, &qs)) {
		compute_all(&mo, cat.v, cat.n, threads, NULL);
		compute_all(&mo, qs.v, qs.n, threads, NULL);
		if (cachefile != NULL)
			cache_save(cachefile, m, &cat, &qs);
	}
	fprintf(stderr, "eval-match: %zu catalogue + %zu query descriptors in %.1f s\n", cat.n, qs.n, now_s() - t0);

	{
		vindex *ix = vindex_new((uint32_t)descriptor_model_dim(m), VINDEX_I8);
		struct tally t[32] = { { 0 } };
		size_t nt = 0, norig = 0;
		/* the embedding goes through the real index; the other signals are scored by brute force */
		for (size_t i = 0; i < cat.n; i++)
			if (cat.v[i].ok)
				vindex_add(ix, i, cat.v[i].d.embedding);
		for (size_t i = 0; i < cat.n; i++) {
			bool queried = false;
			for (size_t qi = 0; qi < qs.n && !queried; qi++)
				queried = qs.v[qi].id == cat.v[i].id;
			norig += queried;
		}
		for (size_t qi = 0; qi < qs.n; qi++) {
			struct item *q = &qs.v[qi];
			struct tally *x = NULL;
			size_t true_idx = SIZE_MAX, rk[NSIG];
			vindex_hit hits[5];
			size_t nh;
			for (size_t i = 0; i < nt; i++)
				if (strcmp(t[i].transform, q->transform) == 0)
					x = &t[i];
			if (x == NULL && nt < 32) {
				x = &t[nt++];
				x->transform = q->transform;
			}
			if (x == NULL)
				continue;
			for (size_t i = 0; i < cat.n; i++)
				if (cat.v[i].id == q->id)
					true_idx = i;
			x->n++;
			if (!q->ok || true_idx == SIZE_MAX || !cat.v[true_idx].ok)
				continue;   /* a failed decode counts as a miss */
			nh = vindex_search(ix, q->d.embedding, 5, 1, hits);
			rk[0] = 6;
			for (size_t h = 0; h < nh; h++)
				if (hits[h].id == true_idx) {
					rk[0] = h + 1;
					break;
				}
			for (int s = 1; s < 4; s++)
				rk[s] = rank_brute(s, q, &cat, true_idx);
			{
				float ts, imp, ts2, imp2;
				rk[4] = rank_fused(q, &cat, true_idx, &ts, &imp);
				x->true_ge[0] += ts >= 0.60f;
				x->true_ge[1] += ts >= 0.80f;
				x->imp_ge[0] += imp >= 0.60f;
				x->imp_ge[1] += imp >= 0.80f;
				fuse_full_trust = 1;
				x->trust_r1 += rank_fused(q, &cat, true_idx, &ts2, &imp2) == 1;
				fuse_full_trust = 0;
			}
			if (getenv("EVAL_MISSES") != NULL && rk[4] > 1) {
				size_t top[1];
				top_n(1, q, &cat, 1, top);
				fprintf(stderr, "miss %s: %s (rank %zu) -> %s\n", q->transform, cat.v[true_idx].path, rk[4],
				    cat.v[top[0]].path);
			}
			for (int s = 0; s < NSIG; s++) {
				x->r1[s] += rk[s] == 1;
				x->r5[s] += rk[s] <= 5;
			}
		}
		{
			char head[1024];
			snprintf(head, sizeof(head), "%s — model `%s`, catalogue %zu images (%zu originals)",
			    title != NULL ? title : "recall (%)", descriptor_model_id(m), cat.n, norig);
			print_table(t, nt, stdout, head);
			print_decisions(t, nt, stdout);
			if (pairs_out != NULL)
				fclose(pairs_out);
		}
		vindex_free(ix);
	}
	free_list(&cat);
	free_list(&qs);
	descriptor_model_free(m);
	return 0;
}
