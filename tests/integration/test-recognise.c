/* test-recognise.c: pricewatchd --once on a fixture shop: matches by image alone and by GTIN alone; bad images. */
#include "config.h"

#include <criterion/criterion.h>
#include <sys/stat.h>

#include "harness/httpd.h"
#include "harness/run.h"
#include "match/fuse.h"
#include "test-recognise-util.h"

#define NO_IMAGE_GTIN "4006381333931"   /* our cup's GTIN, on a shop page without an image */

static struct rt t;
static struct test_httpd shop;
static char docroot[400];

/* A product page with JSON-LD: name, sku, price and an image URL on the fixture server, or (image NULL) a
 * GTIN-13 and no image. */
static void
write_page(const char *name, const char *title, const char *sku, const char *price, const char *image)
{
	char path[600], *html, *extra;

	cr_assert(pw_snprintf(path, sizeof path, "%s/%s", docroot, name));
	extra = image != NULL ? xasprintf("\"image\":\"%s/img/%s\"", shop.base_url, image)
	                      : xstrdup("\"gtin13\":\"" NO_IMAGE_GTIN "\"");
	html = xasprintf("<html><head><title>%s</title><script type=\"application/ld+json\">"
	    "{\"@context\":\"https://schema.org\",\"@type\":\"Product\",\"name\":\"%s\",\"sku\":\"%s\","
	    "%s,\"offers\":{\"@type\":\"Offer\",\"price\":\"%s\",\"priceCurrency\":\"EUR\","
	    "\"availability\":\"https://schema.org/InStock\"}}</script></head><body><h1>%s</h1></body></html>",
	    title, title, sku, extra, price, title);
	rt_write(path, html);
	free(extra);
	free(html);
}

/* The daemon's config: one source per page (loopback allowed: the shop is on 127.0.0.1), match_keys in [match]. */
static void
write_conf(const char *match_keys)
{
	static const char *const pages[] = { "cup.html", "poster.html", "broken.html", "bomb.html", "mug.html",
		"saucer.html" };
	char conf[4096];
	size_t n = 0;

	n += (size_t)snprintf(conf + n, sizeof conf - n,
	    "[redis]\nurl = %s\n\n[daemon]\nstate-dir = %s/state\nlog-level = info\nadmin-listen = off\n\n"
	    "[crawl]\ntimeout = 10s\nconnect-timeout = 2s\nper-host-delay = 0s\n\n[match]\n%s\n",
	    t.redis.url, t.dir, match_keys);
	for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++)
		n += (size_t)snprintf(conf + n, sizeof conf - n,
		    "[source \"s%zu\"]\nurl = %s/%s\ninterval = 1h\nallow-private = yes\n\n", i, shop.base_url, pages[i]);
	/* Both match rules: each shop listing is new, and cheaper than our 4.50 EUR. */
	n += (size_t)snprintf(conf + n, sizeof conf - n, "[notifier \"log\"]\ntype = log\n\n"
	    "[rule \"new\"]\nkind = new-match\nnotify = log\n\n[rule \"cheaper\"]\nkind = undercut\nnotify = log\n");
	cr_assert_lt(n, sizeof conf);
	rt_write(t.conf, conf);
}

/* Copies the file src to the shop's img/NAME. */
static void
shop_image_from(const char *src, const char *name)
{
	char dst[600];

	cr_assert(pw_snprintf(dst, sizeof dst, "%s/img/%s", docroot, name));
	rt_copy(src, dst);
}

/* Copies $PW_TOP_SRCDIR/REL to the shop's img/NAME. */
static void
shop_image(const char *rel, const char *name)
{
	char src[600];

	cr_assert(pw_snprintf(src, sizeof src, "%s/%s", getenv("PW_TOP_SRCDIR"), rel));
	shop_image_from(src, name);
}

static void
setup(void)
{
	char img[500];

	/* The shop: its own copy of the cup photo (cropped, re-encoded as WebP) under a title that shares no
	 * word with ours; a product we do not sell; a truncated JPEG and a decompression bomb. */
	rt_shop_setup(&t, &shop, docroot, sizeof docroot);
	shop_image("tests/unit/images/astronaut.jpg", "astronaut.jpg");
	shop_image("tests/fuzz/corpus-image/jpeg-truncated.jpg", "broken.jpg");
	shop_image("tests/fuzz/corpus-image/png-huge-ihdr.png", "bomb.png");
	write_page("cup.html", "Tasse 0,2 l Gastro", "T-100", "3.49", "tasse.webp");
	/* Another listing showing the very same file under another URL: embedded once. */
	cr_assert(pw_snprintf(img, sizeof img, "%s/img/tasse.webp", docroot));
	rt_copy(img, rt_path(&t, "tasse.webp"));
	shop_image_from(rt_path(&t, "tasse.webp"), "tasse-2.webp");
	write_page("mug.html", "Becher Kaffee", "T-200", "2.99", "tasse-2.webp");
	write_page("poster.html", "Weltraum Plakat", "P-7", "5.00", "astronaut.jpg");
	write_page("broken.html", "Kaputt", "B-1", "1.00", "broken.jpg");
	write_page("bomb.html", "Bombe", "B-2", "1.00", "bomb.png");
	/* No image at all, but our cup's GTIN: matched by the identifier alone. */
	write_page("saucer.html", "Untertasse Set", "G-1", "3.00", NULL);

	/* The default [match] threshold: the cup must reach it by image alone. */
	write_conf("");
	/* The catalogue, from the original photographs; our cup gets its GTIN in a second import. */
	rt_catalogue(&t);
	rt_write(rt_path(&t, "gtin.csv"), "sku,title,image,gtin\n"
	    "COF,Espresso cup white porcelain,coffee.jpg," NO_IMAGE_GTIN "\n");
	rt_expect(&t, 0, "imported 1 row(s)", "catalog", "import", rt_path(&t, "gtin.csv"), NULL);
}

static void
teardown(void)
{
	test_httpd_stop(&shop);
	rt_teardown(&t);
}

TestSuite(recognise, .init = setup, .fini = teardown, .timeout = 300);

static void
run_once(struct test_run *r)
{
	const char *args[] = { "-f", "--once", "-c", t.conf, NULL };

	test_run(r, "pricewatchd", NULL, NULL, args);
	cr_assert_eq(r->rc, 0, "pricewatchd --once exited %d:\n%s\n%s", r->rc, r->out, r->err);
}

Test(recognise, matched_by_image_alone)
{
	struct test_run r;
	char *v, *ms;

	run_once(&r);
	/* The shop's cup is our COF although its title shares no word with ours. */
	rt_hash_is(&t, "pw:listing:s0:sku:T-100", "title", "Tasse 0,2 l Gastro");
	v = rt_hget(&t, "pw:listing:s0:sku:T-100", "match_sku");
	cr_assert_str_eq(v, "COF", "no match stored; daemon said:\n%s", r.err);
	free(v);
	rt_hash_is(&t, "pw:listing:s0:sku:T-100", "match_state", "auto");
	v = rt_hget(&t, "pw:listing:s0:sku:T-100", "match_reasons");
	cr_assert_not_null(strstr(v, "histogram="), "%s", v);
	cr_assert_not_null(strstr(v, "title=0.00"), "%s", v);
	free(v);
	v = rt_hget(&t, "pw:listing:s0:sku:T-100", "match_score");
	cr_assert_geq(strtod(v, NULL), FUSE_THRESHOLD - 0.0005, "%s", v);
	cr_log_info("the shop's cup scored %s", v);
	free(v);
	ms = rt_hget(&t, "pw:listing:s0:sku:T-100", "match_ms");
	cr_assert_neq(ms[0], '\0');

	/* A product we do not sell is not matched; hostile images are refused and counted, nothing crashes. */
	rt_hash_is(&t, "pw:listing:s1:sku:P-7", "match_sku", "");
	rt_hash_is(&t, "pw:listing:s4:sku:T-200", "match_sku", "COF");
	/* The listing without an image: matched by GTIN, no image fetched for it. */
	rt_hash_is(&t, "pw:listing:s5:sku:G-1", "match_sku", "COF");
	rt_hash_is(&t, "pw:listing:s5:sku:G-1", "match_reasons", "gtin");
	cr_assert_not_null(strstr(r.err, "5 images fetched (0 failed), 2 embedded, 1 from the cache, "
	    "0 known by URL (not fetched again), 2 rejected, "
	    "3 matches (3 new), 1 without a match, 6 alerts"), "%s", r.err);
	cr_assert_eq(rt_xlen(&t, "pw:alerts"), 6);
	cr_assert_not_null(strstr(r.err, "broken.jpg"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "bomb.png"), "%s", r.err);
	/* Two distinct shop images embedded, three URLs remembered; three catalogue images. */
	cr_assert_eq(rt_keys(&t, "pw:img:*"), 3);
	cr_assert_eq(rt_keys(&t, "pw:emb:*"), 5);
	test_run_free(&r);

	/* Again: the images embedded before are not fetched (pw:img), the match is not new and keeps its time. */
	run_once(&r);
	cr_assert_not_null(strstr(r.err, "2 images fetched (0 failed), 0 embedded, 0 from the cache, "
	    "3 known by URL (not fetched again), 2 rejected, 3 matches (0 new), 1 without a match, 0 alerts"),
	    "%s", r.err);
	cr_assert_eq(rt_xlen(&t, "pw:alerts"), 6);
	cr_assert_eq(rt_keys(&t, "pw:emb:*"), 5);
	rt_hash_is(&t, "pw:listing:s0:sku:T-100", "match_ms", ms);
	free(ms);
	test_run_free(&r);
}

/* [match] enabled = no: no image is fetched, nothing is matched. */
Test(recognise, off_when_disabled)
{
	struct test_run r;

	write_conf("enabled = no\n");
	run_once(&r);
	cr_assert_not_null(strstr(r.err, "recognition: off"), "%s", r.err);
	rt_hash_is(&t, "pw:listing:s0:sku:T-100", "match_sku", "");
	cr_assert_eq(rt_keys(&t, "pw:img:*"), 0);
	test_run_free(&r);
}

#ifdef HAVE_OPENCL
/*
 * The daemon runs recognition on the OpenCL backend (PoCL in CI): the plugin
 * from this build, named in [inference], embeds the shop's images and the cup
 * is matched as on the CPU (the catalogue itself was embedded on the CPU by the
 * CLI, so this also shows the two backends' embeddings agree).
 */
Test(recognise, daemon_runs_the_model_on_opencl)
{
	struct test_run r;
	char keys[700], *v;

	cr_assert(pw_snprintf(keys, sizeof keys, "\n[inference]\nbackend = opencl\nplugin-dir = %s/src/backends/opencl\n",
	    getenv("PW_TOP_BUILDDIR")));
	write_conf(keys);
	/*
	 * Under ASan, a thread of the OpenCL runtime (PoCL) leaves ASan unable to
	 * unmap that thread's alternate signal stack when it exits, and ASan aborts
	 * the whole daemon at exit; ASan's own stack is not needed to check this.
	 */
	{
		const char *asan = getenv("ASAN_OPTIONS");
		char *opts = xasprintf("%s%suse_sigaltstack=0", asan != NULL ? asan : "",
		    asan != NULL && *asan != '\0' ? ":" : "");

		setenv("ASAN_OPTIONS", opts, 1);
		free(opts);
	}
	run_once(&r);
	if (strstr(r.err, "no OpenCL platform") != NULL) {
		test_run_free(&r);
		cr_skip_test("no OpenCL platform on this machine");
	}
	cr_assert_not_null(strstr(r.err, "on backend opencl"), "%s", r.err);
	cr_assert_null(strstr(r.err, "dropped for this session"), "a backend was dropped:\n%s", r.err);
	v = rt_hget(&t, "pw:listing:s0:sku:T-100", "match_sku");
	cr_assert_str_eq(v, "COF", "no match on OpenCL; daemon said:\n%s", r.err);
	free(v);
	rt_hash_is(&t, "pw:listing:s1:sku:P-7", "match_sku", "");
	test_run_free(&r);
}
#endif
