/* descriptor.c: one image in, every matching signal out — normalisation, learned embedding (with whitening), colour histogram, pHash, and the pw:emb cache format. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "match/descriptor.h"

/*
 * How an image becomes the model input (docs/matching.md, "Image normalisation"):
 *
 *   decode (EXIF orientation applied by the decoder)
 *   -> trim uniform borders (tolerance DESC_TRIM_TOL: marketplace white padding, JPEG noise)
 *   -> working image: the longer side brought to work_size (area filter down, bilinear up), aspect kept
 *   -> histogram + pHash of the working image
 *   -> "fit" to the model's aspect (pad with white, stretch, or centre-crop), then the model's own
 *      resize/mean/std (image_to_tensor) -> model -> pooled output -> centring + whitening -> L2.
 *
 * Thumbnails and full-size copies thus reach the model through the same working size, so they meet.
 */

#define DESC_TRIM_TOL 20
#define DESC_MAX_WORK 1024u
#define DESC_MAX_DIM 4096u
#define DESC_SIDECAR_MAX ((size_t)64 << 10)

enum desc_fit {
	DESC_FIT_PAD = 0,   /* pad the shorter side with white to the model's aspect (keeps the shape) */
	DESC_FIT_STRETCH,   /* resize straight to the model input (what nsfwjs was trained with) */
	DESC_FIT_CROP,      /* largest centred crop of the model's aspect */
};

/* A model's preprocessing contract: built-in for the bundled models, overridden by a sidecar JSON. */
struct desc_preset {
	const char *name;        /* file base name it applies to */
	const char *output;      /* default embedding output */
	image_tensor_opts topts; /* model input size, layout, scale, mean, std, align_corners */
	uint32_t work_size;      /* longer side of the working image */
	enum desc_fit fit;
};

static const struct desc_preset desc_presets[] = {
	{ .name = "mobilenetv2-nsfwjs", .output = "block10", .topts = IMAGE_TENSOR_OPTS_NSFWJS, .work_size = 96,
	    .fit = DESC_FIT_PAD },
	/* Chosen by bench/eval-match (bench/RESULTS.md, "Product recognition"): input 224, working size 128. */
	{ .name = "centernet-mnv3", .output = "conv11",
	    .topts = { .width = 224, .height = 224, .layout = IMAGE_LAYOUT_NCHW, .align_corners = false,
	        .scale = 1.0f, .mean = { 0, 0, 0 }, .std = { 1, 1, 1 } },
	    .work_size = 128, .fit = DESC_FIT_PAD },
};

/* A model without a preset or sidecar: the common PyTorch/torchvision ImageNet contract. */
static const struct desc_preset desc_generic = {
	.name = NULL, .output = NULL,
	.topts = { .width = 224, .height = 224, .layout = IMAGE_LAYOUT_NCHW, .align_corners = false,
	    .scale = 1.0f / 255.0f, .mean = { 0.485f, 0.456f, 0.406f }, .std = { 0.229f, 0.224f, 0.225f } },
	.work_size = 224, .fit = DESC_FIT_PAD,
};

struct descriptor_model {
	infer_model *model;
	infer_session *session;
	pthread_mutex_t lock;      /* one inference at a time on the session (its arena is shared) */
	size_t n_outputs, out_index;
	bool batchable;            /* the input's batch dimension is symbolic */
	image_tensor_opts topts;
	uint32_t work_size;
	enum desc_fit fit;
	image_limits limits;
	size_t raw_dim;            /* channels of the model output */
	size_t dim;                /* after whitening */
	float *w_mean;             /* [raw_dim] or NULL: no whitening */
	float *w_proj;             /* [dim][raw_dim] row-major */
	char id[160];
};

/* ---- small helpers ------------------------------------------------------------------------------------ */

/* vsnprintf into a fixed buffer (messages and ids: truncation is acceptable there). */
static void
bfmt(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
bfmt(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void
hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Reads a whole file (at most max bytes) into a new buffer the caller frees; NULL with errno on failure
 * (EFBIG when it is larger than max). */
static unsigned char *
slurp(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (n == cap) {
			size_t ncap = cap == 0 ? 65536 : cap * 2;
			unsigned char *nb;
			if (cap >= max + 1) {
				free(buf);
				fclose(f);
				errno = EFBIG;
				return NULL;
			}
			if (ncap > max + 1)
				ncap = max + 1;
			nb = realloc(buf, ncap);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
			cap = ncap;
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f) || n > max) {
		int e = ferror(f) ? EIO : EFBIG;
		free(buf);
		fclose(f);
		errno = e;
		return NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

static bool
readable(const char *path)
{
	FILE *f = fopen(path, "rb");

	if (f == NULL)
		return false;
	fclose(f);
	return true;
}

/*
 * The default model: the first of desc_default_models found, each looked for in $PW_TOP_SRCDIR/data/models/
 * (a source tree named by the tests) and then PKGDATADIR/models/. centernet-mnv3.onnx is made at setup time
 * (tools/fetch-centernet.sh, docs/model.md); the committed nsfwjs model is the fallback.
 */
static const char *const desc_default_models[] = { "centernet-mnv3.onnx", "mobilenetv2-nsfwjs.onnx" };

static bool
default_model_path(char *buf, size_t len)
{
	const char *top = getenv("PW_TOP_SRCDIR");
	size_t nmodels = sizeof(desc_default_models) / sizeof(desc_default_models[0]);
	int n;

	for (size_t i = 0; i < nmodels; i++) {
		if (top != NULL && top[0] != '\0') {
			n = snprintf(buf, len, "%s/data/models/%s", top, desc_default_models[i]);
			if (n > 0 && (size_t)n < len && readable(buf))
				return true;
		}
		n = snprintf(buf, len, "%s/models/%s", PKGDATADIR, desc_default_models[i]);
		if (n > 0 && (size_t)n < len && readable(buf))
			return true;
	}
	/* None there: name the fallback, so the error says which file is missing. */
	n = snprintf(buf, len, "%s/models/%s", PKGDATADIR, desc_default_models[nmodels - 1]);
	return n > 0 && (size_t)n < len;
}

/* ---- sidecar: <model>.json next to the ONNX file ------------------------------------------------------- */

static bool
json_float(json_object *o, float *out)
{
	double v;

	if (!json_object_is_type(o, json_type_double) && !json_object_is_type(o, json_type_int))
		return false;
	v = json_object_get_double(o);
	if (!isfinite(v) || fabs(v) > 1e6)
		return false;
	*out = (float)v;
	return true;
}

static bool
json_uint(json_object *o, uint32_t lo, uint32_t hi, uint32_t *out)
{
	int64_t v;

	if (!json_object_is_type(o, json_type_int))
		return false;
	v = json_object_get_int64(o);
	if (v < lo || v > hi)
		return false;
	*out = (uint32_t)v;
	return true;
}

static bool
json_float3(json_object *o, float out[3])
{
	if (!json_object_is_type(o, json_type_array) || json_object_array_length(o) != 3)
		return false;
	for (size_t i = 0; i < 3; i++)
		if (!json_float(json_object_array_get_idx(o, i), &out[i]))
			return false;
	return true;
}

/* What a sidecar says, kept for descriptor_model_open(). */
struct desc_sidecar {
	char output[128];
	char whitening[512];    /* file name, relative to the sidecar's directory */
	uint32_t whiten_in, whiten_out;
};

/*
 * Applies the sidecar's keys over *p. Keys: "output", "input": [width, height], "layout": "nchw"|"nhwc",
 * "scale", "mean": [r,g,b], "std": [r,g,b], "align_corners", "work_size", "fit": "pad"|"stretch"|"crop",
 * "whitening": {"file": NAME, "in": N, "out": M}. Unknown keys are errors (a typo must not be ignored).
 */
static bool
sidecar_apply(const char *path, const char *text, struct desc_preset *p, struct desc_sidecar *sc, char *err,
    size_t errlen)
{
	json_tokener *tok = json_tokener_new();
	json_object *root;
	bool ok = true;

	if (tok == NULL) {
		bfmt(err, errlen, "%s: out of memory", path);
		return false;
	}
	root = json_tokener_parse_ex(tok, text, (int)strlen(text));
	if (root == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(root, json_type_object)) {
		bfmt(err, errlen, "%s: not a JSON object (%s)", path,
		    json_tokener_error_desc(json_tokener_get_error(tok)));
		json_object_put(root);
		json_tokener_free(tok);
		return false;
	}
	json_tokener_free(tok);
	json_object_object_foreach(root, key, val) {
		const char *s = json_object_is_type(val, json_type_string) ? json_object_get_string(val) : NULL;
		if (strcmp(key, "output") == 0 && s != NULL && strlen(s) < sizeof(sc->output)) {
			snprintf(sc->output, sizeof(sc->output), "%s", s);
		} else if (strcmp(key, "input") == 0 && json_object_is_type(val, json_type_array) &&
		    json_object_array_length(val) == 2) {
			ok = json_uint(json_object_array_get_idx(val, 0), 8, 4096, &p->topts.width) &&
			    json_uint(json_object_array_get_idx(val, 1), 8, 4096, &p->topts.height);
		} else if (strcmp(key, "layout") == 0 && s != NULL &&
		    (strcmp(s, "nchw") == 0 || strcmp(s, "nhwc") == 0)) {
			p->topts.layout = strcmp(s, "nchw") == 0 ? IMAGE_LAYOUT_NCHW : IMAGE_LAYOUT_NHWC;
		} else if (strcmp(key, "scale") == 0) {
			ok = json_float(val, &p->topts.scale);
		} else if (strcmp(key, "mean") == 0) {
			ok = json_float3(val, p->topts.mean);
		} else if (strcmp(key, "std") == 0) {
			ok = json_float3(val, p->topts.std) && p->topts.std[0] != 0 && p->topts.std[1] != 0 &&
			    p->topts.std[2] != 0;
		} else if (strcmp(key, "align_corners") == 0 && json_object_is_type(val, json_type_boolean)) {
			p->topts.align_corners = json_object_get_boolean(val);
		} else if (strcmp(key, "work_size") == 0) {
			ok = json_uint(val, 16, DESC_MAX_WORK, &p->work_size);
		} else if (strcmp(key, "fit") == 0 && s != NULL &&
		    (strcmp(s, "pad") == 0 || strcmp(s, "stretch") == 0 || strcmp(s, "crop") == 0)) {
			p->fit = strcmp(s, "pad") == 0 ? DESC_FIT_PAD : strcmp(s, "stretch") == 0 ? DESC_FIT_STRETCH
			                                                                          : DESC_FIT_CROP;
		} else if (strcmp(key, "whitening") == 0 && json_object_is_type(val, json_type_object)) {
			json_object *f, *in, *out;
			ok = json_object_object_get_ex(val, "file", &f) && json_object_is_type(f, json_type_string) &&
			    strlen(json_object_get_string(f)) < sizeof(sc->whitening) &&
			    strchr(json_object_get_string(f), '/') == NULL &&
			    json_object_object_get_ex(val, "in", &in) && json_uint(in, 1, DESC_MAX_DIM, &sc->whiten_in) &&
			    json_object_object_get_ex(val, "out", &out) &&
			    json_uint(out, 1, sc->whiten_in, &sc->whiten_out);
			if (ok)
				snprintf(sc->whitening, sizeof(sc->whitening), "%s", json_object_get_string(f));
		} else if (strcmp(key, "comment") == 0 || strcmp(key, "name") == 0) {
			/* documentation only */
		} else {
			ok = false;
		}
		if (!ok) {
			bfmt(err, errlen, "%s: bad or unknown key '%s'", path, key);
			break;
		}
	}
	json_object_put(root);
	return ok;
}

/* ---- opening the model ------------------------------------------------------------------------------- */

/* Reads the whitening file: raw little-endian float32, in floats of mean then out*in of projection. */
static bool
load_whitening(struct descriptor_model *m, const char *path, const struct desc_sidecar *sc, EVP_MD_CTX *idh,
    char *err, size_t errlen)
{
	size_t len = 0, want = ((size_t)sc->whiten_in + (size_t)sc->whiten_out * sc->whiten_in) * sizeof(float);
	unsigned char *buf = slurp(path, want, &len);
	float *f;

	if (buf == NULL) {
		bfmt(err, errlen, "%s: %s", path, errno == EFBIG ? "larger than the sidecar's in/out say" :
		    strerror(errno));
		return false;
	}
	if (len != want) {
		bfmt(err, errlen, "%s: %zu bytes, expected %zu for in=%u out=%u", path, len, want, sc->whiten_in,
		    sc->whiten_out);
		free(buf);
		return false;
	}
	EVP_DigestUpdate(idh, buf, len);
	f = malloc(want);
	if (f == NULL) {
		free(buf);
		bfmt(err, errlen, "%s: out of memory", path);
		return false;
	}
	for (size_t i = 0; i < want / sizeof(float); i++) {
		uint32_t u = (uint32_t)buf[4 * i] | (uint32_t)buf[4 * i + 1] << 8 | (uint32_t)buf[4 * i + 2] << 16 |
		    (uint32_t)buf[4 * i + 3] << 24;
		memcpy(&f[i], &u, sizeof(u));
		if (!isfinite(f[i])) {
			bfmt(err, errlen, "%s: non-finite value at float %zu", path, i);
			free(buf);
			free(f);
			return false;
		}
	}
	free(buf);
	m->w_mean = f;
	m->w_proj = f + sc->whiten_in;
	m->dim = sc->whiten_out;
	return true;
}

/* Reads <model>.json when it exists (a missing sidecar is fine; a broken one is an error). */
static bool
read_sidecar(const char *model_path, struct desc_preset *p, struct desc_sidecar *sc, char *scpath, size_t sclen,
    EVP_MD_CTX *idh, bool *found, char *err, size_t errlen)
{
	size_t n = strlen(model_path), len = 0;
	unsigned char *text;
	bool ok;

	*found = false;
	if (n > 5 && strcmp(model_path + n - 5, ".onnx") == 0)
		n -= 5;
	if (n + 6 > sclen) {
		bfmt(err, errlen, "%s: path too long", model_path);
		return false;
	}
	memcpy(scpath, model_path, n);
	memcpy(scpath + n, ".json", 6);
	text = slurp(scpath, DESC_SIDECAR_MAX, &len);
	if (text == NULL) {
		if (errno == ENOENT)
			return true;
		bfmt(err, errlen, "%s: %s", scpath, errno == EFBIG ? "too large" : strerror(errno));
		return false;
	}
	*found = true;
	EVP_DigestUpdate(idh, text, len);
	/* NUL-terminated for the tokenizer; a NUL inside the text is refused below. */
	{
		unsigned char *t = realloc(text, len + 1);
		if (t == NULL) {
			free(text);
			bfmt(err, errlen, "%s: out of memory", scpath);
			return false;
		}
		text = t;
		text[len] = '\0';
	}
	if (memchr(text, '\0', len) != NULL) {
		bfmt(err, errlen, "%s: contains a NUL byte", scpath);
		free(text);
		return false;
	}
	ok = sidecar_apply(scpath, (const char *)text, p, sc, err, errlen);
	free(text);
	return ok;
}

/* Finds the output and its width by one probe run on a blank image (cheap, and proves the model runs). */
static bool
probe_output(struct descriptor_model *m, const char *label, char *err, size_t errlen)
{
	infer_tensor in = { 0 }, *outs;
	infer_error ie;
	image_error imerr;
	image_rgb blank = { 0 };
	const infer_tensor *o;
	bool ok = false;

	blank.width = blank.height = 8;
	blank.px = malloc(8 * 8 * 3);
	outs = calloc(m->n_outputs, sizeof(*outs));
	if (blank.px == NULL || outs == NULL) {
		bfmt(err, errlen, "%s: out of memory", label);
		goto out;
	}
	memset(blank.px, 128, 8 * 8 * 3);
	if (image_to_tensor(&blank, &m->topts, &in, &imerr) != IMAGE_OK) {
		bfmt(err, errlen, "%s: %s", label, imerr.msg);
		goto out;
	}
	if (infer_run(m->session, &in, 1, outs, m->n_outputs, &ie) < 0) {
		bfmt(err, errlen, "%s: test run failed: %s", label, ie.msg);
		goto out;
	}
	o = &outs[m->out_index];
	/* [1, C] (pooled) or [1, C, H, W] (pooled here). */
	if (o->dtype != INFER_DTYPE_FLOAT || (o->ndim != 2 && o->ndim != 4) || o->dims[0] != 1 || o->dims[1] < 1 ||
	    o->dims[1] > (int64_t)DESC_MAX_DIM) {
		bfmt(err, errlen, "%s: output '%s' is not a float [1, C] or [1, C, H, W] tensor with C <= %u", label,
		    infer_model_output_name(m->model, m->out_index), DESC_MAX_DIM);
		goto out;
	}
	m->raw_dim = (size_t)o->dims[1];
	ok = true;
out:
	if (outs != NULL)
		for (size_t i = 0; i < m->n_outputs; i++)
			infer_tensor_release(&outs[i]);
	free(outs);
	free(in.data);
	free(blank.px);
	return ok;
}

bool
descriptor_model_open(struct descriptor_model **out, const struct descriptor_model_opts *opts, char *err,
    size_t errlen)
{
	struct descriptor_model *m;
	char path[4096], scpath[4200], wpath[4800], name[64], prep[256];
	const char *want_output;
	struct desc_preset p = desc_generic;
	struct desc_sidecar sc = { 0 };
	unsigned char *file = NULL;
	uint8_t digest[32], pdig[32];
	char fhex[65], phex[65];
	size_t flen = 0, n;
	EVP_MD_CTX *idh = NULL;
	unsigned int plen = 0;
	infer_error ie;
	infer_tensor info;
	infer_session_opts so = { 0 };
	bool found;

	*out = NULL;
	if (opts != NULL && opts->model_path != NULL) {
		if (snprintf(path, sizeof(path), "%s", opts->model_path) >= (int)sizeof(path)) {
			bfmt(err, errlen, "model path too long");
			return false;
		}
	} else if (!default_model_path(path, sizeof(path))) {
		bfmt(err, errlen, "bundled model path too long");
		return false;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		bfmt(err, errlen, "out of memory");
		return false;
	}
	pthread_mutex_init(&m->lock, NULL);

	/* The model's base name selects a built-in preset; its sidecar overrides it. */
	bfmt(name, sizeof(name), "%s", base_name(path));
	n = strlen(name);
	if (n > 5 && strcmp(name + n - 5, ".onnx") == 0)
		name[n - 5] = '\0';
	for (size_t i = 0; i < sizeof(desc_presets) / sizeof(desc_presets[0]); i++)
		if (strcmp(name, desc_presets[i].name) == 0)
			p = desc_presets[i];
	idh = EVP_MD_CTX_new();
	if (idh == NULL || EVP_DigestInit_ex(idh, EVP_sha256(), NULL) != 1) {
		bfmt(err, errlen, "SHA-256 unavailable");
		goto fail;
	}
	if (!read_sidecar(path, &p, &sc, scpath, sizeof(scpath), idh, &found, err, errlen))
		goto fail;

	file = slurp(path, INFER_MAX_MODEL_BYTES, &flen);
	if (file == NULL) {
		bfmt(err, errlen, "%s: %s", path, errno == EFBIG ? "larger than the model size limit" : strerror(errno));
		goto fail;
	}
	SHA256(file, flen, digest);
	hex(digest, 6, fhex);
	m->model = infer_model_load_mem(file, flen, path, &ie);
	free(file);
	file = NULL;
	if (m->model == NULL) {
		bfmt(err, errlen, "%s", ie.msg);
		goto fail;
	}
	if (infer_model_input_count(m->model) != 1 || infer_model_input_info(m->model, 0, &info) < 0 ||
	    info.ndim != 4) {
		bfmt(err, errlen, "%s: expected one image input of rank 4 (docs/matching.md, model contract)", path);
		goto fail;
	}
	/* Fixed spatial dimensions in the model win over the preset; the layout must agree with them. */
	{
		int ci = p.topts.layout == IMAGE_LAYOUT_NCHW ? 1 : 3, hi = p.topts.layout == IMAGE_LAYOUT_NCHW ? 2 : 1;
		if (info.dims[ci] != 3 && info.dims[ci] != -1) {
			bfmt(err, errlen, "%s: input '%s' does not have 3 channels in the %s layout", path,
			    infer_model_input_name(m->model, 0), p.topts.layout == IMAGE_LAYOUT_NCHW ? "NCHW" : "NHWC");
			goto fail;
		}
		if (info.dims[hi] > 0)
			p.topts.height = (uint32_t)info.dims[hi];
		if (info.dims[hi + 1] > 0)
			p.topts.width = (uint32_t)info.dims[hi + 1];
		if (p.topts.width < 8 || p.topts.height < 8 || p.topts.width > 4096 || p.topts.height > 4096) {
			bfmt(err, errlen, "%s: input size %ux%u out of range", path, p.topts.width, p.topts.height);
			goto fail;
		}
	}
	m->batchable = info.dims[0] != 1;
	m->n_outputs = infer_model_output_count(m->model);
	want_output = opts != NULL && opts->output_name != NULL ? opts->output_name
	    : sc.output[0] != '\0'                              ? sc.output
	    : p.output != NULL                                  ? p.output
	                                                        : infer_model_output_name(m->model, 0);
	m->out_index = SIZE_MAX;
	for (size_t i = 0; i < m->n_outputs; i++)
		if (strcmp(infer_model_output_name(m->model, i), want_output) == 0)
			m->out_index = i;
	if (m->out_index == SIZE_MAX) {
		bfmt(err, errlen, "%s: no output named '%s'", path, want_output);
		goto fail;
	}
	m->topts = p.topts;
	m->work_size = p.work_size;
	m->fit = p.fit;
	if (opts != NULL)
		m->limits = opts->limits;

	so.threads = opts != NULL ? opts->threads : 0;
	/* "auto" measures the plugins that open on this model and keeps the fastest; with none it is the CPU. */
	so.backend = opts != NULL && opts->backend != NULL ? opts->backend : "auto";
	so.plugin_dir = opts != NULL ? opts->plugin_dir : NULL;
	so.cache_dir = opts != NULL ? opts->cache_dir : NULL;
	m->session = infer_session_create(m->model, &so, &ie);
	if (m->session == NULL) {
		bfmt(err, errlen, "%s", ie.msg);
		goto fail;
	}
	if (!probe_output(m, path, err, errlen))
		goto fail;
	m->dim = m->raw_dim;

	/* Whitening only with an output it was learned for, and only for the sidecar's own output. */
	if (sc.whitening[0] != '\0' && (opts == NULL || opts->output_name == NULL ||
	                                   strcmp(opts->output_name, want_output) == 0 || sc.output[0] == '\0')) {
		const char *slash = strrchr(scpath, '/');
		int dl = slash != NULL ? (int)(slash - scpath + 1) : 0;
		if (sc.whiten_in != m->raw_dim) {
			bfmt(err, errlen, "%s: whitening is for %u channels, output '%s' has %zu", scpath, sc.whiten_in,
			    want_output, m->raw_dim);
			goto fail;
		}
		if (snprintf(wpath, sizeof(wpath), "%.*s%s", dl, scpath, sc.whitening) >= (int)sizeof(wpath)) {
			bfmt(err, errlen, "%s: whitening path too long", scpath);
			goto fail;
		}
		if (!load_whitening(m, wpath, &sc, idh, err, errlen))
			goto fail;
	}

	/* The id names everything that changes the stored signals: file, output, preprocessing, whitening. */
	snprintf(prep, sizeof(prep), "%ux%u/%d/%d/%a/%a,%a,%a/%a,%a,%a/%u/%d/%d/%zu", m->topts.width, m->topts.height,
	    (int)m->topts.layout, (int)m->topts.align_corners, (double)m->topts.scale, (double)m->topts.mean[0],
	    (double)m->topts.mean[1], (double)m->topts.mean[2], (double)m->topts.std[0], (double)m->topts.std[1],
	    (double)m->topts.std[2], m->work_size, (int)m->fit, DESC_TRIM_TOL, m->dim);
	EVP_DigestUpdate(idh, prep, strlen(prep));
	if (EVP_DigestFinal_ex(idh, pdig, &plen) != 1 || plen != sizeof(pdig)) {
		bfmt(err, errlen, "SHA-256 failed");
		goto fail;
	}
	EVP_MD_CTX_free(idh);
	hex(pdig, 4, phex);
	bfmt(m->id, sizeof(m->id), "%.40s@%s/%.48s/%s%s", name, fhex, want_output, m->w_mean != NULL ? "w" : "p",
	    phex);
	*out = m;
	return true;
fail:
	EVP_MD_CTX_free(idh);
	free(file);
	descriptor_model_free(m);
	return false;
}

void
descriptor_model_free(struct descriptor_model *m)
{
	if (m == NULL)
		return;
	infer_session_free(m->session);
	infer_model_free(m->model);
	free(m->w_mean); /* w_proj lives in the same block */
	pthread_mutex_destroy(&m->lock);
	free(m);
}

const char *
descriptor_model_id(const struct descriptor_model *m)
{
	return m->id;
}

const char *
descriptor_model_backend(struct descriptor_model *m)
{
	const char *name;

	/* The session's choice can change when a plugin is dropped during a run: read it under the run lock. */
	pthread_mutex_lock(&m->lock);
	name = infer_session_backend(m->session);
	pthread_mutex_unlock(&m->lock);
	return name;
}

size_t
descriptor_model_dim(const struct descriptor_model *m)
{
	return m->dim;
}

/* ---- per image --------------------------------------------------------------------------------------- */

/* Brings img (trimmed) to the working size: longer side = work, aspect kept; area filter down, bilinear up. */
static int
to_working(const image_rgb *img, uint32_t work, image_rgb *dst, image_error *ie)
{
	uint32_t w = img->width, h = img->height, dw, dh;

	if (w >= h) {
		dw = work;
		dh = (uint32_t)(((uint64_t)h * work + w / 2) / w);
	} else {
		dh = work;
		dw = (uint32_t)(((uint64_t)w * work + h / 2) / h);
	}
	if (dw < 1)
		dw = 1;
	if (dh < 1)
		dh = 1;
	if (dw <= w && dh <= h)
		return image_resize_area(img, dw, dh, dst, ie);
	return image_resize_bilinear(img, dw, dh, false, dst, ie);
}

/* Everything before the model: decode, trim, working image, histogram, pHash, and the model input tensor
 * (tensor->data owned by the caller). d's pixel-derived fields are filled; embedding is left NULL. */
static bool
prepare(const struct descriptor_model *m, const unsigned char *bytes, size_t len, const char *label,
    struct descriptor *d, infer_tensor *tensor, char *err, size_t errlen)
{
	static const uint8_t white[3] = { 255, 255, 255 };
	image_rgb img = { 0 }, trimmed = { 0 }, work = { 0 }, fitted = { 0 };
	const image_rgb *src;
	image_error ie;
	bool ok = false;

	memset(d, 0, sizeof(*d));
	memset(tensor, 0, sizeof(*tensor));
	if (label == NULL)
		label = "image";
	if (bytes == NULL || len == 0) {
		bfmt(err, errlen, "%s: empty image", label);
		return false;
	}
	SHA256(bytes, len, d->sha256);
	if (image_decode(bytes, len, &m->limits, label, &img, &ie) != IMAGE_OK) {
		bfmt(err, errlen, "%s", ie.msg);
		return false;
	}
	d->width = img.width;
	d->height = img.height;
	if (image_trim(&img, DESC_TRIM_TOL, &trimmed, &ie) != IMAGE_OK ||
	    to_working(&trimmed, m->work_size, &work, &ie) != IMAGE_OK ||
	    image_phash(&work, &d->phash, &ie) != IMAGE_OK)
		goto fail;
	image_histogram(&work, d->hist);
	src = &work;
	if (m->fit == DESC_FIT_PAD) {
		if (image_pad(&work, m->topts.width, m->topts.height, white, &fitted, &ie) != IMAGE_OK)
			goto fail;
		src = &fitted;
	} else if (m->fit == DESC_FIT_CROP) {
		if (image_center_crop(&work, m->topts.width, m->topts.height, &fitted, &ie) != IMAGE_OK)
			goto fail;
		src = &fitted;
	}
	if (image_to_tensor(src, &m->topts, tensor, &ie) != IMAGE_OK)
		goto fail;
	ok = true;
	goto out;
fail:
	/* The image module's messages do not always carry the label (resize/trim take none). */
	if (strstr(ie.msg, label) != NULL)
		bfmt(err, errlen, "%s", ie.msg);
	else
		bfmt(err, errlen, "%s: %s", label, ie.msg);
out:
	image_rgb_free(&img);
	image_rgb_free(&trimmed);
	image_rgb_free(&work);
	image_rgb_free(&fitted);
	return ok;
}

/* Pools (if spatial), centres and whitens, and L2-normalises one row of the model output into a new vector
 * owned by the caller; NULL when the vector is not finite or all zero. */
static float *
finish_embedding(const struct descriptor_model *m, const infer_tensor *o, size_t row)
{
	size_t c = m->raw_dim, hw = 1;
	double *raw = calloc(c, sizeof(double)), norm = 0;
	float *v = NULL;

	if (raw == NULL)
		return NULL;
	if (o->ndim == 4)
		hw = (size_t)(o->dims[2] * o->dims[3]);
	for (size_t k = 0; k < c; k++) {
		const float *p = (const float *)o->data + (row * c + k) * hw;
		double s = 0;
		for (size_t i = 0; i < hw; i++)
			s += p[i];
		raw[k] = s / (double)hw;
	}
	/* L2 first, so the whitening (learned on L2-normalised vectors) sees every image at the same scale. */
	for (size_t k = 0; k < c; k++)
		norm += raw[k] * raw[k];
	if (!(norm > 0) || !isfinite(norm))
		goto fail;
	norm = sqrt(norm);
	for (size_t k = 0; k < c; k++)
		raw[k] /= norm;
	norm = 0;
	v = malloc(m->dim * sizeof(float));
	if (v == NULL)
		goto fail;
	for (size_t j = 0; j < m->dim; j++) {
		double s = 0;
		if (m->w_mean == NULL)
			s = raw[j];
		else
			for (size_t k = 0; k < c; k++)
				s += (raw[k] - m->w_mean[k]) * m->w_proj[j * c + k];
		if (!isfinite(s))
			goto fail;
		v[j] = (float)s;
		norm += s * s;
	}
	if (!(norm > 0) || !isfinite(norm))
		goto fail;
	norm = sqrt(norm);
	for (size_t j = 0; j < m->dim; j++)
		v[j] = (float)(v[j] / norm);
	free(raw);
	return v;
fail:
	free(raw);
	free(v);
	return NULL;
}

/* Runs the model on `count` prepared tensors (each [1, ...]) as one batch and fills the embeddings.
 * Returns false with err when the run fails (every image of the batch then fails). */
static bool
embed_batch(struct descriptor_model *m, size_t count, infer_tensor *const *tensors, struct descriptor *const *ds,
    char *err, size_t errlen)
{
	infer_tensor in = *tensors[0], *outs = calloc(m->n_outputs, sizeof(*outs));
	size_t per = (size_t)infer_tensor_numel(tensors[0]);
	infer_error ie;
	bool ok = false;

	if (outs == NULL) {
		bfmt(err, errlen, "out of memory");
		return false;
	}
	in.dims[0] = (int64_t)count;
	in.data = NULL;
	if (count > 1) {
		if (per > SIZE_MAX / sizeof(float) / count || (in.data = malloc(per * count * sizeof(float))) == NULL) {
			bfmt(err, errlen, "out of memory for a batch of %zu", count);
			free(outs);
			return false;
		}
		for (size_t i = 0; i < count; i++)
			memcpy((float *)in.data + i * per, tensors[i]->data, per * sizeof(float));
	}
	pthread_mutex_lock(&m->lock);
	int rc = infer_run(m->session, count > 1 ? &in : tensors[0], 1, outs, m->n_outputs, &ie);
	pthread_mutex_unlock(&m->lock);
	if (count > 1)
		free(in.data);
	if (rc < 0) {
		bfmt(err, errlen, "inference failed: %s", ie.msg);
		goto out;
	}
	for (size_t i = 0; i < count; i++) {
		ds[i]->embedding = finish_embedding(m, &outs[m->out_index], i);
		ds[i]->dim = ds[i]->embedding != NULL ? m->dim : 0;
	}
	ok = true;
out:
	for (size_t i = 0; i < m->n_outputs; i++)
		infer_tensor_release(&outs[i]);
	free(outs);
	return ok;
}

bool
descriptor_compute(struct descriptor_model *m, const unsigned char *bytes, size_t len, const char *label,
    struct descriptor *out, char *err, size_t errlen)
{
	infer_tensor t, *tp = &t;
	struct descriptor *dp = out;
	bool ok;

	if (!prepare(m, bytes, len, label, out, &t, err, errlen))
		return false;
	ok = embed_batch(m, 1, &tp, &dp, err, errlen);
	free(t.data);
	if (ok && out->embedding == NULL) {
		bfmt(err, errlen, "%s: the model gave a zero or non-finite embedding", label != NULL ? label : "image");
		ok = false;
	}
	if (!ok)
		descriptor_free(out);
	return ok;
}

/* Batches larger than this are run in chunks (bounded memory for the input and intermediates). */
#define DESC_MAX_BATCH 32

size_t
descriptor_compute_batch(struct descriptor_model *m, size_t n, const unsigned char *const *bytes, const size_t *lens,
    const char *const *labels, struct descriptor *out, bool *ok, char (*errs)[256])
{
	infer_tensor tensors[DESC_MAX_BATCH], *tp[DESC_MAX_BATCH];
	struct descriptor *dp[DESC_MAX_BATCH];
	size_t idx[DESC_MAX_BATCH], good = 0;
	char err[256];

	for (size_t start = 0; start < n; start += DESC_MAX_BATCH) {
		size_t end = n - start > DESC_MAX_BATCH ? start + DESC_MAX_BATCH : n, k = 0;
		for (size_t i = start; i < end; i++) {
			const char *label = labels != NULL ? labels[i] : NULL;
			ok[i] = false;
			if (errs != NULL)
				errs[i][0] = '\0';
			if (!prepare(m, bytes[i], lens[i], label, &out[i], &tensors[k], errs != NULL ? errs[i] : NULL,
			        errs != NULL ? sizeof(errs[i]) : 0))
				continue;
			tp[k] = &tensors[k];
			dp[k] = &out[i];
			idx[k++] = i;
		}
		/* One run for the chunk when the model takes any batch size; else one run per image. */
		for (size_t s = 0; s < k;) {
			size_t c = m->batchable ? k - s : 1;
			bool run_ok = embed_batch(m, c, tp + s, dp + s, err, sizeof(err));
			for (size_t j = s; j < s + c; j++) {
				size_t i = idx[j];
				const char *label = labels != NULL && labels[i] != NULL ? labels[i] : "image";
				if (run_ok && out[i].embedding != NULL) {
					ok[i] = true;
					good++;
				} else {
					if (errs != NULL)
						bfmt(errs[i], sizeof(errs[i]), "%s: %s", label,
						    run_ok ? "the model gave a zero or non-finite embedding" : err);
					descriptor_free(&out[i]);
				}
				free(tensors[j].data);
			}
			s += c;
		}
	}
	return good;
}

void
descriptor_free(struct descriptor *d)
{
	if (d == NULL)
		return;
	free(d->embedding);
	d->embedding = NULL;
	d->dim = 0;
}

/* ---- pw:emb cache format ---------------------------------------------------------------------------- */

/*
 * Version 1, little-endian:
 *   "PWD" 0x01 | u8 id length | id | u32 width | u32 height | u64 phash | sha256[32]
 *   | u32 dim (0: no embedding) | dim x f32 embedding | IMAGE_HIST_BINS x f32 histogram
 */
#define PACK_MAGIC "PWD\x01"

static void
put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t
get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
put_f32(unsigned char *p, float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	put_u32(p, u);
}

static float
get_f32(const unsigned char *p)
{
	uint32_t u = get_u32(p);
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

unsigned char *
descriptor_pack(const struct descriptor_model *m, const struct descriptor *d, size_t *len)
{
	size_t idlen = strlen(m->id), dim = d->embedding != NULL ? d->dim : 0, n, off = 0;
	unsigned char *b;

	if (idlen > 255 || dim > DESC_MAX_DIM)
		return NULL;
	n = 4 + 1 + idlen + 4 + 4 + 8 + 32 + 4 + 4 * dim + 4 * IMAGE_HIST_BINS;
	b = malloc(n);
	if (b == NULL)
		return NULL;
	memcpy(b, PACK_MAGIC, 4);
	off = 4;
	b[off++] = (unsigned char)idlen;
	memcpy(b + off, m->id, idlen);
	off += idlen;
	put_u32(b + off, d->width);
	put_u32(b + off + 4, d->height);
	put_u32(b + off + 8, (uint32_t)d->phash);
	put_u32(b + off + 12, (uint32_t)(d->phash >> 32));
	off += 16;
	memcpy(b + off, d->sha256, 32);
	off += 32;
	put_u32(b + off, (uint32_t)dim);
	off += 4;
	for (size_t i = 0; i < dim; i++, off += 4)
		put_f32(b + off, d->embedding[i]);
	for (size_t i = 0; i < IMAGE_HIST_BINS; i++, off += 4)
		put_f32(b + off, d->hist[i]);
	*len = off;
	return b;
}

bool
descriptor_unpack(const struct descriptor_model *m, const unsigned char *blob, size_t len, struct descriptor *out)
{
	size_t idlen = strlen(m->id), off, dim;
	float *emb = NULL;

	memset(out, 0, sizeof(*out));
	if (blob == NULL || len < 5 || memcmp(blob, PACK_MAGIC, 4) != 0 || blob[4] != idlen ||
	    len < 5 + idlen + 4 + 4 + 8 + 32 + 4 || memcmp(blob + 5, m->id, idlen) != 0)
		return false;
	off = 5 + idlen;
	dim = get_u32(blob + off + 32 + 16);
	if ((dim != 0 && dim != m->dim) || len != off + 16 + 32 + 4 + 4 * dim + 4 * IMAGE_HIST_BINS)
		return false;
	out->width = get_u32(blob + off);
	out->height = get_u32(blob + off + 4);
	out->phash = (uint64_t)get_u32(blob + off + 8) | (uint64_t)get_u32(blob + off + 12) << 32;
	off += 16;
	memcpy(out->sha256, blob + off, 32);
	off += 32 + 4;
	if (dim > 0) {
		double norm = 0;
		emb = malloc(dim * sizeof(float));
		if (emb == NULL)
			return false;
		for (size_t i = 0; i < dim; i++, off += 4) {
			emb[i] = get_f32(blob + off);
			if (!isfinite(emb[i]))
				goto bad;
			norm += (double)emb[i] * emb[i];
		}
		/* An embedding is stored L2-normalised: anything else is a damaged blob. */
		if (fabs(norm - 1.0) > 1e-3)
			goto bad;
	}
	{
		double sum = 0;
		for (size_t i = 0; i < IMAGE_HIST_BINS; i++, off += 4) {
			out->hist[i] = get_f32(blob + off);
			if (!isfinite(out->hist[i]) || out->hist[i] < 0 || out->hist[i] > 1)
				goto bad;
			sum += out->hist[i];
		}
		if (fabs(sum - 1.0) > 1e-3 && sum != 0)
			goto bad;
	}
	out->embedding = emb;
	out->dim = dim;
	return true;
bad:
	free(emb);
	memset(out, 0, sizeof(*out));
	return false;
}
