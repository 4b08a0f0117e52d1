/* descriptor.h: one image in, every matching signal out (learned embedding, colour histogram, pHash), with the model's preprocessing contract. */
#ifndef PW_MATCH_DESCRIPTOR_H
#define PW_MATCH_DESCRIPTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image/image.h"

/*
 * Contract between the image-embedding model and the matcher (documented for
 * users in docs/matching.md): which model file, which output is the learned
 * signal, how the image is normalised before the model sees it (border trim,
 * working size, crop/pad, mean/std), and any whitening learned offline. The
 * model id names all of that, so pw:emb:<sha256> cache entries made with
 * another model or output are not reused.
 */
struct descriptor_model;       /* owns the infer model, its session and the whitening data */

struct descriptor_model_opts {
	const char *model_path;    /* ONNX file; NULL: the bundled default */
	const char *output_name;   /* model output used as the embedding; NULL: the model's default */
	const char *backend;       /* inference backend name ([inference] backend); NULL: "auto" */
	int threads;               /* 0: OpenMP default */
	image_limits limits;       /* decode limits; zero members take the image module defaults */
	const char *plugin_dir;    /* backend plugins ([inference] plugin-dir); NULL: $PW_BACKEND_DIR or installed */
	const char *cache_dir;     /* where "auto" caches its measured choice (the state directory); NULL: none */
};

bool descriptor_model_open(struct descriptor_model **out, const struct descriptor_model_opts *opts,
    char *err, size_t errlen);
void descriptor_model_free(struct descriptor_model *m);
/* Stable text id, e.g. "centernet-mnv3@<first 12 hex of the file's SHA-256>/<output>/w1". Owned by m. */
const char *descriptor_model_id(const struct descriptor_model *m);
/* The inference backend the model's session runs on now (the measured choice with "auto"). Owned by m, valid
 * until the next descriptor_compute* call on m; call it from the thread that computes. */
const char *descriptor_model_backend(struct descriptor_model *m);
/* Length of the embedding vector. */
size_t descriptor_model_dim(const struct descriptor_model *m);

/* Every signal of one image. */
struct descriptor {
	float *embedding;          /* dim floats, L2-normalised (after whitening); owned; NULL if not computed */
	size_t dim;
	float hist[IMAGE_HIST_BINS];  /* L1-normalised colour histogram of the normalised image */
	uint64_t phash;            /* 64-bit pHash of the normalised image */
	uint32_t width, height;    /* as decoded (after EXIF orientation), before any trim or resize */
	uint8_t sha256[32];        /* of the encoded bytes: the pw:emb cache key */
};

/*
 * Decodes bytes (within the limits), applies EXIF orientation, trims uniform
 * borders, brings the image to the working size, and computes every signal.
 * label (URL or file name) is used in error messages. On failure returns false
 * with err naming the label and reason (corrupt, too large, unsupported format).
 */
bool descriptor_compute(struct descriptor_model *m, const unsigned char *bytes, size_t len, const char *label,
    struct descriptor *out, char *err, size_t errlen);
/* Same for n images at once (one batched inference); ok[i] says which succeeded, errs[i] why not (may be NULL). */
size_t descriptor_compute_batch(struct descriptor_model *m, size_t n, const unsigned char *const *bytes,
    const size_t *lens, const char *const *labels, struct descriptor *out, bool *ok, char (*errs)[256]);
void descriptor_free(struct descriptor *d);

/* Serialises a descriptor (all signals, with the model id) for Redis; caller frees. */
unsigned char *descriptor_pack(const struct descriptor_model *m, const struct descriptor *d, size_t *len);
/* Reads one back; false when the blob is malformed or was made by another model id. */
bool descriptor_unpack(const struct descriptor_model *m, const unsigned char *blob, size_t len,
    struct descriptor *out);

#endif
