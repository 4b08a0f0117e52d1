/* test-descriptor.c: the image descriptor on real photographs with the bundled model — normalisation, signals, batch, cache format. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "match/descriptor.h"
#include "unit/test-image-util.h"

/* Real photographs (tests/unit/images/README: CC0 / public domain, from python3-skimage's data). */
static const char *const photos[] = { "chelsea", "coffee", "astronaut", "rocket" };
#define NPHOTOS (sizeof(photos) / sizeof(photos[0]))

static struct descriptor_model *model;

/* A file of the source tree ($PW_TOP_SRCDIR, set by make check). */
static void
src_path(char *buf, size_t len, const char *rel)
{
	const char *top = getenv("PW_TOP_SRCDIR");

	cr_assert_lt(snprintf(buf, len, "%s/%s", top != NULL ? top : "..", rel), (int)len);
}

#define NSFWJS "data/models/mobilenetv2-nsfwjs.onnx"

/* The committed nsfwjs model, named explicitly: the default prefers centernet-mnv3.onnx when it was made. */
static void
open_model(void)
{
	char path[1024], err[512] = "";
	struct descriptor_model_opts o = { .threads = 1, .model_path = path };

	src_path(path, sizeof(path), NSFWJS);
	cr_assert(descriptor_model_open(&model, &o, err, sizeof(err)), "%s", err);
}

static void
close_model(void)
{
	descriptor_model_free(model);
	model = NULL;
}

static struct enc
read_photo(const char *name)
{
	char rel[256], path[1024];
	struct enc e = { 0 };
	FILE *f;
	long n;

	cr_assert_lt(snprintf(rel, sizeof(rel), "tests/unit/images/%s.jpg", name), (int)sizeof(rel));
	src_path(path, sizeof(path), rel);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	cr_assert_gt(n, 0);
	rewind(f);
	e.data = malloc((size_t)n);
	cr_assert_not_null(e.data);
	e.len = fread(e.data, 1, (size_t)n, f);
	cr_assert_eq(e.len, (size_t)n);
	fclose(f);
	return e;
}

static void
compute_ok(const struct enc *e, const char *label, struct descriptor *d)
{
	char err[256] = "";

	cr_assert(descriptor_compute(model, e->data, e->len, label, d, err, sizeof(err)), "%s: %s", label, err);
	cr_assert_not_null(d->embedding);
	cr_assert_eq(d->dim, descriptor_model_dim(model));
}

static float
cosine(const struct descriptor *a, const struct descriptor *b)
{
	double s = 0;

	for (size_t i = 0; i < a->dim; i++)
		s += (double)a->embedding[i] * b->embedding[i];
	return (float)s;
}

/* The photo decoded, so the test can make marketplace-style variants of it. */
static image_rgb
decode_photo(const char *name)
{
	struct enc e = read_photo(name);
	image_rgb img;
	image_error ie;

	cr_assert_eq(image_decode(e.data, e.len, NULL, name, &img, &ie), IMAGE_OK, "%s", ie.msg);
	free(e.data);
	return img;
}

TestSuite(descriptor, .init = open_model, .fini = close_model);

Test(descriptor, model_id_and_dim)
{
	const char *id = descriptor_model_id(model);

	cr_assert_eq(descriptor_model_dim(model), 96, "block10 is 96 channels");
	cr_assert_eq(strncmp(id, "mobilenetv2-nsfwjs@", 19), 0, "%s", id);
	cr_assert_eq(strspn(id + 19, "0123456789abcdef"), 12, "%s", id);
	cr_assert_eq(strncmp(id + 31, "/block10/", 9), 0, "%s", id);
}

Test(descriptor, signals_are_normalised)
{
	for (size_t i = 0; i < NPHOTOS; i++) {
		struct enc e = read_photo(photos[i]);
		struct descriptor d;
		double n = 0, hs = 0;
		uint8_t sha[32];

		compute_ok(&e, photos[i], &d);
		for (size_t k = 0; k < d.dim; k++) {
			cr_assert(isfinite(d.embedding[k]));
			n += (double)d.embedding[k] * d.embedding[k];
		}
		cr_assert_float_eq(n, 1.0, 1e-4, "%s: |e|^2 = %f", photos[i], n);
		for (size_t k = 0; k < IMAGE_HIST_BINS; k++)
			hs += d.hist[k];
		cr_assert_float_eq(hs, 1.0, 1e-4, "%s", photos[i]);
		SHA256(e.data, e.len, sha);
		cr_assert_eq(memcmp(sha, d.sha256, 32), 0, "%s: sha256 of the encoded bytes", photos[i]);
		cr_assert_neq(d.phash, 0);
		descriptor_free(&d);
		free(e.data);
	}
}

/* Every photo is nearest to itself re-encoded smaller, not to another photo. */
Test(descriptor, distinct_photos_are_told_apart)
{
	struct descriptor d[NPHOTOS], t[NPHOTOS];

	for (size_t i = 0; i < NPHOTOS; i++) {
		struct enc e = read_photo(photos[i]), te;
		image_rgb img = decode_photo(photos[i]), small;
		image_error ie;

		compute_ok(&e, photos[i], &d[i]);
		cr_assert_eq(image_resize_area(&img, img.width * 2 / 3, img.height * 2 / 3, &small, &ie), IMAGE_OK);
		te = enc_jpeg(small.px, small.width, small.height, 3, 60, false, NULL, 0);
		compute_ok(&te, "smaller", &t[i]);
		free(te.data);
		free(e.data);
		image_rgb_free(&img);
		image_rgb_free(&small);
	}
	for (size_t i = 0; i < NPHOTOS; i++) {
		float self = cosine(&t[i], &d[i]);
		float selfh = image_hist_intersection(t[i].hist, d[i].hist);
		cr_assert_gt(self, 0.95f, "%s: cosine to its smaller copy %f", photos[i], self);
		cr_assert_leq(image_hamming(t[i].phash, d[i].phash), 6, "%s", photos[i]);
		for (size_t j = 0; j < NPHOTOS; j++) {
			if (j == i)
				continue;
			cr_assert_lt(cosine(&t[i], &d[j]), self, "%s vs %s", photos[i], photos[j]);
			cr_assert_lt(image_hist_intersection(t[i].hist, d[j].hist), selfh, "%s vs %s", photos[i], photos[j]);
			cr_assert_gt(image_hamming(t[i].phash, d[j].phash), 16, "%s vs %s", photos[i], photos[j]);
		}
	}
	for (size_t i = 0; i < NPHOTOS; i++) {
		descriptor_free(&d[i]);
		descriptor_free(&t[i]);
	}
}

/* The same cat stored rotated with EXIF orientation 6 gives the upright cat's signals. */
Test(descriptor, exif_orientation_is_applied)
{
	struct enc a = read_photo("chelsea"), b = read_photo("chelsea-exif6");
	struct descriptor da, db;

	compute_ok(&a, "chelsea", &da);
	compute_ok(&b, "chelsea-exif6", &db);
	cr_assert_eq(db.width, da.width, "width after orientation");
	cr_assert_eq(db.height, da.height);
	cr_assert_gt(cosine(&da, &db), 0.98f, "%f", cosine(&da, &db));
	cr_assert_leq(image_hamming(da.phash, db.phash), 4);
	descriptor_free(&da);
	descriptor_free(&db);
	free(a.data);
	free(b.data);
}

/* Marketplace white padding is trimmed: the padded copy meets the original. */
Test(descriptor, white_padding_is_trimmed)
{
	static const uint8_t white[3] = { 255, 255, 255 };
	image_rgb img = decode_photo("coffee"), padded, tall;
	struct enc e = read_photo("coffee"), pe;
	struct descriptor d, p;
	image_error ie;

	/* coffee is 3:2; pad to a square, then to 2:3 portrait: white bands above and below, then all round. */
	cr_assert_eq(image_pad(&img, 1, 1, white, &padded, &ie), IMAGE_OK);
	cr_assert_eq(image_pad(&padded, 4, 5, white, &tall, &ie), IMAGE_OK);
	pe = enc_jpeg(tall.px, tall.width, tall.height, 3, 85, false, NULL, 0);
	compute_ok(&e, "coffee", &d);
	compute_ok(&pe, "coffee-padded", &p);
	cr_assert_eq(p.width, tall.width, "width is as decoded, before the trim");
	cr_assert_gt(cosine(&d, &p), 0.97f, "%f", cosine(&d, &p));
	cr_assert_gt(image_hist_intersection(d.hist, p.hist), 0.85f);
	cr_assert_leq(image_hamming(d.phash, p.phash), 6);
	descriptor_free(&d);
	descriptor_free(&p);
	image_rgb_free(&img);
	image_rgb_free(&padded);
	image_rgb_free(&tall);
	free(e.data);
	free(pe.data);
}

/* A 120-px thumbnail reaches the model through the same working size as the full photo. */
Test(descriptor, thumbnail_meets_full_size)
{
	image_rgb img = decode_photo("astronaut"), small;
	struct enc e = read_photo("astronaut"), te;
	struct descriptor d, t;
	image_error ie;

	cr_assert_eq(image_resize_area(&img, 120, 120, &small, &ie), IMAGE_OK);
	te = enc_jpeg(small.px, small.width, small.height, 3, 50, false, NULL, 0);
	compute_ok(&e, "astronaut", &d);
	compute_ok(&te, "astronaut-120", &t);
	cr_assert_eq(t.width, 120);
	cr_assert_gt(cosine(&d, &t), 0.9f, "%f", cosine(&d, &t));
	cr_assert_gt(image_hist_intersection(d.hist, t.hist), 0.8f);
	cr_assert_leq(image_hamming(d.phash, t.phash), 8);
	descriptor_free(&d);
	descriptor_free(&t);
	image_rgb_free(&img);
	image_rgb_free(&small);
	free(e.data);
	free(te.data);
}

/* Bad input: a clear error naming the image, never a crash; nothing is left allocated. */
Test(descriptor, hostile_input_is_rejected)
{
	struct enc e = read_photo("rocket");
	struct descriptor d;
	char err[256];
	static const unsigned char gif[] = "GIF89a\x01\x00\x01\x00\x00\x00\x00;";

	cr_assert_not(descriptor_compute(model, e.data, e.len / 2, "https://shop.example/r.jpg", &d, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "https://shop.example/r.jpg"), "%s", err);
	cr_assert_null(d.embedding);
	cr_assert_not(descriptor_compute(model, gif, sizeof(gif) - 1, "x.gif", &d, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "x.gif"), "%s", err);
	cr_assert_not(descriptor_compute(model, e.data, 0, "empty", &d, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "empty"), "%s", err);
	free(e.data);
}

Test(descriptor, decode_limits_apply)
{
	struct descriptor_model *small_limits;
	struct descriptor_model_opts o = { .threads = 1, .limits = { .max_pixels = 10000 } };
	char path[1024];

	src_path(path, sizeof(path), NSFWJS);
	o.model_path = path;
	struct enc e = read_photo("coffee");
	struct descriptor d;
	char err[512] = "";

	cr_assert(descriptor_model_open(&small_limits, &o, err, sizeof(err)), "%s", err);
	cr_assert_not(descriptor_compute(small_limits, e.data, e.len, "coffee", &d, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "coffee"), "%s", err);
	descriptor_model_free(small_limits);
	free(e.data);
}

/* One batched inference gives the same embeddings as one image at a time; a bad image fails alone. */
Test(descriptor, batch_matches_single)
{
	struct enc e[NPHOTOS + 1];
	const unsigned char *bytes[NPHOTOS + 1];
	size_t lens[NPHOTOS + 1];
	const char *labels[NPHOTOS + 1];
	struct descriptor out[NPHOTOS + 1], one;
	bool ok[NPHOTOS + 1];
	char errs[NPHOTOS + 1][256];
	static const unsigned char junk[] = "\xff\xd8\xff\xe0 not really a jpeg";

	for (size_t i = 0, k = 0; i < NPHOTOS + 1; i++) {
		if (i == 2) {
			bytes[i] = junk;
			lens[i] = sizeof(junk) - 1;
			labels[i] = "junk.jpg";
			e[i].data = NULL;
			continue;
		}
		e[i] = read_photo(photos[k]);
		bytes[i] = e[i].data;
		lens[i] = e[i].len;
		labels[i] = photos[k++];
	}
	cr_assert_eq(descriptor_compute_batch(model, NPHOTOS + 1, bytes, lens, labels, out, ok, errs), NPHOTOS);
	cr_assert_not(ok[2]);
	cr_assert_not_null(strstr(errs[2], "junk.jpg"), "%s", errs[2]);
	cr_assert_null(out[2].embedding);
	for (size_t i = 0; i < NPHOTOS + 1; i++) {
		if (i == 2)
			continue;
		cr_assert(ok[i], "%s: %s", labels[i], errs[i]);
		compute_ok(&e[i], labels[i], &one);
		cr_assert_gt(cosine(&one, &out[i]), 0.99999f, "%s", labels[i]);
		cr_assert_eq(one.phash, out[i].phash);
		cr_assert_eq(memcmp(one.hist, out[i].hist, sizeof(one.hist)), 0);
		descriptor_free(&one);
		descriptor_free(&out[i]);
		free(e[i].data);
	}
}

/* The pw:emb blob round-trips exactly and refuses anything damaged or made by another model id. */
Test(descriptor, pack_unpack)
{
	struct enc e = read_photo("chelsea");
	struct descriptor d, back;
	struct descriptor_model *other;
	char path[1024];
	struct descriptor_model_opts o = { .threads = 1, .output_name = "features", .model_path = path };
	unsigned char *blob;
	size_t len;
	char err[512] = "";

	compute_ok(&e, "chelsea", &d);
	blob = descriptor_pack(model, &d, &len);
	cr_assert_not_null(blob);
	cr_assert(descriptor_unpack(model, blob, len, &back));
	cr_assert_eq(back.dim, d.dim);
	cr_assert_eq(memcmp(back.embedding, d.embedding, d.dim * sizeof(float)), 0);
	cr_assert_eq(memcmp(back.hist, d.hist, sizeof(d.hist)), 0);
	cr_assert_eq(back.phash, d.phash);
	cr_assert_eq(back.width, d.width);
	cr_assert_eq(back.height, d.height);
	cr_assert_eq(memcmp(back.sha256, d.sha256, 32), 0);
	descriptor_free(&back);

	/* Every truncation, one byte too many, and damage in each part. */
	for (size_t n = 0; n < len; n += (n < 64 ? 1 : 97))
		cr_assert_not(descriptor_unpack(model, blob, n, &back), "truncated to %zu", n);
	{
		unsigned char *longer = malloc(len + 1);
		cr_assert_not_null(longer);
		memcpy(longer, blob, len);
		longer[len] = 0;
		cr_assert_not(descriptor_unpack(model, longer, len + 1, &back));
		free(longer);
	}
	blob[0] ^= 1;
	cr_assert_not(descriptor_unpack(model, blob, len, &back), "magic");
	blob[0] ^= 1;
	blob[10] ^= 1;
	cr_assert_not(descriptor_unpack(model, blob, len, &back), "model id");
	blob[10] ^= 1;
	blob[len - 4 * IMAGE_HIST_BINS - 4 * d.dim + 3] ^= 0x40; /* first embedding float: no longer unit length */
	cr_assert_not(descriptor_unpack(model, blob, len, &back), "embedding");
	blob[len - 4 * IMAGE_HIST_BINS - 4 * d.dim + 3] ^= 0x40;
	blob[len - 1] = 0x7f; /* last histogram bin: NaN-ish / out of range */
	cr_assert_not(descriptor_unpack(model, blob, len, &back), "histogram");
	/* Random bytes after a valid header: refused (the length or a value check), never read out of bounds. */
	{
		uint64_t seed = 12345;
		size_t head = 5 + strlen(descriptor_model_id(model));
		for (int round = 0; round < 200; round++) {
			size_t n = head + rng_next(&seed) % (len + 64 - head);
			unsigned char *junk = malloc(n);
			cr_assert_not_null(junk);
			memcpy(junk, blob, head);
			for (size_t i = head; i < n; i++)
				junk[i] = (uint8_t)rng_next(&seed);
			cr_assert_not(descriptor_unpack(model, junk, n, &back), "round %d", round);
			cr_assert_null(back.embedding);
			free(junk);
		}
	}
	free(blob);

	/* Another output of the same file is another model id: its blobs are not reused. */
	src_path(path, sizeof(path), NSFWJS);
	cr_assert(descriptor_model_open(&other, &o, err, sizeof(err)), "%s", err);
	cr_assert_eq(descriptor_model_dim(other), 1280);
	cr_assert_str_neq(descriptor_model_id(other), descriptor_model_id(model));
	blob = descriptor_pack(model, &d, &len);
	cr_assert_not(descriptor_unpack(other, blob, len, &back));
	free(blob);
	descriptor_model_free(other);
	descriptor_free(&d);
	free(e.data);
}

/* ---- the sidecar: a model's preprocessing and whitening from <model>.json -------------------------------- */

static char tmpdir[256];

static void
write_file(const char *name, const void *data, size_t len)
{
	char path[512];
	FILE *f;

	cr_assert_lt(snprintf(path, sizeof(path), "%s/%s", tmpdir, name), (int)sizeof(path));
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

/* A copy of the bundled model under another name in a temporary directory; returns its path. */
static void
setup_copy(char *model_path, size_t len)
{
	char src[1024];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pw-desc-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	src_path(src, sizeof(src), NSFWJS);
	cr_assert_lt(snprintf(model_path, len, "%s/mine.onnx", tmpdir), (int)len);
	cr_assert_eq(symlink(src, model_path), 0, "%s", strerror(errno));
}

static void
cleanup_copy(void)
{
	static const char *const names[] = { "mine.onnx", "mine.json", "mine.white" };
	char path[512];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
		unlink(path);
	}
	rmdir(tmpdir);
}

Test(descriptor, sidecar_whitening)
{
	char path[512], err[512] = "";
	struct descriptor_model *w;
	struct descriptor_model_opts o = { .threads = 1 };
	struct enc e = read_photo("rocket");
	struct descriptor d, dw;
	struct descriptor_model *plain;
#define SIDECAR_PREP "{ \"output\": \"block10\", \"mean\": [0, 0, 0], \"std\": [1, 1, 1]," \
	" \"scale\": 0.00392156862745098, \"input\": [224, 224], \"layout\": \"nchw\"," \
	" \"align_corners\": true, \"fit\": \"pad\", \"work_size\": 128"
	static const char json0[] = SIDECAR_PREP " }";
	static const char json[] = SIDECAR_PREP ", \"whitening\": { \"file\": \"mine.white\", \"in\": 96, \"out\": 4 } }";
	float white[96 + 4 * 96] = { 0 };

	/* Mean 0; projection: the first four channels, scaled 1, 2, 3, 4. */
	for (int j = 0; j < 4; j++)
		white[96 + j * 96 + j] = (float)(j + 1);
	setup_copy(path, sizeof(path));
	o.model_path = path;
	write_file("mine.json", json0, sizeof(json0) - 1);
	cr_assert(descriptor_model_open(&plain, &o, err, sizeof(err)), "%s", err);
	cr_assert_eq(descriptor_model_dim(plain), 96);
	cr_assert(descriptor_compute(plain, e.data, e.len, "rocket", &d, err, sizeof(err)), "%s", err);
	write_file("mine.json", json, sizeof(json) - 1);
	write_file("mine.white", white, sizeof(white));
	cr_assert(descriptor_model_open(&w, &o, err, sizeof(err)), "%s", err);
	cr_assert_eq(descriptor_model_dim(w), 4);
	cr_assert_eq(strncmp(descriptor_model_id(w), "mine@", 5), 0, "%s", descriptor_model_id(w));
	cr_assert_not_null(strstr(descriptor_model_id(w), "/block10/w"), "%s", descriptor_model_id(w));
	cr_assert_str_neq(descriptor_model_id(w), descriptor_model_id(plain));
	cr_assert(descriptor_compute(w, e.data, e.len, "rocket", &dw, err, sizeof(err)), "%s", err);
	{
		/* dw = normalise(diag(1,2,3,4) * d[0..3]) since both came from the same raw block10 vector. */
		double n = 0;
		for (int j = 0; j < 4; j++)
			n += (double)(j + 1) * (j + 1) * d.embedding[j] * d.embedding[j];
		n = sqrt(n);
		for (int j = 0; j < 4; j++)
			cr_assert_float_eq(dw.embedding[j], (j + 1) * d.embedding[j] / n, 1e-4, "component %d", j);
	}
	descriptor_free(&d);
	descriptor_free(&dw);
	descriptor_model_free(w);
	descriptor_model_free(plain);

	/* A whitening file of the wrong size, and an unknown key, are errors naming the file. */
	write_file("mine.white", white, sizeof(white) - 4);
	cr_assert_not(descriptor_model_open(&w, &o, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "mine.white"), "%s", err);
	write_file("mine.json", "{ \"mena\": [0, 0, 0] }", 21);
	cr_assert_not(descriptor_model_open(&w, &o, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "mine.json"), "%s", err);
	cr_assert_not_null(strstr(err, "mena"), "%s", err);
	write_file("mine.json", "{ \"output\": \"nope\" }", 20);
	cr_assert_not(descriptor_model_open(&w, &o, err, sizeof(err)));
	cr_assert_not_null(strstr(err, "nope"), "%s", err);
	cleanup_copy();
	free(e.data);
}

/* ---- the CenterNet MobileNetV3 backbone: not committed, made by tools/fetch-centernet.sh (docs/model.md) ---- */

static bool
centernet_path(char *buf, size_t len)
{
	src_path(buf, len, "data/models/centernet-mnv3.onnx");
	return access(buf, R_OK) == 0;
}

/* Our engine against ONNX Runtime's output (data/models/centernet-mnv3.conv11.npy) on a fixed pattern:
 * TF SAME padding (asymmetric at stride 2), depthwise 5x5, hard-swish and squeeze-excite all take part. */
Test(centernet, engine_matches_onnx_runtime)
{
	char path[1024], npy[1024];
	infer_tensor in = { .dtype = INFER_DTYPE_FLOAT, .ndim = 4, .dims = { 1, 3, 320, 320 } }, out = { 0 };
	infer_error ie;
	infer_model *m;
	infer_session *s;
	infer_session_opts so = { .threads = 1 };
	float want[88], *x, *got;
	char hdr[129];
	double dot = 0, gg = 0, ww = 0, maxd = 0, maxw = 0;
	FILE *f;

	if (!centernet_path(path, sizeof(path)))
		cr_skip_test("%s not there (tools/fetch-centernet.sh makes it)", path);
	snprintf(npy, sizeof(npy), "%.1000s", path);
	memcpy(npy + strlen(npy) - 5, ".conv11.npy", 12);
	f = fopen(npy, "rb");
	cr_assert_not_null(f, "%s", npy);
	cr_assert_eq(fread(hdr, 1, 128, f), 128);   /* numpy 1.0 header padded to 128 bytes */
	cr_assert_eq(memcmp(hdr, "\x93NUMPY\x01\x00", 8), 0);
	hdr[128] = '\0';
	cr_assert_not_null(strstr(hdr + 10, "(1, 88)"));
	cr_assert_eq(fread(want, sizeof(float), 88, f), 88);
	fclose(f);
	x = malloc(3 * 320 * 320 * sizeof(float));
	cr_assert_not_null(x);
	for (int c = 0; c < 3; c++)
		for (int y = 0; y < 320; y++)
			for (int xx = 0; xx < 320; xx++)
				x[(c * 320 + y) * 320 + xx] = (float)((xx * 7 + y * 13 + c * 101) % 256);
	in.data = x;
	m = infer_model_load(path, &ie);
	cr_assert_not_null(m, "%s", ie.msg);
	s = infer_session_create(m, &so, &ie);
	cr_assert_not_null(s, "%s", ie.msg);
	cr_assert_eq(infer_run(s, &in, 1, &out, 1, &ie), 0, "%s", ie.msg);
	cr_assert_eq(out.dims[1], 88);
	got = out.data;
	for (int i = 0; i < 88; i++) {
		dot += (double)got[i] * want[i];
		gg += (double)got[i] * got[i];
		ww += (double)want[i] * want[i];
		maxd = fmax(maxd, fabs((double)got[i] - want[i]));
		maxw = fmax(maxw, fabs((double)want[i]));
	}
	cr_assert_gt(dot / sqrt(gg * ww), 0.9999, "cosine %f", dot / sqrt(gg * ww));
	cr_assert_leq(maxd, 1e-3 * maxw, "max diff %g (max %g)", maxd, maxw);
	infer_tensor_release(&out);
	infer_session_free(s);
	infer_model_free(m);
	free(x);
}

Test(centernet, descriptor_tells_photos_apart)
{
	char path[1024], err[512] = "";
	struct descriptor_model *cn;
	struct descriptor_model_opts o = { .threads = 1 };
	struct descriptor d[NPHOTOS];

	if (!centernet_path(path, sizeof(path)))
		cr_skip_test("%s not there (tools/fetch-centernet.sh makes it)", path);
	o.model_path = path;
	cr_assert(descriptor_model_open(&cn, &o, err, sizeof(err)), "%s", err);
	cr_assert_eq(strncmp(descriptor_model_id(cn), "centernet-mnv3@fb3abaa7ab9c/conv11/w", 36), 0,
	    "the verified file, its conv11 output, whitened by the committed sidecar: %s", descriptor_model_id(cn));
	cr_assert_eq(descriptor_model_dim(cn), 88);
	for (size_t i = 0; i < NPHOTOS; i++) {
		struct enc e = read_photo(photos[i]);
		cr_assert(descriptor_compute(cn, e.data, e.len, photos[i], &d[i], err, sizeof(err)), "%s", err);
		free(e.data);
	}
	for (size_t i = 0; i < NPHOTOS; i++)
		for (size_t j = i + 1; j < NPHOTOS; j++)
			cr_assert_lt(cosine(&d[i], &d[j]), 0.9f, "%s vs %s", photos[i], photos[j]);
	for (size_t i = 0; i < NPHOTOS; i++)
		descriptor_free(&d[i]);
	descriptor_model_free(cn);
}

/* No model named: CenterNet when tools/fetch-centernet.sh made it, else the committed nsfwjs model. */
Test(centernet, default_model_prefers_centernet)
{
	char path[1024], err[512] = "";
	struct descriptor_model *m;
	struct descriptor_model_opts o = { .threads = 1 };
	bool have = centernet_path(path, sizeof(path));

	cr_assert(descriptor_model_open(&m, &o, err, sizeof(err)), "%s", err);
	cr_assert_eq(strncmp(descriptor_model_id(m), have ? "centernet-mnv3@" : "mobilenetv2-nsfwjs@", have ? 15 : 19), 0,
	    "%s", descriptor_model_id(m));
	descriptor_model_free(m);
}

/* ---- the inference backend: [inference] backend, plugin-dir and the state directory reach the session ---- */

/* The build's src/infer ($PW_TOP_BUILDDIR, set by make check), where the reference plugin is built. */
static void
build_plugin_dir(char *buf, size_t len)
{
	const char *top = getenv("PW_TOP_BUILDDIR");
	char so[1100];

	cr_assert_lt(snprintf(buf, len, "%s/src/infer", top != NULL ? top : "."), (int)len);
	cr_assert_lt(snprintf(so, sizeof(so), "%s/pw-backend-reference.so", buf), (int)sizeof(so));
	cr_assert_eq(access(so, R_OK), 0, "%s: %s (make src/infer/pw-backend-reference.so)", so, strerror(errno));
}

Test(descriptor, backend_choice_reaches_the_session)
{
	char path[1024], dir[1024], cache[] = "/tmp/pw-desc-cache-XXXXXX", choice[1100], err[512] = "";
	struct descriptor_model_opts o = { .threads = 1, .model_path = path, .backend = "reference", .plugin_dir = dir };
	struct descriptor_model *ref;
	struct enc e = read_photo("coffee");
	struct descriptor a, b;

	src_path(path, sizeof(path), NSFWJS);
	build_plugin_dir(dir, sizeof(dir));
	cr_assert_not_null(mkdtemp(cache));
	/* A named plugin from the configured directory runs the model, with the CPU's signals. */
	cr_assert(descriptor_model_open(&ref, &o, err, sizeof(err)), "%s", err);
	cr_assert_str_eq(descriptor_model_backend(ref), "reference");
	if (getenv("PW_BACKEND_DIR") == NULL)
		cr_assert_str_eq(descriptor_model_backend(model), "cpu", "no plugin found: the CPU");
	compute_ok(&e, "coffee", &a);
	cr_assert(descriptor_compute(ref, e.data, e.len, "coffee", &b, err, sizeof(err)), "%s", err);
	cr_assert_str_eq(descriptor_model_id(ref), descriptor_model_id(model), "the backend is not part of the id");
	cr_assert_gt(cosine(&a, &b), 0.9999f);
	cr_assert_eq(a.phash, b.phash);
	descriptor_free(&a);
	descriptor_free(&b);
	descriptor_model_free(ref);

	/* "auto" (the default) measures the plugins found and caches the choice in the state directory. */
	o.backend = NULL;
	o.cache_dir = cache;
	cr_assert(descriptor_model_open(&ref, &o, err, sizeof(err)), "%s", err);
	cr_assert_lt(snprintf(choice, sizeof(choice), "%s/backend-choice", cache), (int)sizeof(choice));
	cr_assert_eq(access(choice, R_OK), 0, "%s: %s", choice, strerror(errno));
	descriptor_model_free(ref);
	unlink(choice);
	rmdir(cache);
	free(e.data);
}
