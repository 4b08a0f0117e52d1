/* cmd-catalog.c: "pricewatch catalog": import products with reference images (CSV, JSON lines), list, show, remove. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "cli/progress.h"
#include "common/util.h"
#include "crawl/fetch.h"
#include "crawl/guard.h"
#include "match/catalog.h"
#include "match/descriptor.h"

#define CATALOG_MAX_FILE ((size_t)256 << 20)  /* an import file larger than this is refused */
#define CATALOG_MAX_FIELDS 64

static int cmd_catalog_exec(struct cli_ctx *ctx, int argc, char **argv);

const struct cmd_entry cmd_catalog_entry = {
	.name = "catalog",
	.alias = NULL,
	.usage = "import [--allow-private] FILE | list | show SKU | remove SKU",
	.summary = "import, list, show or remove the products of your own catalogue",
	.help =
	    "import FILE   reads products with reference images: a CSV file whose header is\n"
	    "              sku,title,image[,gtin,mpn,brand,price,currency] (RFC 4180 quoting;\n"
	    "              any order) or JSON lines ({\"sku\": ..., \"title\": ..., \"image\": ...}\n"
	    "              per line, image a string or an array). image is a local path\n"
	    "              (relative to FILE's directory) or an http(s) URL; several images\n"
	    "              per product: separate them with '|' or repeat the SKU on another\n"
	    "              row. Each image is embedded once (cached by content). A bad row is\n"
	    "              reported as FILE:LINE and skipped; the rest is imported.\n"
	    "list          every product (--json or --csv for machines)\n"
	    "show SKU      one product and its image sources\n"
	    "remove SKU    deletes a product and its reference images\n"
	    "Options:\n"
	    "      --allow-private  image URLs may resolve to loopback or private addresses\n"
	    "                       (an intranet image server; refused by default)\n"
	    "      --json, --csv    output format of list and show\n"
	    "  -h, --help           show this help\n"
	    "Exit status 1 when the SKU does not exist, 4 when any import row was refused.\n",
	.exec = cmd_catalog_exec,
};

enum { OPT_ALLOW_PRIVATE = 256 };

static const struct option catalog_options[] = {
	{ "allow-private", no_argument, NULL, OPT_ALLOW_PRIVATE },
	{ "json", no_argument, NULL, CLI_OPT_JSON },
	{ "csv", no_argument, NULL, CLI_OPT_CSV },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* ---- shared with cmd-match.c ------------------------------------------------------------------------- */

int
cli_descriptor_model_open(struct cli_ctx *ctx, struct descriptor_model **model)
{
	struct descriptor_model_opts o = {
		.model_path = ctx->cfg.inference.model,
		.output_name = ctx->cfg.match.embedding_output,
		.backend = ctx->cfg.inference.backend,
		.threads = (int)ctx->cfg.inference.threads,
		.limits = { .max_bytes = (size_t)ctx->cfg.crawl.max_image_body,
		    .max_pixels = (uint64_t)ctx->cfg.match.max_image_pixels },
		.plugin_dir = ctx->cfg.inference.plugin_dir,
		.cache_dir = ctx->cfg.daemon.state_dir,   /* the daemon's measured backend choice, shared */
	};
	char err[512];

	*model = NULL;
	if (!descriptor_model_open(model, &o, err, sizeof(err))) {
		cli_error(ctx, "cannot open the image model: %s", err);
		return CLI_EXIT_ERROR;
	}
	return CLI_EXIT_OK;
}

static bool
is_url(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

unsigned char *
cli_image_read(struct cli_ctx *ctx, const char *src, bool allow_private, size_t *len, char *err, size_t errlen)
{
	size_t max = ctx->cfg.crawl.max_image_body > 0 ? (size_t)ctx->cfg.crawl.max_image_body : IMAGE_DEFAULT_MAX_BYTES;
	char *buf;

	*len = 0;
	if (is_url(src)) {
		/* Same engine, limits and SSRF guard as the crawler's image fetches. */
		struct guard_policy policy = { .allow_loopback = allow_private, .allow_private = allow_private };
		struct fetch_opts fo = {
			.user_agent = ctx->cfg.crawl.user_agent,
			.connect_timeout_ms = ctx->cfg.crawl.connect_timeout_ms,
			.timeout_ms = ctx->cfg.crawl.timeout_ms,
			.max_body = max,
			.max_redirects = (long)ctx->cfg.crawl.max_redirects,
			.guard = &policy,
		};
		struct fetch_result fr;

		memset(&fr, 0, sizeof(fr));
		if (!fetch_url(src, &fo, &fr)) {
			pw_snprintf(err, errlen, "%s", fr.error);
			fetch_result_free(&fr);
			return NULL;
		}
		buf = fr.body;
		*len = fr.len;
		fr.body = NULL;
		fetch_result_free(&fr);
		return (unsigned char *)buf;
	}
	/* One byte over the limit tells "too large" from "exactly the limit". */
	buf = cli_read_input(src, max + 1, len);
	if (buf == NULL) {
		pw_snprintf(err, errlen, "%s: %s", src, strerror(errno));
		return NULL;
	}
	if (*len > max) {
		pw_snprintf(err, errlen, "%s: larger than max-image-size (%zu bytes)", src, max);
		free(buf);
		return NULL;
	}
	return (unsigned char *)buf;
}

/* ---- reading the import file ------------------------------------------------------------------------- */

/* One product row: strings point into the row's own storage (owned by struct row). */
struct row {
	size_t line;
	char *fields[9];           /* sku title image gtin mpn brand price currency, NULL when absent */
	char *storage[CATALOG_MAX_FIELDS];
	size_t nstorage;
};

enum { F_SKU = 0, F_TITLE, F_IMAGE, F_GTIN, F_MPN, F_BRAND, F_PRICE, F_CURRENCY, F_N };
static const char *const field_names[F_N] = { "sku", "title", "image", "gtin", "mpn", "brand", "price", "currency" };

static void
row_free(struct row *r)
{
	for (size_t i = 0; i < r->nstorage; i++)
		free(r->storage[i]);
	memset(r, 0, sizeof(*r));
}

static char *
row_keep(struct row *r, char *s)
{
	if (r->nstorage == CATALOG_MAX_FIELDS) {
		free(s);
		return NULL;
	}
	return r->storage[r->nstorage++] = s;
}

/*
 * One RFC 4180 record from buf at *pos: fields separated by commas, optionally in double quotes (a quoted
 * field may hold commas, newlines and "" for a quote); records end at CRLF or LF. *line counts newlines.
 * Returns the number of fields (malloc'd, caller frees), 0 at the end, -1 with err on a malformed record.
 */
static int
csv_record(const char *buf, size_t len, size_t *pos, size_t *line, char **fields, size_t max, char *err,
    size_t errlen)
{
	size_t i = *pos, nf = 0;

	if (i >= len)
		return 0;
	for (;;) {
		char *f = xmalloc(len - i + 1);
		size_t n = 0;

		if (i < len && buf[i] == '"') {
			for (i++;; i++) {
				if (i >= len) {
					free(f);
					pw_snprintf(err, errlen, "unterminated quoted field");
					goto fail;
				}
				if (buf[i] == '"' && i + 1 < len && buf[i + 1] == '"')
					f[n++] = buf[i++];
				else if (buf[i] == '"')
					break;
				else {
					if (buf[i] == '\n')
						(*line)++;
					f[n++] = buf[i];
				}
			}
			i++;
			if (i < len && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r') {
				free(f);
				pw_snprintf(err, errlen, "text after a closing quote");
				goto fail;
			}
		} else
			while (i < len && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r')
				f[n++] = buf[i++];
		f[n] = '\0';
		if (nf == max) {
			free(f);
			pw_snprintf(err, errlen, "more than %zu fields", max);
			goto fail;
		}
		fields[nf++] = f;
		if (i < len && buf[i] == ',') {
			i++;
			continue;
		}
		if (i < len && buf[i] == '\r')
			i++;
		if (i < len && buf[i] == '\n') {
			i++;
			(*line)++;
		}
		break;
	}
	*pos = i;
	return (int)nf;
fail:
	/* Skip to the end of the physical line so the next record can still be read. */
	while (i < len && buf[i] != '\n')
		i++;
	if (i < len) {
		i++;
		(*line)++;
	}
	*pos = i;
	for (size_t k = 0; k < nf; k++)
		free(fields[k]);
	return -1;
}

/* Parsed rows plus the errors met while reading (each "FILE:LINE: why"). */
struct import {
	const char *path;
	struct row *rows;
	size_t nrows, cap;
	size_t bad;
};

static void import_bad(struct cli_ctx *ctx, struct import *im, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
import_bad(struct cli_ctx *ctx, struct import *im, size_t line, const char *fmt, ...)
{
	va_list ap;

	fprintf(ctx->err, "pricewatch: %s:%zu: ", im->path, line);
	va_start(ap, fmt);
	vfprintf(ctx->err, fmt, ap);
	va_end(ap);
	fputc('\n', ctx->err);
	im->bad++;
}

static struct row *
import_row(struct import *im, size_t line)
{
	if (im->nrows == im->cap) {
		im->cap = im->cap != 0 ? 2 * im->cap : 64;
		im->rows = xreallocarray(im->rows, im->cap, sizeof(*im->rows));
	}
	memset(&im->rows[im->nrows], 0, sizeof(im->rows[0]));
	im->rows[im->nrows].line = line;
	return &im->rows[im->nrows++];
}

static bool
blank(const char *s)
{
	return s == NULL || s[strspn(s, " \t")] == '\0';
}

static int
read_csv(struct cli_ctx *ctx, struct import *im, const char *buf, size_t len)
{
	char *fields[CATALOG_MAX_FIELDS], err[128];
	int col[CATALOG_MAX_FIELDS];
	size_t pos = 0, line = 1, start;
	int nh, nf;

	/* A UTF-8 byte order mark (spreadsheet exports) is not part of the first column's name. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	nh = csv_record(buf, len, &pos, &line, fields, CATALOG_MAX_FIELDS, err, sizeof(err));
	if (nh <= 0) {
		cli_error(ctx, "%s:1: %s", im->path, nh < 0 ? err : "empty file: expected a header "
		    "sku,title,image[,gtin,mpn,brand,price,currency]");
		return CLI_EXIT_ERROR;
	}
	for (int i = 0; i < nh; i++) {
		col[i] = -1;
		for (int f = 0; f < F_N; f++)
			if (strcasecmp(fields[i], field_names[f]) == 0)
				col[i] = f;
		if (col[i] < 0) {
			cli_error(ctx, "%s:1: unknown column '%s' (expected sku, title, image, gtin, mpn, brand, "
			    "price, currency)", im->path, fields[i]);
			for (int k = 0; k < nh; k++)
				free(fields[k]);
			return CLI_EXIT_ERROR;
		}
	}
	for (int i = 0; i < nh; i++)
		free(fields[i]);
	for (int f = 0; f < F_IMAGE + 1; f++) {
		bool found = false;

		for (int i = 0; i < nh; i++)
			found |= col[i] == f;
		if (!found) {
			cli_error(ctx, "%s:1: the header has no '%s' column", im->path, field_names[f]);
			return CLI_EXIT_ERROR;
		}
	}
	for (;;) {
		struct row *r;

		start = line;
		nf = csv_record(buf, len, &pos, &line, fields, CATALOG_MAX_FIELDS, err, sizeof(err));
		if (nf == 0)
			break;
		if (nf < 0) {
			import_bad(ctx, im, start, "%s", err);
			continue;
		}
		if (nf == 1 && fields[0][0] == '\0') {  /* an empty line */
			free(fields[0]);
			continue;
		}
		/* Trailing optional columns may be left out; extra fields are an error. */
		if (nf > nh) {
			for (int i = 0; i < nf; i++)
				free(fields[i]);
			import_bad(ctx, im, start, "%d fields, but the header has %d", nf, nh);
			continue;
		}
		r = import_row(im, start);
		for (int i = 0; i < nf; i++)
			r->fields[col[i]] = row_keep(r, fields[i]);
	}
	return CLI_EXIT_OK;
}

/* A JSON member as text: strings as they are, numbers with the digits as written (json-c keeps them). */
static char *
json_text(struct json_object *o, const char *name)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, name, &v) || v == NULL)
		return NULL;
	if (!json_object_is_type(v, json_type_string) && !json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double))
		return NULL;
	return xstrdup(json_object_get_string(v));
}

/* Element k of a JSON array as text; "" for null (never NULL). */
static const char *
array_str(struct json_object *a, size_t k)
{
	const char *s = json_object_get_string(json_object_array_get_idx(a, k));

	return s != NULL ? s : "";
}

static int
read_jsonl(struct cli_ctx *ctx, struct import *im, const char *buf, size_t len)
{
	size_t line = 0, i = 0;

	while (i < len) {
		size_t end = i;
		struct json_object *o, *img;
		struct json_tokener *tok;
		struct row *r;

		while (end < len && buf[end] != '\n')
			end++;
		line++;
		{
			char *text = xstrndup(buf + i, end - i);

			i = end < len ? end + 1 : end;
			if (text[strspn(text, " \t\r")] == '\0') {
				free(text);
				continue;
			}
			tok = json_tokener_new();
			o = json_tokener_parse_ex(tok, text, (int)strlen(text));
			if (o == NULL || !json_object_is_type(o, json_type_object)) {
				enum json_tokener_error je = json_tokener_get_error(tok);

				import_bad(ctx, im, line, "not a JSON object: %s", o != NULL ? "another JSON type" :
				    je == json_tokener_continue ? "incomplete JSON" : json_tokener_error_desc(je));
				json_object_put(o);
				json_tokener_free(tok);
				free(text);
				continue;
			}
			json_tokener_free(tok);
			free(text);
		}
		r = import_row(im, line);
		for (int f = 0; f < F_N; f++)
			if (f != F_IMAGE)
				r->fields[f] = row_keep(r, json_text(o, field_names[f]));
		/* image: one string, or an array of them (joined with '|' like the CSV form). */
		if (json_object_object_get_ex(o, "image", &img) && json_object_is_type(img, json_type_array)) {
			size_t n = json_object_array_length(img), total = 1, at = 0;
			char *joined;

			for (size_t k = 0; k < n; k++)
				total += strlen(array_str(img, k)) + 1;
			joined = xcalloc(total, 1);
			for (size_t k = 0; k < n; k++) {
				const char *one = array_str(img, k);
				size_t l = strlen(one);

				if (k > 0)
					joined[at++] = '|';
				memcpy(joined + at, one, l);
				at += l;
			}
			r->fields[F_IMAGE] = row_keep(r, joined);
		} else
			r->fields[F_IMAGE] = row_keep(r, json_text(o, "image"));
		json_object_put(o);
	}
	return CLI_EXIT_OK;
}

static bool
looks_like_jsonl(const char *path, const char *buf, size_t len)
{
	size_t i = 0, n = strlen(path);

	if ((n > 6 && strcasecmp(path + n - 6, ".jsonl") == 0) || (n > 7 && strcasecmp(path + n - 7, ".ndjson") == 0))
		return true;
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
		i++;
	return i < len && buf[i] == '{';
}

/* ---- importing ----------------------------------------------------------------------------------------- */

struct import_totals {
	size_t products, images, cached, skipped_dupes, replaced;
};

/* A path relative to the import file's directory (absolute paths and URLs as they are); caller frees. */
static char *
image_source(const char *file, const char *img)
{
	const char *slash = strrchr(file, '/');

	if (is_url(img) || img[0] == '/' || slash == NULL)
		return xstrdup(img);
	return xasprintf("%.*s/%s", (int)(slash - file), file, img);
}

/* Embeds every image of one row; the row is stored only when all of them could be read and decoded. */
static bool
import_one(struct cli_ctx *ctx, struct import *im, struct descriptor_model *model, bool allow_private,
    const struct row *r, struct import_totals *tot)
{
	struct catalog_product p = { 0 };
	char *list, *save = NULL, err[512];
	const char *tok;
	struct descriptor *descs = NULL;
	char **srcs = NULL;
	size_t n = 0;
	bool ok = false;

	if (!catalog_sku_valid(r->fields[F_SKU])) {
		import_bad(ctx, im, r->line, "bad or missing sku '%s' (1 to 200 bytes, no spaces)",
		    r->fields[F_SKU] != NULL ? r->fields[F_SKU] : "");
		return false;
	}
	if (blank(r->fields[F_TITLE])) {
		import_bad(ctx, im, r->line, "%s: missing title", r->fields[F_SKU]);
		return false;
	}
	if (!blank(r->fields[F_PRICE])) {
		if (blank(r->fields[F_CURRENCY]) ||
		    !money_parse_decimal(r->fields[F_PRICE], r->fields[F_CURRENCY], &p.price)) {
			import_bad(ctx, im, r->line, "bad price '%s' (a plain decimal with a currency such as EUR)",
			    r->fields[F_PRICE]);
			return false;
		}
	}
	if (blank(r->fields[F_IMAGE])) {
		import_bad(ctx, im, r->line, "%s: missing image", r->fields[F_SKU]);
		return false;
	}
	list = xstrdup(r->fields[F_IMAGE]);
	for (tok = strtok_r(list, "|", &save); tok != NULL; tok = strtok_r(NULL, "|", &save)) {
		unsigned char *bytes;
		size_t len;
		bool cached;
		char *src;

		tok += strspn(tok, " \t");
		if (*tok == '\0')
			continue;
		src = image_source(im->path, tok);
		descs = xreallocarray(descs, n + 1, sizeof(*descs));
		srcs = xreallocarray(srcs, n + 1, sizeof(*srcs));
		bytes = cli_image_read(ctx, src, allow_private, &len, err, sizeof(err));
		if (bytes == NULL || !catalog_describe(ctx->store, model, bytes, len, src, &descs[n], &cached, err,
		    sizeof(err))) {
			import_bad(ctx, im, r->line, "%s", err);
			free(bytes);
			free(src);
			goto out;
		}
		free(bytes);
		srcs[n++] = src;
		tot->cached += cached;
	}
	p.sku = r->fields[F_SKU];
	p.title = r->fields[F_TITLE];
	p.brand = r->fields[F_BRAND];
	p.gtin = r->fields[F_GTIN];
	p.mpn = r->fields[F_MPN];
	if (catalog_put(ctx->store, &p) != STORE_OK) {
		import_bad(ctx, im, r->line, "%s", store_error(ctx->store));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		size_t blen;
		unsigned char *blob = descriptor_pack(model, &descs[i], &blen);
		enum catalog_image_result res = CATALOG_IMAGE_SAME;
		enum store_status s = blob != NULL ? catalog_add_image(ctx->store, p.sku, srcs[i], blob, blen, &res) :
		    STORE_ERROR;

		free(blob);
		if (s != STORE_OK) {
			import_bad(ctx, im, r->line, "%s", store_error(ctx->store));
			goto out;
		}
		if (res == CATALOG_IMAGE_ADDED)
			tot->images++;
		else if (res == CATALOG_IMAGE_REPLACED)
			tot->replaced++;
		else
			tot->skipped_dupes++;
	}
	tot->products++;
	ok = true;
out:
	for (size_t i = 0; i < n; i++) {
		descriptor_free(&descs[i]);
		free(srcs[i]);
	}
	free(descs);
	free(srcs);
	free(list);
	return ok;
}

static int
catalog_import(struct cli_ctx *ctx, const char *path, bool allow_private)
{
	struct import im = { .path = path };
	struct descriptor_model *model = NULL;
	struct import_totals tot = { 0 };
	struct progress pr;
	size_t len;
	char *buf;
	int rc;

	buf = cli_read_input(path, CATALOG_MAX_FILE + 1, &len);
	if (buf == NULL) {
		cli_error(ctx, "%s: %s", path, strerror(errno));
		return CLI_EXIT_ERROR;
	}
	if (len > CATALOG_MAX_FILE) {
		cli_error(ctx, "%s: larger than %zu MiB", path, CATALOG_MAX_FILE >> 20);
		free(buf);
		return CLI_EXIT_ERROR;
	}
	rc = looks_like_jsonl(path, buf, len) ? read_jsonl(ctx, &im, buf, len) : read_csv(ctx, &im, buf, len);
	free(buf);
	if (rc == CLI_EXIT_OK && (rc = cli_store_open(ctx)) == CLI_EXIT_OK &&
	    (rc = cli_descriptor_model_open(ctx, &model)) == CLI_EXIT_OK) {
		if (!fetch_global_init()) {
			cli_error(ctx, "cannot initialise libcurl");
			rc = CLI_EXIT_ERROR;
		}
	}
	if (rc == CLI_EXIT_OK) {
		progress_start(&pr, ctx->err, "import", im.nrows, -1);
		for (size_t i = 0; i < im.nrows; i++) {
			(void)import_one(ctx, &im, model, allow_private, &im.rows[i], &tot);
			progress_step(&pr, im.rows[i].fields[F_SKU]);
		}
		progress_done(&pr);
		fetch_global_cleanup();
		fprintf(ctx->out, "imported %zu row(s): %zu new image(s), %zu already there, %zu re-embedded, "
		    "%zu embedding(s) from the cache; %zu bad row(s) skipped\n", tot.products, tot.images,
		    tot.skipped_dupes, tot.replaced, tot.cached, im.bad);
		if (im.bad > 0)
			rc = CLI_EXIT_ERROR;
	}
	for (size_t i = 0; i < im.nrows; i++)
		row_free(&im.rows[i]);
	free(im.rows);
	descriptor_model_free(model);
	return rc;
}

/* ---- list, show, remove -------------------------------------------------------------------------------- */

static struct json_object *
json_product(const struct catalog_product *p)
{
	struct json_object *o = json_object_new_object();
	char price[32], added[32];

	out_money(&p->price, price, sizeof(price));
	out_time(p->added_ms, added, sizeof(added));
	json_object_object_add(o, "sku", out_json_str(p->sku));
	json_object_object_add(o, "title", out_json_str(p->title));
	json_object_object_add(o, "brand", out_json_str(p->brand));
	json_object_object_add(o, "gtin", out_json_str(p->gtin));
	json_object_object_add(o, "mpn", out_json_str(p->mpn));
	out_json_add_str(o, "price", price);
	json_object_object_add(o, "price_minor", p->price.currency[0] != '\0' ?
	    json_object_new_int64(p->price.minor) : NULL);
	out_json_add_str(o, "currency", p->price.currency);
	json_object_object_add(o, "images", json_object_new_int64(p->n_images));
	json_object_object_add(o, "added", out_json_str(added));
	return o;
}

static int
catalog_print_list(struct cli_ctx *ctx)
{
	static const char *const headers[] = { "SKU", "PRICE", "CUR", "IMAGES", "GTIN", "TITLE" };
	static const enum out_align align[] = { OUT_LEFT, OUT_RIGHT, OUT_LEFT, OUT_RIGHT, OUT_LEFT, OUT_LEFT };
	struct catalog_product *ps;
	size_t n;
	enum store_status s = catalog_list(ctx->store, &ps, &n);

	if (s != STORE_OK) {
		cli_error(ctx, "%s", store_error(ctx->store));
		return cli_exit_from_store(s);
	}
	if (ctx->format == CLI_FORMAT_JSON) {
		struct json_object *a = json_object_new_array();

		for (size_t i = 0; i < n; i++)
			json_object_array_add(a, json_product(&ps[i]));
		out_json_print(ctx->out, a);
	} else {
		struct out_table t;

		if (ctx->format == CLI_FORMAT_CSV)
			out_csv_row(ctx->out, headers, 6);
		out_table_init(&t, 6, headers, align);
		for (size_t i = 0; i < n; i++) {
			char price[32], nimg[24];
			const char *row[6] = { ps[i].sku, price, ps[i].price.currency, nimg, ps[i].gtin, ps[i].title };

			out_money(&ps[i].price, price, sizeof(price));
			pw_snprintf(nimg, sizeof(nimg), "%" PRId64, ps[i].n_images);
			if (ctx->format == CLI_FORMAT_CSV)
				out_csv_row(ctx->out, row, 6);
			else
				out_table_add(&t, row);
		}
		if (ctx->format != CLI_FORMAT_CSV && n > 0)
			out_table_print(ctx->out, &t, out_terminal_width(1));
		out_table_free(&t);
	}
	if (n == 0 && ctx->format != CLI_FORMAT_JSON)
		cli_error(ctx, "the catalogue is empty (pricewatch catalog import FILE)");
	catalog_products_free(ps, n);
	return n == 0 ? CLI_EXIT_NOT_FOUND : CLI_EXIT_OK;
}

static int
catalog_show(struct cli_ctx *ctx, const char *sku)
{
	struct catalog_product p;
	char **imgs = NULL;
	size_t nimg = 0;
	enum store_status s = catalog_get(ctx->store, sku, &p);

	if (s == STORE_OK)
		s = catalog_images(ctx->store, sku, &imgs, &nimg);
	if (s != STORE_OK) {
		cli_error(ctx, "%s", store_error(ctx->store));
		if (s != STORE_NOT_FOUND)
			catalog_product_free(&p);
		return cli_exit_from_store(s);
	}
	if (ctx->format == CLI_FORMAT_JSON) {
		struct json_object *o = json_product(&p), *a = json_object_new_array();

		for (size_t i = 0; i < nimg; i++)
			json_object_array_add(a, out_json_str(imgs[i]));
		json_object_object_add(o, "image_sources", a);
		out_json_print(ctx->out, o);
	} else {
		char price[32], added[32];

		out_money(&p.price, price, sizeof(price));
		out_time(p.added_ms, added, sizeof(added));
		fprintf(ctx->out, "sku:      %s\ntitle:    %s\nbrand:    %s\ngtin:     %s\nmpn:      %s\n"
		    "price:    %s %s\nadded:    %s\n", p.sku, p.title ? p.title : "-", p.brand ? p.brand : "-",
		    p.gtin ? p.gtin : "-", p.mpn ? p.mpn : "-", price[0] ? price : "-", p.price.currency, added);
		for (size_t i = 0; i < nimg; i++)
			fprintf(ctx->out, "image:    %s\n", imgs[i]);
	}
	for (size_t i = 0; i < nimg; i++)
		free(imgs[i]);
	free(imgs);
	catalog_product_free(&p);
	return CLI_EXIT_OK;
}

static int
cmd_catalog_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	bool allow_private = false;
	const char *sub;
	enum store_status s;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", catalog_options, NULL)) != -1) {
		switch (c) {
		case OPT_ALLOW_PRIVATE:
			allow_private = true;
			break;
		default:
			if ((rc = cli_common_option(ctx, &cmd_catalog_entry, c, argv)) >= 0)
				return rc;
			break;
		}
	}
	if (optind >= argc)
		return cli_usage_error(ctx, &cmd_catalog_entry, "missing subcommand (import, list, show or remove)");
	sub = argv[optind++];
	/* Options may also follow the subcommand ("catalog import --allow-private FILE"). */
	for (; optind < argc && strncmp(argv[optind], "--", 2) == 0; optind++) {
		if (strcmp(argv[optind], "--allow-private") == 0)
			allow_private = true;
		else if (strcmp(argv[optind], "--json") == 0 || strcmp(argv[optind], "--csv") == 0) {
			if (!cli_set_format(ctx, argv[optind][2] == 'j' ? CLI_FORMAT_JSON : CLI_FORMAT_CSV))
				return CLI_EXIT_USAGE;
		} else
			return cli_usage_error(ctx, &cmd_catalog_entry, "unknown option '%s'", argv[optind]);
	}
	if (strcmp(sub, "list") == 0) {
		if (optind != argc)
			return cli_usage_error(ctx, &cmd_catalog_entry, "list takes no arguments");
		if ((rc = cli_store_open(ctx)) != CLI_EXIT_OK)
			return rc;
		return catalog_print_list(ctx);
	}
	if (strcmp(sub, "import") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "remove") != 0)
		return cli_usage_error(ctx, &cmd_catalog_entry, "unknown subcommand '%s'", sub);
	if (optind + 1 != argc)
		return cli_usage_error(ctx, &cmd_catalog_entry, "%s takes one argument", sub);
	if (strcmp(sub, "import") == 0) {
		if (ctx->format == CLI_FORMAT_CSV)
			return cli_usage_error(ctx, &cmd_catalog_entry, "import takes no --csv");
		if ((rc = cli_resolve(ctx)) != CLI_EXIT_OK)
			return rc;
		return catalog_import(ctx, argv[optind], allow_private);
	}
	if ((rc = cli_store_open(ctx)) != CLI_EXIT_OK)
		return rc;
	if (strcmp(sub, "show") == 0)
		return catalog_show(ctx, argv[optind]);
	s = catalog_remove(ctx->store, argv[optind]);
	if (s != STORE_OK) {
		cli_error(ctx, "%s", store_error(ctx->store));
		return cli_exit_from_store(s);
	}
	fprintf(ctx->out, "removed %s\n", argv[optind]);
	return CLI_EXIT_OK;
}
