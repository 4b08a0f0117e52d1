/* test-recognise-util.h: shared by the catalogue, match and recognition tests: Redis, the CLI, photographs, variants. */
#ifndef PW_TEST_RECOGNISE_UTIL_H
#define PW_TEST_RECOGNISE_UTIL_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <hiredis/hiredis.h>
#include <webp/encode.h>

#include "cli/cli.h"
#include "common/util.h"
#include "harness/cli-run.h"
#include "harness/httpd.h"
#include "harness/redis.h"
#include "image/image.h"
#include "store/store.h"

/* One test's world: a redis-server, a store on it, a temp dir (the Redis dir) and a config file there. */
struct rt {
	struct test_redis redis;
	struct store *st;
	char conf[400];
	char dir[300];
};

static inline void
rt_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f, "cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
}

/* Starts Redis and writes conf with extra (may be NULL) as its body. */
static inline void
rt_setup(struct rt *t, const char *extra)
{
	struct store_opts so = { .connect_timeout_ms = 5000, .command_timeout_ms = 5000 };
	char err[512];

	memset(t, 0, sizeof(*t));
	test_redis_start(&t->redis);
	so.url = t->redis.url;
	cr_assert_eq(store_open(&t->st, &so, err, sizeof err), STORE_OK, "%s", err);
	cr_assert(pw_snprintf(t->dir, sizeof t->dir, "%s", t->redis.dir));
	cr_assert(pw_snprintf(t->conf, sizeof t->conf, "%s/pricewatch.conf", t->dir));
	rt_write(t->conf, extra != NULL ? extra : "[crawl]\n");
	unsetenv(CLI_ENV_REDIS);
	unsetenv("COLUMNS");
}

static inline void
rt_teardown(struct rt *t)
{
	store_close(t->st);
	test_redis_stop(&t->redis);
}

static inline int
rt_pwv(struct rt *t, char **out, char **err, va_list ap)
{
	const char *argv[20] = { "pricewatch", "-c", t->conf, "--redis", t->redis.url };
	int argc = 5;
	const char *a;

	while ((a = va_arg(ap, const char *)) != NULL && argc < 18)
		argv[argc++] = a;
	argv[argc] = NULL;
	return test_cli_run(argc, argv, out, err, NULL);
}

/* Runs "pricewatch -c conf --redis URL ARGS..." in this process (args NULL-terminated, at most 12). */
static inline int
rt_pw(struct rt *t, char **out, char **err, ...)
{
	va_list ap;
	int rc;

	va_start(ap, err);
	rc = rt_pwv(t, out, err, ap);
	va_end(ap);
	return rc;
}

/* Runs the CLI like rt_pw and checks its exit status and, when needle is not NULL, that its output
 * (standard output or error) contains needle. */
static inline void
rt_expect(struct rt *t, int rc, const char *needle, ...)
{
	va_list ap;
	char *out, *err;
	int got;

	va_start(ap, needle);
	got = rt_pwv(t, &out, &err, ap);
	va_end(ap);
	cr_assert_eq(got, rc, "exit %d, expected %d\nout: %s\nerr: %s", got, rc, out, err);
	if (needle != NULL)
		cr_assert(strstr(out, needle) != NULL || strstr(err, needle) != NULL, "no \"%s\" in\nout: %s\nerr: %s",
		    needle, out, err);
	free(out);
	free(err);
}

/* $PW_TOP_SRCDIR/tests/unit/images/NAME (real photographs: tests/unit/images/README). Static buffer. */
static inline const char *
rt_photo(const char *name)
{
	static char path[2][600];
	static int which;
	const char *top = getenv("PW_TOP_SRCDIR");

	which ^= 1;
	cr_assert(pw_snprintf(path[which], sizeof path[which], "%s/tests/unit/images/%s", top != NULL ? top : "..",
	    name));
	return path[which];
}

/* "DIR/name" in a static buffer (two alternate, so two can be used in one call). */
static inline const char *
rt_path(const struct rt *t, const char *name)
{
	static char path[2][700];
	static int which;

	which ^= 1;
	cr_assert(pw_snprintf(path[which], sizeof path[which], "%s/%s", t->dir, name));
	return path[which];
}

static inline void
rt_write_bytes(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f, "cannot write %s: %s", path, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

static inline void
rt_copy(const char *src, const char *dst)
{
	size_t len;
	char *buf = read_file(src, 64u << 20, &len);

	cr_assert_not_null(buf, "cannot read %s", src);
	rt_write_bytes(dst, buf, len);
	free(buf);
}

/*
 * A marketplace version of a photograph: cropped by crop_pct percent on every side, area-resized to
 * width pixels wide, padded with white to a square when pad, and re-encoded as lossy WebP at quality.
 */
static inline void
rt_variant(const char *src, const char *dst, int crop_pct, uint32_t width, bool pad, float quality)
{
	size_t len, outlen;
	char *buf = read_file(src, 64u << 20, &len);
	image_rgb img, cropped, small, padded;
	image_error ie;
	image_rect rc;
	uint8_t *webp = NULL;
	static const uint8_t white[3] = { 255, 255, 255 };

	cr_assert_not_null(buf, "cannot read %s", src);
	cr_assert_eq(image_decode(buf, len, NULL, src, &img, &ie), IMAGE_OK, "%s", ie.msg);
	free(buf);
	rc.x = img.width * (uint32_t)crop_pct / 100;
	rc.y = img.height * (uint32_t)crop_pct / 100;
	rc.width = img.width - 2 * rc.x;
	rc.height = img.height - 2 * rc.y;
	cr_assert_eq(image_crop(&img, &rc, &cropped, &ie), IMAGE_OK, "%s", ie.msg);
	cr_assert_eq(image_resize_area(&cropped, width, (uint32_t)((uint64_t)cropped.height * width / cropped.width),
	    &small, &ie), IMAGE_OK, "%s", ie.msg);
	if (pad)
		cr_assert_eq(image_pad(&small, 1, 1, white, &padded, &ie), IMAGE_OK, "%s", ie.msg);
	else
		padded = small, small.px = NULL;
	outlen = WebPEncodeRGB(padded.px, (int)padded.width, (int)padded.height, (int)padded.width * 3, quality,
	    &webp);
	cr_assert_gt(outlen, 0, "WebP encoding failed");
	rt_write_bytes(dst, webp, outlen);
	WebPFree(webp);
	image_rgb_free(&img);
	image_rgb_free(&cropped);
	image_rgb_free(&small);
	image_rgb_free(&padded);
}

/* Three products, one photograph each (copied next to the CSV), imported; astronaut.jpg stays out (a product
 * we do not sell). */
static inline void
rt_catalogue(struct rt *t)
{
	rt_copy(rt_photo("coffee.jpg"), rt_path(t, "coffee.jpg"));
	rt_copy(rt_photo("chelsea.jpg"), rt_path(t, "chelsea.jpg"));
	rt_copy(rt_photo("rocket.jpg"), rt_path(t, "rocket.jpg"));
	rt_write(rt_path(t, "cat.csv"),
	    "sku,title,image,brand,price,currency\n"
	    "COF,Espresso cup white porcelain,coffee.jpg,Acme,4.50,EUR\n"
	    "CAT,Orange tabby poster,chelsea.jpg,,12.00,EUR\n"
	    "ROC,Rocket launch print,rocket.jpg,,9.00,EUR\n");
	rt_expect(t, 0, "imported 3 row(s)", "catalog", "import", rt_path(t, "cat.csv"), NULL);
}

/* Runs one command that answers an integer or an array (argv borrowed); returns the integer or the length. */
static inline size_t
rt_count(struct rt *t, int argc, const char **argv)
{
	redisReply *r;
	size_t n;

	cr_assert_eq(store_command(t->st, argc, argv, &r), STORE_OK, "%s", store_error(t->st));
	cr_assert(r->type == REDIS_REPLY_ARRAY || r->type == REDIS_REPLY_INTEGER, "%s: reply type %d", argv[0],
	    r->type);
	n = r->type == REDIS_REPLY_ARRAY ? r->elements : (size_t)r->integer;
	freeReplyObject(r);
	return n;
}

/* Number of keys matching a pattern (KEYS is fine on a test's own server). */
static inline size_t
rt_keys(struct rt *t, const char *pattern)
{
	const char *argv[] = { "KEYS", pattern };

	return rt_count(t, 2, argv);
}

/* Length of a stream. */
static inline size_t
rt_xlen(struct rt *t, const char *key)
{
	const char *argv[] = { "XLEN", key };

	return rt_count(t, 2, argv);
}

/* HGET key field into a malloc'd string ("" when absent; caller frees). */
static inline char *
rt_hget(struct rt *t, const char *key, const char *field)
{
	const char *argv[] = { "HGET", key, field };
	redisReply *r;
	char *v;

	cr_assert_eq(store_command(t->st, 3, argv, &r), STORE_OK, "%s", store_error(t->st));
	v = xstrdup(r->type == REDIS_REPLY_STRING ? r->str : "");
	freeReplyObject(r);
	return v;
}

/* Asserts that field of hash key holds want ("" for absent). */
static inline void
rt_hash_is(struct rt *t, const char *key, const char *field, const char *want)
{
	char *v = rt_hget(t, key, field);

	cr_assert_str_eq(v, want, "%s %s is \"%s\", expected \"%s\"", key, field, v, want);
	free(v);
}

/*
 * The fixture shop of the recognition tests: starts t (rt_setup, default config),
 * makes DIR/shop (its path into docroot) with img/tasse.webp, our cup photo
 * cropped and re-encoded as WebP, and serves it with shop on 127.0.0.1.
 */
static inline void
rt_shop_setup(struct rt *t, struct test_httpd *shop, char *docroot, size_t size)
{
	char img[600];

	rt_setup(t, NULL);
	cr_assert(pw_snprintf(docroot, size, "%s/shop", t->dir));
	cr_assert_eq(mkdir(docroot, 0755), 0);
	cr_assert(pw_snprintf(img, sizeof img, "%s/img", docroot));
	cr_assert_eq(mkdir(img, 0755), 0);
	test_httpd_start(shop, docroot);
	cr_assert(pw_snprintf(img, sizeof img, "%s/img/tasse.webp", docroot));
	rt_variant(rt_photo("coffee.jpg"), img, 4, 300, false, 70);
}

#endif
