/* test-catalog.c: "pricewatch catalog" import (CSV, JSON lines, URLs), list, show, remove and pw:emb dedupe. */
#include "config.h"

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "harness/httpd.h"
#include "match/catalog.h"
#include "test-recognise-util.h"

static struct rt t;

static void
setup(void)
{
	rt_setup(&t, NULL);
	rt_copy(rt_photo("coffee.jpg"), rt_path(&t, "coffee.jpg"));
	rt_copy(rt_photo("chelsea.jpg"), rt_path(&t, "chelsea.jpg"));
	rt_copy(rt_photo("rocket.jpg"), rt_path(&t, "rocket.jpg"));
	rt_copy(rt_photo("astronaut.jpg"), rt_path(&t, "astronaut.jpg"));
}

static void
teardown(void)
{
	rt_teardown(&t);
}

TestSuite(catalog, .init = setup, .fini = teardown, .timeout = 120);

/* The catalogue as JSON (catalog list --json), parsed. */
static struct json_object *
list_json(void)
{
	char *out, *err;
	struct json_object *o;

	cr_assert_eq(rt_pw(&t, &out, &err, "catalog", "list", "--json", NULL), 0, "%s", err);
	o = json_tokener_parse(out);
	cr_assert_not_null(o, "not JSON: %s", out);
	free(out);
	free(err);
	return o;
}

static const char *
member(struct json_object *o, const char *name)
{
	struct json_object *v;

	cr_assert(json_object_object_get_ex(o, name, &v), "no %s", name);
	return json_object_get_string(v);
}

Test(catalog, csv_import_good_and_bad_rows)
{
	char *out, *err;
	struct json_object *a;
	struct catalog_product p;

	/* Line 3's quoted title spans two lines, so the rows after it are one line further down. */
	rt_write(rt_path(&t, "cat.csv"),
	    "sku,title,image,gtin,mpn,brand,price,currency\r\n"
	    "COF-1,Coffee cup,coffee.jpg,4006381333931,,Acme,3.99,EUR\r\n"
	    "CAT-1,\"Cat poster, \"\"Chelsea\"\"\n(A3)\",chelsea.jpg|astronaut.jpg,,,,12.50,EUR\r\n"
	    "BAD 1,Spaces in SKU,rocket.jpg\r\n"
	    "ROC-1,Rocket,missing.jpg\r\n"
	    "ROC-2,Rocket,rocket.jpg,,,,9.999,EUR\r\n"
	    "ROC-3,,rocket.jpg\r\n"
	    "ROC-4,Rocket,rocket.jpg,1,2,3,4,5,6\r\n"
	    "ROC-5,\"Rocket\" model,rocket.jpg\r\n"
	    "COF-1,Coffee cup,coffee.jpg|rocket.jpg\r\n");
	cr_assert_eq(rt_pw(&t, &out, &err, "catalog", "import", rt_path(&t, "cat.csv"), NULL), CLI_EXIT_ERROR,
	    "out: %s err: %s", out, err);
	cr_assert_not_null(strstr(err, "cat.csv:5: bad or missing sku 'BAD 1'"), "%s", err);
	cr_assert_not_null(strstr(err, "cat.csv:6: "), "%s", err);
	cr_assert_not_null(strstr(err, "missing.jpg"), "%s", err);
	cr_assert_not_null(strstr(err, "cat.csv:7: bad price '9.999'"), "%s", err);
	cr_assert_not_null(strstr(err, "cat.csv:8: ROC-3: missing title"), "%s", err);
	cr_assert_not_null(strstr(err, "cat.csv:9: 9 fields, but the header has 8"), "%s", err);
	cr_assert_not_null(strstr(err, "cat.csv:10: text after a closing quote"), "%s", err);
	cr_assert_null(strstr(err, "cat.csv:11"), "%s", err);
	/* COF-1 twice: the second row adds rocket.jpg and finds coffee.jpg already there. */
	cr_assert_not_null(strstr(out, "imported 3 row(s): 4 new image(s), 1 already there"), "%s", out);
	cr_assert_not_null(strstr(out, "6 bad row(s) skipped"), "%s", out);
	free(out);
	free(err);

	a = list_json();
	cr_assert_eq(json_object_array_length(a), 2);
	cr_assert_str_eq(member(json_object_array_get_idx(a, 0), "sku"), "COF-1");
	cr_assert_str_eq(member(json_object_array_get_idx(a, 0), "price"), "3.99");
	cr_assert_str_eq(member(json_object_array_get_idx(a, 0), "images"), "2");
	cr_assert_str_eq(member(json_object_array_get_idx(a, 1), "title"), "Cat poster, \"Chelsea\"\n(A3)");
	cr_assert_str_eq(member(json_object_array_get_idx(a, 1), "images"), "2");
	json_object_put(a);

	cr_assert_eq(catalog_get(t.st, "COF-1", &p), STORE_OK);
	cr_assert_eq(p.price.minor, 399);
	cr_assert_str_eq(p.price.currency, "EUR");
	cr_assert_str_eq(p.gtin, "4006381333931");
	cr_assert_str_eq(p.brand, "Acme");
	catalog_product_free(&p);
	/* Four distinct images embedded once each. */
	cr_assert_eq(rt_keys(&t, "pw:emb:*"), 4);
	cr_assert_eq(rt_keys(&t, "pw:product:*:desc"), 2);

	cr_assert_eq(rt_pw(&t, &out, &err, "catalog", "show", "CAT-1", NULL), 0, "%s", err);
	cr_assert_not_null(strstr(out, "chelsea.jpg"), "%s", out);
	cr_assert_not_null(strstr(out, "astronaut.jpg"), "%s", out);
	cr_assert_not_null(strstr(out, "12.50 EUR"), "%s", out);
	free(out);
	free(err);

	rt_expect(&t, 0, NULL, "catalog", "remove", "CAT-1", NULL);
	rt_expect(&t, CLI_EXIT_NOT_FOUND, "no catalogue product CAT-1", "catalog", "show", "CAT-1", NULL);
	rt_expect(&t, CLI_EXIT_NOT_FOUND, NULL, "catalog", "remove", "CAT-1", NULL);
	cr_assert_eq(rt_keys(&t, "pw:product:CAT-1*"), 0);
	a = list_json();
	cr_assert_eq(json_object_array_length(a), 1);
	json_object_put(a);

	cr_assert_eq(rt_pw(&t, &out, &err, "catalog", "list", "--csv", NULL), 0, "%s", err);
	cr_assert_not_null(strstr(out, "SKU,PRICE,CUR,IMAGES,GTIN,TITLE\r\nCOF-1,3.99,EUR,2,4006381333931,Coffee cup\r\n"),
	    "%s", out);
	free(out);
	free(err);
}

Test(catalog, jsonl_import)
{
	char *out, *err;
	struct json_object *a;
	char **imgs;
	size_t n;

	rt_write(rt_path(&t, "cat.jsonl"),
	    "{\"sku\": \"COF-1\", \"title\": \"Coffee\", \"image\": [\"coffee.jpg\", \"rocket.jpg\"], \"price\": 3.50, "
	    "\"currency\": \"USD\"}\n"
	    "\n"
	    "{\"sku\": \"CAT-1\", \"title\": \"Cat\", \"image\": \"chelsea.jpg\"\n"
	    "[1, 2]\n"
	    "{\"sku\": \"AST-1\", \"title\": \"Astronaut\", \"image\": \"astronaut.jpg\", \"gtin\": \"012345678905\"}\n");
	cr_assert_eq(rt_pw(&t, &out, &err, "catalog", "import", rt_path(&t, "cat.jsonl"), NULL), CLI_EXIT_ERROR,
	    "%s", err);
	cr_assert_not_null(strstr(err, "cat.jsonl:3: not a JSON object"), "%s", err);
	cr_assert_not_null(strstr(err, "cat.jsonl:4: not a JSON object"), "%s", err);
	cr_assert_not_null(strstr(out, "imported 2 row(s): 3 new image(s)"), "%s", out);
	free(out);
	free(err);

	a = list_json();
	cr_assert_eq(json_object_array_length(a), 2);
	/* The price as written in the JSON text (3.50), never through a double. */
	cr_assert_str_eq(member(json_object_array_get_idx(a, 0), "price"), "3.50");
	cr_assert_str_eq(member(json_object_array_get_idx(a, 0), "price_minor"), "350");
	cr_assert_str_eq(member(json_object_array_get_idx(a, 1), "gtin"), "012345678905");
	json_object_put(a);
	cr_assert_eq(catalog_images(t.st, "COF-1", &imgs, &n), STORE_OK);
	cr_assert_eq(n, 2);
	cr_assert_not_null(strstr(imgs[1], "rocket.jpg"));
	for (size_t i = 0; i < n; i++)
		free(imgs[i]);
	free(imgs);
}

/* The same bytes under two names (and two products): one inference, the second comes from pw:emb. */
Test(catalog, same_bytes_embedded_once)
{
	char *out, *err;

	rt_copy(rt_photo("coffee.jpg"), rt_path(&t, "coffee-copy.jpg"));
	rt_write(rt_path(&t, "cat.csv"), "sku,title,image\nA,Coffee,coffee.jpg\nB,Coffee again,coffee-copy.jpg\n");
	cr_assert_eq(rt_pw(&t, &out, &err, "catalog", "import", rt_path(&t, "cat.csv"), NULL), 0, "%s", err);
	cr_assert_not_null(strstr(out, "imported 2 row(s): 2 new image(s), 0 already there, 0 re-embedded, "
	    "1 embedding(s) from the cache"), "%s", out);
	free(out);
	free(err);
	cr_assert_eq(rt_keys(&t, "pw:emb:*"), 1);

	/* Importing again changes nothing: every image is already listed, every embedding cached. */
	rt_expect(&t, 0, "0 new image(s), 2 already there, 0 re-embedded, 2 embedding(s) from the cache",
	    "catalog", "import", rt_path(&t, "cat.csv"), NULL);
}

/* Images by URL go through the crawler's fetch and SSRF guard: loopback only with --allow-private. */
Test(catalog, url_images_and_the_guard)
{
	struct test_httpd h;
	char *out, *err, csv[1200];
	char **imgs;
	size_t n;

	test_httpd_start(&h, t.dir);
	cr_assert(pw_snprintf(csv, sizeof csv, "sku,title,image\nCOF-1,Coffee,%s/coffee.jpg\nNOPE,Nope,%s/404.jpg\n",
	    h.base_url, h.base_url));
	rt_write(rt_path(&t, "cat.csv"), csv);
	cr_assert_eq(rt_pw(&t, &out, &err, "catalog", "import", rt_path(&t, "cat.csv"), NULL), CLI_EXIT_ERROR);
	cr_assert_not_null(strstr(err, "cat.csv:2: "), "%s", err);
	cr_assert_not_null(strstr(err, "loopback"), "%s", err);
	free(out);
	free(err);

	cr_assert_eq(rt_pw(&t, &out, &err, "catalog", "import", "--allow-private", rt_path(&t, "cat.csv"), NULL),
	    CLI_EXIT_ERROR);
	cr_assert_not_null(strstr(err, "cat.csv:3: "), "%s", err);
	cr_assert_null(strstr(err, "cat.csv:2: "), "%s", err);
	cr_assert_not_null(strstr(out, "imported 1 row(s)"), "%s", out);
	free(out);
	free(err);
	cr_assert_eq(catalog_images(t.st, "COF-1", &imgs, &n), STORE_OK);
	cr_assert_eq(n, 1);
	cr_assert_not_null(strstr(imgs[0], "http://127.0.0.1:"), "%s", imgs[0]);
	free(imgs[0]);
	free(imgs);
	test_httpd_stop(&h);
}

Test(catalog, usage_and_bad_files)
{
	rt_expect(&t, CLI_EXIT_USAGE, NULL, "catalog", NULL);
	rt_expect(&t, CLI_EXIT_USAGE, NULL, "catalog", "frobnicate", NULL);
	rt_write(rt_path(&t, "bad.csv"), "sku,name,image\nA,B,coffee.jpg\n");
	rt_expect(&t, CLI_EXIT_ERROR, "bad.csv:1: unknown column 'name'",
	    "catalog", "import", rt_path(&t, "bad.csv"), NULL);
	rt_write(rt_path(&t, "bad.csv"), "sku,title\nA,B\n");
	rt_expect(&t, CLI_EXIT_ERROR, "bad.csv:1: the header has no 'image' column",
	    "catalog", "import", rt_path(&t, "bad.csv"), NULL);
	rt_expect(&t, CLI_EXIT_NOT_FOUND, "the catalogue is empty", "catalog", "list", NULL);
}
