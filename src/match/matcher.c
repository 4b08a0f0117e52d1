/* matcher.c: ranks catalogue products for a listing (vector top-k, identifiers, overrides) and stores the verdict. */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "common/log.h"
#include "common/util.h"
#include "match/matcher.h"

#define DEFAULT_TOP_K 5
#define HIST_SCALE 65535.0f    /* histogram bins kept as uint16 fractions: 1 KiB per image, error < 1e-5 */

/* One catalogue product and the slice of images[] that belongs to it (images are loaded product by product). */
struct mproduct {
	struct catalog_product p;
	size_t first, count;
	char gtin_n[16], mpn_n[64]; /* normalised once at load (ident_norm) for the identifier lookup */
};

/* The exact signals of one reference image, for re-scoring the candidates the indexes found. */
struct mimage {
	size_t product;
	uint64_t phash;
	bool has_embedding;
	uint16_t hist[IMAGE_HIST_BINS];
};

struct matcher {
	struct descriptor_model *model;
	struct matcher_opts o;
	size_t dim;

	struct mproduct *products;
	size_t nproducts, capp;
	struct mimage *images;
	float *emb;                /* nimages x dim: the embeddings (zeros where absent) */
	size_t nimages, capi;
	vindex *emb_ix, *hist_ix;  /* ids are indexes into images[] */

	bool loaded;
	int64_t version;
	size_t stale;
};

bool
matcher_new(struct matcher **out, struct descriptor_model *model, const struct matcher_opts *opts)
{
	struct matcher *mt = xcalloc(1, sizeof(*mt));

	mt->model = model;
	if (opts != NULL)
		mt->o = *opts;
	if (mt->o.threshold < 0.0f)
		mt->o.threshold = FUSE_THRESHOLD;
	if (mt->o.top_k == 0)
		mt->o.top_k = DEFAULT_TOP_K;
	mt->dim = descriptor_model_dim(model);
	*out = mt;
	return true;
}

/* Drops the loaded catalogue (not the options). */
static void
matcher_clear(struct matcher *mt)
{
	for (size_t i = 0; i < mt->nproducts; i++)
		catalog_product_free(&mt->products[i].p);
	free(mt->products);
	free(mt->images);
	free(mt->emb);
	vindex_free(mt->emb_ix);
	vindex_free(mt->hist_ix);
	mt->products = NULL;
	mt->images = NULL;
	mt->emb = NULL;
	mt->emb_ix = mt->hist_ix = NULL;
	mt->nproducts = mt->capp = mt->nimages = mt->capi = 0;
	mt->stale = 0;
	mt->loaded = false;
}

void
matcher_free(struct matcher *mt)
{
	if (mt == NULL)
		return;
	matcher_clear(mt);
	free(mt);
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

/*
 * The histogram index's vector: the 8x8x8 bins summed into 4x4x4 (top 2 bits of R, G, B), in Hellinger form
 * (square roots: the dot product of two is the Bhattacharyya coefficient). 64 dimensions keep the scan as
 * cheap as the embedding's at a million images; the exact 512-bin intersection re-scores the candidates.
 */
#define COARSE_BINS 64

static void
hist_coarse(const float *hist, float *out)
{
	memset(out, 0, COARSE_BINS * sizeof(*out));
	for (size_t i = 0; i < IMAGE_HIST_BINS; i++) {
		size_t r = i >> 6, g = (i >> 3) & 7, b = i & 7;

		out[(r >> 1) << 4 | (g >> 1) << 2 | (b >> 1)] += hist[i] > 0.0f ? hist[i] : 0.0f;
	}
	for (size_t i = 0; i < COARSE_BINS; i++)
		out[i] = sqrtf(out[i]);
}

/* Lower-case letters and digits only, leading zeros dropped when digits_only (GTIN spellings): "" if none. */
static void
ident_norm(const char *s, bool digits_only, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	if (s == NULL || len == 0)
		return;
	for (; *s != '\0' && n + 1 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (!isalnum(c) || (digits_only && !isdigit(c)))
			continue;
		if (digits_only && n == 0 && c == '0')
			continue;
		buf[n++] = (char)tolower(c);
	}
	buf[n] = '\0';
}

static void
add_product(struct matcher *mt, const struct catalog_product *p)
{
	struct mproduct *mp;

	if (mt->nproducts == mt->capp) {
		mt->capp = mt->capp != 0 ? 2 * mt->capp : 64;
		mt->products = xreallocarray(mt->products, mt->capp, sizeof(*mt->products));
	}
	mp = &mt->products[mt->nproducts++];
	memset(mp, 0, sizeof(*mp));
	mp->p.sku = xstrdup(p->sku);
	mp->p.title = dup_or_null(p->title);
	mp->p.brand = dup_or_null(p->brand);
	mp->p.gtin = dup_or_null(p->gtin);
	mp->p.mpn = dup_or_null(p->mpn);
	mp->p.price = p->price;
	mp->p.added_ms = p->added_ms;
	mp->p.n_images = p->n_images;
	mp->first = mt->nimages;
	ident_norm(p->gtin, true, mp->gtin_n, sizeof(mp->gtin_n));
	ident_norm(p->mpn, false, mp->mpn_n, sizeof(mp->mpn_n));
}

static void
add_image(struct matcher *mt, const struct descriptor *d)
{
	struct mimage *im;
	float hs[COARSE_BINS];
	size_t id;

	if (mt->nimages == mt->capi) {
		mt->capi = mt->capi != 0 ? 2 * mt->capi : 64;
		mt->images = xreallocarray(mt->images, mt->capi, sizeof(*mt->images));
		if (mt->dim > 0)
			mt->emb = xreallocarray(mt->emb, mt->capi, mt->dim * sizeof(float));
	}
	id = mt->nimages++;
	im = &mt->images[id];
	im->product = mt->nproducts - 1;
	im->phash = d->phash;
	for (size_t i = 0; i < IMAGE_HIST_BINS; i++) {
		float v = d->hist[i] < 0.0f ? 0.0f : d->hist[i] > 1.0f ? 1.0f : d->hist[i];

		im->hist[i] = (uint16_t)lrintf(v * HIST_SCALE);
	}
	im->has_embedding = d->embedding != NULL && d->dim == mt->dim && mt->dim > 0;
	if (mt->dim > 0) {
		float *e = mt->emb + id * mt->dim;

		if (im->has_embedding)
			memcpy(e, d->embedding, mt->dim * sizeof(float));
		else
			memset(e, 0, mt->dim * sizeof(float));
		/* A zero or non-finite vector is refused by the index; the image still scores by its other signals. */
		if (im->has_embedding && vindex_add(mt->emb_ix, id, e) != 0)
			im->has_embedding = false;
	}
	hist_coarse(d->hist, hs);
	(void)vindex_add(mt->hist_ix, id, hs);
	mt->products[mt->nproducts - 1].count++;
}

static void
load_blob(void *arg, const struct catalog_product *p, size_t image_index, const unsigned char *blob, size_t len)
{
	struct matcher *mt = arg;
	struct descriptor d;

	(void)image_index;
	if (mt->nproducts == 0 || strcmp(mt->products[mt->nproducts - 1].p.sku, p->sku) != 0)
		add_product(mt, p);
	if (blob == NULL)
		return;
	memset(&d, 0, sizeof(d));
	if (!descriptor_unpack(mt->model, blob, len, &d)) {
		mt->stale++;
		return;
	}
	add_image(mt, &d);
	descriptor_free(&d);
}

enum store_status
matcher_sync(struct matcher *mt, struct store *st, bool *reloaded)
{
	int64_t version;
	enum store_status s;

	if (reloaded != NULL)
		*reloaded = false;
	if ((s = catalog_version(st, &version)) != STORE_OK)
		return s;
	if (mt->loaded && version == mt->version)
		return STORE_OK;
	matcher_clear(mt);
	mt->hist_ix = vindex_new(COARSE_BINS, mt->o.storage);
	mt->emb_ix = mt->dim > 0 ? vindex_new((uint32_t)mt->dim, mt->o.storage) : NULL;
	if (mt->hist_ix == NULL || (mt->dim > 0 && mt->emb_ix == NULL)) {
		store_set_error(st, "cannot create the catalogue index (embedding dimension %zu)", mt->dim);
		matcher_clear(mt);
		return STORE_ERROR;
	}
	/* The version is read first: a change during the load makes the next sync load again. */
	if ((s = catalog_each_blob(st, load_blob, mt)) != STORE_OK) {
		matcher_clear(mt);
		return s;
	}
	mt->version = version;
	mt->loaded = true;
	if (mt->stale > 0)
		log_warnx("catalogue: %zu reference image(s) were embedded by another model and are left out; "
		    "run \"pricewatch catalog import\" again to embed them with %s", mt->stale,
		    descriptor_model_id(mt->model));
	if (reloaded != NULL)
		*reloaded = true;
	return STORE_OK;
}

void
matcher_stats_get(const struct matcher *mt, struct matcher_stats *out)
{
	out->products = mt->nproducts;
	out->images = mt->nimages;
	out->stale = mt->stale;
	out->version = mt->version;
}

/* ---- ranking ----------------------------------------------------------------------------------------- */

/* Candidate set: product indexes, each once, and which are confirmed or rejected for the listing. */
struct cands {
	size_t *idx;
	unsigned char *state;      /* 0 plain, 1 confirmed, 2 rejected */
	size_t n, cap;
};

static void
cands_add(struct cands *c, size_t product, unsigned char state)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->idx[i] == product) {
			if (state != 0)
				c->state[i] = state;
			return;
		}
	if (c->n == c->cap) {
		c->cap = c->cap != 0 ? 2 * c->cap : 16;
		c->idx = xreallocarray(c->idx, c->cap, sizeof(*c->idx));
		c->state = xreallocarray(c->state, c->cap, sizeof(*c->state));
	}
	c->idx[c->n] = product;
	c->state[c->n++] = state;
}

static void
cands_from_hits(struct matcher *mt, struct cands *c, const vindex *ix, const float *query, size_t k)
{
	vindex_hit *hits;
	size_t n;

	if (ix == NULL)
		return;
	hits = xcalloc(k, sizeof(*hits));
	n = vindex_search(ix, query, k, mt->o.threads, hits);
	for (size_t i = 0; i < n; i++)
		cands_add(c, mt->images[hits[i].id].product, 0);
	free(hits);
}

/* Products whose GTIN or MPN equals the query's (normalised): identifiers are decisive, so never miss one. */
static void
cands_from_ids(struct matcher *mt, struct cands *c, const struct matcher_query *q)
{
	char qg[16], qm[64];
	bool use_mpn;

	ident_norm(q->gtin, true, qg, sizeof(qg));
	ident_norm(q->mpn, false, qm, sizeof(qm));
	use_mpn = strlen(qm) >= 4;
	if (qg[0] == '\0' && !use_mpn)
		return;
	for (size_t i = 0; i < mt->nproducts; i++) {
		const struct mproduct *p = &mt->products[i];

		if ((qg[0] != '\0' && strcmp(qg, p->gtin_n) == 0) || (use_mpn && strcmp(qm, p->mpn_n) == 0))
			cands_add(c, i, 0);
	}
}

static size_t
find_product(const struct matcher *mt, const char *sku)
{
	for (size_t i = 0; i < mt->nproducts; i++)
		if (strcmp(mt->products[i].p.sku, sku) == 0)
			return i;
	return SIZE_MAX;
}

/* <prefix>match:override:<LISTING>: confirmed products join the candidates, rejected ones are marked. */
static void
cands_from_overrides(struct matcher *mt, struct store *st, struct cands *c, const char *listing_id)
{
	char *key = xasprintf("%smatch:override:%s", store_prefix(st), listing_id);
	const char *argv[] = { "HGETALL", key };
	redisReply *r;

	if (store_command(st, 2, argv, &r) == STORE_OK) {
		if (r->type == REDIS_REPLY_ARRAY)
			for (size_t i = 0; i + 1 < r->elements; i += 2) {
				size_t p;

				if (r->element[i]->type != REDIS_REPLY_STRING ||
				    r->element[i + 1]->type != REDIS_REPLY_STRING ||
				    (p = find_product(mt, r->element[i]->str)) == SIZE_MAX)
					continue;
				cands_add(c, p, strcmp(r->element[i + 1]->str, "confirmed") == 0 ? 1 : 2);
			}
		else
			log_warnx("%s: %s", key, r->type == REDIS_REPLY_ERROR ? r->str : "not a hash");
		freeReplyObject(r);
	} else
		log_warnx("reading %s: %s", key, store_error(st));
	free(key);
}

static float
dot(const float *a, const float *b, size_t n)
{
	double s = 0.0;

	for (size_t i = 0; i < n; i++)
		s += (double)a[i] * b[i];
	return (float)s;
}

static float
hist_intersection_q(const uint16_t *q, const float *h)
{
	float s = 0.0f;

	for (size_t i = 0; i < IMAGE_HIST_BINS; i++) {
		float v = (float)q[i] / HIST_SCALE;

		s += v < h[i] ? v : h[i];
	}
	return s;
}

/* The best fused score of product p over its images (or over identifiers and title alone). */
static void
score_product(const struct matcher *mt, const struct mproduct *p, const struct matcher_query *q,
    const struct descriptor *d, fuse_result *best)
{
	fuse_input in = {
		.listing_gtin = q->gtin, .product_gtin = p->p.gtin,
		.listing_mpn = q->mpn, .product_mpn = p->p.mpn,
		.listing_brand = q->brand, .product_brand = p->p.brand,
		.listing_title = q->title, .product_title = p->p.title,
		.cnn_min_side = mt->o.cnn_min_side,
	};
	fuse_result r;

	if (d == NULL || p->count == 0) {
		fuse_score(&in, best);
		return;
	}
	in.image_side = d->width < d->height ? d->width : d->height;
	best->score = -1.0f;
	for (size_t i = p->first; i < p->first + p->count; i++) {
		const struct mimage *im = &mt->images[i];

		in.has_embedding = im->has_embedding && d->embedding != NULL && d->dim == mt->dim;
		in.embedding_cos = in.has_embedding ? dot(d->embedding, mt->emb + i * mt->dim, mt->dim) : 0.0f;
		in.has_histogram = true;
		in.hist_intersection = hist_intersection_q(im->hist, d->hist);
		in.has_phash = true;
		in.phash_distance = image_hamming(im->phash, d->phash);
		fuse_score(&in, &r);
		if (r.score > best->score)
			*best = r;
	}
}

static int
cmp_candidate(const void *a, const void *b)
{
	const struct matcher_candidate *x = a, *y = b;

	if (x->confirmed != y->confirmed)
		return x->confirmed ? -1 : 1;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return strcmp(x->sku, y->sku);
}

size_t
matcher_rank(struct matcher *mt, struct store *st, const struct matcher_query *q, const struct descriptor *d,
    struct matcher_candidate *out, size_t k)
{
	struct cands c = { 0 };
	struct matcher_candidate *all;
	size_t n = 0;

	if (!mt->loaded || mt->nproducts == 0 || k == 0)
		return 0;
	if (d != NULL) {
		float hs[COARSE_BINS];

		if (d->embedding != NULL && d->dim == mt->dim)
			cands_from_hits(mt, &c, mt->emb_ix, d->embedding, mt->o.top_k);
		/* The coarse histogram is the weaker ranking: it proposes twice as many. */
		hist_coarse(d->hist, hs);
		cands_from_hits(mt, &c, mt->hist_ix, hs, 2 * mt->o.top_k);
	}
	cands_from_ids(mt, &c, q);
	if (st != NULL && q->listing_id != NULL)
		cands_from_overrides(mt, st, &c, q->listing_id);

	all = xcalloc(c.n + 1, sizeof(*all));
	for (size_t i = 0; i < c.n; i++) {
		const struct mproduct *p = &mt->products[c.idx[i]];
		struct matcher_candidate *m = &all[n];

		if (c.state[i] == 2)   /* rejected: never a candidate again */
			continue;
		(void)pw_strlcpy(m->sku, p->p.sku, sizeof(m->sku));
		m->title = p->p.title;
		m->price = p->p.price;
		if (c.state[i] == 1) {
			m->confirmed = m->match = true;
			m->score = 1.0f;
			memset(&m->fused, 0, sizeof(m->fused));
			m->fused.score = 1.0f;
			m->fused.match = true;
			m->fused.nreasons = 1;
			m->fused.reasons[0] = (fuse_reason){ "confirmed", 1.0f };
		} else {
			score_product(mt, p, q, d, &m->fused);
			m->score = m->fused.score;
			m->match = m->score >= mt->o.threshold;
		}
		n++;
	}
	qsort(all, n, sizeof(*all), cmp_candidate);
	if (n > k)
		n = k;
	memcpy(out, all, n * sizeof(*out));
	free(all);
	free(c.idx);
	free(c.state);
	return n;
}

/* ---- the verdict on the listing ------------------------------------------------------------------------ */

/* KEYS[1] listing; ARGV sku (or "" to clear), score, reasons, state, ms. -1: no listing; 1: a new SKU. */
static const char result_script[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end\n"
    "local old = redis.call('HGET', KEYS[1], 'match_sku')\n"
    "if ARGV[1] == '' then\n"
    "  redis.call('HDEL', KEYS[1], 'match_sku', 'match_score', 'match_reasons', 'match_state', 'match_ms')\n"
    "  return 0\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'match_sku', ARGV[1], 'match_score', ARGV[2], 'match_reasons', ARGV[3],\n"
    "  'match_state', ARGV[4])\n"
    "if old == ARGV[1] then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'match_ms', ARGV[5])\n"
    "return 1\n";

/* KEYS listing, product, override hash; ARGV sku, confirmed|rejected, ms. -1 no listing, -2 no product. */
static const char override_script[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end\n"
    "if redis.call('EXISTS', KEYS[2]) == 0 then return -2 end\n"
    "redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])\n"
    "local old = redis.call('HGET', KEYS[1], 'match_sku')\n"
    "if ARGV[2] == 'confirmed' then\n"
    "  redis.call('HSET', KEYS[1], 'match_sku', ARGV[1], 'match_score', '1.000', 'match_reasons', 'confirmed',\n"
    "    'match_state', 'confirmed')\n"
    "  if old ~= ARGV[1] then redis.call('HSET', KEYS[1], 'match_ms', ARGV[3]) end\n"
    "elseif old == ARGV[1] then\n"
    "  redis.call('HDEL', KEYS[1], 'match_sku', 'match_score', 'match_reasons', 'match_state', 'match_ms')\n"
    "end\n"
    "return 1\n";

enum store_status
matcher_store_result(struct store *st, const char *listing_id, const struct matcher_candidate *best, int64_t now_ms,
    bool *is_new)
{
	char score[16] = "", reasons[512] = "", ms[24];
	char *lk = xasprintf("%slisting:%s", store_prefix(st), listing_id);
	bool match = best != NULL && best->match;
	const char *args[] = {
		lk, match ? best->sku : "", score, reasons, match && best->confirmed ? "confirmed" : "auto", ms,
	};
	redisReply *r;
	enum store_status s;

	if (is_new != NULL)
		*is_new = false;
	if (match) {
		(void)pw_snprintf(score, sizeof(score), "%.3f", (double)best->score);
		(void)fuse_reasons_format(&best->fused, reasons, sizeof(reasons));
	}
	(void)pw_snprintf(ms, sizeof(ms), "%" PRId64, now_ms);
	s = store_script(st, result_script, 1, args, 6, "storing a match on a listing", &r);
	free(lk);
	if (s != STORE_OK)
		return s;
	if (r->type == REDIS_REPLY_INTEGER && r->integer == -1) {
		store_set_error(st, "no listing %s", listing_id);
		s = STORE_NOT_FOUND;
	} else if (is_new != NULL)
		*is_new = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
	freeReplyObject(r);
	return s;
}

enum store_status
matcher_override(struct store *st, const char *listing_id, const char *sku, bool confirm, int64_t now_ms)
{
	char ms[24];
	char *keys[3] = {
		xasprintf("%slisting:%s", store_prefix(st), listing_id),
		xasprintf("%sproduct:%s", store_prefix(st), sku),
		xasprintf("%smatch:override:%s", store_prefix(st), listing_id),
	};
	const char *args[] = { keys[0], keys[1], keys[2], sku, confirm ? "confirmed" : "rejected", ms };
	redisReply *r;
	enum store_status s;

	(void)pw_snprintf(ms, sizeof(ms), "%" PRId64, now_ms);
	s = store_script(st, override_script, 3, args, 6, "storing a match override", &r);
	if (s == STORE_OK) {
		if (r->type == REDIS_REPLY_INTEGER && r->integer == -1) {
			store_set_error(st, "no listing %s (key %s)", listing_id, keys[0]);
			s = STORE_NOT_FOUND;
		} else if (r->type == REDIS_REPLY_INTEGER && r->integer == -2) {
			store_set_error(st, "no catalogue product %s (key %s)", sku, keys[1]);
			s = STORE_NOT_FOUND;
		}
		freeReplyObject(r);
	}
	for (size_t i = 0; i < 3; i++)
		free(keys[i]);
	return s;
}
