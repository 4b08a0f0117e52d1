/* catalog.c: the user's product catalogue and the image-descriptor caches in Redis (keys: catalog.h). */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include "common/util.h"
#include "match/catalog.h"

/* Creates/updates the hash (an empty value keeps what is there: a row repeating a SKU only to add an
 * image), keeps the first added_ms, indexes the SKU and bumps the version. */
static const char put_script[] =
    "local k = KEYS[1]\n"
    "local added = redis.call('HGET', k, 'added_ms')\n"
    "if not added then\n"
    "  added = ARGV[2]\n"
    "  redis.call('HSET', k, 'added_ms', added, 'n_images', '0')\n"
    "end\n"
    "redis.call('ZADD', KEYS[2], added, ARGV[1])\n"
    "redis.call('HSET', k, 'sku', ARGV[1])\n"
    "for i = 3, #ARGV, 2 do\n"
    "  if ARGV[i + 1] ~= '' then redis.call('HSET', k, ARGV[i], ARGV[i + 1]) end\n"
    "end\n"
    "return redis.call('INCR', KEYS[3])\n";

/* Drops the product, its images and its index entry; 0 when there was nothing. */
static const char remove_script[] =
    "local n = redis.call('ZREM', KEYS[2], ARGV[1]) + redis.call('DEL', KEYS[1], KEYS[3], KEYS[4])\n"
    "if n == 0 then return 0 end\n"
    "redis.call('INCR', KEYS[5])\n"
    "return 1\n";

void
catalog_product_free(struct catalog_product *p)
{
	if (p == NULL)
		return;
	free(p->sku);
	free(p->title);
	free(p->brand);
	free(p->gtin);
	free(p->mpn);
	memset(p, 0, sizeof(*p));
}

void
catalog_products_free(struct catalog_product *ps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		catalog_product_free(&ps[i]);
	free(ps);
}

bool
catalog_sku_valid(const char *sku)
{
	size_t n;

	if (sku == NULL || (n = strlen(sku)) == 0 || n > CATALOG_SKU_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)sku[i] <= ' ' || sku[i] == 0x7f)
			return false;
	return true;
}

/* "<prefix>product:<sku><suffix>"; caller frees. */
static char *
product_key(struct store *st, const char *sku, const char *suffix)
{
	return xasprintf("%sproduct:%s%s", store_prefix(st), sku, suffix);
}

/* "<prefix>products", the zset of SKUs; caller frees. */
static char *
products_key(struct store *st)
{
	return xasprintf("%sproducts", store_prefix(st));
}

/* "<prefix>catalog:version", bumped on every change so matchers reload; caller frees. */
static char *
version_key(struct store *st)
{
	return xasprintf("%scatalog:version", store_prefix(st));
}

static enum store_status
check_reply(struct store *st, redisReply *r, int type, const char *what)
{
	if (r->type == REDIS_REPLY_ERROR)
		return store_reply_error(st, r, what);
	if (r->type != type) {
		store_set_error(st, "Redis: unexpected reply type %d to %s", r->type, what);
		return STORE_ERROR;
	}
	return STORE_OK;
}

/* Runs argv (NULL lens: text) and checks the reply type; on success *out holds the reply (caller frees). */
static enum store_status
run(struct store *st, int argc, const char **argv, const size_t *lens, int type, const char *what,
    redisReply **out)
{
	redisReply *r;
	enum store_status s = store_command_len(st, argc, argv, lens, &r);

	*out = NULL;
	if (s != STORE_OK)
		return s;
	if ((s = check_reply(st, r, type, what)) != STORE_OK) {
		freeReplyObject(r);
		return s;
	}
	*out = r;
	return STORE_OK;
}

enum store_status
catalog_put(struct store *st, const struct catalog_product *p)
{
	char price[32] = "", added[32];
	const char *args[5 + 14];
	char *keys[3];
	int n = 0;
	redisReply *r;
	enum store_status s;

	if (!catalog_sku_valid(p->sku)) {
		store_set_error(st, "bad SKU '%s': 1 to %d bytes without spaces or control characters",
		    p->sku != NULL ? p->sku : "", CATALOG_SKU_MAX);
		return STORE_ERROR;
	}
	if (p->price.currency[0] != '\0')
		(void)pw_snprintf(price, sizeof(price), "%" PRId64, p->price.minor);
	(void)pw_snprintf(added, sizeof(added), "%" PRId64, p->added_ms > 0 ? p->added_ms : time_now_ms());
	keys[0] = product_key(st, p->sku, "");
	keys[1] = products_key(st);
	keys[2] = version_key(st);
	args[n++] = keys[0];
	args[n++] = keys[1];
	args[n++] = keys[2];
	args[n++] = p->sku;
	args[n++] = added;
#define FIELD(name, value) do { args[n++] = (name); args[n++] = (value) != NULL ? (value) : ""; } while (0)
	FIELD("title", p->title);
	FIELD("brand", p->brand);
	FIELD("gtin", p->gtin);
	FIELD("mpn", p->mpn);
	FIELD("price", price);
	FIELD("currency", p->price.currency);
#undef FIELD
	s = store_script(st, put_script, 3, args, n, "storing a catalogue product", &r);
	if (s == STORE_OK)
		freeReplyObject(r);
	for (int i = 0; i < 3; i++)
		free(keys[i]);
	return s;
}

/* The source at index at is listed already: its descriptor is rewritten when it differs (another model). */
static enum store_status
replace_image(struct store *st, char *dk, char *vk, long long at, const unsigned char *blob, size_t len,
    enum catalog_image_result *res)
{
	char idx[24];
	const char *li[] = { "LINDEX", dk, idx };
	const char *ls[] = { "LSET", dk, idx, (const char *)blob };
	const size_t lsl[] = { 4, strlen(dk), 0, len };
	const char *in[] = { "INCR", vk };
	size_t lens[4];
	redisReply *r;
	enum store_status s;

	(void)pw_snprintf(idx, sizeof(idx), "%lld", at);
	if ((s = store_command(st, 3, li, &r)) != STORE_OK)
		return s;
	if (r->type == REDIS_REPLY_STRING && r->len == len && memcmp(r->str, blob, len) == 0) {
		freeReplyObject(r);
		return STORE_OK;
	}
	freeReplyObject(r);
	memcpy(lens, lsl, sizeof(lens));
	lens[2] = strlen(idx);
	if ((s = run(st, 4, ls, lens, REDIS_REPLY_STATUS, "replacing a catalogue descriptor", &r)) != STORE_OK)
		return s;
	freeReplyObject(r);
	if ((s = run(st, 2, in, NULL, REDIS_REPLY_INTEGER, "bumping the catalogue version", &r)) != STORE_OK)
		return s;
	freeReplyObject(r);
	*res = CATALOG_IMAGE_REPLACED;
	return STORE_OK;
}

enum store_status
catalog_add_image(struct store *st, const char *sku, const char *source, const unsigned char *blob, size_t len,
    enum catalog_image_result *res)
{
	char *pk = product_key(st, sku, ""), *dk = product_key(st, sku, ":desc"), *ik = product_key(st, sku, ":images");
	char *vk = version_key(st);
	redisReply *r = NULL;
	enum store_status s;

	*res = CATALOG_IMAGE_SAME;
	{
		const char *ex[] = { "EXISTS", pk };

		if ((s = run(st, 2, ex, NULL, REDIS_REPLY_INTEGER, "checking a catalogue product", &r)) != STORE_OK)
			goto out;
		if (r->integer == 0) {
			store_set_error(st, "no catalogue product %s", sku);
			s = STORE_NOT_FOUND;
			goto out;
		}
		freeReplyObject(r);
	}
	{
		/* The same source twice (an import run again) keeps one copy. */
		const char *lpos[] = { "LPOS", ik, source };

		if ((s = store_command(st, 3, lpos, &r)) != STORE_OK)
			goto out;
		if (r->type == REDIS_REPLY_ERROR) {
			s = store_reply_error(st, r, "looking up a catalogue image");
			goto out;
		}
		if (r->type == REDIS_REPLY_INTEGER) {
			long long at = r->integer;

			freeReplyObject(r);
			r = NULL;
			s = replace_image(st, dk, vk, at, blob, len, res);
			goto out;
		}
		freeReplyObject(r);
	}
	{
		/* One transaction so :desc and :images stay index-aligned; DISCARD if queueing fails. */
		const char *pd[] = { "RPUSH", dk, (const char *)blob };
		const size_t pdl[] = { 5, strlen(dk), len };
		const char *pi[] = { "RPUSH", ik, source };
		const char *hi[] = { "HINCRBY", pk, "n_images", "1" };
		const char *in[] = { "INCR", vk };
		const struct { int argc; const char **argv; const size_t *lens; } q[] = {
			{ 3, pd, pdl }, { 3, pi, NULL }, { 4, hi, NULL }, { 2, in, NULL },
		};
		const char *multi[] = { "MULTI" }, *exec[] = { "EXEC" }, *discard[] = { "DISCARD" };

		if ((s = run(st, 1, multi, NULL, REDIS_REPLY_STATUS, "MULTI", &r)) != STORE_OK)
			goto out;
		freeReplyObject(r);
		for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
			if ((s = run(st, q[i].argc, q[i].argv, q[i].lens, REDIS_REPLY_STATUS, "adding a catalogue image",
			    &r)) != STORE_OK) {
				if (store_command(st, 1, discard, &r) == STORE_OK)
					freeReplyObject(r);
				r = NULL;
				goto out;
			}
			freeReplyObject(r);
		}
		if ((s = run(st, 1, exec, NULL, REDIS_REPLY_ARRAY, "adding a catalogue image", &r)) != STORE_OK)
			goto out;
		*res = CATALOG_IMAGE_ADDED;
	}
out:
	if (r != NULL)
		freeReplyObject(r);
	free(pk);
	free(dk);
	free(ik);
	free(vk);
	return s;
}

/* The value of name in an HGETALL reply, NULL when absent. */
static const char *
hash_field(const redisReply *r, const char *name)
{
	for (size_t i = 0; i + 1 < r->elements; i += 2)
		if (r->element[i]->type == REDIS_REPLY_STRING && r->element[i + 1]->type == REDIS_REPLY_STRING &&
		    strcmp(r->element[i]->str, name) == 0)
			return r->element[i + 1]->str;
	return NULL;
}

static char *
dup_field(const redisReply *r, const char *name)
{
	const char *v = hash_field(r, name);

	return v != NULL && v[0] != '\0' ? xstrdup(v) : NULL;
}

static enum store_status
product_from_hash(struct store *st, const char *sku, const redisReply *r, struct catalog_product *out)
{
	const char *price = hash_field(r, "price"), *cur = hash_field(r, "currency");
	const char *added = hash_field(r, "added_ms"), *nimg = hash_field(r, "n_images");

	memset(out, 0, sizeof(*out));
	out->sku = xstrdup(sku);
	out->title = dup_field(r, "title");
	out->brand = dup_field(r, "brand");
	out->gtin = dup_field(r, "gtin");
	out->mpn = dup_field(r, "mpn");
	if (added != NULL && !parse_int64(added, 0, INT64_MAX, &out->added_ms))
		goto bad;
	if (nimg != NULL && !parse_int64(nimg, 0, INT64_MAX, &out->n_images))
		goto bad;
	if (price != NULL && cur != NULL) {
		if (!money_currency_valid(cur) || !parse_int64(price, INT64_MIN, INT64_MAX, &out->price.minor))
			goto bad;
		(void)pw_strlcpy(out->price.currency, cur, sizeof(out->price.currency));
	}
	return STORE_OK;
bad:
	store_set_error(st, "catalogue product %s has a malformed price, currency, added_ms or n_images field "
	    "(key %sproduct:%s)", sku, store_prefix(st), sku);
	catalog_product_free(out);
	return STORE_ERROR;
}

enum store_status
catalog_get(struct store *st, const char *sku, struct catalog_product *out)
{
	char *pk = product_key(st, sku, "");
	const char *argv[] = { "HGETALL", pk };
	redisReply *r;
	enum store_status s;

	memset(out, 0, sizeof(*out));
	s = run(st, 2, argv, NULL, REDIS_REPLY_ARRAY, "reading a catalogue product", &r);
	free(pk);
	if (s != STORE_OK)
		return s;
	if (r->elements == 0) {
		store_set_error(st, "no catalogue product %s", sku);
		s = STORE_NOT_FOUND;
	} else
		s = product_from_hash(st, sku, r, out);
	freeReplyObject(r);
	return s;
}

/* "LRANGE key 0 -1" or "ZRANGE key 0 -1" as strings (caller frees each and the array; key is freed here). */
static enum store_status
range_strings(struct store *st, const char *cmd, char *key, const char *what, char ***out, size_t *n)
{
	const char *argv[] = { cmd, key, "0", "-1" };
	redisReply *r;
	enum store_status s = run(st, 4, argv, NULL, REDIS_REPLY_ARRAY, what, &r);

	free(key);
	*out = NULL;
	*n = 0;
	if (s != STORE_OK)
		return s;
	*out = xcalloc(r->elements + 1, sizeof(**out));
	for (size_t i = 0; i < r->elements; i++)
		if (r->element[i]->type == REDIS_REPLY_STRING)
			(*out)[(*n)++] = xstrdup(r->element[i]->str);
	freeReplyObject(r);
	return STORE_OK;
}

enum store_status
catalog_images(struct store *st, const char *sku, char ***out, size_t *n)
{
	return range_strings(st, "LRANGE", product_key(st, sku, ":images"), "reading catalogue image sources", out, n);
}

enum store_status
catalog_list(struct store *st, struct catalog_product **out, size_t *n)
{
	char **skus;
	size_t nskus;
	enum store_status s = range_strings(st, "ZRANGE", products_key(st), "listing the catalogue", &skus, &nskus);

	*out = NULL;
	*n = 0;
	if (s != STORE_OK)
		return s;
	*out = xcalloc(nskus + 1, sizeof(**out));
	for (size_t i = 0; i < nskus && s == STORE_OK; i++) {
		s = catalog_get(st, skus[i], &(*out)[*n]);
		if (s == STORE_OK)
			(*n)++;
		else if (s == STORE_NOT_FOUND)  /* removed meanwhile */
			s = STORE_OK;
	}
	if (s != STORE_OK) {
		catalog_products_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	for (size_t i = 0; i < nskus; i++)
		free(skus[i]);
	free(skus);
	return s;
}

enum store_status
catalog_remove(struct store *st, const char *sku)
{
	char *keys[5] = {
		product_key(st, sku, ""), products_key(st), product_key(st, sku, ":desc"),
		product_key(st, sku, ":images"), version_key(st),
	};
	const char *args[] = { keys[0], keys[1], keys[2], keys[3], keys[4], sku };
	redisReply *r;
	enum store_status s;

	s = store_script(st, remove_script, 5, args, 6, "removing a catalogue product", &r);
	if (s == STORE_OK) {
		if (r->type != REDIS_REPLY_INTEGER || r->integer == 0) {
			store_set_error(st, "no catalogue product %s", sku);
			s = STORE_NOT_FOUND;
		}
		freeReplyObject(r);
	}
	for (size_t i = 0; i < 5; i++)
		free(keys[i]);
	return s;
}

enum store_status
catalog_count(struct store *st, int64_t *n)
{
	char *zk = products_key(st);
	const char *argv[] = { "ZCARD", zk };
	redisReply *r;
	enum store_status s = run(st, 2, argv, NULL, REDIS_REPLY_INTEGER, "counting the catalogue", &r);

	free(zk);
	*n = 0;
	if (s == STORE_OK) {
		*n = r->integer;
		freeReplyObject(r);
	}
	return s;
}

enum store_status
catalog_version(struct store *st, int64_t *version)
{
	char *vk = version_key(st);
	const char *argv[] = { "GET", vk };
	redisReply *r;
	enum store_status s;

	*version = 0;
	s = store_command(st, 2, argv, &r);
	free(vk);
	if (s != STORE_OK)
		return s;
	if (r->type == REDIS_REPLY_STRING && !parse_int64(r->str, 0, INT64_MAX, version)) {
		store_set_error(st, "%scatalog:version is not a number", store_prefix(st));
		s = STORE_ERROR;
	} else if (r->type == REDIS_REPLY_ERROR)
		s = store_reply_error(st, r, "reading the catalogue version");
	freeReplyObject(r);
	return s;
}

enum store_status
catalog_each_blob(struct store *st, catalog_blob_fn fn, void *arg)
{
	struct catalog_product *ps;
	size_t n;
	enum store_status s = catalog_list(st, &ps, &n);

	if (s != STORE_OK)
		return s;
	for (size_t i = 0; i < n && s == STORE_OK; i++) {
		char *dk = product_key(st, ps[i].sku, ":desc");
		const char *argv[] = { "LRANGE", dk, "0", "-1" };
		redisReply *r;

		s = run(st, 4, argv, NULL, REDIS_REPLY_ARRAY, "reading catalogue descriptors", &r);
		free(dk);
		if (s != STORE_OK)
			break;
		if (r->elements == 0)
			fn(arg, &ps[i], 0, NULL, 0);
		for (size_t j = 0; j < r->elements; j++)
			if (r->element[j]->type == REDIS_REPLY_STRING)
				fn(arg, &ps[i], j, (const unsigned char *)r->element[j]->str, r->element[j]->len);
		freeReplyObject(r);
	}
	catalog_products_free(ps, n);
	return s;
}

/* ---- caches ------------------------------------------------------------------------------------------ */

static void
hex_of(const uint8_t *md, size_t n, char *hex)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[2 * n] = '\0';
}

void
catalog_sha256_hex(const void *bytes, size_t len, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(bytes, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
		memset(md, 0, 32);
	hex_of(md, 32, hex);
}

enum store_status
catalog_emb_get(struct store *st, struct descriptor_model *m, const char *sha_hex, struct descriptor *out,
    bool *found)
{
	char *key = xasprintf("%semb:%s", store_prefix(st), sha_hex);
	const char *argv[] = { "GET", key };
	redisReply *r;
	enum store_status s;

	*found = false;
	s = store_command(st, 2, argv, &r);
	free(key);
	if (s != STORE_OK)
		return s;
	if (r->type == REDIS_REPLY_ERROR)
		s = store_reply_error(st, r, "reading the embedding cache");
	/* Another model id (or a damaged blob) reads as a miss: the image is embedded again. */
	else if (r->type == REDIS_REPLY_STRING)
		*found = descriptor_unpack(m, (const unsigned char *)r->str, r->len, out);
	freeReplyObject(r);
	return s;
}

enum store_status
catalog_emb_put(struct store *st, struct descriptor_model *m, const struct descriptor *d)
{
	char hex[65], *key;
	size_t len;
	unsigned char *blob = descriptor_pack(m, d, &len);
	redisReply *r;
	enum store_status s;

	if (blob == NULL) {
		store_set_error(st, "cannot serialise a descriptor");
		return STORE_ERROR;
	}
	hex_of(d->sha256, 32, hex);
	key = xasprintf("%semb:%s", store_prefix(st), hex);
	{
		const char *argv[] = { "SET", key, (const char *)blob };
		size_t lens[] = { 3, strlen(key), len };

		s = run(st, 3, argv, lens, REDIS_REPLY_STATUS, "writing the embedding cache", &r);
	}
	if (s == STORE_OK)
		freeReplyObject(r);
	free(key);
	free(blob);
	return s;
}

bool
catalog_describe(struct store *st, struct descriptor_model *m, const unsigned char *bytes, size_t len,
    const char *label, struct descriptor *out, bool *cached, char *err, size_t errlen)
{
	char hex[65];
	bool found = false;

	if (cached != NULL)
		*cached = false;
	memset(out, 0, sizeof(*out));
	catalog_sha256_hex(bytes, len, hex);
	if (st != NULL && catalog_emb_get(st, m, hex, out, &found) == STORE_OK && found) {
		if (cached != NULL)
			*cached = true;
		return true;
	}
	if (!descriptor_compute(m, bytes, len, label, out, err, errlen))
		return false;
	if (st != NULL)
		(void)catalog_emb_put(st, m, out);
	return true;
}

/* "<prefix>img:<sha256 hex of url>"; caller frees. */
static char *
img_key(struct store *st, const char *url)
{
	char hex[65];

	catalog_sha256_hex(url, strlen(url), hex);
	return xasprintf("%simg:%s", store_prefix(st), hex);
}

enum store_status
catalog_img_get(struct store *st, const char *url, char sha_hex[65], bool *found)
{
	char *key = img_key(st, url);
	const char *argv[] = { "GET", key };
	redisReply *r;
	enum store_status s;

	*found = false;
	sha_hex[0] = '\0';
	s = store_command(st, 2, argv, &r);
	free(key);
	if (s != STORE_OK)
		return s;
	if (r->type == REDIS_REPLY_ERROR)
		s = store_reply_error(st, r, "reading the image URL cache");
	else if (r->type == REDIS_REPLY_STRING && r->len == 64) {
		memcpy(sha_hex, r->str, 65);
		*found = true;
	}
	freeReplyObject(r);
	return s;
}

enum store_status
catalog_img_put(struct store *st, const char *url, const char *sha_hex)
{
	/* Expires so that a shop replacing the picture behind the same URL is noticed within the TTL. */
	char *key = img_key(st, url), ttl[24];
	const char *argv[] = { "SET", key, sha_hex, "EX", ttl };
	redisReply *r;
	enum store_status s;

	(void)pw_snprintf(ttl, sizeof(ttl), "%d", CATALOG_IMG_TTL_S);
	s = run(st, 5, argv, NULL, REDIS_REPLY_STATUS, "writing the image URL cache", &r);

	if (s == STORE_OK)
		freeReplyObject(r);
	free(key);
	return s;
}
