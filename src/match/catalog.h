/* catalog.h: the user's product catalogue in Redis and the pw:emb / pw:img descriptor caches. */
#ifndef PW_MATCH_CATALOG_H
#define PW_MATCH_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/money.h"
#include "match/descriptor.h"
#include "store/store.h"

/*
 * Keys (prefix from the store, "pw:" by default; docs/matching.md):
 *   product:<SKU>          hash {sku, title, brand, gtin, mpn, price (minor units), currency, added_ms, n_images}
 *   products               zset SKU -> added_ms
 *   product:<SKU>:desc     list of packed descriptors (descriptor_pack), one per image
 *   product:<SKU>:images   list of the image sources (path or URL), same order as :desc
 *   catalog:version        counter, bumped by every change (readers reload when it moves)
 *   emb:<sha256 hex>       packed descriptor of any image ever embedded (one inference per distinct image)
 *   img:<sha256 hex of URL> sha256 hex of the bytes last fetched from that URL, expiring after
 *                          CATALOG_IMG_TTL_S (then the URL is fetched again: a new picture is noticed)
 */

#define CATALOG_IMG_TTL_S (7 * 24 * 3600)   /* how long an image URL is trusted to serve the same picture */

#define CATALOG_SKU_MAX 200    /* bytes; longer SKUs are refused */

/* One catalogue product. Strings owned by the struct (catalog_product_free); NULL when unknown. */
struct catalog_product {
	char *sku, *title, *brand, *gtin, *mpn;
	struct money price;        /* price.currency[0] == 0: no price */
	int64_t added_ms;
	int64_t n_images;
};
void catalog_product_free(struct catalog_product *p);
void catalog_products_free(struct catalog_product *ps, size_t n);

/* True when sku is usable as a key part: 1..CATALOG_SKU_MAX bytes, no control characters or spaces. */
bool catalog_sku_valid(const char *sku);

/* Creates or updates the product hash and the products zset (added_ms kept when it already exists; NULL
 * or empty fields keep their stored value; its images are untouched). Bumps catalog:version. */
enum store_status catalog_put(struct store *st, const struct catalog_product *p);
enum catalog_image_result {
	CATALOG_IMAGE_ADDED = 0,   /* a new reference image */
	CATALOG_IMAGE_SAME,        /* that source was already listed with this very descriptor */
	CATALOG_IMAGE_REPLACED,    /* that source was listed with another descriptor (another model): replaced */
};
/*
 * Adds one reference image (its packed descriptor and where it came from) to an existing product. A source
 * already listed for the product is not added twice: its descriptor is replaced when it differs (an import
 * run again after a model change re-embeds the catalogue).
 */
enum store_status catalog_add_image(struct store *st, const char *sku, const char *source,
    const unsigned char *blob, size_t len, enum catalog_image_result *res);
/* Reads one product; STORE_NOT_FOUND when there is none. */
enum store_status catalog_get(struct store *st, const char *sku, struct catalog_product *out);
/* The image sources of one product (caller frees each and the array). */
enum store_status catalog_images(struct store *st, const char *sku, char ***out, size_t *n);
/* Every product, oldest first (caller frees with catalog_products_free). */
enum store_status catalog_list(struct store *st, struct catalog_product **out, size_t *n);
/* Deletes a product and its images; STORE_NOT_FOUND when there was none. */
enum store_status catalog_remove(struct store *st, const char *sku);
/* How many products the catalogue holds. */
enum store_status catalog_count(struct store *st, int64_t *n);
/* The current catalog:version (0 when never written). */
enum store_status catalog_version(struct store *st, int64_t *version);

/* Calls fn for every reference descriptor blob of every product, in catalogue order (blob and p borrowed
 * for the call); once with blob NULL for a product without images. */
typedef void (*catalog_blob_fn)(void *arg, const struct catalog_product *p, size_t image_index,
    const unsigned char *blob, size_t len);
enum store_status catalog_each_blob(struct store *st, catalog_blob_fn fn, void *arg);

/* ---- the embedding cache ------------------------------------------------------------------------- */

/* SHA-256 of bytes as 64 lower-case hex digits plus NUL. */
void catalog_sha256_hex(const void *bytes, size_t len, char hex[65]);

/*
 * The descriptor of an image, from pw:emb:<sha256 of the bytes> when it was made by this model, else
 * computed (one inference) and cached. *cached (may be NULL) says which. On a bad image returns false
 * with err naming label and the reason; a Redis failure is not an error here (the descriptor is still
 * computed), it only loses the cache. out is freed with descriptor_free().
 */
bool catalog_describe(struct store *st, struct descriptor_model *m, const unsigned char *bytes, size_t len,
    const char *label, struct descriptor *out, bool *cached, char *err, size_t errlen);
/* Looks up pw:emb:<hex>; *found false when absent or made by another model. */
enum store_status catalog_emb_get(struct store *st, struct descriptor_model *m, const char *sha_hex,
    struct descriptor *out, bool *found);
enum store_status catalog_emb_put(struct store *st, struct descriptor_model *m, const struct descriptor *d);

/* pw:img:<sha256 of url> -> the bytes' sha256 hex (remembered after an image URL was embedded, for
 * CATALOG_IMG_TTL_S from the fetch). */
enum store_status catalog_img_get(struct store *st, const char *url, char sha_hex[65], bool *found);
enum store_status catalog_img_put(struct store *st, const char *url, const char *sha_hex);

#endif
