/* fuse.h: the fused listing-to-product match score (identifiers, image signals, title tokens) and its reasons. */
#ifndef PW_MATCH_FUSE_H
#define PW_MATCH_FUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The formula, its weights and why: docs/matching.md. */

/* What is known about one (listing, catalogue product) pair. Strings may be NULL or "" when unknown; the
 * image signals are computed by the caller (vindex for the embedding, src/image for the others). */
typedef struct fuse_input {
	const char *listing_gtin, *product_gtin; /* any GTIN-8/12/13/14 spelling; compared as 14 digits */
	const char *listing_mpn, *product_mpn;
	const char *listing_brand, *product_brand;
	const char *listing_title, *product_title;

	bool has_embedding;
	float embedding_cos;     /* cosine of the learned embeddings, -1..1 */
	bool has_histogram;
	float hist_intersection; /* image_hist_intersection(), 0..1 */
	bool has_phash;
	int phash_distance;      /* image_hamming(), 0..64 */
	/* The listing image's size as served, min(width, height) in pixels before any resize; 0 = unknown
	 * (trusted fully). Only used with cnn_min_side. */
	uint32_t image_side;
	/* [match] min-image-size: the side below which the embedding is ignored (fully trusted from twice
	 * that); 0 (the default): the embedding is trusted at every size, since the descriptor brings every
	 * image to one working size first (docs/matching.md, the evaluation). */
	uint32_t cnn_min_side;
} fuse_input;

/* score >= threshold: a match. The default of [match] threshold too: at most 1 % of the evaluation's
 * queries have a wrong product reaching it on image signals alone (bench/RESULTS.md). */
#define FUSE_THRESHOLD 0.76f

/* One reason: a static name ("gtin", "gtin-mismatch", "mpn", "mpn-mismatch", "embedding", "histogram",
 * "phash", "title", "brand", "brand-mismatch", "small-image") and the value behind it (a similarity 0..1,
 * or the image side in pixels for "small-image"). */
typedef struct fuse_reason {
	const char *name;
	float value;
} fuse_reason;

#define FUSE_MAX_REASONS 12

typedef struct fuse_result {
	float score; /* 0..1 */
	bool match;  /* score >= FUSE_THRESHOLD */
	size_t nreasons;
	fuse_reason reasons[FUSE_MAX_REASONS]; /* in the order the signals were weighed */
} fuse_result;

/* Scores one pair. Never fails: missing signals are left out of the weighing. */
void fuse_score(const fuse_input *in, fuse_result *out);

/* "gtin; embedding=0.91; title=0.25" into buf (always NUL-terminated when size > 0); returns the length
 * it needed, like snprintf. */
size_t fuse_reasons_format(const fuse_result *res, char *buf, size_t size);

/* ---- title tokens ------------------------------------------------------------------------------------ */

#define FUSE_MAX_TOKENS 64
#define FUSE_TOKEN_MAX 48 /* bytes including the NUL; longer tokens are cut at a UTF-8 boundary */

/* A title as a set of normalised tokens: lower-cased (ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic),
 * split on anything that is not a letter or digit (ASCII and Unicode punctuation, symbols and spaces),
 * numbers kept with their decimal separator as '.' and joined to a following unit ("1,7 L" -> "1.7l",
 * "25 kg" -> "25kg"). Duplicates dropped; at most FUSE_MAX_TOKENS kept. */
typedef struct fuse_tokens {
	size_t n;
	char tok[FUSE_MAX_TOKENS][FUSE_TOKEN_MAX];
} fuse_tokens;

void fuse_tokenize(const char *title, fuse_tokens *out);
/* Jaccard similarity of the token sets, 0..1; -1 when either title has no tokens (no signal). */
float fuse_title_similarity(const char *a, const char *b);

#endif
