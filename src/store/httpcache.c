/* httpcache.c: crawl state shared by all daemons in Redis: ETag / Last-Modified / listing ids per page URL, and robots.txt per host with a TTL. */
#include <config.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include "common/util.h"
#include "store/httpcache.h"

#define PAGE_HASH_HEX 32

/*
 * Replaces a page's validators atomically (a reader never sees a mix of two
 * fetches). KEYS: page hash. ARGV: url, etag, last_modified, listings, ttl_ms.
 */
static const char page_put_lua[] =
	"redis.call('DEL', KEYS[1])\n"
	"redis.call('HSET', KEYS[1], 'url', ARGV[1], 'etag', ARGV[2], 'last_modified', ARGV[3], 'listings', ARGV[4])\n"
	"if tonumber(ARGV[5]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[5]) end\n"
	"return 1\n";

/*
 * Same for robots.txt, whose body may hold any octet: sent with EVAL and
 * explicit argument lengths. KEYS: robots hash. ARGV: status, body, fetched_ms, ttl_ms.
 */
static const char robots_put_lua[] =
	"redis.call('DEL', KEYS[1])\n"
	"redis.call('HSET', KEYS[1], 'status', ARGV[1], 'body', ARGV[2], 'fetched_ms', ARGV[3])\n"
	"redis.call('PEXPIRE', KEYS[1], ARGV[4])\n"
	"return 1\n";

/* <prefix>page:<first 32 hex of SHA-256(url)>; caller frees. NULL only if the digest fails. */
static char *
page_key(struct store *st, const char *url)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[PAGE_HASH_HEX + 1];

	if (EVP_Digest(url, strlen(url), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < PAGE_HASH_HEX / 2)
		return NULL;
	for (int i = 0; i < PAGE_HASH_HEX / 2; i++)
		(void)pw_snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return xasprintf("%spage:%s", store_prefix(st), hex);
}

/* A reply element as a new string, NULL when nil or empty (caller frees). */
static char *
dup_nonempty(const redisReply *e)
{
	if (e->type != REDIS_REPLY_STRING || e->len == 0)
		return NULL;
	return xstrndup(e->str, e->len);
}

/* Splits "a\nb\nc" into out's listing ids. */
static void
split_listings(const redisReply *e, struct http_validators *out)
{
	const char *p, *end;

	if (e->type != REDIS_REPLY_STRING || e->len == 0)
		return;
	p = e->str;
	end = e->str + e->len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl != NULL ? nl : end;

		if (stop > p) {
			out->listing_ids = xreallocarray(out->listing_ids, out->n_listing_ids + 1, sizeof *out->listing_ids);
			out->listing_ids[out->n_listing_ids++] = xstrndup(p, (size_t)(stop - p));
		}
		p = stop + 1;
	}
}

/* Runs one HMGET; *reply is the array (caller frees) on STORE_OK, else NULL. */
static enum store_status
hmget(struct store *st, int argc, const char **argv, const char *what, redisReply **reply)
{
	enum store_status s = store_command(st, argc, argv, reply);

	if (s != STORE_OK)
		return s;
	if ((*reply)->type == REDIS_REPLY_ERROR)
		s = store_reply_error(st, *reply, what);
	else if ((*reply)->type != REDIS_REPLY_ARRAY || (*reply)->elements != (size_t)argc - 2) {
		store_set_error(st, "unexpected reply type %d to HMGET (%s)", (*reply)->type, what);
		s = STORE_ERROR;
	}
	if (s != STORE_OK) {
		freeReplyObject(*reply);
		*reply = NULL;
	}
	return s;
}

enum store_status
httpcache_get(struct store *st, const char *url, struct http_validators *out)
{
	redisReply *r;
	enum store_status s;
	char *key;

	memset(out, 0, sizeof *out);
	key = page_key(st, url);
	if (key == NULL) {
		store_set_error(st, "cannot hash %s (SHA-256 unavailable)", url);
		return STORE_ERROR;
	}
	const char *argv[] = { "HMGET", key, "url", "etag", "last_modified", "listings" };
	s = hmget(st, 6, argv, "reading the HTTP validators of a page", &r);
	free(key);
	if (s != STORE_OK)
		return s;
	/* Another URL with the same 128-bit prefix is not ours: treat it as absent. */
	if (r->element[0]->type != REDIS_REPLY_STRING || strlen(url) != r->element[0]->len ||
	    memcmp(url, r->element[0]->str, r->element[0]->len) != 0) {
		freeReplyObject(r);
		return STORE_NOT_FOUND;
	}
	out->etag = dup_nonempty(r->element[1]);
	out->last_modified = dup_nonempty(r->element[2]);
	split_listings(r->element[3], out);
	freeReplyObject(r);
	return STORE_OK;
}

/* Ids joined by '\n'; an id holding a '\n' would split wrongly and is left out. Caller frees. */
static char *
join_listings(const struct http_validators *v)
{
	size_t total = 1;
	char *out, *p;

	for (size_t i = 0; i < v->n_listing_ids; i++)
		if (v->listing_ids[i] != NULL)
			total += strlen(v->listing_ids[i]) + 1;
	out = xmalloc(total);
	p = out;
	for (size_t i = 0; i < v->n_listing_ids; i++) {
		const char *id = v->listing_ids[i];
		size_t l;

		if (id == NULL || *id == '\0' || strchr(id, '\n') != NULL)
			continue;
		l = strlen(id);
		if (p != out)
			*p++ = '\n';
		memcpy(p, id, l);
		p += l;
	}
	*p = '\0';
	return out;
}

/* Runs a script that answers 1; anything else is STORE_ERROR. */
static enum store_status
expect_one(struct store *st, enum store_status s, redisReply *r, const char *what)
{
	if (s == STORE_OK && r->type == REDIS_REPLY_ERROR)
		s = store_reply_error(st, r, what);
	else if (s == STORE_OK && (r->type != REDIS_REPLY_INTEGER || r->integer != 1)) {
		store_set_error(st, "unexpected reply type %d while %s", r->type, what);
		s = STORE_ERROR;
	}
	if (r != NULL)
		freeReplyObject(r);
	return s;
}

enum store_status
httpcache_put(struct store *st, const char *url, const struct http_validators *v, int64_t ttl_ms)
{
	static const char what[] = "storing the HTTP validators of a page";
	redisReply *r = NULL;
	enum store_status s;
	char ttl[24], *key, *listings;

	key = page_key(st, url);
	if (key == NULL) {
		store_set_error(st, "cannot hash %s (SHA-256 unavailable)", url);
		return STORE_ERROR;
	}
	listings = join_listings(v);
	(void)pw_snprintf(ttl, sizeof ttl, "%" PRId64, ttl_ms > 0 ? ttl_ms : 0);
	const char *args[] = { key, url, v->etag != NULL ? v->etag : "",
	    v->last_modified != NULL ? v->last_modified : "", listings, ttl };
	s = store_script(st, page_put_lua, 1, args, 6, what, &r);
	free(listings);
	free(key);
	return expect_one(st, s, r, what);
}

void
http_validators_free(struct http_validators *v)
{
	if (v == NULL)
		return;
	free(v->etag);
	free(v->last_modified);
	for (size_t i = 0; i < v->n_listing_ids; i++)
		free(v->listing_ids[i]);
	free(v->listing_ids);
	memset(v, 0, sizeof *v);
}

enum store_status
robots_cache_get(struct store *st, const char *robots_url, long *status, char **body, size_t *len)
{
	redisReply *r;
	enum store_status s;
	int64_t code;
	char *key;

	*status = 0;
	*body = NULL;
	*len = 0;
	key = xasprintf("%srobots:%s", store_prefix(st), robots_url);
	const char *argv[] = { "HMGET", key, "status", "body" };
	s = hmget(st, 4, argv, "reading a cached robots.txt", &r);
	free(key);
	if (s != STORE_OK)
		return s;
	if (r->element[0]->type != REDIS_REPLY_STRING) {
		freeReplyObject(r);
		return STORE_NOT_FOUND;
	}
	if (!parse_int64(r->element[0]->str, 0, 999, &code)) {
		store_set_error(st, "cached robots.txt for %s has a bad status \"%.20s\"", robots_url, r->element[0]->str);
		freeReplyObject(r);
		return STORE_ERROR;
	}
	*status = (long)code;
	if (r->element[1]->type == REDIS_REPLY_STRING) {
		*body = xmalloc(r->element[1]->len + 1);
		memcpy(*body, r->element[1]->str, r->element[1]->len);
		*len = r->element[1]->len;
	} else {
		*body = xmalloc(1);
	}
	(*body)[*len] = '\0';
	freeReplyObject(r);
	return STORE_OK;
}

enum store_status
robots_cache_put(struct store *st, const char *robots_url, long status, const char *body, size_t len,
    int64_t ttl_ms)
{
	static const char what[] = "caching a robots.txt";
	redisReply *r = NULL;
	enum store_status s;
	char code[24], fetched[24], ttl[24], *key;

	if (ttl_ms <= 0 || status < 0 || status > 999 || (body == NULL && len != 0)) {
		store_set_error(st, "internal error: robots cache entry for %s with status %ld, ttl %" PRId64 " ms",
		    robots_url, status, ttl_ms);
		return STORE_ERROR;
	}
	key = xasprintf("%srobots:%s", store_prefix(st), robots_url);
	(void)pw_snprintf(code, sizeof code, "%ld", status);
	(void)pw_snprintf(fetched, sizeof fetched, "%" PRId64, time_now_ms());
	(void)pw_snprintf(ttl, sizeof ttl, "%" PRId64, ttl_ms);
	/* EVAL, not store_script: only store_command_len carries the body's length (it may hold NULs). */
	const char *argv[] = { "EVAL", robots_put_lua, "1", key, code, body != NULL ? body : "", fetched, ttl };
	const size_t lens[] = { 4, sizeof robots_put_lua - 1, 1, strlen(key), strlen(code), len, strlen(fetched),
	    strlen(ttl) };
	s = store_command_len(st, 8, argv, lens, &r);
	free(key);
	return expect_one(st, s, r, what);
}
