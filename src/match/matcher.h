/* matcher.h: a listing against the in-memory catalogue: candidates, fused scores, overrides, the stored verdict. */
#ifndef PW_MATCH_MATCHER_H
#define PW_MATCH_MATCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/money.h"
#include "match/catalog.h"
#include "match/descriptor.h"
#include "match/fuse.h"
#include "match/vindex.h"
#include "store/store.h"

struct matcher_opts {
	float threshold;           /* fused score for a match, 0..1; negative: FUSE_THRESHOLD */
	size_t top_k;              /* nearest catalogue images kept per image signal; 0: 5 */
	uint32_t cnn_min_side;     /* [match] min-image-size; 0: the embedding is trusted at every size */
	vindex_storage storage;    /* VINDEX_I8 (default) or VINDEX_F16 */
	int threads;               /* vindex_search threads; 0: 1 */
};

/*
 * The catalogue loaded for matching: one vindex over the learned embeddings, one over the colour histograms
 * (4x4x4 bins, Hellinger: sqrt of the bins, so a dot product is the Bhattacharyya coefficient), and per image
 * the exact signals the fused score needs (docs/matching.md). The model is borrowed (it must outlive the matcher and decides which
 * cached descriptors are current). One thread at a time.
 */
struct matcher;

bool matcher_new(struct matcher **out, struct descriptor_model *model, const struct matcher_opts *opts);
void matcher_free(struct matcher *mt);
/* Loads the catalogue when <prefix>catalog:version moved since the last load (or on the first call).
 * *reloaded (may be NULL) says whether it did. Descriptors made by another model are skipped and counted. */
enum store_status matcher_sync(struct matcher *mt, struct store *st, bool *reloaded);

struct matcher_stats {
	size_t products, images;   /* loaded */
	size_t stale;              /* reference descriptors made by another model (import the catalogue again) */
	int64_t version;           /* catalog:version loaded */
};
void matcher_stats_get(const struct matcher *mt, struct matcher_stats *out);

/* What is known about the thing being matched; strings may be NULL. */
struct matcher_query {
	const char *listing_id;    /* for the overrides; NULL: none (an image matched on demand) */
	const char *title, *brand, *gtin, *mpn;
};

struct matcher_candidate {
	char sku[CATALOG_SKU_MAX + 1];
	const char *title;         /* the product's, owned by the matcher (valid until the next sync); may be NULL */
	struct money price;        /* the product's own price; currency "" when unknown */
	float score;               /* fused, 0..1 (1 for a confirmed pair) */
	bool match;                /* score >= threshold, or confirmed */
	bool confirmed;            /* by "pricewatch match confirm" */
	fuse_result fused;         /* the reasons (a single "confirmed" reason for a confirmed pair) */
};

/*
 * Ranks the catalogue products for q and its image descriptor d (NULL: identifiers and title only), best
 * first, into out[k]; returns how many. Candidates are the products of the top-k images by embedding and by
 * histogram, the products whose GTIN or MPN equals the query's, and the confirmed ones; each product scores
 * its best image. With st and q->listing_id, overrides apply: confirmed pairs rank first as matches,
 * rejected ones never appear. Returns 0 when nothing is loaded.
 */
size_t matcher_rank(struct matcher *mt, struct store *st, const struct matcher_query *q, const struct descriptor *d,
    struct matcher_candidate *out, size_t k);

/*
 * Stores the verdict on the listing hash: match_sku, match_score, match_reasons, match_state (auto |
 * confirmed), match_ms; best NULL (or not a match) clears them. *is_new (may be NULL) is true when the
 * listing was not matched to this SKU before.
 */
enum store_status matcher_store_result(struct store *st, const char *listing_id,
    const struct matcher_candidate *best, int64_t now_ms, bool *is_new);

/*
 * "pricewatch match confirm|reject": records the override in <prefix>match:override:<LISTING> (SKU ->
 * confirmed | rejected) and updates the listing's verdict at once (confirm sets it; reject clears it when
 * it named that SKU). STORE_NOT_FOUND when the listing or the product does not exist (err says which).
 */
enum store_status matcher_override(struct store *st, const char *listing_id, const char *sku, bool confirm,
    int64_t now_ms);

#endif
