/* cmd-infer.c: "pricewatch infer": runs an ONNX model on .npy inputs, saves its outputs, and times it with --bench. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli/cli.h"
#include "cli/npy.h"
#include "common/util.h"

#define BUNDLED_MODEL "mobilenetv2-nsfwjs.onnx"
/* Upper bounds on options, so a typo cannot ask for a day of runs or a million threads. */
#define MAX_THREADS 1024
#define MAX_RUNS 1000000
#define MAX_INPUTS 64

static int cmd_infer_exec(struct cli_ctx *ctx, int argc, char **argv);

const struct cmd_entry cmd_infer_entry = {
	.name = "infer",
	.alias = NULL,
	.usage = "--model FILE [--backend NAME] [--threads N] --input NAME=FILE.npy ... "
	    "[--output-dir DIR] [--bench N [--warmup N]] [--json]",
	.summary = "run an ONNX model on .npy tensors and save its outputs as .npy",
	.help =
	    "Options:\n"
	    "  -m, --model FILE       the ONNX model to run (required)\n"
	    "  -b, --backend NAME     backends by priority, e.g. \"reference,cpu\" (default cpu)\n"
	    "  -t, --threads N        OpenMP threads (default: all cores, or $OMP_NUM_THREADS)\n"
	    "  -i, --input NAME=FILE  a model input from a NumPy .npy file: '<f4' float32,\n"
	    "                         '<f8' (converted to float32) or '<i8' int64, C order;\n"
	    "                         repeat it for every input; NAME= may be left out when the\n"
	    "                         model has a single input\n"
	    "  -o, --output-dir DIR   write each output as DIR/NAME.npy (float32 '<f4', int64\n"
	    "                         '<i8'; characters other than letters, digits and ._+-\n"
	    "                         become '_'); default: the current directory, or no files\n"
	    "                         with --bench\n"
	    "      --bench N          after one run, warm up and time N runs; prints p50/p99\n"
	    "                         latency (nearest rank) and throughput\n"
	    "      --warmup N         warm-up runs before the timed ones (default N/10, 1..30)\n"
	    "      --json             JSON: {\"outputs\": [...]} and, with --bench, \"p50_ms\",\n"
	    "                         \"p99_ms\", \"mean_ms\", \"runs\", \"warmup\", \"threads\",\n"
	    "                         \"batch\", \"backend\", \"throughput_ips\"\n"
	    "  -h, --help             show this help\n"
	    "Compare the saved outputs with your framework's to check an exported model.\n"
	    "Exit status 2 for usage errors, 4 when the model or an input is refused.\n",
	.exec = cmd_infer_exec,
};

enum { OPT_BENCH = 256, OPT_WARMUP };

static const struct option infer_options[] = {
	{ "model", required_argument, NULL, 'm' },
	{ "backend", required_argument, NULL, 'b' },
	{ "threads", required_argument, NULL, 't' },
	{ "input", required_argument, NULL, 'i' },
	{ "output-dir", required_argument, NULL, 'o' },
	{ "bench", required_argument, NULL, OPT_BENCH },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "json", no_argument, NULL, CLI_OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

char *
cli_infer_default_model(void)
{
	const char *top = getenv("PW_TOP_SRCDIR");
	char *path;

	/* A source tree named by the test environment wins, so tests exercise the model they ship. */
	if (top != NULL && top[0] != '\0') {
		path = xasprintf("%s/data/models/%s", top, BUNDLED_MODEL);
		if (access(path, R_OK) == 0)
			return path;
		free(path);
	}
	return xasprintf("%s/models/%s", PKGDATADIR, BUNDLED_MODEL);
}

bool
cli_infer_parse_count(const char *text, int64_t min, int64_t max, int *out)
{
	int64_t v;

	if (!parse_int64(text, min, max, &v))
		return false;
	*out = (int)v;
	return true;
}

int
cli_engine_option(struct cli_ctx *ctx, const struct cmd_entry *entry, int c, char **argv,
    struct cli_engine_args *args)
{
	switch (c) {
	case 'm':
		args->model = optarg;
		return -1;
	case 'b':
		args->backend = optarg;
		return -1;
	case 't':
		if (!cli_infer_parse_count(optarg, 1, MAX_THREADS, &args->threads))
			return cli_usage_error(ctx, entry, "--threads '%s' is not 1..%d", optarg, MAX_THREADS);
		return -1;
	default:
		return cli_common_option(ctx, entry, c, argv);
	}
}

int
cli_infer_threads_shown(int threads)
{
	const char *env = getenv("OMP_NUM_THREADS");
	int64_t v;
	long n;

	if (threads > 0)
		return threads;
	/* What OpenMP will use: $OMP_NUM_THREADS (its first value), else the CPUs online. */
	if (env != NULL) {
		char first[32];

		pw_strlcpy(first, env, sizeof first);
		first[strcspn(first, ",")] = '\0';
		if (parse_int64(first, 1, MAX_THREADS, &v))
			return (int)v;
	}
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

int
cli_infer_open(struct cli_ctx *ctx, const char *path, const char *backend, int threads,
    infer_model **model, infer_session **session)
{
	infer_session_opts opts;
	infer_error err;

	*session = NULL;
	if ((*model = infer_model_load(path, &err)) == NULL) {
		cli_error(ctx, "cannot load the model: %s", err.msg);
		return CLI_EXIT_ERROR;
	}
	memset(&opts, 0, sizeof opts);
	opts.threads = threads;
	opts.backend = backend;
	if ((*session = infer_session_create(*model, &opts, &err)) == NULL) {
		cli_error(ctx, "%s: cannot open a session: %s", path, err.msg);
		infer_model_free(*model);
		*model = NULL;
		return CLI_EXIT_ERROR;
	}
	return CLI_EXIT_OK;
}

static double
mono_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted[0..n), as bench/ort/ort-bench.js computes it. */
static double
percentile(const double *sorted, int n, double p)
{
	int idx = (int)ceil(p / 100.0 * n) - 1;

	if (idx < 0)
		idx = 0;
	if (idx > n - 1)
		idx = n - 1;
	return sorted[idx];
}

int
cli_infer_time(struct cli_ctx *ctx, infer_session *session, const infer_tensor *inputs, size_t n_inputs,
    size_t n_outputs, int warmup, int runs, struct cli_infer_timing *timing)
{
	infer_tensor *outs = xcalloc(n_outputs > 0 ? n_outputs : 1, sizeof(*outs));
	double *ms = xcalloc((size_t)runs, sizeof(*ms));
	double sum = 0, t0 = 0, start;
	infer_error err;
	int rc = CLI_EXIT_OK;

	memset(timing, 0, sizeof(*timing));
	for (int i = 0; i < warmup + runs; i++) {
		start = mono_seconds();
		if (i == warmup)
			t0 = start;
		if (infer_run(session, inputs, n_inputs, outs, n_outputs, &err) != 0) {
			cli_error(ctx, "run %d failed: %s", i + 1, err.msg);
			rc = CLI_EXIT_ERROR;
			goto out;
		}
		if (i >= warmup)
			ms[i - warmup] = (mono_seconds() - start) * 1e3;
		/* Freeing the outputs is the caller's business, not the engine's: it stays out of the timing. */
		for (size_t k = 0; k < n_outputs; k++)
			infer_tensor_release(&outs[k]);
	}
	timing->total_s = mono_seconds() - t0;
	timing->runs = runs;
	timing->warmup = warmup;
	for (int i = 0; i < runs; i++)
		sum += ms[i];
	qsort(ms, (size_t)runs, sizeof(*ms), compare_double);
	timing->p50_ms = percentile(ms, runs, 50);
	timing->p99_ms = percentile(ms, runs, 99);
	timing->mean_ms = sum / runs;
	timing->min_ms = ms[0];
	timing->max_ms = ms[runs - 1];
out:
	free(ms);
	free(outs);
	return rc;
}

int
cli_infer_default_warmup(int runs)
{
	int w = runs / 10;

	return w < 1 ? 1 : w > 30 ? 30 : w;
}

struct json_object *
cli_json_fixed(double v, int decimals)
{
	char buf[64];

	/* json-c would print the double with %.17g; the text given here is what gets written. */
	if (!isfinite(v))
		return NULL;
	pw_snprintf(buf, sizeof buf, "%.*f", decimals, v);
	return json_object_new_double_s(strtod(buf, NULL), buf);
}

void
cli_infer_shape_text(const infer_tensor *t, char *buf, size_t len)
{
	size_t used;

	pw_strlcpy(buf, "(", len);
	for (int i = 0; i < t->ndim; i++) {
		used = strlen(buf);
		pw_snprintf(buf + used, len - used, "%s%lld", i > 0 ? ", " : "", (long long)t->dims[i]);
	}
	used = strlen(buf);
	pw_snprintf(buf + used, len - used, "%s)", t->ndim == 1 ? "," : "");
}

int
cli_infer_check_input(struct cli_ctx *ctx, const infer_model *model, size_t i, const infer_tensor *t,
    const char *file)
{
	infer_tensor decl;
	char have[160], want[160];
	bool ok = true;

	if (infer_model_input_info(model, i, &decl) != 0)
		return CLI_EXIT_ERROR;
	if (decl.dtype != t->dtype) {
		cli_error(ctx, "%s: input '%s' wants %s but the file holds %s", file,
		    infer_model_input_name(model, i), decl.dtype == INFER_DTYPE_INT64 ? "int64 ('<i8')" :
		    "float32 ('<f4' or '<f8')", t->dtype == INFER_DTYPE_INT64 ? "int64" : "floats");
		return CLI_EXIT_ERROR;
	}
	/* ndim -1: the model does not declare a shape; the engine checks what the graph needs. */
	if (decl.ndim < 0)
		return CLI_EXIT_OK;
	if (decl.ndim != t->ndim)
		ok = false;
	for (int d = 0; ok && d < decl.ndim; d++)
		if (decl.dims[d] >= 0 && decl.dims[d] != t->dims[d])
			ok = false;
	if (ok)
		return CLI_EXIT_OK;
	cli_infer_shape_text(t, have, sizeof have);
	pw_strlcpy(want, "(", sizeof want);
	for (int d = 0; d < decl.ndim; d++) {
		size_t used = strlen(want);

		if (decl.dims[d] >= 0)
			pw_snprintf(want + used, sizeof want - used, "%s%lld", d > 0 ? ", " : "",
			    (long long)decl.dims[d]);
		else
			pw_snprintf(want + used, sizeof want - used, "%s?", d > 0 ? ", " : "");
	}
	pw_strlcpy(want + strlen(want), decl.ndim == 1 ? ",)" : ")", sizeof want - strlen(want));
	cli_error(ctx, "%s: input '%s' has shape %s but the model expects %s ('?': any size)", file,
	    infer_model_input_name(model, i), have, want);
	return CLI_EXIT_ERROR;
}

/* One --input: NAME=FILE, or FILE alone (name NULL) for a single-input model. */
struct input_spec {
	char *name;       /* owned; NULL when not given */
	const char *file; /* borrowed from argv */
};

/* Makes a file name from an output name: [A-Za-z0-9._+-] kept, others '_', no leading '.'. */
static void
output_file_name(const char *name, size_t index, char *buf, size_t len)
{
	size_t n = 0;

	for (const char *p = name; *p != '\0' && n + 1 < len && n < 200; p++) {
		char ch = *p;
		bool keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '.' || ch == '_' || ch == '+' || ch == '-';

		buf[n++] = keep ? ch : '_';
	}
	buf[n] = '\0';
	if (n == 0)
		pw_snprintf(buf, len, "output_%zu", index);
	else if (buf[0] == '.')
		buf[0] = '_';   /* no hidden files, no "." or ".." */
}

static const char *
dtype_name(infer_dtype t)
{
	return t == INFER_DTYPE_INT64 ? "int64" : "float32";
}

static struct json_object *
json_shape(const infer_tensor *t)
{
	struct json_object *a = json_object_new_array();

	for (int i = 0; i < t->ndim; i++)
		json_object_array_add(a, json_object_new_int64(t->dims[i]));
	return a;
}

/* Saves every output under dir; files[i] gets the path written (owned by the caller), NULL if none. */
static int
save_outputs(struct cli_ctx *ctx, const infer_model *model, const char *dir, const infer_tensor *outs,
    size_t n, char **files)
{
	char err[512], base[256];
	struct stat sb;

	if (stat(dir, &sb) != 0) {
		if (errno != ENOENT || mkdir(dir, 0777) != 0) {
			cli_error(ctx, "output directory %s: %s", dir, strerror(errno));
			return CLI_EXIT_ERROR;
		}
	} else if (!S_ISDIR(sb.st_mode)) {
		cli_error(ctx, "output directory %s: not a directory", dir);
		return CLI_EXIT_ERROR;
	}
	for (size_t i = 0; i < n; i++) {
		output_file_name(infer_model_output_name(model, i), i, base, sizeof base);
		files[i] = xasprintf("%s/%s.npy", dir, base);
		/* Two names that sanitise alike ("a/b", "a:b") must not overwrite each other. */
		for (size_t k = 0; k < i; k++)
			if (strcmp(files[k], files[i]) == 0) {
				free(files[i]);
				files[i] = xasprintf("%s/%s_%zu.npy", dir, base, i);
				break;
			}
		if (!npy_write(files[i], &outs[i], err, sizeof err)) {
			cli_error(ctx, "%s", err);
			return CLI_EXIT_ERROR;
		}
	}
	return CLI_EXIT_OK;
}

/* Adds the --bench figures to obj (JSON) or prints them as one line. */
static void
report_bench(struct cli_ctx *ctx, struct json_object *obj, const struct cli_infer_timing *t, int threads,
    int64_t batch, const char *backend)
{
	double ips = t->total_s > 0 ? (double)batch * t->runs / t->total_s : 0;

	if (obj != NULL) {
		json_object_object_add(obj, "p50_ms", cli_json_fixed(t->p50_ms, 3));
		json_object_object_add(obj, "p99_ms", cli_json_fixed(t->p99_ms, 3));
		json_object_object_add(obj, "mean_ms", cli_json_fixed(t->mean_ms, 3));
		json_object_object_add(obj, "min_ms", cli_json_fixed(t->min_ms, 3));
		json_object_object_add(obj, "runs", json_object_new_int(t->runs));
		json_object_object_add(obj, "warmup", json_object_new_int(t->warmup));
		json_object_object_add(obj, "threads", json_object_new_int(threads));
		json_object_object_add(obj, "batch", json_object_new_int64(batch));
		json_object_object_add(obj, "backend", json_object_new_string(backend));
		json_object_object_add(obj, "throughput_ips", cli_json_fixed(ips, 3));
		return;
	}
	fprintf(ctx->out, "bench: %d runs after %d warm-up, batch %lld, %d thread%s, backend %s: "
	    "p50 %.3f ms, p99 %.3f ms, mean %.3f ms, %.1f images/s\n", t->runs, t->warmup, (long long)batch,
	    threads, threads == 1 ? "" : "s", backend, t->p50_ms, t->p99_ms, t->mean_ms, ips);
}

/* Reads the inputs named by specs in model order into tensors[]; prints what is wrong. */
static int
load_inputs(struct cli_ctx *ctx, const infer_model *model, struct input_spec *specs, size_t n_specs,
    infer_tensor *tensors)
{
	size_t n_in = infer_model_input_count(model);
	char err[512];
	int rc;

	if (n_specs == 1 && specs[0].name == NULL && n_in != 1) {
		cli_error(ctx, "the model has %zu inputs: name each one (--input NAME=FILE.npy)", n_in);
		return CLI_EXIT_USAGE;
	}
	/* A misspelt name is the likelier mistake than a missing input: report it first. */
	for (size_t k = 0; k < n_specs; k++) {
		bool known = specs[k].name == NULL;

		for (size_t i = 0; i < n_in && !known; i++)
			known = strcmp(specs[k].name, infer_model_input_name(model, i)) == 0;
		if (!known) {
			char names[400] = "";

			for (size_t i = 0; i < n_in; i++) {
				size_t used = strlen(names);

				pw_snprintf(names + used, sizeof names - used, "%s%s", i > 0 ? ", " : "",
				    infer_model_input_name(model, i));
			}
			cli_error(ctx, "the model has no input '%s' (its inputs: %s)", specs[k].name,
			    n_in > 0 ? names : "none");
			return CLI_EXIT_USAGE;
		}
	}
	for (size_t i = 0; i < n_in; i++) {
		const char *name = infer_model_input_name(model, i);
		struct input_spec *spec = NULL;

		for (size_t k = 0; k < n_specs; k++)
			if (specs[k].name == NULL ? n_in == 1 : strcmp(specs[k].name, name) == 0) {
				spec = &specs[k];
				break;
			}
		if (spec == NULL) {
			cli_error(ctx, "model input '%s' is not given (--input %s=FILE.npy)", name, name);
			return CLI_EXIT_USAGE;
		}
		if (!npy_read(spec->file, &tensors[i], 0, err, sizeof err)) {
			cli_error(ctx, "%s", err);
			return CLI_EXIT_ERROR;
		}
		if ((rc = cli_infer_check_input(ctx, model, i, &tensors[i], spec->file)) != CLI_EXIT_OK)
			return rc;
	}
	return CLI_EXIT_OK;
}

static int
cmd_infer_exec(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cli_engine_args eng = { 0 };
	const char *out_dir = NULL;
	struct input_spec specs[MAX_INPUTS];
	size_t n_specs = 0, n_in = 0, n_out = 0;
	int bench = 0, warmup = -1, c, rc;
	infer_model *model = NULL;
	infer_session *session = NULL;
	infer_tensor *inputs = NULL, *outs = NULL;
	char **files = NULL;
	struct json_object *doc = NULL;
	infer_error err;
	int64_t batch = 1;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":m:b:t:i:o:h", infer_options, NULL)) != -1) {
		switch (c) {
		case 'i': {
			const char *eq = strchr(optarg, '=');

			if (n_specs == MAX_INPUTS) {
				rc = cli_usage_error(ctx, &cmd_infer_entry, "more than %d inputs", MAX_INPUTS);
				goto done;
			}
			specs[n_specs].name = eq != NULL ? xstrndup(optarg, (size_t)(eq - optarg)) : NULL;
			specs[n_specs].file = eq != NULL ? eq + 1 : optarg;
			n_specs++;
			if (specs[n_specs - 1].file[0] == '\0' || (eq != NULL && eq == optarg)) {
				rc = cli_usage_error(ctx, &cmd_infer_entry, "--input '%s': want NAME=FILE.npy",
				    optarg);
				goto done;
			}
			/* A bare FILE stands for the only input, so it cannot come with any other --input. */
			for (size_t k = 0; k + 1 < n_specs; k++) {
				const char *a = specs[k].name, *b = specs[n_specs - 1].name;

				if (a == NULL || b == NULL || strcmp(a, b) == 0) {
					rc = cli_usage_error(ctx, &cmd_infer_entry, "--input '%s': %s", optarg,
					    a != NULL && b != NULL ? "that input is already given" :
					    "a FILE without NAME= is only for a model's single input");
					goto done;
				}
			}
			break;
		}
		case 'o':
			out_dir = optarg;
			break;
		case OPT_BENCH:
			if (!cli_infer_parse_count(optarg, 1, MAX_RUNS, &bench)) {
				rc = cli_usage_error(ctx, &cmd_infer_entry, "--bench '%s' is not 1..%d", optarg,
				    MAX_RUNS);
				goto done;
			}
			break;
		case OPT_WARMUP:
			if (!cli_infer_parse_count(optarg, 0, MAX_RUNS, &warmup)) {
				rc = cli_usage_error(ctx, &cmd_infer_entry, "--warmup '%s' is not 0..%d", optarg,
				    MAX_RUNS);
				goto done;
			}
			break;
		default:
			if ((rc = cli_engine_option(ctx, &cmd_infer_entry, c, argv, &eng)) >= 0)
				goto done;
			break;
		}
	}
	rc = CLI_EXIT_USAGE;
	if (optind < argc) {
		cli_usage_error(ctx, &cmd_infer_entry, "unexpected argument '%s' (inputs go with --input)",
		    argv[optind]);
		goto done;
	}
	if (eng.model == NULL) {
		cli_usage_error(ctx, &cmd_infer_entry, "--model FILE is required");
		goto done;
	}
	if (ctx->format == CLI_FORMAT_CSV) {
		cli_usage_error(ctx, &cmd_infer_entry, "--csv is not supported here (use --json)");
		goto done;
	}
	if (n_specs == 0) {
		cli_usage_error(ctx, &cmd_infer_entry, "no --input given");
		goto done;
	}
	if (warmup >= 0 && bench == 0) {
		cli_usage_error(ctx, &cmd_infer_entry, "--warmup goes with --bench N");
		goto done;
	}
	if (bench > 0 && warmup < 0)
		warmup = cli_infer_default_warmup(bench);
	if (out_dir == NULL && bench == 0)
		out_dir = ".";

	if ((rc = cli_infer_open(ctx, eng.model, eng.backend, eng.threads, &model, &session)) != CLI_EXIT_OK)
		goto done;
	n_in = infer_model_input_count(model);
	n_out = infer_model_output_count(model);
	inputs = xcalloc(n_in > 0 ? n_in : 1, sizeof(*inputs));
	outs = xcalloc(n_out > 0 ? n_out : 1, sizeof(*outs));
	files = xcalloc(n_out > 0 ? n_out : 1, sizeof(*files));
	if ((rc = load_inputs(ctx, model, specs, n_specs, inputs)) != CLI_EXIT_OK)
		goto done;
	if (n_in > 0 && inputs[0].ndim > 0)
		batch = inputs[0].dims[0];

	/* One plain run first: a model that cannot run fails here, before any file or timing. */
	if (infer_run(session, inputs, n_in, outs, n_out, &err) != 0) {
		cli_error(ctx, "%s: %s", eng.model, err.msg);
		rc = CLI_EXIT_ERROR;
		goto done;
	}
	if (out_dir != NULL && (rc = save_outputs(ctx, model, out_dir, outs, n_out, files)) != CLI_EXIT_OK)
		goto done;

	if (ctx->format == CLI_FORMAT_JSON) {
		struct json_object *arr = json_object_new_array();

		doc = json_object_new_object();
		json_object_object_add(doc, "model", json_object_new_string(eng.model));
		for (size_t i = 0; i < n_out; i++) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "name", json_object_new_string(infer_model_output_name(model, i)));
			json_object_object_add(o, "shape", json_shape(&outs[i]));
			json_object_object_add(o, "dtype", json_object_new_string(dtype_name(outs[i].dtype)));
			json_object_object_add(o, "file", files[i] != NULL ? json_object_new_string(files[i]) :
			    NULL);
			json_object_array_add(arr, o);
		}
		json_object_object_add(doc, "outputs", arr);
	} else {
		for (size_t i = 0; i < n_out; i++) {
			char shape[160], *name = out_display_clip(infer_model_output_name(model, i), 0);

			cli_infer_shape_text(&outs[i], shape, sizeof shape);
			fprintf(ctx->out, "%s  %s  %s%s%s\n", name, shape, dtype_name(outs[i].dtype),
			    files[i] != NULL ? "  " : "", files[i] != NULL ? files[i] : "");
			free(name);
		}
	}
	for (size_t i = 0; i < n_out; i++)
		infer_tensor_release(&outs[i]);

	if (bench > 0) {
		struct cli_infer_timing t;

		rc = cli_infer_time(ctx, session, inputs, n_in, n_out, warmup, bench, &t);
		if (rc != CLI_EXIT_OK)
			goto done;
		report_bench(ctx, doc, &t, cli_infer_threads_shown(eng.threads), batch,
		    eng.backend != NULL ? eng.backend : "cpu");
	}
	if (doc != NULL) {
		out_json_print(ctx->out, doc);
		doc = NULL;
	}
	rc = CLI_EXIT_OK;

done:
	if (doc != NULL)
		json_object_put(doc);
	for (size_t i = 0; i < n_specs; i++)
		free(specs[i].name);
	for (size_t i = 0; inputs != NULL && i < n_in; i++)
		infer_tensor_release(&inputs[i]);
	for (size_t i = 0; outs != NULL && i < n_out; i++)
		infer_tensor_release(&outs[i]);
	for (size_t i = 0; files != NULL && i < n_out; i++)
		free(files[i]);
	free(inputs);
	free(outs);
	free(files);
	if (session != NULL)
		infer_session_free(session);
	if (model != NULL)
		infer_model_free(model);
	return rc;
}
