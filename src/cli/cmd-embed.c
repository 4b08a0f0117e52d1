/* cmd-embed.c: "pricewatch embed": the L2-normalised embedding of each image (as the matcher sees it) or .npy tensor. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "cli/npy.h"
#include "common/util.h"
#include "match/descriptor.h"

static int cmd_embed_exec(struct cli_ctx *ctx, int argc, char **argv);

const struct cmd_entry cmd_embed_entry = {
	.name = "embed",
	.alias = NULL,
	.usage = "[--model FILE] [--backend NAME] [--threads N] [--output NAME] [--json] IMAGE|INPUT.npy...",
	.summary = "print the L2-normalised embedding of each image or input tensor",
	.help =
	    "Options:\n"
	    "  -m, --model FILE     ONNX model with one input (default: the bundled MobileNetV2,\n"
	    "                       " PKGDATADIR "/models/mobilenetv2-nsfwjs.onnx)\n"
	    "  -b, --backend NAME   backends by priority, e.g. \"reference,cpu\" (default cpu)\n"
	    "  -t, --threads N      OpenMP threads (default: all cores)\n"
	    "      --output NAME    the model output used as the embedding (default: the first;\n"
	    "                       the bundled model's are \"features\" (1280) and \"block10\" (96))\n"
	    "      --json           JSON: [{\"file\": \"...\", \"embedding\": [...]}, ...]\n"
	    "  -h, --help           show this help\n"
	    "IMAGE (JPEG, PNG or WebP) goes through the matcher's own preprocessing (EXIF\n"
	    "orientation, border trim, working size, the model's <model>.json contract and\n"
	    "whitening) and gives the learned signal the matcher compares; without --model\n"
	    "that is the configured [inference] model, else the default image model\n"
	    "(CenterNet when built, else the bundled MobileNetV2's block10).\n"
	    "INPUT.npy is a NumPy tensor in the model's input layout, run as it is: for the\n"
	    "bundled model float32 RGB in [0,1], shape (3, 224, 224) or (N, 3, 224, 224),\n"
	    "resized with bilinear align-corners; a file with N images gives N embeddings\n"
	    "(\"index\" says which). Text output: one line per embedding, FILE then the values.\n"
	    "Exit status 4 when any input was refused (the others are still printed).\n",
	.exec = cmd_embed_exec,
};

enum { OPT_OUTPUT = 256 };

static const struct option embed_options[] = {
	{ "model", required_argument, NULL, 'm' },
	{ "backend", required_argument, NULL, 'b' },
	{ "threads", required_argument, NULL, 't' },
	{ "output", required_argument, NULL, OPT_OUTPUT },
	{ "json", no_argument, NULL, CLI_OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

/* Prints (or adds to arr) the normalised rows of out: one embedding per image of the batch. */
static void
emit(struct cli_ctx *ctx, struct json_object *arr, const char *file, const infer_tensor *out)
{
	int64_t n = infer_tensor_numel(out), rows = out->ndim >= 2 ? out->dims[0] : 1, width;
	const float *v = out->data;

	if (rows <= 0 || n <= 0)
		return;
	width = n / rows;
	for (int64_t r = 0; r < rows; r++) {
		const float *row = v + r * width;
		struct json_object *emb = NULL, *item = NULL;
		double ss = 0, inv;
		char num[32], *shown = NULL;

		for (int64_t i = 0; i < width; i++)
			ss += (double)row[i] * row[i];
		/* An all-zero output stays zero rather than becoming NaN. */
		inv = ss > 0 ? 1.0 / sqrt(ss) : 0;
		if (arr != NULL) {
			item = json_object_new_object();
			emb = json_object_new_array_ext((int)width);
			json_object_object_add(item, "file", json_object_new_string(file));
			if (rows > 1)
				json_object_object_add(item, "index", json_object_new_int64(r));
		} else {
			shown = out_display_clip(file, 0);
			fputs(shown, ctx->out);
			if (rows > 1)
				fprintf(ctx->out, "[%lld]", (long long)r);
			free(shown);
		}
		for (int64_t i = 0; i < width; i++) {
			/* %.9g round-trips a float exactly, without the double's extra digits. */
			pw_snprintf(num, sizeof num, "%.9g", (float)(row[i] * inv));
			if (arr != NULL)
				json_object_array_add(emb, json_object_new_double_s(strtod(num, NULL), num));
			else
				fprintf(ctx->out, "%c%s", i == 0 ? '\t' : ' ', num);
		}
		if (arr != NULL) {
			json_object_object_add(item, "embedding", emb);
			json_object_array_add(arr, item);
		} else {
			fputc('\n', ctx->out);
		}
	}
}

/* Runs one file; returns false (message printed) when it is refused. */
static bool
embed_file(struct cli_ctx *ctx, const infer_model *model, infer_session *session, size_t out_idx,
    const char *file, struct json_object *arr)
{
	size_t n_out = infer_model_output_count(model);
	infer_tensor in, decl, *outs;
	infer_error ierr;
	char err[512];
	bool ok = false;

	if (!npy_read(file, &in, 0, err, sizeof err)) {
		cli_error(ctx, "%s", err);
		return false;
	}
	/* One image without its batch dimension: (3, 224, 224) for (N, 3, 224, 224). */
	if (infer_model_input_info(model, 0, &decl) == 0 && decl.ndim > 0 && in.ndim == decl.ndim - 1) {
		memmove(in.dims + 1, in.dims, (size_t)in.ndim * sizeof(in.dims[0]));
		in.dims[0] = 1;
		in.ndim++;
	}
	if (cli_infer_check_input(ctx, model, 0, &in, file) != CLI_EXIT_OK) {
		infer_tensor_release(&in);
		return false;
	}
	outs = xcalloc(n_out, sizeof(*outs));
	if (infer_run(session, &in, 1, outs, n_out, &ierr) != 0) {
		cli_error(ctx, "%s: %s", file, ierr.msg);
	} else if (outs[out_idx].dtype != INFER_DTYPE_FLOAT) {
		cli_error(ctx, "%s: output '%s' is not float32", file, infer_model_output_name(model, out_idx));
	} else {
		emit(ctx, arr, file, &outs[out_idx]);
		ok = true;
	}
	for (size_t i = 0; i < n_out; i++)
		infer_tensor_release(&outs[i]);
	free(outs);
	infer_tensor_release(&in);
	return ok;
}

/* Opens the matcher's image model once, for the first image input; flags override the configuration. */
static int
image_model_open(struct cli_ctx *ctx, const struct cli_engine_args *eng, const char *output,
    struct descriptor_model **dm)
{
	struct descriptor_model_opts o;
	char err[512];
	int rc;

	if (*dm != NULL)
		return CLI_EXIT_OK;
	if ((rc = cli_resolve(ctx)) != CLI_EXIT_OK)
		return rc;
	o = (struct descriptor_model_opts){
		.model_path = eng->model != NULL ? eng->model : ctx->cfg.inference.model,
		.output_name = output != NULL ? output : ctx->cfg.match.embedding_output,
		.backend = eng->backend != NULL ? eng->backend : ctx->cfg.inference.backend,
		.threads = eng->threads > 0 ? eng->threads : (int)ctx->cfg.inference.threads,
		.limits = { .max_bytes = (size_t)ctx->cfg.crawl.max_image_body,
		    .max_pixels = (uint64_t)ctx->cfg.match.max_image_pixels },
		.plugin_dir = ctx->cfg.inference.plugin_dir,
	};
	if (!descriptor_model_open(dm, &o, err, sizeof err)) {
		cli_error(ctx, "cannot open the image model: %s", err);
		return CLI_EXIT_ERROR;
	}
	return CLI_EXIT_OK;
}

/* One image file through the matcher's descriptor; returns false (message printed) when it is refused. */
static bool
embed_image(struct cli_ctx *ctx, struct descriptor_model *dm, const char *file, struct json_object *arr)
{
	struct descriptor d;
	infer_tensor t = { 0 };
	size_t len = 0;
	char err[512];
	unsigned char *buf = (unsigned char *)cli_read_input(file, IMAGE_DEFAULT_MAX_BYTES + 1, &len);
	bool ok;

	if (buf == NULL) {
		cli_error(ctx, "%s: %s", file, strerror(errno));
		return false;
	}
	memset(&d, 0, sizeof d);
	ok = descriptor_compute(dm, buf, len, file, &d, err, sizeof err);
	free(buf);
	if (!ok) {
		cli_error(ctx, "%s", err);
		return false;
	}
	t.dtype = INFER_DTYPE_FLOAT;
	t.ndim = 2;
	t.dims[0] = 1;
	t.dims[1] = (int64_t)d.dim;
	t.data = d.embedding;
	emit(ctx, arr, file, &t);
	descriptor_free(&d);
	return true;
}

static int
cmd_embed_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_engine_args eng = { 0 };
	const char *output = NULL;
	char *model_path = NULL;
	infer_model *model = NULL;
	infer_session *session = NULL;
	struct json_object *arr = NULL;
	struct descriptor_model *dm = NULL;
	size_t out_idx = 0, failed = 0;
	bool any_npy = false;
	int c, rc;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:b:t:h", embed_options, NULL)) != -1) {
		switch (c) {
		case OPT_OUTPUT:
			output = optarg;
			break;
		default:
			if ((rc = cli_engine_option(ctx, &cmd_embed_entry, c, argv, &eng)) >= 0)
				return rc;
			break;
		}
	}
	if (optind >= argc)
		return cli_usage_error(ctx, &cmd_embed_entry, "no IMAGE or INPUT.npy given");
	if (ctx->format == CLI_FORMAT_CSV)
		return cli_usage_error(ctx, &cmd_embed_entry, "--csv is not supported here (use --json)");
	for (int i = optind; i < argc; i++)
		any_npy = any_npy || ends_with(argv[i], ".npy");
	if (!any_npy) {
		/* Images only: the matcher's model and preprocessing, no raw model to open. */
		if ((rc = image_model_open(ctx, &eng, output, &dm)) != CLI_EXIT_OK)
			goto done;
		goto run;
	}

	model_path = eng.model != NULL ? xstrdup(eng.model) : cli_infer_default_model();
	if ((rc = cli_infer_open(ctx, model_path, eng.backend, eng.threads, &model, &session)) != CLI_EXIT_OK)
		goto done;
	rc = CLI_EXIT_ERROR;
	if (infer_model_input_count(model) != 1) {
		cli_error(ctx, "%s: embed needs a model with one input (it has %zu); use pricewatch infer",
		    model_path, infer_model_input_count(model));
		goto done;
	}
	if (infer_model_output_count(model) == 0) {
		cli_error(ctx, "%s: the model has no output", model_path);
		goto done;
	}
	if (output != NULL) {
		for (out_idx = 0; out_idx < infer_model_output_count(model); out_idx++)
			if (strcmp(infer_model_output_name(model, out_idx), output) == 0)
				break;
		if (out_idx == infer_model_output_count(model)) {
			cli_error(ctx, "%s: no output named '%s' (the first is '%s')", model_path, output,
			    infer_model_output_name(model, 0));
			rc = CLI_EXIT_USAGE;
			goto done;
		}
	}

run:
	if (ctx->format == CLI_FORMAT_JSON)
		arr = json_object_new_array();
	for (int i = optind; i < argc; i++) {
		bool ok;

		if (ends_with(argv[i], ".npy")) {
			ok = embed_file(ctx, model, session, out_idx, argv[i], arr);
		} else {
			ok = image_model_open(ctx, &eng, output, &dm) == CLI_EXIT_OK &&
			    embed_image(ctx, dm, argv[i], arr);
		}
		failed += !ok;
	}
	if (arr != NULL) {
		out_json_print(ctx->out, arr);
		arr = NULL;
	}
	if (failed > 0)
		cli_error(ctx, "%zu of %d input%s refused", failed, argc - optind, argc - optind == 1 ? "" : "s");
	rc = failed > 0 ? CLI_EXIT_ERROR : CLI_EXIT_OK;

done:
	if (arr != NULL)
		json_object_put(arr);
	if (session != NULL)
		infer_session_free(session);
	if (model != NULL)
		infer_model_free(model);
	descriptor_model_free(dm);
	free(model_path);
	return rc;
}
